"""Outcome callbacks: POST what became of a referral to the partner's URL, signed and retried.

The body is JSON; the header ``X-LeadHub-Signature: t=<unix seconds>,v1=<hex>`` carries
HMAC-SHA256 over ``"<t>.<body>"`` keyed with the partner's callback secret, so the receiver can
check both who sent it and that it is fresh (reject old ``t`` to stop replays).
``X-LeadHub-Delivery`` is stable across retries of one delivery: receivers de-duplicate on it.

Retries: a few quick attempts inside one call (tenacity, exponential backoff with jitter) for
dropped connections, timeouts, 429 and 5xx; after that the outbox row is retried later with the
hub's own backoff. Any other 4xx is permanent (the partner's endpoint refuses the call).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import httpx
from tenacity import (
    RetryError,
    Retrying,
    retry_if_exception_type,
    stop_after_attempt,
    wait_exponential_jitter,
)

SIGNATURE_HEADER = "X-LeadHub-Signature"
DELIVERY_HEADER = "X-LeadHub-Delivery"
EVENT_HEADER = "X-LeadHub-Event"
#: The one event partners receive: a referral's status changed (routed, won, rejected...).
STATUS_CHANGED = "referral.status_changed"


def status_payload(*, referral_ids: list[str], status: str, reason: str, amount: float | None,
                   owner_first_name: str | None, at: datetime, company: str) -> dict[str, Any]:
    """The JSON body of a status callback: the same shape for lead outcomes and ops decisions."""
    return {
        "event": STATUS_CHANGED,
        "referral_ids": referral_ids,
        "status": status,
        "reason": reason,
        "amount": amount,
        "owner_first_name": owner_first_name,
        "at": at.isoformat(),
        "company": company,
    }


def sign(secret: str, body: bytes, timestamp: int) -> str:
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def verify(secret: str, body: bytes, header: str, *, tolerance_seconds: float = 300, now: float | None = None) -> bool:
    """What a receiver does (and what our tests do): check the signature and its age."""
    try:
        fields = dict(part.split("=", 1) for part in header.split(","))
        timestamp = int(fields["t"])
    except (ValueError, KeyError):
        return False
    if abs((now or time.time()) - timestamp) > tolerance_seconds:
        return False
    return hmac.compare_digest(sign(secret, body, timestamp), header)


class _Retryable(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass
class CallbackResult:
    ok: bool
    error: str = ""
    retryable: bool = False
    attempts: int = 0


class CallbackSender:
    """Sends signed callbacks with a shared httpx client."""

    def __init__(self, *, timeout: float = 5.0, attempts: int = 3, backoff_initial: float = 0.2,
                 backoff_max: float = 2.0, client: httpx.Client | None = None) -> None:
        self.client = client or httpx.Client(timeout=timeout, follow_redirects=False,
                                             headers={"User-Agent": "LeadHub-callbacks/1"})
        self.attempts = attempts
        self.backoff_initial, self.backoff_max = backoff_initial, backoff_max

    def send(self, url: str, secret: str, event: str, delivery_id: str, payload: dict[str, Any]) -> CallbackResult:
        body = json.dumps(payload, separators=(",", ":"), default=str).encode()
        result = CallbackResult(ok=False)

        def attempt() -> None:
            result.attempts += 1
            headers = {"Content-Type": "application/json", EVENT_HEADER: event, DELIVERY_HEADER: delivery_id,
                       SIGNATURE_HEADER: sign(secret, body, int(time.time()))}
            try:
                response = self.client.post(url, content=body, headers=headers)
            except httpx.TransportError as exc:
                # The URL is the partner's own; the secret is never part of the message.
                raise _Retryable(f"could not reach the callback URL ({type(exc).__name__})") from None
            if response.status_code == 429 or response.status_code >= 500:
                raise _Retryable(f"callback URL answered {response.status_code}")
            if response.status_code >= 300:
                result.error = (f"callback URL answered {response.status_code}; the partner must fix their "
                                "endpoint, then replay with `leadhub dead-letters replay`")
                return
            result.ok = True

        retrying = Retrying(
            stop=stop_after_attempt(self.attempts),
            # Jitter on the scale of the first wait (tenacity's default is a whole second).
            wait=wait_exponential_jitter(multiplier=self.backoff_initial, max=self.backoff_max,
                                         jitter=self.backoff_initial),
            retry=retry_if_exception_type(_Retryable),
            reraise=False,
        )
        try:
            retrying(attempt)
        except RetryError as exc:
            last = exc.last_attempt.exception()
            result.error = last.message if isinstance(last, _Retryable) else str(last)
            result.retryable = True
        return result

    def close(self) -> None:
        self.client.close()
