"""The pipeline: claim pending inbox records and turn each into a routed lead, in one transaction.

For every record of a batch::

    deleted? -> echo? -> normalize -> (outcome report: apply it) | (inquiry: match account ->
    merge into the open lead of (account, product line) or open one -> score -> nurture or
    qualify -> route -> outbox rows) -> audit entries

Reads and writes go through a :class:`~hub.pipeline.batch.BatchWork`: writes are buffered and flushed
together at the end, so the batch's leads, audit entries, outbox rows and the inbox rows' new
status commit in one transaction. A crash anywhere leaves the batch pending and it is processed
again, exactly once. A record that fails (bad input, a plugin bug) is undone and quarantined with
the reason; the rest of the batch goes on. If the flush itself fails, the batch is retried one
record per transaction so the one bad record is isolated. Events fire after the commit.

Runs of plain records (not deleted, not from a connector the hub writes to, so never an echo) go in
three passes, for speed: normalize and match each record in order (matching sees the accounts the
earlier records opened), then read every matched account's open leads, contacts and destinations
in a few bulk queries, then finish each record in order. Matching reads only accounts and their
keys and the later passes never write those, so the result is what one pass per record gives. If
finishing an inquiry fails, the batch is rolled back and run again one pass per record, so the
failed record's account never reaches a later record.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection

from hub.pipeline.batch import BatchWork, LeadHistories, paused_gc
from hub.connector import Capability, Connector
from hub.pipeline.contacts import PersonKeys, person_keys, place_contact
from hub.decisions import (
    AccountCandidate,
    AccountMatch,
    MatchKey,
    MatchOutcome,
    Owner,
    RouteDecision,
    RoutingContext,
)
from hub.errors import InvalidRecord
from hub.pipeline.lifecycle import Events, LeadAudit, LeadLifecycle
from hub.mapping import MappingSet
from hub.plugins import HubPlugins
from hub.schema import (
    Account,
    AccountRecord,
    Activity,
    IllegalTransition,
    Inquiry,
    Lead,
    LeadStatus,
    Outcome,
    OutcomeReport,
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
    deleted: int = 0

    def add(self, other: BatchResult) -> None:
        for name in self.__dataclass_fields__:
            setattr(self, name, getattr(self, name) + getattr(other, name))


class _Replan(Exception):
    """A planned batch must run again record by record (an inquiry failed after matching)."""


@dataclass
class _Plan:
    """A record normalized (and, for an inquiry, matched) ahead of the rest of its processing."""

    row: InboxRow
    normalized: Inquiry | OutcomeReport | AccountRecord
    match: AccountMatch | None = None
    account: Account | str | None = None  # new account, or the id of the matched one
    done: tuple[str, str | None] | None = None  # an account record's result (processed when planned)
    keys: PersonKeys | None = None  # an inquiry contact's keys, worked out when prefetching


class _Lookup:
    """The account index as the matcher sees it (``AccountLookup``), including this batch's."""

    def __init__(self, work: BatchWork) -> None:
        self.work = work

    def candidates(self, keys: list[MatchKey], limit: int = 50) -> list[AccountCandidate]:
        return self.work.candidates(keys, limit)


@dataclass
class PipelineSettingsView:
    qualify_score: int
    routing: dict[str, Any]
    sla_minutes: float
    extra_destinations: tuple[str, ...]
    #: A recycled lead absorbs new activity only this many days after it was recycled.
    recycle_window_days: float = 90


class Pipeline(LeadLifecycle):
    """Processes inbox records into leads; between batches it keeps only a bounded cache of lead
    histories, checked against the store before each use. Safe to run in a thread."""

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
        #: Instance name -> connector type name: mappings are per type (mappings/<type>.toml).
        self._types = {n: c.name for n, c in connectors.items()}
        #: Histories of big open leads, so a batch does not read them whole again (bounded).
        self._histories = LeadHistories()

    # -- batches -----------------------------------------------------------------------------
    def process_batch(self, limit: int) -> BatchResult:
        """Claim up to ``limit`` pending records and process them in one transaction."""
        if limit <= 0:
            return BatchResult()
        with paused_gc():
            return self._process_batch(limit)

    def _process_batch(self, limit: int) -> BatchResult:
        try:
            try:
                return self._run_batch(limit, one_by_one=False, planned=True)
            except _Replan:
                return self._run_batch(limit, one_by_one=False, planned=False)
        except Exception:  # noqa: BLE001 - the flush failed: isolate the record that broke it
            log.exception("batch flush failed; retrying record by record")
            total = BatchResult()
            for _ in range(limit):
                got = self._run_batch(1, one_by_one=True)
                total.add(got)
                if got.processed == 0:
                    break
            return total

    def _run_batch(self, limit: int, *, one_by_one: bool, planned: bool = False) -> BatchResult:
        events = Events()
        result = BatchResult()
        with self.store.engine.begin() as conn:
            rows = self.store.claim_pending(conn, limit)
            if not rows:
                return result
            work = BatchWork(self.store, conn, None if one_by_one else self._histories)
            if one_by_one:
                savepoint = conn.begin_nested()
                try:
                    self._run_records(work, rows, events, result, planned=False)
                    work.flush()
                    savepoint.commit()
                except Exception as exc:  # noqa: BLE001 - this one record cannot be stored
                    savepoint.rollback()
                    work = BatchWork(self.store, conn)
                    events = Events()
                    result = BatchResult(processed=1)
                    self._quarantine(work, rows[0], exc, events, result)
                    work.flush()
            else:
                self._run_records(work, rows, events, result, planned=planned)
                work.flush()
        work.remember_histories()  # committed: what was written is what the store holds now
        self._fire(events)
        return result

    def _run_records(self, work: BatchWork, rows: list[InboxRow], events: Events, result: BatchResult,
                     *, planned: bool) -> None:
        lookup = _Lookup(work)
        start = 0
        while start < len(rows):
            end = start
            while planned and end < len(rows) and self._plannable(rows[end]):
                end += 1
            if end > start:
                self._run_planned(work, rows[start:end], lookup, events, result)
                start = end
            else:
                row = rows[start]
                self._guarded(work, row, events, result,
                              lambda row=row: self._process_record(work, row, lookup, events, result))
                start += 1

    def _plannable(self, row: InboxRow) -> bool:
        return not row.record.deleted and row.record.connector not in self._echo_sources

    def _guarded(self, work: BatchWork, row: InboxRow, events: Events, result: BatchResult,
                 step: Any, *, finish: bool = True) -> Any:
        """Run ``step`` as one record's unit: undone and quarantined if it raises (returns None)."""
        work.begin_record()
        mark = events.mark()
        counts = BatchResult(**vars(result))
        try:
            got = step()
            work.commit_record()
            if finish:
                work.finish(row.id, *got)
                result.processed += 1
            return got
        except Exception as exc:  # noqa: BLE001 - quarantined with the reason, never dropped
            work.rollback_record()
            events.reset(mark)
            for name in counts.__dataclass_fields__:
                setattr(result, name, getattr(counts, name))
            self._quarantine(work, row, exc, events, result)
            result.processed += 1
            return None

    def _run_planned(self, work: BatchWork, rows: list[InboxRow], lookup: _Lookup, events: Events,
                     result: BatchResult) -> None:
        plans = [p for p in (self._guarded(work, row, events, result, lambda row=row: self._plan(work, row, lookup),
                                           finish=False) for row in rows) if p is not None]
        inquiries = [p for p in plans if isinstance(p.normalized, Inquiry)]
        matched = {p.account for p in inquiries if isinstance(p.account, str)}
        work.prefetch_accounts(matched)
        work.prefetch_leads(matched)
        self._prefetch_people(work, inquiries)
        for plan in plans:
            if isinstance(plan.normalized, Inquiry):
                done = self._guarded(work, plan.row, events, result, lambda plan=plan: self._process_inquiry(
                    work, plan.row, plan.normalized, plan.match, plan.account, events, result, plan.keys))
                if done is None:
                    raise _Replan(plan.row.id)  # its account and keys may have reached later records
            elif plan.done is not None:  # an account record: all done while matching, in order
                self._guarded(work, plan.row, events, result, lambda plan=plan: plan.done)
            else:
                self._guarded(work, plan.row, events, result,
                              lambda plan=plan: self._process_outcome(work, plan.row.record, plan.normalized,
                                                                      events, result))

    def _prefetch_people(self, work: BatchWork, plans: list[_Plan]) -> None:
        """Read the batch's contacts by match key, then the candidate duplicates of the contacts
        that will be new, in a few queries (what ``place_contact`` would read one by one)."""
        people = work.people
        placed = []
        for plan in plans:
            assert isinstance(plan.normalized, Inquiry) and plan.account is not None
            plan.keys = keys = person_keys(self.plugins, plan.normalized.contact)
            placed.append((plan.account if isinstance(plan.account, str) else plan.account.id, keys))
        people.prefetch(keys.match for _, keys in placed if keys.match)
        names: set[tuple[str, str]] = set()
        phones: set[str] = set()
        for account_id, keys in placed:
            if people.find(account_id, keys.match) is None:
                if keys.name:
                    names.add((account_id, keys.name))
                if keys.phone:
                    phones.add(keys.phone)
        people.prefetch_candidates(names, phones)

    def _plan(self, work: BatchWork, row: InboxRow, lookup: _Lookup) -> _Plan:
        normalized = self._normalize(row.record)
        if isinstance(normalized, AccountRecord):
            # It matches and may open an account: that must happen in order with the inquiries.
            return _Plan(row, normalized, done=self._process_account(work, row.record, normalized, lookup))
        if isinstance(normalized, OutcomeReport):
            return _Plan(row, normalized)
        match, account = self._place(work, normalized, lookup)
        return _Plan(row, normalized, match, account)

    def _quarantine(self, work: BatchWork, row: InboxRow, exc: Exception, events: Events, result: BatchResult) -> None:
        reason, fld = _reason_of(exc)
        if not isinstance(exc, InvalidRecord | IllegalTransition):
            log.error("record %s failed; quarantined: %s", row.id, reason, exc_info=exc)
        rec = row.record
        work.quarantine({"inbox_id": row.id, "connector": rec.connector, "stream": rec.stream, "raw": rec.payload,
                         "reason": reason, "field": fld, "source_ref": rec.external_id})
        work.finish(row.id, "quarantined", None)
        events.quarantined.append((rec.connector, rec.stream, reason, {"inbox_id": row.id, "field": fld}))
        result.quarantined += 1

    def _fire(self, events: Events) -> None:
        for lead, decision in events.routed:
            self.plugins.lead_routed(lead, decision)
        for lead, outcome in events.outcomes:
            self.plugins.outcome(lead, outcome)
        for connector, stream, reason, details in events.quarantined:
            self.plugins.record_quarantined(connector, stream, reason, details)

    # -- one record --------------------------------------------------------------------------
    def _process_record(
        self, work: BatchWork, row: InboxRow, lookup: _Lookup, events: Events, result: BatchResult
    ) -> tuple[str, str | None]:
        rec = row.record
        if rec.deleted:
            return self._deleted(work, row, result)
        if rec.connector in self._echo_sources:
            known = work.find_xref("lead", rec.connector, rec.external_id)
            if known is not None and self.connectors[rec.connector].is_echo(rec, known[1]):
                result.echoes += 1
                return "echo", known[0]
        normalized = self._normalize(rec)
        if isinstance(normalized, OutcomeReport):
            return self._process_outcome(work, rec, normalized, events, result)
        if isinstance(normalized, AccountRecord):
            return self._process_account(work, rec, normalized, lookup)
        match, account = self._place(work, normalized, lookup)
        return self._process_inquiry(work, row, normalized, match, account, events, result)

    def _process_account(self, work: BatchWork, rec: Any, record: AccountRecord, lookup: _Lookup) -> tuple[str, None]:
        """A company a CRM knows: match it to a hub account and keep the CRM's id (no lead)."""
        ref = record.source_ref or rec.external_id
        if work.find_xref("account", rec.connector, ref) is not None:
            return "done", None  # known already; a company's later edits change nothing here
        probe = Inquiry(source=rec, company=record.company, activity=Activity(kind="crm_account", source=rec.connector))
        match, placed = self._place(work, probe, lookup)
        account_id = placed if isinstance(placed, str) else placed.id
        work.set_xref("account", rec.connector, ref, account_id, rec.version or None)
        work.audit([{"lead_id": None, "account_id": account_id, "action": "account",
                     "reason": f"known in {rec.connector} as {ref}: {match.reason}"}])
        return "done", None

    def _process_outcome(self, work: BatchWork, rec: Any, report: OutcomeReport, events: Events,
                         result: BatchResult) -> tuple[str, str | None]:
        lead = self._resolve_lead(work, rec.connector, report.lead_ref)
        if lead is None:
            raise InvalidRecord(
                f"outcome for unknown lead {report.lead_ref!r} from {rec.connector}: "
                "replay it once the lead exists"
            )
        outcome = Outcome(lead_id=lead.id, status=report.status, reason=report.reason,
                          amount=report.amount, reported_by=rec.connector)
        if self._apply_outcome(work, lead, outcome, events):
            result.outcomes += 1
        return "done", lead.id

    def _normalize(self, rec: Any) -> Inquiry | OutcomeReport | AccountRecord:
        type_name = self._types.get(rec.connector, rec.connector)
        view = rec if type_name == rec.connector else rec.model_copy(update={"connector": type_name})
        normalized = self.plugins.normalize(view, self.mappings)
        if normalized is None:
            raise InvalidRecord(f"no plugin could normalize {rec.connector}/{rec.stream} records")
        if view is not rec:
            normalized = normalized.model_copy(update={"source": rec})
        return normalized

    def _deleted(self, work: BatchWork, row: InboxRow, result: BatchResult) -> tuple[str, str | None]:
        """A record deleted at its source: forget the cross-reference; the lead itself stays."""
        rec = row.record
        result.deleted += 1
        known = work.find_xref("lead", rec.connector, rec.external_id)
        if known is None:
            return "deleted", None
        work.delete_xref("lead", rec.connector, rec.external_id)
        lead = work.lead(known[0])
        work.audit([{"lead_id": known[0], "account_id": lead.account_id if lead else None, "action": "source",
                     "reason": f"{rec.stream} {rec.external_id} was deleted in {rec.connector}; "
                               "the lead stays in the hub (its history is kept)"}])
        return "deleted", known[0]

    def _resolve_lead(self, work: BatchWork, system: str, ref: str) -> Lead | None:
        if ref.startswith("lead_"):
            lead = work.lead(ref)
            if lead is not None:
                return lead
        found = work.find_xref("lead", system, ref)
        return work.lead(found[0]) if found else None

    def _match(self, inquiry: Inquiry, lookup: _Lookup) -> AccountMatch:
        match = self.plugins.match_account(inquiry, lookup)
        if match is not None:
            return match
        name = inquiry.company.name or inquiry.company.domain or "Unknown company"
        return AccountMatch(MatchOutcome.NEW, "no matcher decided: new account", new_account_name=name,
                            new_account_domain=inquiry.company.domain)

    def _place(self, work: BatchWork, inquiry: Inquiry, lookup: _Lookup) -> tuple[AccountMatch, Account | str]:
        """Match the inquiry; open its new account or name the matched one; index its keys."""
        match = self._match(inquiry, lookup)
        if match.outcome == MatchOutcome.MATCHED and match.account_id:
            work.add_account_keys(match.account_id, match.keys)
            return match, match.account_id
        account = Account(
            name=match.new_account_name or inquiry.company.name or inquiry.company.domain or "Unknown company",
            domains=[d for d in [match.new_account_domain or inquiry.company.domain] if d],
            country=inquiry.company.country or inquiry.contact.country,
        )
        work.create_account(account)
        work.add_account_keys(account.id, match.keys)
        return match, account

    def _process_inquiry(
        self, work: BatchWork, row: InboxRow, inquiry: Inquiry, match: AccountMatch, placed: Account | str,
        events: Events, result: BatchResult, keys: PersonKeys | None = None,
    ) -> tuple[str, str | None]:
        rec = inquiry.source
        account = work.account(placed) if isinstance(placed, str) else placed
        if account is None:
            raise InvalidRecord(f"the matcher chose account {match.account_id}, which does not exist")

        lead_id = work.open_lead_id(account.id, inquiry.product_line)
        lead = work.lead(lead_id) if lead_id else None
        recycled = lead if lead is not None and self._past_window(lead, inquiry.activity.at) else None
        if recycled is not None:
            lead = None  # recycled too long ago: this activity is a new need
        created = lead is None
        if lead is None:
            lead = Lead(account_id=account.id, product_line=inquiry.product_line, source_connector=rec.connector,
                        partner_id=inquiry.partner_id)
            work.put_lead(lead, new=True)  # known to the batch from here on (same object)
            result.leads_created += 1
        else:
            result.leads_merged += 1

        entry = LeadAudit(work, lead.id, account.id)
        entry("match", match.reason, outcome=str(match.outcome), score=match.score, account_id=account.id)
        if match.outcome == MatchOutcome.UNCERTAIN and match.account_id:
            work.add_match_review({"lead_id": lead.id, "account_id": account.id, "candidate_id": match.account_id,
                                   "score": match.score, "reason": match.reason})
        if not created:
            entry("merge", f"joined the open {lead.product_line} lead of this account (now "
                           f"{len(lead.activities) + 1} activities); owner stays {lead.owner_id or 'unassigned'}")
        if recycled is not None:
            self._audit_recycled(work, recycled, lead, inquiry.activity.at, entry)

        # Contact: one per person (match key) per account; a new one may be a candidate duplicate.
        contact_id = place_contact(work, self.plugins, account.id, lead, inquiry.contact,
                                   keys or person_keys(self.plugins, inquiry.contact), entry)
        # The activity's source is the connector instance: outcomes flow back to it.
        activity = inquiry.activity.model_copy(update={"source": rec.connector})
        lead.activities.append(activity)

        parts = self.plugins.score(lead, inquiry, account)
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

        work.add_activity(lead.id, contact_id, row.id, {"kind": activity.kind, "at": activity.at,
                                                        "source": activity.source, "details": activity.details})
        if lead.status == LeadStatus.QUALIFIED:
            decision = self._route(work, lead, account, entry)
            if decision is not None:
                result.routed += 1
                events.routed.append((lead, decision))
        elif not created and lead.status in (LeadStatus.ROUTED, LeadStatus.ACCEPTED, LeadStatus.ESCALATED):
            for dest in work.lead_destinations(lead.id):  # the CRM sees the new contact/activity
                work.enqueue(dest, "lead", lead.id)
        lead.updated_at = utcnow()
        work.put_lead(lead, new=created)
        if inquiry.source_ref:
            work.set_xref("lead", rec.connector, inquiry.source_ref, lead.id, rec.version or None)
        return "done", lead.id

    def _route(self, work: BatchWork, lead: Lead, account: Account, entry: LeadAudit) -> RouteDecision | None:
        parent = work.account(account.parent_id) if account.parent_id else None
        ctx = RoutingContext(
            lead=lead, account=account, parent_account=parent, owners=self.owners,
            settings=self.settings.routing, strategies=self.strategies, rotate=work.rotate,
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
            work.enqueue(dest, "lead", lead.id)
        # Whoever brought the lead hears that it reached an owner (first name only).
        routed = Outcome(lead_id=lead.id, status=LeadStatus.ROUTED, reported_by="hub",
                         reason=f"routed to {owner.first_name if owner else 'an owner'}")
        for name in self._outcome_listeners(work, lead, "hub"):
            if name not in dests:
                work.enqueue(name, "outcome", lead.id, routed.model_dump(mode="json"))
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


def _reason_of(exc: Exception) -> tuple[str, str | None]:
    if isinstance(exc, InvalidRecord):
        return exc.reason, exc.field
    if isinstance(exc, IllegalTransition):
        return f"{exc}; the report does not fit the lead's history", None
    from pydantic import ValidationError

    if isinstance(exc, ValidationError):
        err = exc.errors()[0]
        loc = ".".join(str(p) for p in err["loc"])
        return f"field '{loc}': {err['msg']}", loc
    return f"internal error while processing ({type(exc).__name__}: {exc}); fix the cause and replay", None


def _unused(conn: Connection) -> None:  # pragma: no cover - keeps the Connection import typed
    del conn
