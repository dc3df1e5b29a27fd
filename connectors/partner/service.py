"""What the partner API, the portal and the CLI have in common: sign-in, submit, decide, read.

Submitting a referral: validate it (:class:`ReferralIn`), normalise it with the hub's mapping,
match it to an account with the hub's matcher, and check for *channel conflict*:

* the account already has an open lead that sales works (qualified, routed, accepted...), or
* a referral of the same company (same account, domain or name) arrived within the protection
  window (``protection_days``), from another partner or from the same one.

A referral without conflict is committed to the inbox at once (``hub.intake.submit``) and the
processor wakes. One in conflict is kept with status ``conflict`` and a reason that names no
other partner; ops release it (``leadhub referrals approve``) or refuse it with a reason the
partner reads (``reject``).
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any, Protocol

from pydantic import BaseModel, ConfigDict, EmailStr, Field
from sqlalchemy import Connection

from connectors.partner import store as q
from connectors.partner.callbacks import STATUS_CHANGED, status_payload
from connectors.partner.keys import fingerprint, prefix_of, verify_key
from hub.api import AccountCandidate, Inquiry, InvalidRecord, MatchKey, MatchOutcome, SourceRecord, utcnow

if TYPE_CHECKING:
    from hub.api import HubPlugins, Intake, MappingSet, Store

STREAM = "referral"
#: The connector type whose mapping (mappings/partner.toml) reads referrals.
CONNECTOR_TYPE = "partner"


class ReferralIn(BaseModel):
    """A partner's referral, as the API and the portal form accept it."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    company_name: str = Field(min_length=1, max_length=300, description="The referred company's name.")
    company_domain: str | None = Field(None, max_length=255, description="Its web domain, e.g. acme.com.")
    company_country: str | None = Field(None, min_length=2, max_length=2, pattern=r"^[A-Za-z]{2}$",
                                        description="ISO 3166-1 alpha-2 country code.")
    contact_email: EmailStr | None = Field(None, description="The person at the company to contact.")
    contact_first_name: str | None = Field(None, max_length=200)
    contact_last_name: str | None = Field(None, max_length=200)
    contact_phone: str | None = Field(None, max_length=40, pattern=r"^\+?[0-9 ()./-]{4,40}$")
    product_line: str | None = Field(None, max_length=100, pattern=r"^[A-Za-z0-9 _.-]+$")
    notes: str | None = Field(None, max_length=5000, description="What the company needs; shown to sales.")
    expected_deal_size: float | None = Field(None, ge=0, le=1e12, description="Expected deal size.")

    def payload(self, partner_id: str) -> dict[str, Any]:
        data = {k: v for k, v in self.model_dump(mode="json").items() if v not in (None, "")}
        data["partner_id"] = partner_id  # from the authenticated partner, never from the client
        return data


@dataclass(frozen=True)
class Receipt:
    id: str
    status: str  # received | conflict
    reason: str | None = None


class HubLike(Protocol):
    """The parts of :class:`hub.runtime.Hub` this module uses (the CLI hands a lighter one)."""

    @property
    def store(self) -> Store: ...
    @property
    def intake(self) -> Intake: ...
    @property
    def plugins(self) -> HubPlugins: ...
    @property
    def mappings(self) -> MappingSet: ...


class _Lookup:
    """The store's account index on one connection, as the matcher's ``AccountLookup``."""

    def __init__(self, store: Any, conn: Connection) -> None:
        self.store, self.conn = store, conn

    def candidates(self, keys: list[MatchKey], limit: int = 50) -> list[AccountCandidate]:
        result: list[AccountCandidate] = self.store.candidates(self.conn, keys, limit)
        return result


def authenticate(conn: Connection, key: str) -> q.PartnerRow | None:
    """The active partner owning ``key``, else None (unknown, malformed, disabled)."""
    prefix = prefix_of(key)
    if prefix is None:
        return None
    for partner in q.partners_by_prefix(conn, prefix):
        if verify_key(key, partner.key_hash):
            return partner if partner.active else None
    return None


def session_partner(conn: Connection, partner_id: str, key_fingerprint: str) -> q.PartnerRow | None:
    """The partner of a portal session, if still active and its key not rotated since sign-in."""
    partner = q.get_partner(conn, partner_id)
    if partner is None or not partner.active or fingerprint(partner.key_hash) != key_fingerprint:
        return None
    return partner


def company_key(inquiry: Inquiry) -> str:
    if inquiry.company.domain:
        return inquiry.company.domain.lower()
    name = re.sub(r"[^\w]+", " ", (inquiry.company.name or "").lower()).strip()
    return f"name:{name}"


def submit(hub: HubLike, instance: str, partner: q.PartnerRow, referral: ReferralIn, *,
           protection_days: float) -> Receipt:
    """Check for conflict, keep the referral, and hand it to the pipeline unless it is held.

    :raises InvalidRecord: the mapping refuses the referral (the message names the field).
    """
    referral_id = f"ref_{uuid.uuid4().hex}"
    record = SourceRecord(connector=instance, stream=STREAM, external_id=referral_id,
                          payload=referral.payload(partner.id))
    # Mappings are per connector type; the instance may have another name (as the engine does).
    view = record.model_copy(update={"connector": CONNECTOR_TYPE})
    inquiry = hub.plugins.normalize(view, hub.mappings)
    if not isinstance(inquiry, Inquiry):
        raise InvalidRecord("the partner mapping does not turn referrals into inquiries; check mappings/partner.toml")
    key = company_key(inquiry)
    with hub.store.engine.begin() as conn:
        match = hub.plugins.match_account(inquiry, _Lookup(hub.store, conn))
        account_id = match.account_id if match is not None and match.outcome == MatchOutcome.MATCHED else None
        reason, detail = _conflict(conn, partner.id, key, account_id, protection_days)
        q.add_referral(
            conn, referral_id=referral_id, partner_id=partner.id, connector=instance,
            status="conflict" if reason else "submitted", company_name=inquiry.company.name or referral.company_name,
            company_key=key, account_id=account_id, product_line=inquiry.product_line, payload=record.payload,
            conflict_reason=reason, conflict_detail=detail,
        )
    if reason:
        return Receipt(referral_id, "conflict", reason)
    hub.intake.submit([record])
    return Receipt(referral_id, "received")


def _conflict(conn: Connection, partner_id: str, key: str, account_id: str | None,
              protection_days: float) -> tuple[str | None, str | None]:
    if account_id:
        open_lead = q.open_sales_lead(conn, account_id)
        if open_lead:
            return (("our sales team is already working with this company; the channel team will review "
                     "your referral"), f"account {account_id} has open lead {open_lead[0]} ({open_lead[1]})")
    since = utcnow() - timedelta(days=protection_days)
    earlier = q.earlier_referral(conn, company_key=key, account_id=account_id, since=since)
    if earlier is None:
        return None, None
    if earlier["partner_id"] == partner_id:
        return ((f"you already referred this company (referral {earlier['id']}); the channel team will "
                 "review this one"), f"same partner's referral {earlier['id']}")
    return ((f"this company was registered through another channel within the last {protection_days:g} days; "
             "the channel team will review your referral"),
            f"partner {earlier['partner_id']} registered it in referral {earlier['id']}")


def approve(hub: HubLike, referral_id: str, reason: str, actor: str = "operator") -> bool:
    """Release a held referral into the pipeline; False when it is not held."""
    with hub.store.engine.begin() as conn:
        if not q.decide(conn, referral_id, status="approved", reason=reason, actor=actor):
            return False
        raw = q.raw_referral(conn, referral_id)
    assert raw is not None
    hub.intake.submit([SourceRecord(connector=raw["connector"], stream=STREAM, external_id=referral_id,
                                    payload=dict(raw["payload"]))])
    return True


def reject(hub: HubLike, referral_id: str, reason: str, actor: str = "operator") -> bool:
    """Refuse a held referral; its partner sees ``reason``. False when it is not held.

    A partner with a callback URL is told too: the signed callback is queued in the same
    transaction as the decision and sent by the daemon (the referral has no lead, so the hub's
    outbox cannot carry it).
    """
    with hub.store.engine.begin() as conn:
        if not q.decide(conn, referral_id, status="rejected", reason=reason, actor=actor):
            return False
        raw = q.raw_referral(conn, referral_id)
        assert raw is not None
        partner = q.get_partner(conn, raw["partner_id"])
        if partner is not None and partner.callback_url:
            q.add_event(conn, referral_id=referral_id, partner_id=partner.id, connector=raw["connector"],
                        event=STATUS_CHANGED, payload=status_payload(
                            referral_ids=[referral_id], status="rejected", reason=reason, amount=None,
                            owner_first_name=None, at=utcnow(),
                            company=raw["company_name"]))
    # In the daemon's own process (not `leadhub referrals reject`), send it now, not at the next poll.
    connector = (getattr(hub, "connectors", None) or {}).get(raw["connector"])
    pump = getattr(connector, "pump", None)
    if pump is not None:
        pump.wake()
    return True
