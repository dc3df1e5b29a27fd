"""The partner portal under ``/partners/``: sign in with the API key, refer a company, follow it.

Plain server-rendered HTML (Jinja2, autoescaped) with a little CSS; no JavaScript. Every form
carries a CSRF token that must match the one in the signed session cookie (see
:mod:`connectors.partner.session`); the cookie is HttpOnly and SameSite=Lax. The pages read
through the same queries as the API, filtered by the signed-in partner (404 for anything else).
"""

from __future__ import annotations

from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool

from connectors.partner import service
from connectors.partner import store as q
from connectors.partner.api import detail_of, first_name_lookup
from connectors.partner.keys import fingerprint
from connectors.partner.service import ReferralIn
from connectors.partner.session import COOKIE, Session, SessionCodec, csrf_ok, new_session
from hub.api import InvalidRecord

if TYPE_CHECKING:
    from connectors.partner.connector import PartnerConnector
    from hub.api import Hub

BASE = "/partners"
HERE = Path(__file__).parent
templates = Jinja2Templates(directory=str(HERE / "templates"))
_FORM_FIELDS = tuple(ReferralIn.model_fields)
_LABELS = MappingProxyType({"company_name": "Company name", "company_domain": "Company web domain",
                            "company_country": "Country", "contact_email": "Contact e-mail",
                            "contact_phone": "Contact phone", "contact_first_name": "First name",
                            "contact_last_name": "Last name", "product_line": "Product line", "notes": "Notes",
                            "expected_deal_size": "Expected deal size"})
PAGE = 25


def portal_router(hub: Hub, connector: PartnerConnector) -> APIRouter:
    router = APIRouter(prefix=BASE, include_in_schema=False)
    settings = connector.settings
    codec = SessionCodec(settings.session_max_age_seconds)

    def session_of(request: Request) -> Session | None:
        return codec.load(request.cookies.get(COOKIE))

    def signed_in(request: Request) -> tuple[Session, q.PartnerRow] | None:
        session = session_of(request)
        if session is None or not session.partner_id or not session.key_fingerprint:
            return None
        with hub.store.engine.connect() as conn:
            partner = service.session_partner(conn, session.partner_id, session.key_fingerprint)
        return (session, partner) if partner else None

    def page(request: Request, name: str, session: Session, partner: q.PartnerRow | None, status_code: int = 200,
             **context: Any) -> HTMLResponse:
        response = templates.TemplateResponse(
            request, name, {"base": BASE, "csrf": session.csrf, "partner": partner, **context}, status_code=status_code)
        _set_cookie(response, session)
        response.headers["Cache-Control"] = "no-store"
        response.headers["X-Frame-Options"] = "DENY"
        response.headers["Content-Security-Policy"] = "default-src 'self'; form-action 'self'; frame-ancestors 'none'"
        return response

    def _set_cookie(response: Response, session: Session) -> None:
        response.set_cookie(COOKIE, codec.dump(session), max_age=settings.session_max_age_seconds, httponly=True,
                            samesite="lax", secure=settings.secure_cookies, path=BASE)

    def to_login() -> RedirectResponse:
        return RedirectResponse(f"{BASE}/login", status_code=303)

    async def form_of(request: Request) -> dict[str, str]:
        form = await request.form(max_files=0, max_fields=40)
        return {k: v for k, v in form.items() if isinstance(v, str)}

    def forbidden(request: Request, session: Session | None) -> HTMLResponse:
        return page(request, "error.html", session or new_session(), None, status_code=403, title="Form expired",
                    message="This form has expired or was not sent from the portal. Please try again.")

    @router.get("/static/portal.css")
    def css() -> FileResponse:
        return FileResponse(HERE / "static" / "portal.css", media_type="text/css",
                            headers={"Cache-Control": "public, max-age=3600"})

    @router.get("/")
    def home(request: Request) -> Response:
        return RedirectResponse(f"{BASE}/referrals" if signed_in(request) else f"{BASE}/login", status_code=303)

    @router.get("/login")
    def login_form(request: Request) -> Response:
        return page(request, "login.html", session_of(request) or new_session(), None)

    @router.post("/login")
    async def login(request: Request) -> Response:
        session = session_of(request)
        form = await form_of(request)
        if not csrf_ok(session, form.get("csrf_token")):
            return forbidden(request, session)
        assert session is not None
        key = form.get("api_key", "").strip()
        with hub.store.engine.connect() as conn:
            partner = service.authenticate(conn, key) if 0 < len(key) < 200 else None
        if partner is None:
            return page(request, "login.html", session, None, status_code=401,
                        error="That key is not valid (or its partner is disabled). Check it, or ask your channel "
                              "manager to rotate it.")
        fresh = new_session()  # a new CSRF token at sign-in: no session fixation
        fresh.partner_id, fresh.key_fingerprint = partner.id, fingerprint(partner.key_hash)
        response = RedirectResponse(f"{BASE}/referrals", status_code=303)
        _set_cookie(response, fresh)
        return response

    @router.post("/logout")
    async def logout(request: Request) -> Response:
        session = session_of(request)
        form = await form_of(request)
        if not csrf_ok(session, form.get("csrf_token")):
            return forbidden(request, session)
        response = to_login()
        response.delete_cookie(COOKIE, path=BASE)
        return response

    @router.get("/referrals")
    def my_referrals(request: Request, status: str = "", offset: int = 0, notice: str = "") -> Response:
        who = signed_in(request)
        if who is None:
            return to_login()
        session, partner = who
        status = status if status in q.VISIBLE_STATUSES else ""
        offset = max(0, min(offset, 10_000_000))
        first = first_name_lookup(hub)
        with hub.store.engine.connect() as conn:
            rows, total = q.referrals_page(conn, partner.id, status=status or None, limit=PAGE, offset=offset)
        view = [{"id": r.id, "company_name": r.company_name, "product_line": r.product_line, "status": r.status,
                 "owner": first(r.owner_id) if r.owner_id else None, "created_at": r.created_at} for r in rows]
        return page(request, "referrals.html", session, partner, rows=view, total=total, status=status,
                    statuses=q.VISIBLE_STATUSES, notice=notice[:200],
                    prev_offset=max(0, offset - PAGE) if offset else None,
                    next_offset=offset + PAGE if offset + PAGE < total else None)

    @router.get("/referrals/new")
    def new_referral(request: Request) -> Response:
        who = signed_in(request)
        if who is None:
            return to_login()
        return page(request, "new.html", who[0], who[1], values={}, errors={}, labels=_LABELS)

    @router.post("/referrals")
    async def submit_referral(request: Request) -> Response:
        who = signed_in(request)
        form = await form_of(request)
        if who is None:
            return to_login()
        session, partner = who
        if not csrf_ok(session, form.get("csrf_token")):
            return forbidden(request, session)
        values = {k: form[k].strip() for k in _FORM_FIELDS if form.get(k, "").strip()}
        errors: dict[str, str] = {}
        try:
            body = ReferralIn.model_validate(values)
            receipt = await run_in_threadpool(service.submit, hub, connector.instance, partner, body,
                                              protection_days=settings.protection_days)
        except ValidationError as exc:
            for err in exc.errors():
                errors.setdefault(str(err["loc"][0]) if err["loc"] else "form", err["msg"])
        except InvalidRecord as exc:
            errors[exc.field or "form"] = exc.reason
        if errors:
            return page(request, "new.html", session, partner, status_code=422, values=values, errors=errors,
                        labels=_LABELS)
        return RedirectResponse(f"{BASE}/referrals/{receipt.id}", status_code=303)

    @router.get("/referrals/{referral_id}")
    def referral_page(request: Request, referral_id: str) -> Response:
        who = signed_in(request)
        if who is None:
            return to_login()
        session, partner = who
        with hub.store.engine.connect() as conn:
            view = q.get_referral(conn, referral_id[:64], partner.id)
            detail = detail_of(hub, conn, view) if view else None
        if detail is None:
            return page(request, "error.html", session, partner, status_code=404, title="Not found",
                        message="There is no such referral among yours.")
        return page(request, "referral.html", session, partner, r=detail)

    return router
