"""The partner API under ``/api/v1/``: submit referrals, follow them, set the callback URL.

Bearer-key auth. A partner only ever sees its own referrals: every query filters by the
authenticated partner, so another partner's referral id answers 404 exactly like an id that does
not exist. The callback endpoints act only on the authenticated partner's own row.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query, Response, status
from fastapi import Path as PathParam
from fastapi.responses import JSONResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, ConfigDict, Field

from connectors.partner import keys, service
from connectors.partner import store as q
from connectors.partner.service import ReferralIn
from connectors.partner.urls import MAX_URL_LENGTH, check_callback_url
from hub.api import InvalidRecord

if TYPE_CHECKING:
    from connectors.partner.connector import PartnerConnector
    from hub.api import Hub

_bearer = HTTPBearer(auto_error=False, description="The partner API key: `Authorization: Bearer lhp_...`")
_NOT_FOUND = "no such referral among yours; list them with GET /api/v1/referrals"


class Receipt(BaseModel):
    id: str = Field(description="The referral's id: use it with GET /api/v1/referrals/{id}.")
    status: str = Field(description="`received`, or `conflict` when the channel team must review it first.")
    reason: str | None = Field(None, description="Why it is in conflict (names no other partner).")


class OutcomeOut(BaseModel):
    status: str
    reason: str
    amount: float | None
    at: datetime


class HistoryEntry(BaseModel):
    at: datetime
    status: str
    note: str
    amount: float | None = None


class ReferralSummary(BaseModel):
    id: str
    status: str
    company_name: str
    product_line: str
    created_at: datetime
    owner_first_name: str | None = None


class ReferralDetail(ReferralSummary):
    reason: str | None = Field(None, description="Conflict or decision reason, if any.")
    outcome: OutcomeOut | None = None
    history: list[HistoryEntry]


class ReferralPage(BaseModel):
    items: list[ReferralSummary]
    total: int
    limit: int
    offset: int
    next_offset: int | None


class ErrorOut(BaseModel):
    detail: str


class CallbackIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: str = Field(max_length=MAX_URL_LENGTH, description=(
        "Where status changes are POSTed: https:// with a public host (no user name or password)."))
    rotate_secret: bool = Field(False, description="Issue a new signing secret (the old one stops at once).")


class CallbackOut(BaseModel):
    url: str | None = Field(description="The callback URL, or null when none is set.")
    secret: str | None = Field(None, description=(
        "The signing secret for X-LeadHub-Signature. Returned only when it is new (the first URL, "
        "or rotate_secret): store it now, it is not shown again."))


def first_name_lookup(hub: Hub) -> Any:
    owners = {o.id: o for o in getattr(hub, "owners", [])}

    def first(owner_id: str | None) -> str:
        owner = owners.get(owner_id or "")
        return owner.first_name if owner else "a sales rep"

    return first


def detail_of(hub: Hub, conn: Any, view: q.ReferralView) -> ReferralDetail:
    first = first_name_lookup(hub)
    outcome = q.latest_outcome(conn, view.lead_id) if view.lead_id else None
    history = [HistoryEntry(at=e.at, status=e.status, note=e.note, amount=e.amount)
               for e in q.timeline(conn, view, first)]
    return ReferralDetail(
        id=view.id, status=view.status, company_name=view.company_name, product_line=view.product_line,
        created_at=view.created_at, owner_first_name=first(view.owner_id) if view.owner_id else None,
        reason=view.decision_reason or view.conflict_reason,
        outcome=OutcomeOut(status=outcome["status"], reason=outcome["reason"], amount=outcome["amount"],
                           at=outcome["at"]) if outcome else None,
        history=history,
    )


def api_router(hub: Hub, connector: PartnerConnector) -> APIRouter:
    router = APIRouter(prefix="/api/v1", tags=["partner referrals"])
    # Dependencies stay in defaults (`= Depends(...)`): with postponed annotations FastAPI cannot
    # resolve an Annotated[..., Depends(current_partner)] naming this closure's local function.
    settings = connector.settings

    def current_partner(
        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    ) -> q.PartnerRow:
        partner = None
        if credentials is not None and credentials.scheme.lower() == "bearer" and len(credentials.credentials) < 200:
            with hub.store.engine.connect() as conn:
                partner = service.authenticate(conn, credentials.credentials)
        if partner is None:
            raise HTTPException(
                status.HTTP_401_UNAUTHORIZED,
                "missing, unknown or disabled API key: send `Authorization: Bearer <your key>`; "
                "ask the channel team for a new key if yours was rotated",
                headers={"WWW-Authenticate": "Bearer"},
            )
        return partner

    auth_errors: dict[int | str, dict[str, Any]] = {401: {"model": ErrorOut, "description": "Bad or missing key"}}

    @router.post("/referrals", status_code=202, response_model=Receipt, summary="Submit a referral",
                 responses={**auth_errors, 422: {"description": "A field is invalid; the body names it"}})
    def create_referral(body: ReferralIn, partner: q.PartnerRow = Depends(current_partner)) -> Any:
        try:
            receipt = service.submit(hub, connector.instance, partner, body, protection_days=settings.protection_days)
        except InvalidRecord as exc:
            loc = ["body", exc.field] if exc.field else ["body"]
            return JSONResponse({"detail": [{"loc": loc, "msg": exc.reason, "type": "value_error"}]}, status_code=422)
        return Receipt(id=receipt.id, status=receipt.status, reason=receipt.reason)

    @router.get("/referrals", response_model=ReferralPage, summary="List your referrals", responses=auth_errors)
    def list_referrals(
        partner: q.PartnerRow = Depends(current_partner),
        status_filter: Annotated[str | None, Query(alias="status", description="Only this status.",
                                                   pattern="^(" + "|".join(q.VISIBLE_STATUSES) + ")$")] = None,
        limit: Annotated[int, Query(ge=1, le=1000)] = 50,
        offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
    ) -> ReferralPage:
        limit = min(limit, settings.max_page_size)
        first = first_name_lookup(hub)
        with hub.store.engine.connect() as conn:
            rows, total = q.referrals_page(conn, partner.id, status=status_filter, limit=limit, offset=offset)
        items = [ReferralSummary(id=r.id, status=r.status, company_name=r.company_name, product_line=r.product_line,
                                 created_at=r.created_at, owner_first_name=first(r.owner_id) if r.owner_id else None)
                 for r in rows]
        nxt = offset + limit if offset + limit < total else None
        return ReferralPage(items=items, total=total, limit=limit, offset=offset, next_offset=nxt)

    @router.put("/callback", response_model=CallbackOut, summary="Set your callback URL",
                responses={**auth_errors, 422: {"description": "The URL is not accepted; the body says why"}})
    def put_callback(body: CallbackIn, partner: q.PartnerRow = Depends(current_partner)) -> Any:
        try:
            url = check_callback_url(body.url, allow_loopback=settings.allow_loopback_callbacks)
        except ValueError as exc:
            return JSONResponse({"detail": [{"loc": ["body", "url"], "msg": str(exc), "type": "value_error"}]},
                                status_code=422)
        new_secret = keys.new_callback_secret() if body.rotate_secret or not partner.callback_secret else None
        with hub.store.engine.begin() as conn:
            q.set_callback(conn, partner.id, url, new_secret or partner.callback_secret)
        return CallbackOut(url=url, secret=new_secret)

    @router.get("/callback", response_model=CallbackOut, summary="Your callback URL (never the secret)",
                responses=auth_errors)
    def get_callback(partner: q.PartnerRow = Depends(current_partner)) -> CallbackOut:
        return CallbackOut(url=partner.callback_url, secret=None)

    @router.delete("/callback", status_code=204, summary="Stop callbacks (URL and secret are removed)",
                   responses=auth_errors)
    def delete_callback(partner: q.PartnerRow = Depends(current_partner)) -> Response:
        with hub.store.engine.begin() as conn:
            q.set_callback(conn, partner.id, None, None)
        return Response(status_code=204)

    @router.get("/referrals/{referral_id}", response_model=ReferralDetail, summary="One referral with its history",
                responses={**auth_errors, 404: {"model": ErrorOut, "description": "Not one of your referrals"}})
    def get_referral(referral_id: Annotated[str, PathParam(max_length=64)],
                     partner: q.PartnerRow = Depends(current_partner)) -> ReferralDetail:
        if len(referral_id) > 64:
            raise HTTPException(404, _NOT_FOUND)
        with hub.store.engine.connect() as conn:
            view = q.get_referral(conn, referral_id, partner.id)
            if view is None:
                raise HTTPException(404, _NOT_FOUND)
            return detail_of(hub, conn, view)

    return router


