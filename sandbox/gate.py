"""The front door of both CRM APIs: faults, bearer-token auth, rate limits, limit headers and
API-call counting, in that order, for every ``/services/data/...`` and ``/crm/...`` request.

The Salesforce login endpoints (``/services/oauth2/...``, SOAP ``login()`` at
``/services/Soap/u/...``) get faults and counting only: a login needs no bearer token and, as in
Salesforce, does not use the daily API allocation. A plain ASGI middleware (no per-request task or
body buffering), so it costs little on the hot batch paths. The control API (``/_sandbox/...``)
passes straight through.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import uuid
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from sandbox.core import Sandbox
from sandbox.errors import SandboxHTTPError, SfError, hs_body
from sandbox.faults import FaultRule
from sandbox.http import dumps
from sandbox.oauth import OAUTH_PREFIX
from sandbox.soap_login import SOAP_LOGIN_PREFIX

SF_PREFIX = "/services/data"
LOGIN_PREFIXES = (OAUTH_PREFIX, SOAP_LOGIN_PREFIX)
HS_PREFIX = "/crm/"


class DroppedConnection(Exception):
    """Raised mid-response to make the server close the connection (fault kind ``drop``)."""


def _system(path: str) -> str | None:
    if path.startswith((SF_PREFIX, *LOGIN_PREFIXES)):
        return "salesforce"
    if path.startswith(HS_PREFIX):
        return "hubspot"
    return None


def _bearer(scope: Scope) -> str:
    for name, value in scope["headers"]:
        if name == b"authorization":
            text = value.decode("latin-1")
            return text[7:].strip() if text[:7].lower() == "bearer " else ""
    return ""


async def send_json(send: Send, status: int, body: Any, headers: dict[str, str]) -> None:
    payload = dumps(body)
    raw_headers = [(b"content-type", b"application/json;charset=UTF-8"),
                   (b"content-length", str(len(payload)).encode())]
    raw_headers += [(k.lower().encode(), v.encode()) for k, v in headers.items()]
    await send({"type": "http.response.start", "status": status, "headers": raw_headers})
    await send({"type": "http.response.body", "body": payload})


def _unauthorized(system: str) -> SandboxHTTPError:
    if system == "salesforce":
        return SfError(401, "INVALID_SESSION_ID", "Session expired or invalid")
    return SandboxHTTPError(401, hs_body(
        "INVALID_AUTHENTICATION", "Authentication credentials not found. This API supports "
        "OAuth 2.0 authentication and you can find more details at "
        "https://developers.hubspot.com/docs/methods/auth/oauth-overview"))


def fault_body(system: str, status: int, login: bool = False) -> Any:
    if login:  # the OAuth endpoints answer in OAuth's shape, which the login helpers parse
        return {"error": "unknown_error", "error_description": f"retry your request (injected "
                                                               f"fault, HTTP {status})"}
    if system == "salesforce":
        code = "SERVER_UNAVAILABLE" if status == 503 else "REQUEST_LIMIT_EXCEEDED" \
            if status == 429 else "UNKNOWN_EXCEPTION"
        return [{"errorCode": code, "message": f"An unexpected error occurred (injected fault, "
                 f"HTTP {status}). Please include this ErrorId if you contact support: "
                 f"{uuid.uuid4().int % 10**10}-{uuid.uuid4().int % 10**5} ({uuid.uuid4().int % 10**10})"}]
    if status == 429:
        return {"status": "error", "message": "You have reached your ten_secondly_rolling limit.",
                "errorType": "RATE_LIMIT", "correlationId": str(uuid.uuid4()),
                "policyName": "TEN_SECONDLY_ROLLING", "requestId": str(uuid.uuid4())}
    category = "SERVICE_UNAVAILABLE" if status == 503 else "INTERNAL_ERROR"
    return hs_body(category, f"internal error (injected fault, HTTP {status})")


class Gate:
    def __init__(self, app: ASGIApp, sandbox: Sandbox) -> None:
        self.app = app
        self.sandbox = sandbox

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        system = _system(scope["path"])
        if system is None:
            await self.app(scope, receive, send)
            return
        sandbox = self.sandbox
        method, path = scope["method"], scope["path"]
        status_seen = [0]
        try:
            fault = sandbox.faults.take(method, path)
            if fault is not None:
                status_seen[0] = await self._fault(system, fault, send,
                                                  path.startswith(LOGIN_PREFIXES))
                return
            login = path.startswith(LOGIN_PREFIXES)
            error = None if login else self._admit(system, scope)
            if error is not None:
                status_seen[0] = error.status
                await send_json(send, error.status, error.body, error.headers)
                return
            limit_headers = [] if login else [(k.lower().encode(), v.encode()) for k, v in (
                sandbox.limits.salesforce_headers() if system == "salesforce"
                else sandbox.limits.hubspot_headers()).items()]

            async def send_with_headers(message: Message) -> None:
                if message["type"] == "http.response.start":
                    status_seen[0] = message["status"]
                    message["headers"] = list(message.get("headers", [])) + limit_headers
                await send(message)

            await self.app(scope, receive, send_with_headers)
        finally:
            route = scope.get("route")
            template = getattr(route, "path", None) or path
            sandbox.counters.record(system, f"{method} {template}", status_seen[0])

    def _admit(self, system: str, scope: Scope) -> SandboxHTTPError | None:
        if system == "salesforce":
            if not self.sandbox.sessions.valid(_bearer(scope)):
                return _unauthorized(system)
            return self.sandbox.limits.charge_salesforce()
        if not secrets.compare_digest(_bearer(scope).encode(),
                                      self.sandbox.settings.hs_token.encode()):
            return _unauthorized(system)
        return self.sandbox.limits.charge_hubspot(scope["path"].endswith("/search"))

    async def _fault(self, system: str, fault: FaultRule, send: Send, login: bool) -> int:
        if fault.kind == "timeout":
            with contextlib.suppress(TimeoutError):  # the delay ran out: answer 504 now
                await asyncio.wait_for(self.sandbox.stopping.wait(), timeout=fault.delay)
            await send_json(send, 504, fault_body(system, 504, login), {})
            return 504
        if fault.kind == "drop":
            await send({"type": "http.response.start", "status": 200,
                        "headers": [(b"content-type", b"application/json"),
                                    (b"content-length", b"4096")]})
            await send({"type": "http.response.body", "body": b'{"partial', "more_body": True})
            raise DroppedConnection("injected fault: connection dropped mid-response")
        headers = self.sandbox.limits.hubspot_headers() if system == "hubspot" else {}
        await send_json(send, fault.status, fault_body(system, fault.status, login), headers)
        return fault.status
