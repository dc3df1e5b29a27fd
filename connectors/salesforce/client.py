"""The Salesforce session: authentication, retries, API budget and call accounting.

Every call the connector makes goes through :meth:`SalesforceClient.call`, which

* retries 429, 5xx, timeouts and dropped connections with exponential backoff and jitter
  (tenacity), waiting exactly ``Retry-After`` when the server gives one;
* logs in again on an expired session when credentials allow it, else raises
  :class:`~hub.errors.AuthError` and remembers the problem for :meth:`health_problem`. A client
  that logged in (rather than being handed a session id) is also refreshed by simple-salesforce
  itself on a 401; a refused refresh lands here as the same AuthError;
* translates simple-salesforce's exceptions into the hub's error tree at this one boundary;
* never puts a secret in a message (tokens travel only in headers; messages quote Salesforce's
  error code and text).

A response hook on the ``requests`` session sees every HTTP response, including those of
``sf.Lead``-style calls that simple-salesforce does not account for itself: it counts calls,
reads ``Sforce-Limit-Info`` (the daily allocation) and keeps the server's ``Date`` (used to tell
the hub's own writes from later edits).

For the loopback sandbox, which speaks plain http, an adapter rewrites ``https://`` to
``http://`` for loopback origins only (simple-salesforce hard-codes https).
"""

from __future__ import annotations

import contextlib
import functools
import logging
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING, Any, TypeVar, cast
from urllib.parse import urlparse

import requests
from requests.adapters import HTTPAdapter
from tenacity import (
    RetryCallState,
    Retrying,
    retry_if_exception,
    stop_after_attempt,
    wait_exponential,
    wait_random,
)

from connectors.salesforce.settings import SalesforceSettings, is_loopback
from hub.api import AuthError, ConnectorError, FatalAPIError, RateLimited, TransientError

if TYPE_CHECKING:  # simple-salesforce loads on first use: importing it costs a quarter second
    from simple_salesforce.api import Salesforce
    from simple_salesforce.exceptions import SalesforceAuthenticationFailed, SalesforceError

log = logging.getLogger(__name__)
T = TypeVar("T")
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})


class LoopbackHttpAdapter(HTTPAdapter):
    """Sends ``https://<loopback>`` requests as plain http, or to ``targets[origin]`` if mapped."""

    def __init__(self, targets: dict[str, str]) -> None:
        super().__init__()
        self.targets = targets  # "https://host[:port]" -> "http://host[:port]"

    def send(self, request: requests.PreparedRequest, *args: Any, **kwargs: Any) -> requests.Response:
        url = request.url or ""
        parsed = urlparse(url)
        origin = f"{parsed.scheme}://{parsed.netloc}"
        target = self.targets.get(origin)
        if target is None and is_loopback(parsed.hostname):
            target = "http://" + parsed.netloc
        if target is not None:
            request.url = target + url[len(origin):]
        return super().send(request, *args, **kwargs)


@dataclass
class Usage:
    used: int
    total: int

    @property
    def share(self) -> float:
        return self.used / self.total if self.total else 0.0


class SalesforceClient:
    """One org connection, shared by the connector's pull and push (thread-safe counters)."""

    def __init__(self, settings: SalesforceSettings, instance: str) -> None:
        self.settings = settings
        self.instance = instance
        self.calls = 0
        self.usage: Usage | None = None
        self._lock = threading.Lock()
        self._local = threading.local()
        self._sf: Salesforce | None = None
        self._problem: str | None = None
        self.session = self._make_session()

    # -- session and login ---------------------------------------------------------------------
    def _make_session(self) -> requests.Session:
        session = requests.Session()
        session.trust_env = False  # proxies/CA bundles from the environment must not reroute tokens
        targets: dict[str, str] = {}
        s = self.settings
        if s.login_url:
            targets[f"https://{s.domain}.salesforce.com"] = s.login_url
        adapter = LoopbackHttpAdapter(targets)
        for origin in targets:
            session.mount(origin, adapter)
        # The sandbox speaks http on loopback: only then are loopback origins rewritten to http;
        # every other origin keeps TLS.
        if s.login_url or (s.instance_url or "").startswith("http://"):
            for host in ("127.0.0.1", "localhost", "[::1]"):
                session.mount(f"https://{host}", adapter)
        session.hooks["response"].append(self._on_response)
        return session

    def _on_response(self, response: requests.Response, *args: Any, **kwargs: Any) -> None:
        with self._lock:
            self.calls += 1
        self._local.retry_after = _retry_after(response.headers.get("Retry-After"))
        date = response.headers.get("Date")
        if date:
            with contextlib.suppress(TypeError, ValueError):
                self._local.server_time = parsedate_to_datetime(date)
        info = response.headers.get("Sforce-Limit-Info")
        if info:
            from simple_salesforce.api import Salesforce

            parsed = Salesforce.parse_api_usage(info).get("api-usage")
            if parsed is not None:
                self.usage = Usage(parsed.used, parsed.total)

    def _connect(self, fresh_login: bool = False) -> Salesforce:
        from simple_salesforce.api import Salesforce
        from simple_salesforce.exceptions import SalesforceAuthenticationFailed

        s = self.settings
        common: dict[str, Any] = {"session": self.session, "version": s.api_version, "domain": s.domain}
        mode = s.login_mode() if fresh_login else s.auth_mode()
        try:
            if mode == "session":
                assert s.session_id is not None and s.instance_url
                origin = urlparse(s.instance_url)
                https_url = f"https://{origin.netloc}"  # the adapter sends loopback hosts as http
                return Salesforce(session_id=s.session_id.get_secret_value(), instance_url=https_url, **common)
            if mode == "password":
                assert s.password is not None
                password = s.password.get_secret_value()
                token = s.security_token.get_secret_value() if s.security_token else ""
                if s.consumer_key and s.consumer_secret is not None:
                    # OAuth password flow (POST /services/oauth2/token): the security token is
                    # appended to the password; passing security_token would pick SOAP instead.
                    return Salesforce(username=s.username, password=password + token,
                                      consumer_key=s.consumer_key,
                                      consumer_secret=s.consumer_secret.get_secret_value(),
                                      **common)
                return Salesforce(username=s.username, password=password, security_token=token,
                                  **common)  # SOAP login() (no connected app)
            if mode == "client_credentials":
                assert s.consumer_secret is not None
                return Salesforce(consumer_key=s.consumer_key,
                                  consumer_secret=s.consumer_secret.get_secret_value(), **common)
        except SalesforceAuthenticationFailed as exc:
            raise self._refused(mode, exc) from None
        except requests.RequestException as exc:
            raise TransientError(f"{self.instance}: cannot reach Salesforce to log in "
                                 f"({type(exc).__name__}); check the network and try again") from None
        raise self._auth_failed("the session expired and no login credentials are configured")

    def _refused(self, mode: str | None, exc: SalesforceAuthenticationFailed) -> AuthError:
        """A refused login, with the settings to check for the error Salesforce gave."""
        prefix = f"LEADHUB_CONNECTORS__{self.instance.upper()}__"
        code = str(exc.code)[:80]
        if code in ("invalid_client_id", "invalid_client"):
            hint = f"check consumer_key and {prefix}CONSUMER_SECRET against the connected app"
        elif code in ("invalid_grant", "INVALID_LOGIN") and mode == "password":
            hint = (f"check username, {prefix}PASSWORD and {prefix}SECURITY_TOKEN (resetting the "
                    "password issues a new security token)")
        elif code == "invalid_grant":
            hint = "enable the client credentials flow on the connected app and set its run-as user"
        else:
            hint = "check the login settings"
        # The library keeps Salesforce's description in .content (.message is a template).
        said = exc.content.decode("utf-8", "replace") if isinstance(exc.content, bytes) else ""
        return self._auth_failed(f"Salesforce refused the {mode or 'session'} login "
                                 f"({code}: {said[:200]})", hint)

    def _auth_failed(self, what: str, fix: str | None = None) -> AuthError:
        prefix = f"LEADHUB_CONNECTORS__{self.instance.upper()}__"
        fix = fix or (f"set a fresh {prefix}SESSION_ID, or configure {prefix}USERNAME/PASSWORD/"
                      f"SECURITY_TOKEN or {prefix}CONSUMER_KEY/CONSUMER_SECRET so the connector "
                      "can log in")
        self._problem = f"{self.instance}: {what}; {fix}"
        return AuthError(self._problem)

    @property
    def sf(self) -> Salesforce:
        if self._sf is None:
            self._sf = self._connect()
            self._problem = None
        return self._sf

    def health_problem(self) -> str | None:
        """Why the last call failed for good (credentials), or None."""
        return self._problem

    # -- observations --------------------------------------------------------------------------
    def server_time(self) -> datetime:
        """The server's clock at the last response on this thread (local clock if unknown)."""
        value = getattr(self._local, "server_time", None)
        return value if isinstance(value, datetime) else datetime.now(UTC)

    def over_budget(self) -> bool:
        usage = self.usage
        return usage is not None and usage.total > 0 and usage.share >= self.settings.budget_share

    # -- calls ---------------------------------------------------------------------------------
    def call(self, what: str, fn: Callable[[Salesforce], T]) -> T:
        """Run ``fn(sf)`` with retries; vendor errors become hub errors (``what`` names the call)."""
        from simple_salesforce.exceptions import (
            SalesforceAuthenticationFailed,
            SalesforceError,
            SalesforceExpiredSession,
        )

        relogged = False
        while True:
            try:
                return cast(T, self._retrying()(self._attempt, fn))
            except SalesforceExpiredSession:
                if relogged or self.settings.login_mode() is None:
                    raise self._auth_failed("Salesforce answered 401: the session expired or was revoked") from None
                log.info("%s: session expired; logging in again", self.instance)
                self._sf = self._connect(fresh_login=True)
                self._problem = None
                relogged = True
            except SalesforceAuthenticationFailed as exc:  # the library's own re-login failed
                self._sf = None
                raise self._refused(self.settings.login_mode(), exc) from None
            except ConnectorError:
                raise
            except SalesforceError as exc:
                raise self._translate(what, exc) from None
            except requests.RequestException as exc:
                raise TransientError(f"{self.instance}: {what} failed: {type(exc).__name__}; "
                                     "Salesforce did not answer, the call will be retried") from None

    def _attempt(self, fn: Callable[[Salesforce], T]) -> T:
        self._local.retry_after = None  # a hint belongs to the response that carried it
        return fn(self.sf)

    def _retrying(self) -> Retrying:
        s = self.settings
        backoff = wait_exponential(multiplier=s.retry_initial_seconds, max=s.retry_max_seconds) + wait_random(
            0, s.retry_initial_seconds)

        def wait(state: RetryCallState) -> float:
            hint = getattr(self._local, "retry_after", None)
            return float(hint) if hint is not None else float(backoff(state))

        return Retrying(retry=retry_if_exception(self._retryable), wait=wait,
                        stop=stop_after_attempt(s.max_retries + 1), reraise=True)

    def _retryable(self, exc: BaseException) -> bool:
        from simple_salesforce.exceptions import SalesforceGeneralError

        if isinstance(exc, requests.Timeout | requests.ConnectionError):
            return True
        if isinstance(exc, SalesforceGeneralError) and exc.status in RETRY_STATUSES:
            hint = getattr(self._local, "retry_after", None)
            return hint is None or hint <= self.settings.max_inline_wait_seconds
        return False

    def _translate(self, what: str, exc: SalesforceError) -> ConnectorError:
        from simple_salesforce.exceptions import (
            SalesforceGeneralError,
            SalesforceMalformedRequest,
            SalesforceRefusedRequest,
            SalesforceResourceNotFound,
        )

        code, message = _first_error(exc.content)
        said = f"{code}: {message}" if code else message or f"HTTP {exc.status}"
        where = f"{self.instance}: {what}"
        if isinstance(exc, SalesforceRefusedRequest):
            if code == "REQUEST_LIMIT_EXCEEDED":
                return RateLimited(f"{where}: the org's daily API allocation is used up ({said}); "
                                   "calls resume when it resets", self.settings.exhausted_retry_seconds)
            return FatalAPIError(f"{where}: Salesforce refused the request ({said}); give the integration "
                                 "user the permission named, or the object/field access it needs")
        if isinstance(exc, SalesforceGeneralError) and exc.status == 429:
            return RateLimited(f"{where}: Salesforce is rate limiting ({said})",
                               getattr(self._local, "retry_after", None))
        if isinstance(exc, SalesforceGeneralError) and exc.status >= 500:
            return TransientError(f"{where}: Salesforce failed with HTTP {exc.status} ({said}); will retry")
        if isinstance(exc, SalesforceResourceNotFound):
            return FatalAPIError(f"{where}: not found ({said}); check api_version and that the fields "
                                 "named in mappings/salesforce.toml and external_id_field exist in the org")
        if isinstance(exc, SalesforceMalformedRequest):
            return FatalAPIError(f"{where}: Salesforce rejected the request ({said})")
        return FatalAPIError(f"{where}: Salesforce answered HTTP {exc.status} ({said})")

    # -- helpers built on call() ---------------------------------------------------------------
    def query_pages(self, soql: str, include_deleted: bool = False) -> Iterator[tuple[list[dict[str, Any]], bool]]:
        """Pages of a SOQL query as (records, done); each page is one API call, retried alone."""
        headers = {"Sforce-Query-Options": f"batchSize={self.settings.page_size}"}
        timeout = self.settings.request_timeout_seconds
        result = self.call("query", lambda sf: sf.query(soql, include_deleted=include_deleted,
                                                        headers=headers, timeout=timeout))
        while True:
            done = bool(result.get("done", True))
            yield list(result.get("records") or []), done
            if done:
                return
            next_url = str(result["nextRecordsUrl"])
            if not next_url.startswith("/services/data/"):
                raise FatalAPIError(f"{self.instance}: unexpected nextRecordsUrl from Salesforce; stopping the pull")
            result = self.call("query_more", functools.partial(_query_more, url=next_url, headers=headers,
                                                               timeout=timeout))

    def restful(self, path: str, method: str = "GET", **kwargs: Any) -> Any:
        timeout = self.settings.request_timeout_seconds
        return self.call(f"{method} {path.split('?')[0]}",
                         lambda sf: sf.restful(path, method=method, timeout=timeout, **kwargs))

    def close(self) -> None:
        self.session.close()


def format_soql(query: str, *args: Any, **kwargs: Any) -> str:
    """simple-salesforce's ``format_soql`` (every value quoted for SOQL), loaded on first use."""
    from simple_salesforce.format import format_soql as quoted

    return str(quoted(query, *args, **kwargs))


def _query_more(sf: Salesforce, *, url: str, headers: dict[str, str], timeout: float) -> Any:
    return sf.query_more(url, identifier_is_url=True, headers=headers, timeout=timeout)


def _retry_after(value: str | None) -> float | None:
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        try:
            moment = parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        return max(0.0, (moment - datetime.now(UTC)).total_seconds())


def _first_error(content: Any) -> tuple[str, str]:
    """(errorCode, message) of a Salesforce error body (a JSON array), trimmed."""
    item = content[0] if isinstance(content, list) and content else content
    if isinstance(item, dict):
        code = str(item.get("errorCode") or item.get("statusCode") or "")
        return code[:80], str(item.get("message") or "")[:300]
    if isinstance(item, bytes | bytearray):
        item = item.decode("utf-8", "replace")
    return "", str(item or "")[:300]
