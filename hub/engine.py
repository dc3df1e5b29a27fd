"""The pipeline: claim pending inbox records and turn each into a routed lead, in one transaction.

For every record of a batch::

    echo? -> normalize -> (outcome report: apply it) | (inquiry: match account -> merge into the
    open lead of (account, product line) or open one -> score -> nurture or qualify -> route ->
    outbox rows) -> audit entries

The batch's leads, audit entries, outbox rows and the inbox rows' new status commit together, so a
crash anywhere leaves the batch pending and it is processed again, exactly once. Each record runs
in a savepoint: a record that fails (bad input, a plugin bug) is quarantined with the reason and
the rest of the batch goes on. Events (``hub_lead_routed``...) fire after the commit.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from hub.connector import Capability, Connector
from hub.decisions import (
    AccountCandidate,
    AccountMatch,
    MatchKey,
    MatchOutcome,
    Owner,
    RouteDecision,
    RoutingContext,
    SlaActionKind,
)
from hub.errors import InvalidRecord
from hub.mapping import MappingSet
from hub.plugins import HubPlugins
from hub.schema import (
    Account,
    Inquiry,
    Lead,
    LeadStatus,
    Outcome,
    OutcomeReport,
    path_to,
    utcnow,
)
from hub.store import InboxRow, Store

log = logging.getLogger(__name__)


@dataclass
class BatchResult:
    """What one processing batch did."""

    processed: int = 0
    leads_created: int = 0
    leads_merged: int = 0
    routed: int = 0
    outcomes: int = 0
    quarantined: int = 0
    echoes: int = 0

    def add(self, other: BatchResult) -> None:
        for name in self.__dataclass_fields__:
            setattr(self, name, getattr(self, name) + getattr(other, name))


@dataclass
class _Events:
    routed: list[tuple[Lead, RouteDecision]] = field(default_factory=list)
    outcomes: list[tuple[Lead, Outcome]] = field(default_factory=list)
    quarantined: list[tuple[str, str, str, dict[str, Any]]] = field(default_factory=list)


class _Lookup:
    """The store's account index bound to the batch's connection (``AccountLookup``)."""

    def __init__(self, store: Store, conn: Connection) -> None:
        self.store, self.conn = store, conn

    def candidates(self, keys: list[MatchKey], limit: int = 50) -> list[AccountCandidate]:
        return self.store.candidates(self.conn, keys, limit)


@dataclass
class PipelineSettingsView:
    qualify_score: int
    routing: dict[str, Any]
    sla_minutes: float
    extra_destinations: tuple[str, ...]


class Engine:
    """Processes inbox records into leads. Stateless between batches; safe to run in a thread."""

    def __init__(
        self,
        store: Store,
        plugins: HubPlugins,
        mappings: MappingSet,
        connectors: dict[str, Connector],
        owners: list[Owner],
        settings: PipelineSettingsView,
    ) -> None:
        self.store = store
        self.plugins = plugins
        self.mappings = mappings
        self.connectors = connectors
        self.owners = owners
        self.settings = settings
        self.strategies = plugins.routing_strategies()
        self._owners_by_id = {o.id: o for o in owners}
        #: Connectors the hub writes to: records pulled from them may be the hub's own echo.
        self._echo_sources = {n for n, c in connectors.items() if c.supports(Capability.PUSH_LEADS)}

    # -- batches -----------------------------------------------------------------------------
    def process_batch(self, limit: int) -> BatchResult:
        """Claim up to ``limit`` pending records and process them in one transaction."""
        events = _Events()
        result = BatchResult()
        with self.store.engine.begin() as conn:
            rows = self.store.claim_pending(conn, limit)
            if not rows:
                return result
            finished: list[tuple[int, str, str | None]] = []
            audit: list[dict[str, Any]] = []
            lookup = _Lookup(self.store, conn)
            for row in rows:
                savepoint = conn.begin_nested()
                mark = len(audit), len(events.routed), len(events.outcomes)
                try:
                    status, lead_id = self._process_record(conn, row, lookup, audit, events, result)
                    savepoint.commit()
                except Exception as exc:  # noqa: BLE001 - quarantined with the reason, never dropped
                    savepoint.rollback()
                    del audit[mark[0]:], events.routed[mark[1]:], events.outcomes[mark[2]:]
                    reason, fld = _reason_of(exc)
                    if not isinstance(exc, InvalidRecord):
                        log.exception("record %s failed; quarantined", row.id)
                    rec = row.record
                    self.store.quarantine(
                        conn, connector=rec.connector, stream=rec.stream, raw=rec.payload, reason=reason,
                        field=fld, source_ref=rec.external_id, inbox_id=row.id,
                    )
                    events.quarantined.append((rec.connector, rec.stream, reason, {"inbox_id": row.id, "field": fld}))
                    status, lead_id = "quarantined", None
                    result.quarantined += 1
                finished.append((row.id, status, lead_id))
                result.processed += 1
            self.store.audit(conn, audit)
            self.store.finish_records(conn, finished)
        self._fire(events)
        return result

    def _fire(self, events: _Events) -> None:
        for lead, decision in events.routed:
            self.plugins.lead_routed(lead, decision)
        for lead, outcome in events.outcomes:
            self.plugins.outcome(lead, outcome)
        for connector, stream, reason, details in events.quarantined:
            self.plugins.record_quarantined(connector, stream, reason, details)

    # -- one record --------------------------------------------------------------------------
    def _process_record(
        self, conn: Connection, row: InboxRow, lookup: _Lookup, audit: list[dict[str, Any]],
        events: _Events, result: BatchResult,
    ) -> tuple[str, str | None]:
        rec = row.record
        if rec.connector in self._echo_sources:
            known = self.store.find_xref(conn, "lead", rec.connector, rec.external_id)
            connector = self.connectors[rec.connector]
            if known is not None and connector.is_echo(rec, known[1]):
                result.echoes += 1
                return "echo", known[0]
        normalized = self.plugins.normalize(rec, self.mappings)
        if normalized is None:
            raise InvalidRecord(f"no plugin could normalize {rec.connector}/{rec.stream} records")
        if isinstance(normalized, OutcomeReport):
            lead = self._resolve_lead(conn, rec.connector, normalized.lead_ref)
            if lead is None:
                raise InvalidRecord(
                    f"outcome for unknown lead {normalized.lead_ref!r} from {rec.connector}: "
                    "replay it once the lead exists"
                )
            outcome = Outcome(lead_id=lead.id, status=normalized.status, reason=normalized.reason,
                              amount=normalized.amount, reported_by=rec.connector)
            if self.apply_outcome(conn, lead, outcome, audit, events):
                result.outcomes += 1
            return "done", lead.id
        return self._process_inquiry(conn, row, normalized, lookup, audit, events, result)

    def _resolve_lead(self, conn: Connection, system: str, ref: str) -> Lead | None:
        if ref.startswith("lead_"):
            lead = self.store.get_lead(conn, ref)
            if lead is not None:
                return lead
        found = self.store.find_xref(conn, "lead", system, ref)
        return self.store.get_lead(conn, found[0]) if found else None

    def _match(self, inquiry: Inquiry, lookup: _Lookup) -> AccountMatch:
        match = self.plugins.match_account(inquiry, lookup)
        if match is not None:
            return match
        name = inquiry.company.name or inquiry.company.domain or "Unknown company"
        return AccountMatch(MatchOutcome.NEW, "no matcher decided: new account", new_account_name=name,
                            new_account_domain=inquiry.company.domain)

    def _process_inquiry(
        self, conn: Connection, row: InboxRow, inquiry: Inquiry, lookup: _Lookup,
        audit: list[dict[str, Any]], events: _Events, result: BatchResult,
    ) -> tuple[str, str | None]:
        rec = inquiry.source
        match = self._match(inquiry, lookup)
        if match.outcome == MatchOutcome.MATCHED and match.account_id:
            account_id = match.account_id
        else:
            account = Account(
                name=match.new_account_name or inquiry.company.name or inquiry.company.domain or "Unknown company",
                domains=[d for d in [match.new_account_domain or inquiry.company.domain] if d],
                country=inquiry.company.country or inquiry.contact.country,
            )
            self.store.create_account(conn, account)
            account_id = account.id
        self.store.add_account_keys(conn, account_id, match.keys)

        lead_id = self.store.open_lead_id(conn, account_id, inquiry.product_line)
        created = lead_id is None
        lead = None if created else self.store.get_lead(conn, lead_id)  # type: ignore[arg-type]
        if lead is None:
            created = True
            lead = Lead(
                account_id=account_id, product_line=inquiry.product_line, source_connector=rec.connector,
                partner_id=inquiry.partner_id,
            )
            result.leads_created += 1
        else:
            result.leads_merged += 1

        entry = _Audit(audit, lead.id, account_id)
        entry("match", match.reason, outcome=str(match.outcome), score=match.score, account_id=account_id)
        if match.outcome == MatchOutcome.UNCERTAIN and match.account_id:
            self.store.add_match_review(conn, lead.id, account_id, match.account_id, match.score, match.reason)
        if not created:
            entry("merge", f"joined the open {lead.product_line} lead of this account (now "
                           f"{len(lead.activities) + 1} activities); owner stays {lead.owner_id or 'unassigned'}")

        # Contact: one per person per account.
        contact = inquiry.contact
        contact_id = self.store.find_contact(conn, account_id, str(contact.email) if contact.email else None)
        if contact_id is None and (contact.email or contact.last_name or contact.first_name or contact.phone):
            contact_id = self.store.add_contact(conn, account_id, contact)
        if contact_id is not None and not any(c.email and c.email == contact.email for c in lead.contacts):
            lead.contacts.append(contact)
            self.store.link_contact(conn, lead.id, contact_id, len(lead.contacts) - 1)
        activity = inquiry.activity
        if not activity.source:
            activity = activity.model_copy(update={"source": rec.connector})
        lead.activities.append(activity)

        account_obj = self.store.get_account(conn, account_id)
        assert account_obj is not None
        parts = self.plugins.score(lead, inquiry, account_obj)
        lead.score = sum(p.points for p in parts)
        entry("score", f"score {lead.score}: " + ("; ".join(p.reason for p in parts) or "no signals"),
              parts=[{"points": p.points, "reason": p.reason, "plugin": p.plugin} for p in parts])

        threshold = self.settings.qualify_score
        if lead.status in (LeadStatus.NEW, LeadStatus.NURTURE) and lead.score >= threshold:
            lead.move_to(LeadStatus.QUALIFIED)
            entry("status", f"qualified: score {lead.score} reaches the bar of {threshold}", status="qualified")
        elif lead.status == LeadStatus.NEW:
            lead.move_to(LeadStatus.NURTURE)
            entry("status", f"nurture: score {lead.score} is below the bar of {threshold}", status="nurture")

        if lead.status == LeadStatus.QUALIFIED:
            decision = self._route(conn, lead, account_obj, entry)
            if decision is not None:
                result.routed += 1
                events.routed.append((lead, decision))
        self.store.save_lead(conn, lead, new=created)
        self.store.add_activity(conn, lead.id, contact_id, row.id, activity)
        if inquiry.source_ref:
            self.store.set_xref(conn, "lead", rec.connector, inquiry.source_ref, lead.id, rec.version or None)
        if not created and lead.status in (LeadStatus.ROUTED, LeadStatus.ACCEPTED, LeadStatus.ESCALATED):
            for dest in self.store.lead_destinations(conn, lead.id):
                self.store.enqueue(conn, dest, "lead", lead.id)
        return "done", lead.id

    def _route(self, conn: Connection, lead: Lead, account: Account, entry: _Audit) -> RouteDecision | None:
        parent = self.store.get_account(conn, account.parent_id) if account.parent_id else None
        ctx = RoutingContext(
            lead=lead, account=account, parent_account=parent, owners=self.owners,
            settings=self.settings.routing, strategies=self.strategies,
            rotate=lambda name, n: self.store.rotate(conn, name, n),
        )
        decision = self.plugins.route(ctx)
        if decision is None:
            entry("route", "no owner could be chosen: the lead waits qualified; add owners to hub.toml")
            return None
        owner = self._owners_by_id.get(decision.owner_id)
        lead.move_to(LeadStatus.ROUTED)
        lead.owner_id = decision.owner_id
        sla = decision.sla
        lead.sla_due_at = utcnow() + sla if sla is not None else None
        dests = self._destinations(decision, owner)
        due = f"; SLA due {lead.sla_due_at:%Y-%m-%d %H:%M} UTC" if lead.sla_due_at else ""
        entry("route", f"routed to {owner.name if owner else decision.owner_id}: {decision.reason}{due}"
              + (f"; delivered to {', '.join(dests)}" if dests else "; no destination configured"),
              owner_id=decision.owner_id, destinations=dests)
        for dest in dests:
            self.store.enqueue(conn, dest, "lead", lead.id)
        # Whoever brought the lead hears that it reached an owner (first name only).
        routed = Outcome(lead_id=lead.id, status=LeadStatus.ROUTED, reported_by="hub",
                         reason=f"routed to {owner.first_name if owner else 'an owner'}")
        for name in self._outcome_listeners(conn, lead, "hub", extra_sources=(lead.activities[-1].source if lead.activities else lead.source_connector,)):
            if name not in dests:
                self.store.enqueue(conn, name, "outcome", lead.id, routed.model_dump(mode="json"))
        return decision

    def _destinations(self, decision: RouteDecision, owner: Owner | None) -> list[str]:
        wanted = list(decision.destinations) or ([owner.destination] if owner and owner.destination else [])
        wanted += [d for d in self.settings.extra_destinations if d not in wanted]
        out = []
        for name in wanted:
            conn = self.connectors.get(name)
            if conn is not None and conn.supports(Capability.PUSH_LEADS):
                out.append(name)
            else:
                log.warning("destination %r is not a configured connector that accepts leads", name)
        return out

    # -- outcomes ----------------------------------------------------------------------------
    def apply_outcome(
        self, conn: Connection, lead: Lead, outcome: Outcome, audit: list[dict[str, Any]], events: _Events | None = None,
        actor: str | None = None,
    ) -> bool:
        """Move ``lead`` to ``outcome.status`` through legal steps, audit each, tell its sources.

        :returns: False when the lead already has that status (a repeated report).
        :raises IllegalTransition: when the status cannot be reached from the current one.
        """
        steps = path_to(lead.status, outcome.status)
        if steps is None:
            from hub.schema import IllegalTransition

            raise IllegalTransition(lead.id, lead.status, outcome.status)
        if not steps:
            return False
        entry = _Audit(audit, lead.id, lead.account_id, actor=actor or outcome.reported_by or "hub")
        for step in steps:
            before = lead.move_to(step)
            why = f" ({outcome.reason})" if outcome.reason else ""
            amount = f", amount {outcome.amount:,.2f}" if outcome.amount is not None and step in (LeadStatus.WON, LeadStatus.LOST) else ""
            entry("status", f"{before} -> {step} reported by {outcome.reported_by or 'an operator'}{why}{amount}",
                  status=str(step))
        self.store.save_lead(conn, lead, new=False)
        self.store.add_outcome(conn, lead.id, str(outcome.status), outcome.reason, outcome.amount, outcome.at,
                               outcome.reported_by)
        for dest in self._outcome_listeners(conn, lead, outcome.reported_by):
            self.store.enqueue(conn, dest, "outcome", lead.id, outcome.model_dump(mode="json"))
        if events is not None:
            events.outcomes.append((lead, outcome))
        return True

    def _outcome_listeners(
        self, conn: Connection, lead: Lead, reporter: str, extra_sources: tuple[str, ...] = ()
    ) -> list[str]:
        names = set(self.store.lead_sources(conn, lead.id)) | set(self.store.lead_destinations(conn, lead.id))
        names |= {n for n in extra_sources if n}
        return sorted(
            n for n in names
            if n != reporter and n in self.connectors and self.connectors[n].supports(Capability.PUSH_OUTCOMES)
        )

    def record_outcome(self, outcome: Outcome, actor: str = "operator") -> Lead:
        """Apply an outcome outside a batch (CLI, partner approvals, tests); commits at once."""
        audit: list[dict[str, Any]] = []
        events = _Events()
        with self.store.engine.begin() as conn:
            lead = self.store.get_lead(conn, outcome.lead_id)
            if lead is None:
                raise LookupError(f"no lead {outcome.lead_id}; list leads with `leadhub leads list`")
            self.apply_outcome(conn, lead, outcome, audit, events, actor=actor)
            self.store.audit(conn, audit)
        self._fire(events)
        return lead

    # -- SLA ---------------------------------------------------------------------------------
    def check_sla(self, now: datetime | None = None, limit: int = 100) -> int:
        """Escalate, reassign or claw back routed leads past their due time; returns how many."""
        now = now or utcnow()
        audit: list[dict[str, Any]] = []
        events = _Events()
        done = 0
        with self.store.engine.begin() as conn:
            for lead_id in self.store.breached_leads(conn, now, limit):
                lead = self.store.get_lead(conn, lead_id, with_activities=False)
                if lead is None:
                    continue
                action = self.plugins.sla_breached(lead, self.owners, now)
                if action is None:
                    continue
                entry = _Audit(audit, lead.id, lead.account_id)
                if action.kind == SlaActionKind.CLAW_BACK:
                    if lead.status == LeadStatus.ROUTED:
                        lead.move_to(LeadStatus.ESCALATED)
                    lead.move_to(LeadStatus.NURTURE)
                    lead.owner_id = None
                    entry("sla", f"clawed back to nurture: {action.reason}", sla_action=str(action.kind))
                else:
                    if lead.status == LeadStatus.ROUTED and action.kind == SlaActionKind.ESCALATE:
                        lead.move_to(LeadStatus.ESCALATED)
                    lead.owner_id = action.owner_id or lead.owner_id
                    lead.sla_due_at = now + _minutes(self.settings.sla_minutes)
                    entry("sla", f"{action.kind}: {action.reason}", sla_action=str(action.kind), owner_id=lead.owner_id)
                    for dest in self.store.lead_destinations(conn, lead.id):
                        self.store.enqueue(conn, dest, "lead", lead.id)
                self.store.save_lead(conn, lead, new=False)
                done += 1
            self.store.audit(conn, audit)
        return done


def _minutes(value: float) -> Any:
    from datetime import timedelta

    return timedelta(minutes=value)


class _Audit:
    """Appends audit entries for one lead to the batch's list."""

    def __init__(self, sink: list[dict[str, Any]], lead_id: str, account_id: str, actor: str = "hub") -> None:
        self.sink, self.lead_id, self.account_id, self.actor = sink, lead_id, account_id, actor

    def __call__(self, action: str, reason: str, **details: Any) -> None:
        self.sink.append({"lead_id": self.lead_id, "account_id": self.account_id, "action": action,
                          "reason": reason, "actor": self.actor, "details": details})


def _reason_of(exc: Exception) -> tuple[str, str | None]:
    if isinstance(exc, InvalidRecord):
        return exc.reason, exc.field
    from pydantic import ValidationError

    if isinstance(exc, ValidationError):
        err = exc.errors()[0]
        loc = ".".join(str(p) for p in err["loc"])
        return f"field '{loc}': {err['msg']}", loc
    return f"internal error while processing ({type(exc).__name__}: {exc}); fix the cause and replay", None


Clock = Callable[[], datetime]
