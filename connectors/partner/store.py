"""Partner and referral queries: what the partner API, portal, CLI and callbacks read and write.

Every function takes the caller's connection (one transaction, like :mod:`hub.store.repo`).
Reads that a partner triggers always filter by ``partner_id`` in SQL, so a referral of another
partner is simply not found (the API answers 404, never 403: it does not confirm the id exists).

A referral's *status* as the partner sees it is computed, not stored twice:

* ``conflict`` / ``rejected``: ops hold or refused it (stored on the referral row);
* the lead's status (``nurture``, ``routed``, ``accepted``, ``won``...) once the pipeline has
  processed it (found through the lead cross-reference the mapping's ``source_ref`` writes);
* ``on_hold`` when the pipeline quarantined it, ``received`` while it waits to be processed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from types import MappingProxyType
from typing import Any

from sqlalchemy import Connection, and_, case, func, insert, literal, or_, select, update

from connectors.partner.tables import referral_events, referrals
from hub.api import aware_utc, new_id, utcnow
from hub.api import tables as t

#: Lead statuses in which sales already works the account: a new referral conflicts with them.
SALES_STATUSES = ("qualified", "routed", "escalated", "accepted", "converted")
#: Statuses ops can decide on.
HELD = "conflict"
REFERRAL_STATES = ("submitted", "conflict", "approved", "rejected")
#: Every status a partner can filter by.
VISIBLE_STATUSES = ("received", "on_hold", "conflict", "rejected", "new", "nurture", "qualified", "routed",
                    "escalated", "accepted", "converted", "won", "lost")


@dataclass(frozen=True)
class PartnerRow:
    id: str
    name: str
    email: str
    key_prefix: str
    key_hash: str
    callback_url: str | None
    callback_secret: str | None
    status: str
    created_at: datetime
    #: The hub owner who gets this partner's referrals (routing's partner rule); None: no one.
    channel_manager_id: str | None = None

    @property
    def active(self) -> bool:
        return self.status == "active"


@dataclass(frozen=True)
class ReferralView:
    """A referral as its partner (or ops) sees it."""

    id: str
    partner_id: str
    status: str  # the computed status (see the module docstring)
    company_name: str
    product_line: str
    created_at: datetime
    lead_id: str | None
    owner_id: str | None
    conflict_reason: str | None
    decision_reason: str | None
    payload: dict[str, Any] = field(default_factory=dict)
    conflict_detail: str | None = None  # ops only


@dataclass(frozen=True)
class TimelineEntry:
    at: datetime
    status: str
    note: str
    amount: float | None = None


def _partner(row: Any) -> PartnerRow:
    return PartnerRow(
        id=row["id"], name=row["name"], email=row["email"], key_prefix=row["key_prefix"], key_hash=row["key_hash"],
        callback_url=row["callback_url"], callback_secret=row["callback_secret"], status=row["status"],
        created_at=aware_utc(row["created_at"]) or utcnow(), channel_manager_id=row["channel_manager_id"],
    )


# -- partners ----------------------------------------------------------------------------------
def add_partner(conn: Connection, *, name: str, email: str, key_prefix: str, key_hash: str,
                callback_url: str | None = None, callback_secret: str | None = None,
                channel_manager_id: str | None = None) -> PartnerRow:
    pid = new_id("ptr")
    conn.execute(insert(t.partners).values(
        id=pid, name=name, email=email, key_prefix=key_prefix, key_hash=key_hash, callback_url=callback_url,
        callback_secret=callback_secret, status="active", created_at=utcnow(), channel_manager_id=channel_manager_id))
    found = get_partner(conn, pid)
    assert found is not None
    return found


def get_partner(conn: Connection, partner_id: str) -> PartnerRow | None:
    row = conn.execute(select(t.partners).where(t.partners.c.id == partner_id)).mappings().first()
    return _partner(row) if row else None


def find_partner(conn: Connection, id_or_name: str) -> PartnerRow | None:
    """By id, else by exact name (the CLI accepts either)."""
    row = conn.execute(select(t.partners).where(
        or_(t.partners.c.id == id_or_name, t.partners.c.name == id_or_name)
    ).order_by(t.partners.c.created_at)).mappings().first()
    return _partner(row) if row else None


def partners_by_prefix(conn: Connection, key_prefix: str) -> list[PartnerRow]:
    stmt = select(t.partners).where(t.partners.c.key_prefix == key_prefix)
    return [_partner(r) for r in conn.execute(stmt).mappings()]


def list_partners(conn: Connection) -> list[PartnerRow]:
    return [_partner(r) for r in conn.execute(select(t.partners).order_by(t.partners.c.created_at)).mappings()]


def set_key(conn: Connection, partner_id: str, key_prefix: str, key_hash: str) -> None:
    conn.execute(update(t.partners).where(t.partners.c.id == partner_id)
                 .values(key_prefix=key_prefix, key_hash=key_hash))


def set_status(conn: Connection, partner_id: str, status: str) -> None:
    conn.execute(update(t.partners).where(t.partners.c.id == partner_id).values(status=status))


def set_channel_manager(conn: Connection, partner_id: str, owner_id: str | None) -> None:
    """The hub owner (an ``[[owners]]`` id) who gets the partner's referrals; None clears it."""
    conn.execute(update(t.partners).where(t.partners.c.id == partner_id).values(channel_manager_id=owner_id))


def set_callback(conn: Connection, partner_id: str, url: str | None, secret: str | None) -> None:
    conn.execute(update(t.partners).where(t.partners.c.id == partner_id)
                 .values(callback_url=url, callback_secret=secret))


# -- referrals: writing ------------------------------------------------------------------------
def add_referral(
    conn: Connection, *, referral_id: str, partner_id: str, connector: str, status: str, company_name: str,
    company_key: str, account_id: str | None, product_line: str, payload: dict[str, Any],
    conflict_reason: str | None = None, conflict_detail: str | None = None,
) -> None:
    conn.execute(insert(referrals).values(
        id=referral_id, partner_id=partner_id, connector=connector, status=status, company_name=company_name,
        company_key=company_key, account_id=account_id, product_line=product_line, payload=payload,
        conflict_reason=conflict_reason, conflict_detail=conflict_detail, created_at=utcnow()))


def decide(conn: Connection, referral_id: str, *, status: str, reason: str, actor: str) -> bool:
    """Record ops' decision on a held referral; False when it is not (or no longer) held."""
    result = conn.execute(
        update(referrals).where(referrals.c.id == referral_id, referrals.c.status == HELD)
        .values(status=status, decision_reason=reason, decided_by=actor, decided_at=utcnow()))
    return result.rowcount == 1


def raw_referral(conn: Connection, referral_id: str) -> dict[str, Any] | None:
    row = conn.execute(select(referrals).where(referrals.c.id == referral_id)).mappings().first()
    return dict(row) if row else None


# -- channel conflict --------------------------------------------------------------------------
def open_sales_lead(conn: Connection, account_id: str) -> tuple[str, str] | None:
    """``(lead id, status)`` of an open lead of ``account_id`` that sales already works."""
    row = conn.execute(
        select(t.leads.c.id, t.leads.c.status).where(
            t.leads.c.account_id == account_id, t.leads.c.is_open.is_(True), t.leads.c.status.in_(SALES_STATUSES))
        .order_by(t.leads.c.created_at).limit(1)).first()
    return (row[0], row[1]) if row else None


def earlier_referral(
    conn: Connection, *, company_key: str, account_id: str | None, since: datetime
) -> dict[str, Any] | None:
    """The oldest live referral of the same company since ``since`` (any partner), if any."""
    same = referrals.c.company_key == company_key
    if account_id:
        same = or_(same, referrals.c.account_id == account_id)
    row = conn.execute(
        select(referrals.c.id, referrals.c.partner_id, referrals.c.created_at).where(
            same, referrals.c.created_at >= since, referrals.c.status != "rejected")
        .order_by(referrals.c.created_at).limit(1)).mappings().first()
    return dict(row) if row else None


# -- referrals: reading ------------------------------------------------------------------------
def _lead_link(instance_col: Any) -> Any:
    return and_(t.xrefs.c.entity == "lead", t.xrefs.c.system == instance_col, t.xrefs.c.external_id == referrals.c.id)


def _base_query() -> tuple[Any, Any]:
    inbox_status = (
        select(t.inbox.c.status).where(
            t.inbox.c.connector == referrals.c.connector, t.inbox.c.stream == "referral",
            t.inbox.c.external_id == referrals.c.id)
        .order_by(t.inbox.c.id.desc()).limit(1).scalar_subquery()
    )
    effective = case(
        (referrals.c.status.in_(["conflict", "rejected"]), referrals.c.status),
        (t.leads.c.status.is_not(None), t.leads.c.status),
        (inbox_status == "quarantined", literal("on_hold")),
        else_=literal("received"),
    )
    stmt = (
        select(referrals, effective.label("effective"), t.leads.c.id.label("lead_id"), t.leads.c.owner_id)
        .select_from(referrals)
        .outerjoin(t.xrefs, _lead_link(referrals.c.connector))
        .outerjoin(t.leads, t.leads.c.id == t.xrefs.c.hub_id)
    )
    return stmt, effective


def _view(row: Any, *, for_ops: bool = False) -> ReferralView:
    return ReferralView(
        id=row["id"], partner_id=row["partner_id"], status=row["effective"], company_name=row["company_name"],
        product_line=row["product_line"], created_at=aware_utc(row["created_at"]) or utcnow(),
        lead_id=row["lead_id"], owner_id=row["owner_id"], conflict_reason=row["conflict_reason"],
        decision_reason=row["decision_reason"], payload=dict(row["payload"] or {}),
        conflict_detail=row["conflict_detail"] if for_ops else None,
    )


def referrals_page(
    conn: Connection, partner_id: str | None, *, status: str | None = None, limit: int = 50, offset: int = 0,
) -> tuple[list[ReferralView], int]:
    """One page of referrals, newest first, and the total matching; ``partner_id=None`` is ops' view."""
    stmt, effective = _base_query()
    count = select(func.count()).select_from(referrals).outerjoin(
        t.xrefs, _lead_link(referrals.c.connector)).outerjoin(t.leads, t.leads.c.id == t.xrefs.c.hub_id)
    if partner_id is not None:
        stmt = stmt.where(referrals.c.partner_id == partner_id)
        count = count.where(referrals.c.partner_id == partner_id)
    if status:
        stmt = stmt.where(effective == status)
        count = count.where(effective == status)
    stmt = stmt.order_by(referrals.c.created_at.desc(), referrals.c.id).limit(limit).offset(offset)
    rows = [_view(r, for_ops=partner_id is None) for r in conn.execute(stmt).mappings()]
    return rows, int(conn.execute(count).scalar_one())


def get_referral(conn: Connection, referral_id: str, partner_id: str | None) -> ReferralView | None:
    """The referral, only if it belongs to ``partner_id`` (``None``: any partner, for ops)."""
    stmt, _ = _base_query()
    stmt = stmt.where(referrals.c.id == referral_id)
    if partner_id is not None:
        stmt = stmt.where(referrals.c.partner_id == partner_id)
    row = conn.execute(stmt).mappings().first()
    return _view(row, for_ops=partner_id is None) if row else None


_ROUTE_NOTE = "handed to {first} in sales"


def timeline(
    conn: Connection, referral: ReferralView, first_name_of: Callable[[str | None], str],
) -> list[TimelineEntry]:
    """What happened to a referral, oldest first, in words safe to show its partner.

    Built from the referral row, the lead's audit entries of kind ``status``/``route`` (reasons
    are *not* copied: they can name scoring rules and other accounts) and the outcomes table (whose
    reason the reporting CRM or rep wrote for the partner to read).
    """
    out = [TimelineEntry(referral.created_at, "received", "referral received")]
    raw = raw_referral(conn, referral.id) or {}
    if raw.get("conflict_reason"):
        out.append(TimelineEntry(referral.created_at, "conflict", str(raw["conflict_reason"])))
    if raw.get("decided_at") is not None:
        decided = "approved" if raw["status"] == "approved" else "rejected"
        out.append(TimelineEntry(aware_utc(raw["decided_at"]) or utcnow(), decided,
                                 str(raw.get("decision_reason") or "")))
    if referral.lead_id is None:
        return out
    outcomes = [dict(r) for r in conn.execute(
        select(t.outcomes).where(t.outcomes.c.lead_id == referral.lead_id).order_by(t.outcomes.c.id)).mappings()]
    by_status: dict[str, dict[str, Any]] = {}
    for o in outcomes:
        by_status.setdefault(o["status"], o)
    audit_rows = conn.execute(
        select(t.audit.c.at, t.audit.c.action, t.audit.c.details).where(
            t.audit.c.lead_id == referral.lead_id, t.audit.c.action.in_(["status", "route"]),
            t.audit.c.at >= referral.created_at)
        .order_by(t.audit.c.id)).mappings()
    for a in audit_rows:
        details = a["details"] or {}
        at = aware_utc(a["at"]) or utcnow()
        if a["action"] == "route":
            out.append(TimelineEntry(at, "routed", _ROUTE_NOTE.format(first=first_name_of(details.get("owner_id")))))
            continue
        status = str(details.get("status") or "")
        if not status:
            continue
        reported = by_status.get(status)
        note = str(reported["reason"]) if reported and reported["reason"] else _STATUS_NOTES.get(status, status)
        amount = reported["amount"] if reported and status in ("won", "lost") else None
        out.append(TimelineEntry(at, status, note, amount))
    return out


_STATUS_NOTES = MappingProxyType({
    "nurture": "with marketing for now",
    "qualified": "qualified for sales",
    "accepted": "accepted by sales",
    "escalated": "escalated to keep the response time",
    "rejected": "rejected by sales",
    "converted": "converted into an opportunity",
    "won": "deal won",
    "lost": "deal lost",
})


def latest_outcome(conn: Connection, lead_id: str) -> dict[str, Any] | None:
    row = conn.execute(select(t.outcomes).where(t.outcomes.c.lead_id == lead_id)
                       .order_by(t.outcomes.c.id.desc()).limit(1)).mappings().first()
    return dict(row) if row else None


# -- referral events: callbacks about referrals that have no lead -------------------------------
def add_event(conn: Connection, *, referral_id: str, partner_id: str, connector: str, event: str,
              payload: dict[str, Any]) -> None:
    """Queue a callback in the caller's transaction (the decision and its news commit together)."""
    now = utcnow()
    conn.execute(insert(referral_events).values(
        referral_id=referral_id, partner_id=partner_id, connector=connector, event=event, payload=payload,
        status="pending", attempts=0, next_attempt_at=now, created_at=now))


def claim_events(conn: Connection, connector: str, *, limit: int, now: datetime,
                 lease: timedelta) -> list[dict[str, Any]]:
    """Due events of ``connector``, leased for ``lease`` (a crash mid-send makes them due again).

    On PostgreSQL rows are locked with SKIP LOCKED, so several daemons never claim the same one.
    """
    stmt = (select(referral_events)
            .where(referral_events.c.status == "pending", referral_events.c.connector == connector,
                   referral_events.c.next_attempt_at <= now)
            .order_by(referral_events.c.next_attempt_at, referral_events.c.id).limit(limit))
    if conn.dialect.name == "postgresql":
        stmt = stmt.with_for_update(skip_locked=True)
    rows = [dict(r) for r in conn.execute(stmt).mappings()]
    if rows:
        conn.execute(update(referral_events).where(referral_events.c.id.in_([r["id"] for r in rows]))
                     .values(next_attempt_at=now + lease))
    return rows


def event_sent(conn: Connection, event_id: int) -> None:
    conn.execute(update(referral_events).where(referral_events.c.id == event_id)
                 .values(status="done", delivered_at=utcnow(), last_error=None))


def event_retry(conn: Connection, event_id: int, *, attempts: int, when: datetime, error: str) -> None:
    conn.execute(update(referral_events).where(referral_events.c.id == event_id)
                 .values(attempts=attempts, next_attempt_at=when, last_error=error))


def event_dead(conn: Connection, event_id: int, *, attempts: int, error: str) -> None:
    conn.execute(update(referral_events).where(referral_events.c.id == event_id)
                 .values(status="dead", attempts=attempts, last_error=error))


def events_of(conn: Connection, referral_id: str) -> list[dict[str, Any]]:
    """Every callback event of a referral, oldest first (ops and tests)."""
    stmt = select(referral_events).where(referral_events.c.referral_id == referral_id).order_by(referral_events.c.id)
    return [dict(r) for r in conn.execute(stmt).mappings()]
