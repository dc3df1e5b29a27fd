"""Owners' time away, and trying routing before changing it (``leadhub owners``, ``leadhub routing``).

Nothing here decides who gets a lead: :func:`route_preview` asks ``hub_route`` through the
engine's own context, in a transaction that is rolled back; :func:`replay` asks it lead after
lead with an in-memory ledger that simulates rotation, capacity and time away as history unfolds,
reading the store and writing nothing.
"""

from __future__ import annotations

import heapq
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from hub.decisions import RoutingContext
from hub.pipeline.batch import BatchWork
from hub.pipeline.ledger import MemoryLedger, load_aways
from hub.schema import Account, Inquiry, Lead, LeadStatus, SourceRecord, utcnow
from hub.store import routing as q

if TYPE_CHECKING:
    from hub.runtime import Hub

# -- owners ----------------------------------------------------------------------------------------


def parse_when(text: str, zone: str | None = None) -> datetime:
    """``2026-03-10`` (the start of that day in ``zone``, default UTC) or an ISO date and time."""
    tz = ZoneInfo(zone) if zone else UTC
    try:
        if len(text) == 10:
            return datetime.combine(date.fromisoformat(text), time(0), tzinfo=tz).astimezone(UTC)
        value = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(f"{text!r} is not a date (2026-03-10) or a date and time (2026-03-10T09:00)") from None
    return (value if value.tzinfo else value.replace(tzinfo=tz)).astimezone(UTC)


def _audit_owner(conn: Any, owner_id: str, reason: str, by: str, **details: Any) -> None:
    from sqlalchemy import insert

    from hub.store import tables as t

    conn.execute(insert(t.audit).values(at=utcnow(), lead_id=None, account_id=None, action="owner", actor=by,
                                        reason=reason, details={"owner_id": owner_id, **details}))


def set_away(hub: Hub, owner_id: str, until: datetime | None, reason: str, by: str,
             since: datetime | None = None) -> str:
    """Store time away for ``owner_id`` (from ``since``, default now) and audit it; returns the words."""
    owner = _owner(hub, owner_id)
    start = since or utcnow()
    words = (f"{owner.name} is away from {start:%Y-%m-%d %H:%M} UTC"
             + (f" until {until:%Y-%m-%d %H:%M} UTC" if until else " until further notice")
             + (f" ({reason})" if reason else "") + ": routing skips them")
    with hub.store.engine.begin() as conn:
        q.add_away(conn, owner_id, start, until, reason, by)
        _audit_owner(conn, owner_id, words, by, away_until=until.isoformat() if until else None)
    return words


def set_back(hub: Hub, owner_id: str, by: str) -> str:
    owner = _owner(hub, owner_id)
    now = utcnow()
    with hub.store.engine.begin() as conn:
        ended = q.end_away(conn, owner_id, now)
        words = (f"{owner.name} is back: {ended} period(s) of time away ended" if ended
                 else f"{owner.name} was not away")
        _audit_owner(conn, owner_id, words, by)
    return words


def owner_rows(hub: Hub) -> list[dict[str, Any]]:
    """Every owner with their teams, whether they are away now, and what they hold."""
    now = utcnow()
    ids = [o.id for o in hub.config.owners]
    teams: dict[str, list[str]] = {}
    for team in hub.config.routing.teams:
        for member, weight in team.members.items():
            teams.setdefault(member, []).append(f"{team.name} ({weight:g}x)")
    with hub.store.engine.connect() as conn:
        ledger = MemoryLedger()
        load_aways(ledger, q.away_periods(conn, ids, until=now))
        held = q.open_lead_counts(conn, ids)
        today = q.assignment_counts(conn, ids, now.replace(hour=0, minute=0, second=0, microsecond=0))
    return [{"id": o.id, "name": o.name, "email": o.email, "active": o.active, "teams": ", ".join(teams.get(o.id, [])),
             "timezone": o.timezone or "", "away": ledger.away(o.id, now) or "", "open_leads": held[o.id],
             "assigned_today": len(today[o.id])} for o in hub.config.owners]


def _owner(hub: Hub, owner_id: str) -> Any:
    for owner in hub.config.owners:
        if owner.id == owner_id:
            return owner
    known = ", ".join(o.id for o in hub.config.owners) or "none"
    raise LookupError(f"no owner {owner_id!r} in [[owners]] (known: {known}); see `leadhub owners list`")


# -- routing test ------------------------------------------------------------------------------------


def route_preview(hub: Hub, *, lead_id: str | None = None, record: dict[str, Any] | None = None,
                  now: datetime | None = None) -> dict[str, Any]:
    """Who would get a stored lead (``lead_id``) or a new record (``record``: an inquiry or a
    source record, as JSON) now, and every reason; nothing is written (rolled back)."""
    pipeline = hub.pipeline
    out: dict[str, Any] = {}
    with hub.store.engine.connect() as conn:
        trans = conn.begin()
        try:
            work = BatchWork(hub.store, conn)
            inquiry = None
            if lead_id is not None:
                lead = work.lead(lead_id)
                if lead is None:
                    raise LookupError(f"no lead {lead_id}; list leads with `leadhub leads list`")
                account = work.account(lead.account_id)
                assert account is not None
            else:
                assert record is not None
                inquiry = _inquiry(hub, record)
                placement = pipeline.place(work, inquiry)
                merged = pipeline.merge(work, inquiry, placement)
                lead, account = merged.lead, merged.account
                out["account"] = f"{'joins' if not merged.created else 'opens'} a lead of {account.name}"
                scored = pipeline.score(work, lead, inquiry, account)
                out["score"] = f"{lead.score}: " + "; ".join(p.reason for p in scored.parts)
                qualified = pipeline.qualify(work, lead, account)
                if qualified is not None:
                    out["qualified"] = qualified.reason
            out["lead"] = lead.id
            out["status"] = str(lead.status)
            ctx = pipeline.routing_context(work, lead, account, now=now,
                                           company=inquiry.company if inquiry is not None else None)
            decision = hub.plugins.route(ctx)
        finally:
            trans.rollback()
    out["at"] = ctx.now.isoformat()
    if decision is None:
        out.update(owner=None, rule=None, team=None, reason="would wait qualified: " + ("; ".join(ctx.notes)
                                                                                       or "no owner could be chosen"))
    else:
        out.update(owner=decision.owner_id, rule=decision.rule, team=decision.team, reason=decision.reason)
    return out


def _inquiry(hub: Hub, record: dict[str, Any]) -> Inquiry:
    if "activity" in record:
        return Inquiry.model_validate(record)
    normalized = hub.pipeline.normalize(SourceRecord.model_validate(record))
    if not isinstance(normalized, Inquiry):
        raise ValueError(f"the record is a {type(normalized).__name__}, not an inquiry: nothing to route")
    return normalized


# -- replay -----------------------------------------------------------------------------------------


@dataclass
class Replay:
    """What routing under another configuration would have done, lead by lead."""

    since: datetime
    leads: int = 0
    changed: list[dict[str, Any]] = field(default_factory=list)
    waited: list[dict[str, Any]] = field(default_factory=list)
    owners_before: Counter[str] = field(default_factory=Counter)
    owners_after: Counter[str] = field(default_factory=Counter)
    rules_before: Counter[str] = field(default_factory=Counter)
    rules_after: Counter[str] = field(default_factory=Counter)

    def as_dict(self) -> dict[str, Any]:
        return {"since": self.since.isoformat(), "leads": self.leads, "changed": self.changed, "waited": self.waited,
                "owners": {o: {"before": self.owners_before[o], "after": self.owners_after[o]}
                           for o in sorted(set(self.owners_before) | set(self.owners_after))},
                "rules": {r: {"before": self.rules_before[r], "after": self.rules_after[r]}
                          for r in sorted(set(self.rules_before) | set(self.rules_after))}}


def replay(hub: Hub, since: datetime) -> Replay:
    """Replay the leads that reached sales since ``since``, in time order, through ``hub``'s
    qualification and routing (``hub`` is built from the configuration to try, on the store
    to replay): rotation, capacity and time away evolve as they would have. Writes nothing."""
    result = Replay(since)
    with hub.store.engine.connect() as conn:
        rows = q.replay_leads(conn, since)
        first: dict[str, dict[str, Any]] = {}
        for a in q.assignments(conn, since):
            first.setdefault(a["lead_id"], a)
        accounts = {r["id"]: r for r in q.all_accounts(conn)}
        ledger = MemoryLedger()
        load_aways(ledger, q.away_periods(conn))
        ledger.managers.update(q.channel_managers(conn))
        closes = q.closed_at(conn, since)
        conn.rollback()
    turns: Counter[str] = Counter()

    def rotate(name: str, n: int) -> int:
        value = turns[name]
        turns[name] += 1
        return value % n

    owners = hub.pipeline.owners
    strategies = hub.pipeline.strategies
    settings = hub.pipeline.settings.routing
    releases: list[tuple[datetime, str]] = []
    account_cache: dict[str, Account] = {}

    def account_of(account_id: str | None) -> Account | None:
        if account_id is None or account_id not in accounts:
            return None
        if account_id not in account_cache:
            row = accounts[account_id]
            account_cache[account_id] = Account(id=row["id"], name=row["name"], country=row["country"],
                                                domains=[row["domain"]] if row["domain"] else [],
                                                parent_id=row["parent_id"], owner_id=row["owner_id"])
        return account_cache[account_id]

    for row in sorted(rows, key=lambda r: (first[r["id"]]["at"] if r["id"] in first else r["created_at"], r["id"])):
        at = first[row["id"]]["at"] if row["id"] in first else row["created_at"]
        while releases and releases[0][0] <= at:
            ledger.release(heapq.heappop(releases)[1])
        account = account_of(row["account_id"])
        if account is None:
            continue
        lead = Lead(id=row["id"], account_id=account.id, product_line=row["product_line"], score=row["score"],
                    status=LeadStatus.NURTURE, source_connector=row["source_connector"] or "",
                    partner_id=row["partner_id"], created_at=row["created_at"])
        result.leads += 1
        old_owner = first[row["id"]]["owner_id"] if row["id"] in first else row["owner_id"]
        old_rule = (first[row["id"]]["rule"] if row["id"] in first else None) or "(no rule)"
        result.owners_before[old_owner or "(waiting)"] += 1
        result.rules_before[old_rule] += 1
        verdict = hub.plugins.qualify(lead, account)
        if verdict is not None and not verdict.qualified:
            new_owner, new_rule, why = None, "(nurture)", verdict.reason
        else:
            lead.status = LeadStatus.QUALIFIED
            ctx = RoutingContext(lead=lead, account=account, parent_account=account_of(account.parent_id),
                                 owners=owners, settings=settings, strategies=strategies, rotate=rotate, now=at,
                                 ledger=ledger)
            decision = hub.plugins.route(ctx)
            if decision is None:
                new_owner, new_rule, why = None, "(waiting)", "; ".join(ctx.notes) or "no owner could be chosen"
                result.waited.append({"lead": lead.id, "at": at.isoformat(), "reason": why})
            else:
                new_owner, new_rule, why = decision.owner_id, decision.rule or "(no rule)", decision.reason
                ledger.record(lead.id, decision.owner_id, decision.team, decision.rule, at)
                if lead.id in closes:
                    heapq.heappush(releases, (closes[lead.id], decision.owner_id))
        result.owners_after[new_owner or "(waiting)"] += 1
        result.rules_after[new_rule] += 1
        if new_owner != old_owner:
            result.changed.append({"lead": lead.id, "account": account.name, "at": at.isoformat(),
                                   "before": old_owner, "after": new_owner, "rule": new_rule, "reason": why})
    return result
