"""The pipeline: claim pending inbox records and turn each into a routed lead, in one transaction.

For every record of a batch::

    deleted? -> echo? -> normalize -> (outcome report: apply outcome) | (account record: place) |
    (inquiry: place -> merge -> score -> qualify -> route) -> audit entries, outbox rows

Each step is a public method of :class:`Pipeline` taking the batch's unit of work
(:class:`~hub.pipeline.batch.BatchWork`) and returning a typed result: :meth:`~Pipeline.normalize`,
:meth:`~Pipeline.place`, :meth:`~Pipeline.merge`, :meth:`~Pipeline.score`,
:meth:`~Pipeline.qualify`, :meth:`~Pipeline.route` and :meth:`~Pipeline.apply_outcome`. Review
tools (``leads split``) call the same steps; nothing else decides what a lead becomes.

Writes are buffered in the unit of work and flushed together at the end, so the batch's leads,
audit entries, outbox rows and the inbox rows' new status commit in one transaction. A crash
anywhere leaves the batch pending and it is processed again, exactly once. A record that fails (bad
input, a plugin bug) is undone and quarantined with the reason; the rest of the batch goes on.
Events fire after the commit.

One logic, three ways to run it:

- **One pass per record** (:meth:`Pipeline._process_record`): plan the record (normalize, and for
  an inquiry place it), then finish it (:meth:`Pipeline._finish`).
- **Planned** (the default, for speed): a run of plain records (not deleted, not from a connector
  the hub writes to, so never an echo) is planned record by record in order (placing sees the
  accounts the earlier records opened), then every placed account's open leads, contacts and
  destinations are read in a few bulk queries, then each record is finished in order. Placing
  reads only accounts and their keys and finishing never writes those, so the result is what one
  pass per record gives (``tests/hub/test_pipeline_equivalence.py`` checks it). If finishing an
  inquiry fails, the batch is rolled back and run again one pass per record, so the failed
  record's account never reaches a later record.
- **Isolated**: if the flush itself fails, the batch is run again one record per transaction, so
  the one bad record is found and quarantined.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Concatenate, ParamSpec, TypeVar

from hub.connector import Capability, Connector
from hub.decisions import (
    AccountCandidate,
    AccountMatch,
    MatchKey,
    MatchOutcome,
    Owner,
    QualifyDecision,
    RouteDecision,
    RoutingContext,
)
from hub.errors import InvalidRecord
from hub.mapping import MappingSet
from hub.pipeline.accounts import AccountLinks
from hub.pipeline.batch import BatchWork, Events, LeadHistories, paused_gc
from hub.pipeline.contacts import PersonKeys, person_keys, place_contact
from hub.pipeline.ledger import StoreLedger
from hub.pipeline.lifecycle import LeadAudit, LeadLifecycle
from hub.pipeline.steps import Merged, Placement, Scored
from hub.plugins import HubPlugins
from hub.schema import (
    Account,
    AccountRecord,
    Activity,
    Company,
    IllegalTransition,
    Inquiry,
    Lead,
    LeadStatus,
    Outcome,
    OutcomeReport,
    SourceRecord,
    utcnow,
)
from hub.store import InboxRow, Store

log = logging.getLogger(__name__)

P = ParamSpec("P")
T = TypeVar("T")

#: The audit reason when no ``hub_qualify`` plugin decides.
NO_QUALIFY_POLICY = "no qualification policy decided: stays in nurture"
#: A record's end: its inbox status ("done", "echo", "deleted") and the lead it concerned.
Finished = tuple[str, str | None]


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


@dataclass
class _Plan:
    """A record normalized (and, for an inquiry, placed) ahead of the rest of its processing."""

    row: InboxRow
    normalized: Inquiry | OutcomeReport | AccountRecord
    placement: Placement | None = None  # an inquiry's
    account_id: str | None = None  # an account record's hub account (placed when planned)
    keys: PersonKeys | None = None  # an inquiry contact's keys, worked out when prefetching


class _Replan(Exception):
    """A planned batch must run again one pass per record (an inquiry failed after placing)."""


class _Lookup:
    """The account index as the matcher sees it (``AccountLookup``), including this batch's."""

    def __init__(self, work: BatchWork) -> None:
        self.work = work

    def candidates(self, keys: list[MatchKey], limit: int = 50) -> list[AccountCandidate]:
        return self.work.candidates(keys, limit)


@dataclass
class PipelineSettingsView:
    """The settings the engine reads. Whether a lead qualifies is not one: ``hub_qualify`` decides."""

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
        #: The engine's clock: routing decides "as of now" with it (tests set a fake one).
        self.clock: Callable[[], datetime] = utcnow
        self._owners_by_id = {o.id: o for o in owners}
        #: Named accounts: owners and parents from the CRMs' account records.
        self.account_links = AccountLinks(owners)
        #: Connectors the hub writes to: records pulled from them may be the hub's own echo.
        self._echo_sources = {n for n, c in connectors.items() if c.supports(Capability.PUSH_LEADS)}
        #: Instance name -> connector type name: mappings are per type (mappings/<type>.toml).
        self._types = {n: c.name for n, c in connectors.items()}
        #: Histories of big open leads, so a batch does not read them whole again (bounded).
        self._histories = LeadHistories()

    # -- batches -----------------------------------------------------------------------------
    def process_batch(self, limit: int, *, plan: bool = True) -> BatchResult:
        """Claim up to ``limit`` pending records and process them in one transaction.

        ``plan=False`` processes every record in one pass, the simple way the planned batch must
        agree with (the equivalence test runs both).
        """
        if limit <= 0:
            return BatchResult()
        with paused_gc():
            try:
                try:
                    return self._run_batch(limit, plan=plan)
                except _Replan:
                    return self._run_batch(limit, plan=False)
            except Exception:
                log.exception("batch flush failed; retrying record by record")
                return self._run_isolated(limit)

    def _run_batch(self, limit: int, *, plan: bool) -> BatchResult:
        result = BatchResult()
        with self.store.engine.begin() as conn:
            rows = self.store.claim_pending(conn, limit)
            if not rows:
                return result
            work = BatchWork(self.store, conn, self._histories)
            start = 0
            while start < len(rows):
                end = start
                while plan and end < len(rows) and self._plannable(rows[end]):
                    end += 1
                if end > start:
                    self._run_planned(work, rows[start:end], result)
                    start = end
                else:
                    self._finished(work, rows[start], result, self._process_record, rows[start], result)
                    start += 1
            work.flush()
        work.remember_histories()  # committed: what was written is what the store holds now
        self.fire(work.events)
        return result

    def _run_isolated(self, limit: int) -> BatchResult:
        """One record per transaction; a record whose flush fails is quarantined on its own."""
        total = BatchResult()
        for _ in range(limit):
            result = BatchResult()
            with self.store.engine.begin() as conn:
                rows = self.store.claim_pending(conn, 1)
                if not rows:
                    break
                work = BatchWork(self.store, conn)
                savepoint = conn.begin_nested()
                try:
                    self._finished(work, rows[0], result, self._process_record, rows[0], result)
                    work.flush()
                    savepoint.commit()
                except Exception as exc:  # noqa: BLE001 - this one record cannot be stored
                    savepoint.rollback()
                    work, result = BatchWork(self.store, conn), BatchResult(processed=1)
                    self._quarantine(work, rows[0], exc, result)
                    work.flush()
            self.fire(work.events)
            total.add(result)
        return total

    def _plannable(self, row: InboxRow) -> bool:
        return not row.record.deleted and row.record.connector not in self._echo_sources

    def _guarded(self, work: BatchWork, row: InboxRow, result: BatchResult,
                 step: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T | None:
        """Run ``step`` as one unit of ``row``: undone and quarantined if it raises (returns None)."""
        work.begin_record()
        counts = vars(result).copy()
        try:
            got = step(*args, **kwargs)
            work.commit_record()
            return got
        except Exception as exc:  # noqa: BLE001 - quarantined with the reason, never dropped
            work.rollback_record()
            vars(result).update(counts)  # the step's counts go with its writes
            self._quarantine(work, row, exc, result)
            result.processed += 1
            return None

    def _finished(self, work: BatchWork, row: InboxRow, result: BatchResult,
                  step: Callable[Concatenate[BatchWork, P], Finished], *args: P.args, **kwargs: P.kwargs) -> bool:
        """Run ``step(work, ...)`` guarded and mark ``row`` finished; False if it was quarantined."""
        got = self._guarded(work, row, result, step, work, *args, **kwargs)
        if got is None:
            return False
        work.finish(row.id, *got)
        result.processed += 1
        return True

    def _run_planned(self, work: BatchWork, rows: list[InboxRow], result: BatchResult) -> None:
        plans = [p for p in (self._guarded(work, row, result, self._plan, work, row) for row in rows) if p is not None]
        self._prefetch(work, plans)
        for plan in plans:
            if not self._finished(work, plan.row, result, self._finish, plan, result) and plan.placement:
                raise _Replan(plan.row.id)  # its account and keys may have reached later records

    def _prefetch(self, work: BatchWork, plans: list[_Plan]) -> None:
        """Read what finishing the planned inquiries will read, in a few bulk queries: the matched
        accounts, their open leads, the contacts by match key, and the candidate duplicates of
        the contacts that will be new (what ``place_contact`` would read one by one)."""
        placed = [(p, p.placement) for p in plans if p.placement is not None]
        matched = {pl.account_id for _, pl in placed if pl.new_account is None}
        work.prefetch_accounts(matched)
        work.prefetch_leads(matched)
        people = work.people
        for plan, _ in placed:
            assert isinstance(plan.normalized, Inquiry)
            plan.keys = person_keys(self.plugins, plan.normalized.contact)
        people.prefetch(p.keys.match for p, _ in placed if p.keys and p.keys.match)
        names: set[tuple[str, str]] = set()
        phones: set[str] = set()
        for plan, placement in placed:
            keys = plan.keys
            assert keys is not None
            if people.find(placement.account_id, keys.match) is None:
                if keys.name:
                    names.add((placement.account_id, keys.name))
                if keys.phone:
                    phones.add(keys.phone)
        people.prefetch_candidates(names, phones)

    def _quarantine(self, work: BatchWork, row: InboxRow, exc: Exception, result: BatchResult) -> None:
        reason, fld = _reason_of(exc)
        if not isinstance(exc, InvalidRecord | IllegalTransition):
            log.error("record %s failed; quarantined: %s", row.id, reason, exc_info=exc)
        rec = row.record
        work.quarantine({"inbox_id": row.id, "connector": rec.connector, "stream": rec.stream, "raw": rec.payload,
                         "reason": reason, "field": fld, "source_ref": rec.external_id})
        work.finish(row.id, "quarantined", None)
        work.events.quarantined.append((rec.connector, rec.stream, reason, {"inbox_id": row.id, "field": fld}))
        result.quarantined += 1

    def fire(self, events: Events) -> None:
        """Tell the plugins what a committed batch did (``hub_lead_routed``, ``hub_outcome``...)."""
        for lead, decision in events.routed:
            self.plugins.lead_routed(lead, decision)
        for lead, outcome in events.outcomes:
            self.plugins.outcome(lead, outcome)
        for connector, stream, reason, details in events.quarantined:
            self.plugins.record_quarantined(connector, stream, reason, details)

    # -- one record: plan, then finish -------------------------------------------------------
    def _process_record(self, work: BatchWork, row: InboxRow, result: BatchResult) -> Finished:
        """One record in one pass: plan it and finish it at once (the planned path does the same
        in three passes, over a run of records)."""
        if row.record.deleted:
            return self._deleted(work, row, result)
        echo = self._echo(work, row, result)
        if echo is not None:
            return echo
        return self._finish(work, self._plan(work, row), result)

    def _plan(self, work: BatchWork, row: InboxRow) -> _Plan:
        """Normalize the record; place an inquiry or an account record (it matches and may open an
        account, which must happen in order with the inquiries). An account record's owner and
        parent are set when it is finished, in order with the inquiries' routing."""
        normalized = self.normalize(row.record)
        if isinstance(normalized, AccountRecord):
            return _Plan(row, normalized, account_id=self._place_known_account(work, row.record, normalized))
        if isinstance(normalized, OutcomeReport):
            return _Plan(row, normalized)
        return _Plan(row, normalized, placement=self.place(work, normalized))

    def _finish(self, work: BatchWork, plan: _Plan, result: BatchResult) -> Finished:
        if isinstance(plan.normalized, AccountRecord):
            rec, record = plan.row.record, plan.normalized
            assert plan.account_id is not None
            self.account_links.apply(work, rec.connector, record.source_ref or rec.external_id, plan.account_id,
                                     record)
            return "done", None
        if isinstance(plan.normalized, OutcomeReport):
            return self._report_outcome(work, plan.normalized, result)
        assert isinstance(plan.normalized, Inquiry) and plan.placement is not None
        return self._finish_inquiry(work, plan.row, plan.normalized, plan.placement, result, plan.keys)

    def _deleted(self, work: BatchWork, row: InboxRow, result: BatchResult) -> Finished:
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

    def _echo(self, work: BatchWork, row: InboxRow, result: BatchResult) -> Finished | None:
        """The hub's own write read back from a connector it pushes to: nothing to do."""
        rec = row.record
        if rec.connector not in self._echo_sources:
            return None
        known = work.find_xref("lead", rec.connector, rec.external_id)
        if known is None or not self.connectors[rec.connector].is_echo(rec, known[1]):
            return None
        result.echoes += 1
        return "echo", known[0]

    def _place_known_account(self, work: BatchWork, rec: SourceRecord, record: AccountRecord) -> str:
        """A company a CRM knows: place it on a hub account and keep the CRM's id (no lead);
        returns the hub account's id."""
        ref = record.source_ref or rec.external_id
        known = work.find_xref("account", rec.connector, ref)
        if known is not None:
            return known[0]  # known already: only its owner and parent may change (when finished)
        probe = Inquiry(source=rec, company=record.company, activity=Activity(kind="crm_account", source=rec.connector))
        placement = self.place(work, probe)
        work.set_xref("account", rec.connector, ref, placement.account_id, rec.version or None)
        work.audit([{"lead_id": None, "account_id": placement.account_id, "action": "account",
                     "reason": f"known in {rec.connector} as {ref}: {placement.match.reason}"}])
        return placement.account_id

    def _report_outcome(self, work: BatchWork, report: OutcomeReport, result: BatchResult) -> Finished:
        rec = report.source
        lead = self._resolve_lead(work, rec.connector, report.lead_ref)
        if lead is None:
            raise InvalidRecord(
                f"outcome for unknown lead {report.lead_ref!r} from {rec.connector}: "
                "replay it once the lead exists"
            )
        outcome = Outcome(lead_id=lead.id, status=report.status, reason=report.reason,
                          amount=report.amount, reported_by=rec.connector)
        if self.apply_outcome(work, lead, outcome):
            result.outcomes += 1
        return "done", lead.id

    def _resolve_lead(self, work: BatchWork, system: str, ref: str) -> Lead | None:
        if ref.startswith("lead_"):
            lead = work.lead(ref)
            if lead is not None:
                return lead
        found = work.find_xref("lead", system, ref)
        return work.lead(found[0]) if found else None

    def _finish_inquiry(self, work: BatchWork, row: InboxRow, inquiry: Inquiry, placement: Placement,
                        result: BatchResult, keys: PersonKeys | None = None) -> Finished:
        """Merge, score, qualify and route a placed inquiry."""
        merged = self.merge(work, inquiry, placement, inbox_id=row.id, keys=keys)
        lead, account = merged.lead, merged.account
        if merged.created:
            result.leads_created += 1
        else:
            result.leads_merged += 1
        self.score(work, lead, inquiry, account)
        self.qualify(work, lead, account)
        if lead.status == LeadStatus.QUALIFIED:
            if self.route(work, lead, account, company=inquiry.company) is not None:
                result.routed += 1
        elif not merged.created and lead.status in (LeadStatus.ROUTED, LeadStatus.ACCEPTED, LeadStatus.ESCALATED):
            for dest in work.lead_destinations(lead.id):  # the CRM sees the new contact/activity
                work.enqueue(dest, "lead", lead.id)
        lead.updated_at = utcnow()
        work.put_lead(lead, new=merged.created)
        if inquiry.source_ref:
            rec = inquiry.source
            work.set_xref("lead", rec.connector, inquiry.source_ref, lead.id, rec.version or None)
        return "done", lead.id

    # -- the steps ---------------------------------------------------------------------------
    def normalize(self, record: SourceRecord) -> Inquiry | OutcomeReport | AccountRecord:
        """Step *normalize*: the record in the shared schema (``hub_normalize``, with the mapping
        of the connector's type); its ``source`` is ``record`` itself.

        :raises InvalidRecord: no plugin could normalize it (the record is quarantined).
        """
        type_name = self._types.get(record.connector, record.connector)
        view = record if type_name == record.connector else record.model_copy(update={"connector": type_name})
        normalized = self.plugins.normalize(view, self.mappings)
        if normalized is None:
            raise InvalidRecord(f"no plugin could normalize {record.connector}/{record.stream} records")
        if view is not record:
            normalized = normalized.model_copy(update={"source": record})
        return normalized

    def place(self, work: BatchWork, inquiry: Inquiry) -> Placement:
        """Step *place*: match the inquiry's company (``hub_match_account``); open its new account
        or name the matched one; index the account under the match's keys for later inquiries."""
        match = self.plugins.match_account(inquiry, _Lookup(work))
        if match is None:
            name = inquiry.company.name or inquiry.company.domain or "Unknown company"
            match = AccountMatch(MatchOutcome.NEW, "no matcher decided: new account", new_account_name=name,
                                 new_account_domain=inquiry.company.domain)
        if match.outcome == MatchOutcome.MATCHED and match.account_id:
            work.add_account_keys(match.account_id, match.keys)
            return Placement(match, match.account_id)
        account = Account(
            name=match.new_account_name or inquiry.company.name or inquiry.company.domain or "Unknown company",
            domains=[d for d in [match.new_account_domain or inquiry.company.domain] if d],
            country=inquiry.company.country or inquiry.contact.country,
        )
        work.create_account(account)
        work.add_account_keys(account.id, match.keys)
        return Placement(match, account.id, account)

    def merge(self, work: BatchWork, inquiry: Inquiry, placement: Placement, *, inbox_id: int | None = None,
              keys: PersonKeys | None = None) -> Merged:
        """Step *merge*: join the open lead of the account and product line, or open a lead (also
        when the open one was recycled longer than the recycle window ago); put the inquiry's
        person on it once and add its activity. Audits the match, the merge and any doubt (an
        uncertain match queues a review, a new contact may be a duplicate).

        :param inbox_id: the inbox row the inquiry came from (kept with the activity).
        :param keys: the contact's :func:`~hub.pipeline.contacts.person_keys`, if worked out already.
        """
        match, rec = placement.match, inquiry.source
        account = placement.new_account or work.account(placement.account_id)
        if account is None:
            raise InvalidRecord(f"the matcher chose account {placement.account_id}, which does not exist")
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

        audit = LeadAudit(work, lead.id, account.id)
        audit("match", match.reason, outcome=str(match.outcome), score=match.score, account_id=account.id)
        if match.outcome == MatchOutcome.UNCERTAIN and match.account_id:
            work.add_match_review({"lead_id": lead.id, "account_id": account.id, "candidate_id": match.account_id,
                                   "score": match.score, "reason": match.reason})
        if not created:
            audit("merge", f"joined the open {lead.product_line} lead of this account (now "
                           f"{len(lead.activities) + 1} activities); owner stays {lead.owner_id or 'unassigned'}")
        if recycled is not None:
            self._audit_recycled(work, recycled, lead, inquiry.activity.at, audit)

        # Contact: one per person (match key) per account; a new one may be a candidate duplicate.
        contact_id = place_contact(work, self.plugins, account.id, lead, inquiry.contact,
                                   keys or person_keys(self.plugins, inquiry.contact), audit)
        # The activity's source is the connector instance: outcomes flow back to it.
        activity = inquiry.activity.model_copy(update={"source": rec.connector})
        lead.activities.append(activity)
        work.add_activity(lead.id, contact_id, inbox_id, {"kind": activity.kind, "at": activity.at,
                                                          "source": activity.source, "details": activity.details})
        return Merged(lead, account, created, contact_id)

    def score(self, work: BatchWork, lead: Lead, inquiry: Inquiry, account: Account, *,
              actor: str = "hub") -> Scored:
        """Step *score*: the sum of the ``hub_score`` parts of kind ``engagement`` becomes
        ``lead.score``, of kind ``fit`` ``lead.fit_score``, and ``hub_grade`` letters the fit;
        audited with each part's reason."""
        parts = tuple(self.plugins.score(lead, inquiry, account))
        fit = [p for p in parts if p.kind == "fit"]
        lead.score = sum(p.points for p in parts if p.kind != "fit")
        lead.fit_score = sum(p.points for p in fit)
        lead.grade = self.plugins.grade(lead, account)
        said = "; ".join(p.reason for p in parts if p.kind != "fit") or "no signals"
        if fit:
            grade = f", grade {lead.grade}" if lead.grade else ""
            said += f"; fit {lead.fit_score}{grade}: " + "; ".join(p.reason for p in fit)
        LeadAudit(work, lead.id, account.id, actor)(
            "score", f"score {lead.score}: {said}", fit=lead.fit_score, grade=lead.grade,
            parts=[{"points": p.points, "reason": p.reason, "plugin": p.plugin, "kind": p.kind} for p in parts])
        return Scored(lead.score, parts, lead.fit_score, lead.grade)

    def qualify(self, work: BatchWork, lead: Lead, account: Account, *, actor: str = "hub") -> QualifyDecision | None:
        """Step *qualify*: a lead in ``new`` or ``nurture`` goes to sales (``qualified``) or stays
        with marketing, as ``hub_qualify`` decides (nobody deciding: nurture). A change of status
        is audited with the decision's reason; a lead first put in nurture is reported, with the
        reason, to its sources that take outcomes (once: later activity that leaves it there
        says nothing).

        :returns: the decision, or ``None`` for a lead already with sales (it is not asked again).
        """
        if lead.status not in (LeadStatus.NEW, LeadStatus.NURTURE):
            return None
        decision = self.plugins.qualify(lead, account) or QualifyDecision(False, NO_QUALIFY_POLICY)
        if decision.qualified:
            lead.move_to(LeadStatus.QUALIFIED)
        elif lead.status == LeadStatus.NEW:
            lead.move_to(LeadStatus.NURTURE)
        else:
            return decision  # stays in nurture: nothing changed, nothing to say
        LeadAudit(work, lead.id, account.id, actor)("status", decision.reason, status=str(lead.status))
        if lead.status == LeadStatus.NURTURE:
            nurture = Outcome(lead_id=lead.id, status=LeadStatus.NURTURE, reported_by="hub", reason=decision.reason)
            for name in self._outcome_listeners(work, lead, "hub"):
                work.enqueue(name, "outcome", lead.id, nurture.model_dump(mode="json"))
        return decision

    def routing_context(self, work: BatchWork, lead: Lead, account: Account, *, now: datetime | None = None,
                        company: Company | None = None) -> RoutingContext:
        """What ``hub_route`` is asked with: the lead, its accounts, the owners, and the store's
        availability, capacity and fairness state as of ``now`` (the batch's ledger)."""
        now = now or self.clock()
        if work.routing_ledger is None:
            work.routing_ledger = StoreLedger(work, now)
        parent = work.account(account.parent_id) if account.parent_id else None
        return RoutingContext(
            lead=lead, account=account, parent_account=parent, owners=self.owners,
            settings=self.settings.routing, strategies=self.strategies, rotate=work.rotate,
            now=now, company=company, ledger=work.routing_ledger,
        )

    def route(self, work: BatchWork, lead: Lead, account: Account, *, actor: str = "hub",
              company: Company | None = None, now: datetime | None = None,
              retry: bool = False) -> RouteDecision | None:
        """Step *route*: ``hub_route`` chooses the qualified lead's owner; the lead becomes
        ``routed`` with its SLA due time, the assignment is recorded, the lead is queued for
        delivery to its destinations, its sources hear it reached an owner, and a
        ``hub_lead_routed`` event waits for the commit.

        ``retry``: the lead was waiting; if nobody is available still, nothing new is audited.

        :returns: the decision, or ``None`` when nobody could be chosen (the lead waits qualified).
        """
        audit = LeadAudit(work, lead.id, account.id, actor)
        ctx = self.routing_context(work, lead, account, now=now, company=company)
        decision = self.plugins.route(ctx)
        if decision is None:
            if not retry:
                why = "; ".join(ctx.notes) or "no owner could be chosen; add owners to hub.toml"
                audit("route", f"waits qualified: {why}; it is routed as soon as someone is available")
            return None
        owner = self._owners_by_id.get(decision.owner_id)
        lead.move_to(LeadStatus.ROUTED)
        lead.owner_id = decision.owner_id
        assert work.routing_ledger is not None
        work.routing_ledger.record(lead.id, decision.owner_id, decision.team, decision.rule, ctx.now)
        sla = decision.sla
        lead.sla_due_at = ctx.now + sla if sla is not None else None
        dests = self._destinations(decision, owner)
        due = f"; SLA due {lead.sla_due_at:%Y-%m-%d %H:%M} UTC" if lead.sla_due_at else ""
        audit("route", f"routed to {owner.name if owner else decision.owner_id}: {decision.reason}{due}"
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
        work.events.routed.append((lead, decision))
        return decision

    def route_waiting(self, now: datetime | None = None, limit: int = 100) -> int:
        """Route qualified leads that wait because nobody was available (the SLA watch calls it);
        a lead that still finds nobody keeps waiting, its first reason standing. Returns how many
        were routed."""
        from hub.store import routing as q

        now = now or self.clock()
        routed = 0
        with self.store.engine.begin() as conn:
            work = BatchWork(self.store, conn)
            for lead_id in q.waiting_leads(conn, limit):
                lead = work.lead(lead_id)
                account = work.account(lead.account_id) if lead is not None else None
                if lead is None or account is None:
                    continue
                if self.route(work, lead, account, now=now, retry=True) is not None:
                    lead.updated_at = now
                    work.put_lead(lead, new=False)
                    routed += 1
            work.flush()
        self.fire(work.events)
        return routed

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
