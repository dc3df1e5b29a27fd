"""Salesforce OAuth 2.0 for the sandbox: the token and revoke endpoints, and the sessions they issue.

``POST /services/oauth2/token`` (form-encoded) serves the two flows simple-salesforce's login
helpers use with a connected app (``simple_salesforce/login.py`` ``token_login``):

* ``grant_type=password`` with ``client_id``, ``client_secret``, ``username`` and ``password``
  (the user's password with the security token appended);
* ``grant_type=client_credentials`` with the client id and secret in the body or, as
  simple-salesforce sends them, in an HTTP Basic ``Authorization`` header.

A success answers 200 ``{"access_token", "instance_url", "id", "token_type": "Bearer",
"issued_at", "signature"}``: ``signature`` is Base64(HMAC-SHA256(client secret, id + issued_at)),
as Salesforce computes it. A refusal answers 400 ``{"error", "error_description"}`` with
Salesforce's codes: ``invalid_client_id`` (unknown client), ``invalid_client`` (wrong secret),
``invalid_grant`` (wrong user or password), ``unsupported_grant_type``. ``POST
/services/oauth2/revoke`` with ``token=...`` ends a session.

:class:`Sessions` keeps the issued tokens (by SHA-256, so the table never holds a usable token)
beside the static token of :class:`~sandbox.core.SandboxSettings`; the gate asks it whether a
bearer token is valid. The control API expires sessions so clients' re-login paths can be tested.
Issued sessions live in memory only: after a restart their holders get 401 and log in again.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from sandbox.defaults import (
    DEFAULT_CLIENT_ID,
    DEFAULT_CLIENT_SECRET,
    DEFAULT_PASSWORD,
    DEFAULT_SECURITY_TOKEN,
    DEFAULT_USERNAME,
)
from sandbox.errors import SandboxHTTPError
from sandbox.http import BodyError, empty_response, json_response, read_body
from sandbox.ids import sf_id

if TYPE_CHECKING:
    from sandbox.core import Sandbox

OAUTH_PREFIX = "/services/oauth2/"
MAX_FORM_BYTES = 16 * 1024  # a token request is a few hundred bytes
MAX_VALUE_CHARS = 1024
ORG_ID = sf_id("00D", 1)
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


@dataclass
class OAuthSettings:
    """The connected app and the user the token endpoint accepts (sandbox defaults)."""

    client_id: str = DEFAULT_CLIENT_ID
    client_secret: str = DEFAULT_CLIENT_SECRET
    username: str = DEFAULT_USERNAME
    password: str = DEFAULT_PASSWORD
    #: Appended to the password in the password flow; "" when the org trusts the caller's IP.
    security_token: str = DEFAULT_SECURITY_TOKEN
    #: Lifetime of an issued session (Salesforce's default session timeout is two hours).
    session_seconds: float = 7200.0


@dataclass
class Session:
    user_id: str
    grant: str
    issued_at: float  # epoch seconds
    expires_at: float  # epoch seconds


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class Sessions:
    """Valid bearer tokens: the static one from the settings, and those the token endpoint issued."""

    def __init__(self, static_token: str) -> None:
        self.static_token = static_token
        self.static_revoked = False
        self._issued: dict[str, Session] = {}  # sha256(token) -> session

    def issue(self, user_id: str, grant: str, lifetime: float) -> tuple[str, Session]:
        token = f"{ORG_ID[:15]}!{secrets.token_urlsafe(72)}"
        now = time.time()
        session = Session(user_id, grant, now, now + lifetime)
        self._issued[_digest(token)] = session
        return token, session

    def valid(self, token: str) -> bool:
        if not token:
            return False
        if secrets.compare_digest(token.encode(), self.static_token.encode()):
            return not self.static_revoked
        session = self._issued.get(_digest(token))
        if session is None:
            return False
        if session.expires_at <= time.time():
            del self._issued[_digest(token)]
            return False
        return True

    def expire(self, token: str) -> bool:
        """End one session (the static token too); False if the token was not valid."""
        if not self.valid(token):
            return False
        if secrets.compare_digest(token.encode(), self.static_token.encode()):
            self.static_revoked = True
        else:
            del self._issued[_digest(token)]
        return True

    def expire_all(self) -> int:
        """End every session, the static token's included; how many were valid."""
        count = len(self._issued) + (0 if self.static_revoked else 1)
        self._issued.clear()
        self.static_revoked = True
        return count

    def clear(self) -> None:
        """Back to the start: no issued sessions, the static token valid again."""
        self._issued.clear()
        self.static_revoked = False

    def snapshot(self) -> dict[str, Any]:
        """For the control API: no token, only a prefix of its SHA-256 to recognise it by."""
        now = time.time()
        return {"static_token_valid": not self.static_revoked,
                "sessions": [{"token_sha256": digest[:16], "user_id": s.user_id, "grant": s.grant,
                              "issued_at": int(s.issued_at * 1000),
                              "expires_in": max(0, int(s.expires_at - now))}
                             for digest, s in self._issued.items() if s.expires_at > now]}


def token_fingerprint(token: str) -> str:
    """What :meth:`Sessions.snapshot` shows for ``token`` (tests match sessions by it)."""
    return _digest(token)[:16]


class OAuthError(SandboxHTTPError):
    def __init__(self, error: str, description: str, status: int = 400) -> None:
        super().__init__(status, {"error": error, "error_description": description}, NO_STORE)


def _same(given: str | None, expected: str) -> bool:
    return given is not None and secrets.compare_digest(given.encode(), expected.encode())


async def read_form(request: Request) -> dict[str, str]:
    """The form body as single values, size-capped; repeated or oversized fields are refused."""
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type != "application/x-www-form-urlencoded":
        raise OAuthError("invalid_request", "send the parameters form-encoded "
                         "(Content-Type: application/x-www-form-urlencoded)")
    try:
        raw = await read_body(request, MAX_FORM_BYTES)
    except BodyError as exc:
        raise OAuthError("invalid_request", exc.message) from None
    try:
        parsed = parse_qs(raw.decode("utf-8"), keep_blank_values=True, max_num_fields=20)
    except (UnicodeDecodeError, ValueError):
        raise OAuthError("invalid_request", "the body is not a valid UTF-8 form") from None
    form: dict[str, str] = {}
    for name, values in parsed.items():
        if len(values) != 1 or len(values[0]) > MAX_VALUE_CHARS:
            raise OAuthError("invalid_request", f"parameter {name[:40]!r} must appear once, "
                             f"at most {MAX_VALUE_CHARS} characters")
        form[name] = values[0]
    return form


def _client_credentials(request: Request, form: dict[str, str]) -> tuple[str | None, str | None]:
    """Client id and secret from the body, or else from HTTP Basic (RFC 6749 section 2.3.1)."""
    if "client_id" in form:
        return form["client_id"], form.get("client_secret")
    header = request.headers.get("authorization", "")
    if header[:6].lower() != "basic " or len(header) > 4 * MAX_VALUE_CHARS:
        return None, None
    try:
        decoded = base64.b64decode(header[6:].strip(), validate=True).decode("utf-8")
    except (ValueError, UnicodeDecodeError):
        raise OAuthError("invalid_client", "malformed HTTP Basic credentials") from None
    client_id, colon, client_secret = decoded.partition(":")
    return (client_id, client_secret) if colon else (None, None)


def _sandbox(request: Request) -> Sandbox:
    sandbox: Sandbox = request.app.state.sandbox
    return sandbox


def user_password_ok(settings: OAuthSettings, username: str, password: str | None) -> bool:
    """The configured user, with the password and security token appended (the OAuth password
    flow and SOAP login() both send them so)."""
    # Both compared every time, so the answer's timing does not tell which one was wrong.
    user_ok = _same(username.lower(), settings.username.lower())
    password_ok = _same(password, settings.password + settings.security_token)
    return user_ok and password_ok


def user_id_for(sandbox: Sandbox, username: str) -> str:
    """The User whose Username it is (the integration user if the org has no such User)."""
    users = sandbox.salesforce.tables["User"]
    return next((uid for uid, user in users.records.items()
                 if str(user.get("Username", "")).lower() == username.lower()),
                sandbox.salesforce.api_user_id)


async def token(request: Request) -> Response:
    sandbox = _sandbox(request)
    settings = sandbox.settings.oauth
    form = await read_form(request)
    grant = form.get("grant_type", "")
    if grant not in ("password", "client_credentials"):
        raise OAuthError("unsupported_grant_type", "grant type not supported")
    client_id, client_secret = _client_credentials(request, form)
    if not _same(client_id, settings.client_id):
        raise OAuthError("invalid_client_id", "client identifier invalid")
    if not _same(client_secret, settings.client_secret):
        raise OAuthError("invalid_client", "invalid client credentials")
    if grant == "password" and not user_password_ok(settings, form.get("username", ""),
                                                    form.get("password")):
        raise OAuthError("invalid_grant", "authentication failure")
    user_id = user_id_for(sandbox, settings.username)
    access_token, session = sandbox.sessions.issue(user_id, grant, settings.session_seconds)
    instance_url = str(request.base_url).rstrip("/")
    identity = f"{instance_url}/id/{ORG_ID}/{user_id}"
    issued_at = str(int(session.issued_at * 1000))
    signature = base64.b64encode(hmac.new(settings.client_secret.encode(),
                                          (identity + issued_at).encode(),
                                          hashlib.sha256).digest()).decode()
    body = {"access_token": access_token, "instance_url": instance_url, "id": identity,
            "token_type": "Bearer", "issued_at": issued_at, "signature": signature}
    if grant == "client_credentials":
        body["scope"] = "api"
    return json_response(body, headers=NO_STORE)


async def revoke(request: Request) -> Response:
    form = await read_form(request)
    if not _sandbox(request).sessions.expire(form.get("token", "")):
        raise OAuthError("unsupported_token_type", "this token type is not supported")
    return empty_response(200)


ROUTES = [
    Route(f"{OAUTH_PREFIX}token", token, methods=["POST"]),
    Route(f"{OAUTH_PREFIX}revoke", revoke, methods=["POST"]),
]
