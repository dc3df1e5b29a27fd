"""The store's side of routing: time away, assignments, open leads per owner, channel managers.

Each function runs on the caller's connection, inside its transaction. What counts as available
and who gets a lead is the routing plugin's; these only read and write rows.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, and_, func, insert, or_, select, update

from hub.schema import AWAITING_OWNER, LeadStatus, utcnow
from hub.store import tables as t
from hub.store.sql import aware_utc

_w, _a, _l = t.owner_away.c, t.routing_assignments.c, t.leads.c

#: Statuses in which a lead occupies its owner (counted against ``max_open``).
HELD = tuple(str(s) for s in (*AWAITING_OWNER, LeadStatus.ACCEPTED))


def away_periods(conn: Connection, owner_ids: list[str] | None = None, *,
                 until: datetime | None = None) -> list[dict[str, Any]]:
    """Away periods (of ``owner_ids``, or everyone's) not ended before ``until``, by start."""
    stmt = select(t.owner_away).order_by(_w.starts_at, _w.id)
    if owner_ids is not None:
        stmt = stmt.where(_w.owner_id.in_(owner_ids))
    if until is not None:
        stmt = stmt.where(or_(_w.ends_at.is_(None), _w.ends_at > until))
    rows = []
    for row in conn.execute(stmt).mappings():
        item = dict(row)
        for key in ("starts_at", "ends_at", "created_at"):
            item[key] = aware_utc(item[key]) if item[key] is not None else None
        rows.append(item)
    return rows


def add_away(conn: Connection, owner_id: str, starts_at: datetime, ends_at: datetime | None, reason: str,
             by: str) -> int:
    """Record time away; returns its id."""
    result = conn.execute(insert(t.owner_away).values(
        owner_id=owner_id, starts_at=starts_at, ends_at=ends_at, reason=reason, created_by=by,
        created_at=utcnow()))
    pk = result.inserted_primary_key
    return int(pk[0]) if pk else 0


def end_away(conn: Connection, owner_id: str, at: datetime) -> int:
    """End ``owner_id``'s current and future time away at ``at``; returns how many periods changed."""
    current = and_(_w.owner_id == owner_id, _w.starts_at <= at, or_(_w.ends_at.is_(None), _w.ends_at > at))
    changed = conn.execute(update(t.owner_away).where(current).values(ends_at=at)).rowcount
    future = and_(_w.owner_id == owner_id, _w.starts_at > at)
    changed += conn.execute(update(t.owner_away).where(future).values(ends_at=_w.starts_at)).rowcount
    return int(changed or 0)


def assignment_counts(conn: Connection, owner_ids: list[str], since: datetime) -> dict[str, list[datetime]]:
    """When each of ``owner_ids`` was assigned a lead at or after ``since``."""
    out: dict[str, list[datetime]] = {o: [] for o in owner_ids}
    stmt = select(_a.owner_id, _a.at).where(_a.owner_id.in_(owner_ids), _a.at >= since)
    for owner, at in conn.execute(stmt):
        out[owner].append(aware_utc(at))
    return out


def open_lead_counts(conn: Connection, owner_ids: list[str]) -> dict[str, int]:
    """Leads each owner holds (routed, escalated, accepted)."""
    stmt = (select(_l.owner_id, func.count()).where(_l.owner_id.in_(owner_ids), _l.status.in_(HELD))
            .group_by(_l.owner_id))
    counts = dict.fromkeys(owner_ids, 0)
    for owner, n in conn.execute(stmt):
        counts[owner] = int(n)
    return counts


def channel_managers(conn: Connection) -> dict[str, str]:
    """Partner id -> the owner id of its channel manager, for partners that have one."""
    stmt = select(t.partners.c.id, t.partners.c.channel_manager_id).where(t.partners.c.channel_manager_id.isnot(None))
    return {pid: str(manager) for pid, manager in conn.execute(stmt)}


def waiting_leads(conn: Connection, limit: int) -> list[str]:
    """Qualified leads nobody owns yet (they wait for someone to become available), oldest first."""
    stmt = (select(_l.id).where(_l.status == str(LeadStatus.QUALIFIED), _l.owner_id.is_(None))
            .order_by(_l.updated_at, _l.id).limit(limit))
    return [str(i) for i in conn.execute(stmt).scalars()]


def assignments(conn: Connection, since: datetime | None = None) -> list[dict[str, Any]]:
    """Routing assignments (oldest first), for replay."""
    stmt = select(t.routing_assignments).order_by(_a.at, _a.id)
    if since is not None:
        stmt = stmt.where(_a.at >= since)
    return [{**dict(r), "at": aware_utc(r["at"])} for r in conn.execute(stmt).mappings()]


def replay_leads(conn: Connection, since: datetime) -> list[dict[str, Any]]:
    """Leads created since ``since`` that reached sales (an owner, or waiting qualified), with the
    columns routing reads, oldest first."""
    cols = [_l.id, _l.account_id, _l.product_line, _l.status, _l.score, _l.owner_id, _l.source_connector,
            _l.partner_id, _l.created_at, _l.fit_score, _l.grade]
    stmt = (select(*cols).where(_l.created_at >= since)
            .where(or_(_l.owner_id.isnot(None), _l.status.notin_([str(LeadStatus.NEW), str(LeadStatus.NURTURE)])))
            .order_by(_l.created_at, _l.id))
    return [{**dict(r), "created_at": aware_utc(r["created_at"])} for r in conn.execute(stmt).mappings()]


def all_accounts(conn: Connection) -> list[dict[str, Any]]:
    c = t.accounts.c
    return [dict(r) for r in conn.execute(select(c.id, c.name, c.domain, c.country, c.parent_id, c.owner_id))
            .mappings()]


def closed_at(conn: Connection, since: datetime) -> dict[str, datetime]:
    """When each lead stopped occupying its owner (won, lost, rejected, converted), since ``since``."""
    o = t.outcomes.c
    gone = [str(s) for s in (LeadStatus.WON, LeadStatus.LOST, LeadStatus.REJECTED, LeadStatus.CONVERTED)]
    stmt = select(o.lead_id, func.min(o.at)).where(o.status.in_(gone), o.at >= since).group_by(o.lead_id)
    return {str(lead): aware_utc(at) for lead, at in conn.execute(stmt)}
