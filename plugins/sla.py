"""Built-in SLA policy: the first breach escalates to the next owner, the second claws back.

A lead in ``routed`` whose owner did not accept it by its due time is escalated (reassigned to the
next active owner, due ``[routing] sla_minutes`` from now); an escalated lead that breaches again
goes back to nurture so marketing keeps it warm, never silently dropped.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from hub.api import SlaAction, SlaActionKind, hookimpl

if TYPE_CHECKING:
    from hub.api import HubConfig, Lead, Owner


class SlaPlugin:
    """The built-in ``hub_sla_breached``: escalate once (with a fresh due time), then claw back."""

    def __init__(self) -> None:
        self._sla: timedelta | None = None  # hub_configure sets it; the default otherwise

    @property
    def sla(self) -> timedelta:
        if self._sla is None:
            from hub.api import RoutingSettings  # the configuration loads only when needed

            self._sla = timedelta(minutes=RoutingSettings().sla_minutes)
        return self._sla

    @hookimpl
    def hub_configure(self, config: HubConfig) -> None:
        self._sla = timedelta(minutes=config.routing.sla_minutes)

    @hookimpl(trylast=True)
    def hub_sla_breached(self, lead: Lead, owners: list[Owner], now: datetime) -> SlaAction:
        late = ""
        if lead.sla_due_at is not None:
            minutes = int((now - lead.sla_due_at).total_seconds() // 60)
            late = f" ({minutes} min past due)" if minutes > 0 else ""
        if lead.status == "escalated":  # LeadStatus.ESCALATED (a str enum)
            return SlaAction(SlaActionKind.CLAW_BACK, f"not accepted after escalation{late}: back to nurture")
        active = [o for o in owners if o.active and o.id != lead.owner_id]
        if not active:
            return SlaAction(SlaActionKind.CLAW_BACK, f"not accepted in time{late} and no other owner: back to nurture")
        ids = [o.id for o in owners if o.active]
        nxt = active[0]
        if lead.owner_id in ids:
            after = ids[(ids.index(lead.owner_id) + 1) % len(ids)]
            nxt = next(o for o in active if o.id == after) if after != lead.owner_id else active[0]
        return SlaAction(
            SlaActionKind.ESCALATE,
            f"{lead.owner_id or 'nobody'} did not accept in time{late}: escalated to {nxt.name}",
            nxt.id, due_at=now + self.sla,
        )
