"""A lead's life after its first inquiry: outcomes, the SLA watch, and the recycle window.

A mixin of :class:`hub.pipeline.engine.Pipeline` (which holds the store, plugins, connectors, owners and
settings it uses), plus :class:`LeadAudit` (a lead's audit entries, buffered in the batch), which
every step shares.

The recycle window: a lead sales gave back (rejected, or sent back to nurture after it left it,
:attr:`hub.schema.Lead.recycled_at`) absorbs new activity of its account and product line only
within ``pipeline.recycle_window_days`` of that; later activity is a new need and opens a new
lead, and both leads' trails say so. Won and lost leads are closed and never absorb.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from hub.connector import Capability, Connector
from hub.decisions import Owner, SlaActionKind
from hub.pipeline.batch import BatchWork, Events
from hub.plugins import HubPlugins
from hub.schema import RECYCLED, IllegalTransition, Lead, LeadStatus, Outcome, path_to, utcnow
from hub.store import Store

if TYPE_CHECKING:
    from hub.pipeline.engine import PipelineSettingsView


class LeadAudit:
    """Buffers audit entries for one lead in the batch's unit of work."""

    def __init__(self, work: BatchWork, lead_id: str, account_id: str, actor: str = "hub") -> None:
        self.work, self.lead_id, self.account_id, self.actor = work, lead_id, account_id, actor

    def __call__(self, action: str, reason: str, **details: Any) -> None:
        self.work.inserts["audit"].append({"at": utcnow(), "lead_id": self.lead_id, "account_id": self.account_id,
                                           "action": action, "reason": reason, "actor": self.actor,
                                           "details": details})


class LeadLifecycle:
    """Outcomes, SLA and the recycle window (mixed into ``Pipeline``)."""

    store: Store
    plugins: HubPlugins
    connectors: dict[str, Connector]
    owners: list[Owner]
    settings: PipelineSettingsView

    def fire(self, events: Events) -> None:
        raise NotImplementedError  # the engine's

    def route_waiting(self, now: datetime | None = None, limit: int = 100) -> int:
        raise NotImplementedError  # the engine's

    def _past_window(self, lead: Lead, at: datetime) -> bool:
        """Whether ``lead`` was recycled more than the recycle window before ``at``."""
        return (lead.status in RECYCLED and lead.recycled_at is not None
                and at - lead.recycled_at > timedelta(days=self.settings.recycle_window_days))

    def _audit_recycled(self, work: BatchWork, old: Lead, new: Lead, at: datetime, entry: LeadAudit) -> None:
        assert old.recycled_at is not None
        days, window = (at - old.recycled_at).days, f"{self.settings.recycle_window_days:g}"
        entry("recycle", f"opened a new lead: the {old.product_line} lead {old.id} of this account was recycled "
                         f"({old.status}) on {old.recycled_at:%Y-%m-%d}, {days} days before this activity, "
                         f"past the {window}-day recycle window (pipeline.recycle_window_days)", previous_lead=old.id)
        LeadAudit(work, old.id, old.account_id)(
            "recycle", f"new activity {days} days after this lead was recycled opened lead {new.id} instead "
                       f"(recycle window {window} days)", next_lead=new.id)

    # -- outcomes ----------------------------------------------------------------------------
    def apply_outcome(self, work: BatchWork, lead: Lead, outcome: Outcome, *, actor: str | None = None) -> bool:
        """Step *apply outcome*: move ``lead`` to ``outcome.status`` through legal steps, audit each,
        queue the outcome for the lead's sources and destinations that take outcomes, and an
        ``hub_outcome`` event (``work.events``, fired after the commit).

        :param actor: who the audit names (default: the reporting system).
        :returns: False when the lead already has that status (a repeated report).
        :raises IllegalTransition: when the status cannot be reached from the current one.
        """
        steps = path_to(lead.status, outcome.status)
        if steps is None:
            raise IllegalTransition(lead.id, lead.status, outcome.status)
        if not steps:
            return False
        entry = LeadAudit(work, lead.id, lead.account_id, actor=actor or outcome.reported_by or "hub")
        for step in steps:
            before = lead.move_to(step, at=outcome.at)
            why = f" ({outcome.reason})" if outcome.reason else ""
            amount = (f", amount {outcome.amount:,.2f}"
                      if outcome.amount is not None and step in (LeadStatus.WON, LeadStatus.LOST) else "")
            entry("status", f"{before} -> {step} reported by {outcome.reported_by or 'an operator'}{why}{amount}",
                  status=str(step))
        lead.updated_at = utcnow()
        work.put_lead(lead, new=False)
        work.add_outcome({"lead_id": lead.id, "status": str(outcome.status), "reason": outcome.reason,
                          "amount": outcome.amount, "at": outcome.at, "reported_by": outcome.reported_by})
        for dest in self._outcome_listeners(work, lead, outcome.reported_by):
            work.enqueue(dest, "outcome", lead.id, outcome.model_dump(mode="json"))
        work.events.outcomes.append((lead, outcome))
        return True

    def _outcome_listeners(self, work: BatchWork, lead: Lead, reporter: str) -> list[str]:
        names = work.lead_sources(lead.id) | work.lead_destinations(lead.id)
        return sorted(
            n for n in names
            if n != reporter and n in self.connectors and self.connectors[n].supports(Capability.PUSH_OUTCOMES)
        )

    def record_outcome(self, outcome: Outcome, actor: str = "operator") -> Lead:
        """Apply an outcome outside a batch (CLI, partner approvals, tests); commits at once."""
        with self.store.engine.begin() as conn:
            work = BatchWork(self.store, conn)
            lead = work.lead(outcome.lead_id)
            if lead is None:
                raise LookupError(f"no lead {outcome.lead_id}; list leads with `leadhub leads list`")
            self.apply_outcome(work, lead, outcome, actor=actor)
            work.flush()
        self.fire(work.events)
        return lead

    # -- SLA ---------------------------------------------------------------------------------
    def check_sla(self, now: datetime | None = None, limit: int = 100) -> int:
        """Escalate, reassign or claw back routed leads past their due time, then route the
        qualified leads that wait for someone to become available; returns how many of both."""
        now = now or utcnow()
        done = self.route_waiting(now, limit)
        with self.store.engine.begin() as conn:
            work = BatchWork(self.store, conn)
            for lead_id in self.store.breached_leads(conn, now, limit):
                lead = work.lead(lead_id)
                if lead is None:
                    continue
                action = self.plugins.sla_breached(lead, self.owners, now)
                if action is None:
                    continue
                entry = LeadAudit(work, lead.id, lead.account_id)
                if action.kind == SlaActionKind.CLAW_BACK:
                    if lead.status == LeadStatus.ROUTED:
                        lead.move_to(LeadStatus.ESCALATED)
                    lead.move_to(LeadStatus.NURTURE, at=now)
                    lead.owner_id = None
                    entry("sla", f"clawed back to nurture: {action.reason}", sla_action=str(action.kind))
                else:
                    if lead.status == LeadStatus.ROUTED and action.kind == SlaActionKind.ESCALATE:
                        lead.move_to(LeadStatus.ESCALATED)
                    lead.owner_id = action.owner_id or lead.owner_id
                    lead.sla_due_at = action.due_at
                    entry("sla", f"{action.kind}: {action.reason}", sla_action=str(action.kind), owner_id=lead.owner_id)
                    for dest in work.lead_destinations(lead.id):
                        work.enqueue(dest, "lead", lead.id)
                work.put_lead(lead, new=False)
                done += 1
            work.flush()
        return done
