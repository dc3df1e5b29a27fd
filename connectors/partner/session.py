"""Portal sessions: a signed, HttpOnly cookie holding the partner id, a key fingerprint and a
CSRF token (itsdangerous, timestamped). The API key itself is never stored in the cookie.

Rotating a partner's key changes its fingerprint, which ends every portal session of the old
key. The signing secret comes from ``LEADHUB_PARTNER_SESSION_SECRET``; without it a random one
is made per hub (sessions then end when the daemon restarts, and several workers behind a
load balancer need the variable set to share sessions).
"""

from __future__ import annotations

import hmac
import os
import secrets
from dataclasses import dataclass

from itsdangerous import BadSignature, URLSafeTimedSerializer

SECRET_ENV = "LEADHUB_PARTNER_SESSION_SECRET"  # noqa: S105 - the name of the variable, not a secret
COOKIE = "leadhub_partner"


@dataclass
class Session:
    csrf: str
    partner_id: str | None = None
    key_fingerprint: str | None = None


class SessionCodec:
    def __init__(self, max_age: int, secret: str | None = None) -> None:
        self.max_age = max_age
        # Without a configured secret, one made for this codec: the portal of one hub keeps one
        # codec, so its sessions last until the daemon restarts.
        self._serializer = URLSafeTimedSerializer(secret or os.environ.get(SECRET_ENV) or secrets.token_urlsafe(32),
                                                  salt="leadhub-partner-portal")

    def load(self, cookie: str | None) -> Session | None:
        if not cookie or len(cookie) > 4096:
            return None
        try:
            data = self._serializer.loads(cookie, max_age=self.max_age)
        except BadSignature:
            return None
        if not isinstance(data, dict) or not isinstance(data.get("csrf"), str):
            return None
        return Session(csrf=data["csrf"], partner_id=data.get("pid"), key_fingerprint=data.get("kf"))

    def dump(self, session: Session) -> str:
        return self._serializer.dumps({"csrf": session.csrf, "pid": session.partner_id, "kf": session.key_fingerprint})


def new_session() -> Session:
    return Session(csrf=secrets.token_urlsafe(24))


def csrf_ok(session: Session | None, token: str | None) -> bool:
    return session is not None and bool(token) and hmac.compare_digest(session.csrf, str(token))
