"""One HubSpot portal as the connector sees it: paced calls, retries, and the hub's error classes.

Every request of the connector goes through :meth:`HubSpotClient.call`, which

1. waits for a slot in the portal's :class:`PortalBudget` (shared by every connector instance of
   one hub that talks to the same portal, so pull and delivery threads pace *together*; kept in
   the hub's :class:`~hub.connector.ConnectorServices`, so two hubs in one process never share it):
   a share of the ten-second limit, HubSpot's 5 searches per second, and a daily reserve;
2. makes the call through hubspot-api-client 12 (``_preload_content=False``: we read the status,
   the ``X-HubSpot-RateLimit-*`` headers and the JSON body ourselves, whatever the status);
3. retries 429 (after ``Retry-After``, or a jittered pause), 5xx and dropped connections with
   tenacity, then gives up with the hub's error class.

Vendor exceptions are translated here and nowhere else::

    hubspot.*.exceptions.ApiException (each generated package has its own class; read .status)
        401              -> AuthError          (the token is wrong or revoked)
        403              -> FatalAPIError      (a scope is missing)
        429 DAILY        -> RateLimited        (retry_after: the next UTC midnight)
        429 other        -> retried, then RateLimited
        5xx, status 0    -> retried, then TransientError
        other 4xx        -> HubSpotCallError   (a FatalAPIError carrying status and body; callers
                                                 decide whether one record or the batch is bad)
    urllib3 errors (timeouts, refused connections) -> retried, then TransientError

Messages carry HubSpot's own ``message``/``category``/``correlationId``, never the token.
"""

from __future__ import annotations

import hashlib
import json
import logging
import random
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import urllib3
from hubspot import HubSpot
from tenacity import Retrying, retry_if_exception, stop_after_attempt, wait_exponential_jitter

from connectors.hubspot.settings import HubSpotSettings
from hub.api import AuthError, FatalAPIError, RateLimited, TransientError

log = logging.getLogger(__name__)

#: Scopes a private app needs for everything this connector does (docs/connectors/hubspot.md).
SCOPES = ("crm.objects.contacts.read", "crm.objects.contacts.write", "crm.objects.companies.read",
          "crm.objects.companies.write", "crm.objects.deals.read")
MAX_RESPONSE_BYTES = 32 * 1024 * 1024  # a 200-result search page of wide records is far below


class HubSpotCallError(FatalAPIError):
    """A 4xx other than 401/403/429: the request itself was refused. ``body`` is HubSpot's JSON."""

    def __init__(self, message: str, status: int, body: dict[str, Any]) -> None:
        super().__init__(message)
        self.status = status
        self.body = body


@dataclass
class Response:
    status: int
    body: dict[str, Any]


# -- the per-portal budget ---------------------------------------------------------------------


class PortalBudget:
    """Paces calls to one portal below its limits. Thread-safe; one per portal per hub.

    The ten-second limit is HubSpot's rolling window; we keep our own calls of the last interval
    and allow ``share`` of the limit, and the server's ``-Remaining`` header slows us further when
    other apps eat the budget. Limits are learnt from the headers of every answer.
    """

    def __init__(self, share: float, search_per_second: float, daily_reserve: int) -> None:
        self.share = share
        self.search_per_second = search_per_second
        self.daily_reserve = daily_reserve
        self.interval = 10.0
        self.limit = 100  # HubSpot's smallest ten-second limit, until a header says otherwise
        self.remaining: int | None = None
        self.daily_remaining: int | None = None
        self._lock = threading.Lock()
        self._sent: deque[float] = deque()
        self._searches: deque[float] = deque()
        self._blocked_until = 0.0

    def acquire(self, search: bool = False, clock: Callable[[], float] = time.monotonic) -> None:
        """Block until a call may go out now (and count it)."""
        while True:
            with self._lock:
                if self.daily_remaining is not None and self.daily_remaining <= self.daily_reserve:
                    raise RateLimited(
                        f"HubSpot daily API budget is down to {self.daily_remaining} calls (reserve "
                        f"{self.daily_reserve}); waiting for tomorrow's budget, or lower daily_reserve",
                        retry_after=_seconds_to_utc_midnight())
                now = clock()
                while self._sent and self._sent[0] <= now - self.interval:
                    self._sent.popleft()
                while self._searches and self._searches[0] <= now - 1.0:
                    self._searches.popleft()
                wait = self._blocked_until - now
                allowed = max(1, int(self.limit * self.share))
                if len(self._sent) >= allowed:
                    wait = max(wait, self._sent[0] + self.interval - now)
                elif self.remaining is not None and self.remaining <= self.limit - allowed:
                    # Others use the portal too: the fuller the window, the longer we leave it to
                    # drain (a full one: one whole interval); the next answer tells us again.
                    wait = max(wait, self.interval / (self.remaining + 1))
                    self.remaining = None
                if search and len(self._searches) >= max(1, int(self.search_per_second)):
                    wait = max(wait, self._searches[0] + 1.0 - now)
                if wait <= 0:
                    self._sent.append(now)
                    if search:
                        self._searches.append(now)
                    return
            time.sleep(min(wait, 60.0))

    def learn(self, headers: Any) -> None:
        """Read ``X-HubSpot-RateLimit-*`` headers of an answer."""
        if headers is None:
            return

        def number(name: str) -> int | None:
            value = headers.get(name)
            try:
                return int(value) if value is not None else None
            except (TypeError, ValueError):
                return None

        with self._lock:
            limit, interval = number("X-HubSpot-RateLimit-Max"), number("X-HubSpot-RateLimit-Interval-Milliseconds")
            if limit and limit > 0:
                self.limit = limit
            if interval and interval > 0:
                self.interval = interval / 1000.0
            remaining = number("X-HubSpot-RateLimit-Remaining")
            if remaining is not None:
                self.remaining = remaining
            daily = number("X-HubSpot-RateLimit-Daily-Remaining")
            if daily is not None:
                self.daily_remaining = daily

    def block(self, seconds: float, clock: Callable[[], float] = time.monotonic) -> None:
        """Nobody calls this portal for ``seconds`` (after a 429)."""
        with self._lock:
            self._blocked_until = max(self._blocked_until, clock() + seconds)


def portal_key(settings: HubSpotSettings) -> str:
    """Names the portal ``settings`` talk to: connectors of one hub on one portal share its budget."""
    token = settings.access_token.get_secret_value() if settings.access_token else ""
    # A digest, never the token itself, identifies the portal when no portal_id is configured.
    return f"{settings.host}|{settings.portal_id or hashlib.sha256(token.encode()).hexdigest()[:16]}"


def new_budget(settings: HubSpotSettings) -> PortalBudget:
    return PortalBudget(settings.budget_share, settings.search_per_second, settings.daily_reserve)


def _seconds_to_utc_midnight() -> float:
    now = datetime.now(UTC)
    tomorrow = (now + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
    return max(60.0, (tomorrow - now).total_seconds())


# -- the client --------------------------------------------------------------------------------


@dataclass
class CallStats:
    """What the client did, for tests, benchmarks and ``check()``."""

    calls: int = 0  # HTTP requests sent (including retries)
    rate_limited: int = 0  # answers with status 429
    retries: int = 0
    by_operation: dict[str, int] = field(default_factory=dict)


class HubSpotClient:
    """The real hubspot-api-client, behind one paced, retried, translated entry point."""

    def __init__(self, settings: HubSpotSettings, instance: str, budget: PortalBudget | None = None) -> None:
        if settings.access_token is None or not settings.access_token.get_secret_value():
            raise AuthError(
                f"no HubSpot access token for connector {instance!r}: create a private app in the portal "
                f"(Settings > Integrations > Private apps) and set "
                f"LEADHUB_CONNECTORS__{instance.upper()}__ACCESS_TOKEN")
        self.settings = settings
        self.instance = instance
        self.budget = budget if budget is not None else new_budget(settings)
        self.stats = CallStats()
        self._stats_lock = threading.Lock()
        api = HubSpot(access_token=settings.access_token.get_secret_value(), host=settings.host)
        # Each `.batch_api` access builds a new ApiClient (and connection pool): keep one of each.
        self.objects_batch = api.crm.objects.batch_api
        self.objects_search = api.crm.objects.search_api
        self.objects_basic = api.crm.objects.basic_api
        self.associations_batch = api.crm.associations.v4.batch_api
        self.owners = api.crm.owners.owners_api
        self._timeout = (min(10.0, settings.timeout_seconds), settings.timeout_seconds)

    # -- operations ----------------------------------------------------------------------------
    def search(self, object_type: str, body: dict[str, Any]) -> dict[str, Any]:
        """``POST /crm/v3/objects/{type}/search`` (properties travel in the body, never the URL)."""
        return self.call(f"search {object_type}", self.objects_search.do_search, object_type, body,
                         search=True).body

    def batch_upsert(self, object_type: str, inputs: list[dict[str, Any]]) -> Response:
        return self.call(f"upsert {object_type}", self.objects_batch.upsert, object_type, {"inputs": inputs})

    def batch_update(self, object_type: str, inputs: list[dict[str, Any]]) -> Response:
        return self.call(f"update {object_type}", self.objects_batch.update, object_type, {"inputs": inputs})

    def batch_read(self, object_type: str, ids: list[str], properties: list[str],
                   id_property: str | None = None) -> Response:
        body: dict[str, Any] = {"inputs": [{"id": i} for i in ids], "properties": properties,
                                "propertiesWithHistory": []}
        if id_property:
            body["idProperty"] = id_property
        return self.call(f"read {object_type}", self.objects_batch.read, object_type, body)

    def list_archived(self, object_type: str, after: str | None, properties: list[str]) -> dict[str, Any]:
        kwargs: dict[str, Any] = {"limit": 100, "archived": True, "properties": properties}
        if after:
            kwargs["after"] = after
        return self.call(f"list archived {object_type}", self.objects_basic.get_page, object_type,
                         **kwargs).body

    def associate_default(self, from_type: str, to_type: str, pairs: list[tuple[str, str]]) -> Response:
        body = {"inputs": [{"from": {"id": a}, "to": {"id": b}} for a, b in pairs]}
        return self.call(f"associate {from_type}->{to_type}", self.associations_batch.create_default,
                         from_type, to_type, body)

    def read_associations(self, from_type: str, to_type: str, ids: list[str]) -> Response:
        body = {"inputs": [{"id": i} for i in ids]}
        return self.call(f"read associations {from_type}->{to_type}", self.associations_batch.get_page,
                         from_type, to_type, body)

    def owners_page(self, after: str | None) -> dict[str, Any]:
        """``GET /crm/v3/owners``: one page of the portal's active owners."""
        kwargs: dict[str, Any] = {"limit": 100, "archived": False}
        if after:
            kwargs["after"] = after
        return self.call("list owners", self.owners.get_page, **kwargs).body

    # -- the one way out -------------------------------------------------------------------------
    def call(self, operation: str, method: Callable[..., Any], *args: Any, search: bool = False,
             **kwargs: Any) -> Response:
        """Call ``method`` (a generated API method) paced, retried and translated."""
        retrying = Retrying(
            stop=stop_after_attempt(self.settings.max_attempts),
            retry=retry_if_exception(_worth_retrying),
            # 429s wait in the budget (shared by every caller); other failures back off here.
            wait=_wait_unless_rate_limited(wait_exponential_jitter(multiplier=0.2, max=10.0, jitter=0.5)),
            reraise=True,
        )
        for attempt in retrying:
            with attempt:
                if attempt.retry_state.attempt_number > 1:
                    self._count(retries=1)
                return self._once(operation, method, args, kwargs, search)
        raise AssertionError("unreachable: tenacity re-raises the last error")  # pragma: no cover

    def _once(self, operation: str, method: Callable[..., Any], args: tuple[Any, ...],
              kwargs: dict[str, Any], search: bool) -> Response:
        self.budget.acquire(search=search)
        self._count(operation=operation)
        try:
            raw = method(*args, _preload_content=False, _request_timeout=self._timeout, **kwargs)
        except urllib3.exceptions.HTTPError as exc:
            raise TransientError(f"HubSpot {operation}: connection failed ({type(exc).__name__}); "
                                 f"check that {self.settings.host} is reachable") from exc
        except Exception as exc:
            status = getattr(exc, "status", None)
            if not isinstance(status, int):
                raise
            self.budget.learn(getattr(exc, "headers", None))
            raise self._translate(operation, status, _body_of(getattr(exc, "body", None)),
                                  getattr(exc, "headers", None)) from exc
        self.budget.learn(raw.headers)
        data = raw.data
        if len(data) > MAX_RESPONSE_BYTES:
            raise TransientError(f"HubSpot {operation}: answer of {len(data)} bytes exceeds the "
                                 f"{MAX_RESPONSE_BYTES}-byte limit; lower page_size")
        body = _body_of(data)
        if body is None and data.strip():
            raise TransientError(f"HubSpot {operation}: the answer (HTTP {raw.status}) is not JSON")
        return Response(raw.status, body or {})

    def _translate(self, operation: str, status: int, body: dict[str, Any] | None,
                   headers: Any) -> Exception:
        body = body or {}
        said = describe_error(body)
        where = f"HubSpot {operation} (HTTP {status})"
        if status == 429:
            self._count(rate_limited=1)
            retry_after = _retry_after(headers)
            if str(body.get("policyName", "")).upper() == "DAILY":
                pause = _seconds_to_utc_midnight()
                self.budget.block(pause)
                return RateLimited(f"{where}: the portal's daily API limit is reached: {said}",
                                   retry_after=pause)
            pause = retry_after if retry_after is not None else self.budget.interval / 2
            self.budget.block(pause + random.uniform(0, 0.25 * pause + 0.05))  # noqa: S311 - jitter, not a secret
            return RateLimited(f"{where}: rate limited: {said}", retry_after=pause)
        if status == 401:
            return AuthError(f"{where}: the access token was refused ({said}); create a new private-app "
                             f"token and set LEADHUB_CONNECTORS__{self.instance.upper()}__ACCESS_TOKEN")
        if status == 403:
            return FatalAPIError(f"{where}: permission denied ({said}); give the private app these scopes: "
                                 f"{', '.join(SCOPES)}")
        if status == 0 or status >= 500:
            return TransientError(f"{where}: HubSpot failed ({said}); will retry")
        return HubSpotCallError(f"{where}: {said}", status, body)

    def _count(self, operation: str | None = None, rate_limited: int = 0, retries: int = 0) -> None:
        with self._stats_lock:
            if operation is not None:
                self.stats.calls += 1
                self.stats.by_operation[operation] = self.stats.by_operation.get(operation, 0) + 1
            self.stats.rate_limited += rate_limited
            self.stats.retries += retries


class _wait_unless_rate_limited:
    def __init__(self, fallback: Any) -> None:
        self.fallback = fallback

    def __call__(self, state: Any) -> float:
        exc = state.outcome.exception() if state.outcome else None
        if isinstance(exc, RateLimited):
            return 0.0
        return float(self.fallback(state))


def _worth_retrying(exc: BaseException) -> bool:
    # A long pause (the daily limit) is the deliverer's to schedule, not a thread's to sleep through.
    if isinstance(exc, RateLimited):
        return exc.retry_after is None or exc.retry_after <= 60
    return isinstance(exc, TransientError)


def _body_of(raw: Any) -> dict[str, Any] | None:
    if raw is None:
        return None
    if isinstance(raw, bytes):
        raw = raw.decode("utf-8", errors="replace")
    if not isinstance(raw, str) or not raw.strip():
        return None
    try:
        value = json.loads(raw)
    except ValueError:
        return {"message": raw[:300]}
    return value if isinstance(value, dict) else {"results": value}


def describe_error(body: dict[str, Any]) -> str:
    """HubSpot's message, category and correlation id, in one line a person can search for."""
    message = str(body.get("message") or "no message")[:500]
    category = body.get("category") or body.get("errorType")
    correlation = body.get("correlationId")
    extra = ", ".join(str(x) for x in (category, f"correlationId {correlation}" if correlation else None) if x)
    return f"{message} ({extra})" if extra else message


def _retry_after(headers: Any) -> float | None:
    if headers is None:
        return None
    value = headers.get("Retry-After")
    try:
        return max(0.0, float(value)) if value is not None else None
    except (TypeError, ValueError):
        return None
