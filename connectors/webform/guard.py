"""Abuse controls for web forms: per-IP rate limit, shared-secret / HMAC check, CORS, counters.

The rate limit uses the ``limits`` library (moving window, in memory: each daemon process
counts its own clients; several workers behind a balancer each allow the configured rate).
"""

from __future__ import annotations

import hashlib
import hmac
import time

from limits import parse_many
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter
from prometheus_client import Counter
from starlette.requests import Request

from hub.api import REGISTRY

SECRET_HEADER = "X-LeadHub-Form-Secret"  # noqa: S105 - the name of the header, not a secret
SIGNATURE_HEADER = "X-LeadHub-Signature"

#: Every submission by result: accepted, invalid, spam (honeypot), throttled, refused (origin/secret).
SUBMISSIONS = Counter("leadhub_webform_submissions", "Web form posts by result", ["form", "result"],
                      registry=REGISTRY)


class RateLimiter:
    def __init__(self, spec: str) -> None:
        self.limits = parse_many(spec)
        self._limiter = MovingWindowRateLimiter(MemoryStorage())

    def hit(self, client: str) -> float | None:
        """Count one post from ``client``; None if allowed, else seconds until it may post again."""
        for item in self.limits:
            if not self._limiter.hit(item, "webform", client):
                reset = self._limiter.get_window_stats(item, "webform", client).reset_time
                return max(1.0, reset - time.time())
        return None


def client_ip(request: Request, trust_forwarded_for: bool) -> str:
    if trust_forwarded_for:
        forwarded = request.headers.get("x-forwarded-for", "")
        first = forwarded.split(",")[0].strip()
        if first:
            return first[:64]
    return request.client.host if request.client else "unknown"


def secret_ok(secret: str, body: bytes, request: Request) -> bool:
    """The shared secret as a header, or an HMAC-SHA256 signature of the raw body."""
    given = request.headers.get(SECRET_HEADER)
    if given is not None:
        return hmac.compare_digest(given.encode(), secret.encode())
    signature = request.headers.get(SIGNATURE_HEADER, "")
    if signature.startswith("sha256="):
        expected = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
        return hmac.compare_digest(signature[7:].lower().encode(), expected.encode())
    return False


def cors_headers(origin: str | None, allowed: list[str]) -> dict[str, str]:
    if origin and origin in allowed:
        return {"Access-Control-Allow-Origin": origin, "Vary": "Origin"}
    return {}
