"""A routing plugin on its own, with an in-memory ledger and a clock the test moves."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

from hub.config import HubConfig
from hub.decisions import RouteDecision, RoutingContext
from hub.pipeline.ledger import MemoryLedger
from hub.schema import Account, Company, Lead, LeadStatus
from plugins.routing import RoutingPlugin

#: A Wednesday, 14:00 UTC (09:00 in New York, 15:00 in Berlin, 23:00 in Tokyo).
WEDNESDAY = datetime(2026, 3, 4, 14, 0, tzinfo=UTC)


class Router:
    """Routes leads with one configuration; ``now`` moves only when the test moves it."""

    def __init__(self, owners: list[dict[str, Any]], routing: dict[str, Any], now: datetime = WEDNESDAY) -> None:
        self.config = HubConfig(owners=owners, routing=routing)
        self.plugin = RoutingPlugin()
        self.plugin.hub_configure(self.config)
        self.strategies = {s.name: s for s in self.plugin.hub_routing_strategies()}
        self.owners = self.config.owner_list()
        self.ledger = MemoryLedger()
        self.now = now
        self.got: Counter[str] = Counter()
        self._turns: Counter[str] = Counter()

    def rotate(self, name: str, n: int) -> int:
        value = self._turns[name]
        self._turns[name] += 1
        return value % n

    def context(self, lead: Lead | None = None, account: Account | None = None, company: Company | None = None,
                parent: Account | None = None) -> RoutingContext:
        account = account or Account(name="Acme", country="US")
        lead = lead or Lead(account_id=account.id, status=LeadStatus.QUALIFIED)
        return RoutingContext(lead=lead, account=account, parent_account=parent, owners=self.owners, settings={},
                              strategies=self.strategies, rotate=self.rotate, now=self.now, company=company,
                              ledger=self.ledger)

    def route(self, lead: Lead | None = None, **kw: Any) -> RouteDecision | None:
        ctx = self.context(lead, **kw)
        decision = self.plugin.hub_route(ctx)
        self.notes = ctx.notes
        if decision is not None:
            self.ledger.record(ctx.lead.id, decision.owner_id, decision.team, decision.rule, self.now)
            self.got[decision.owner_id] += 1
        return decision

    def route_many(self, n: int, step: timedelta = timedelta(0)) -> Counter[str]:
        got: Counter[str] = Counter()
        for _ in range(n):
            decision = self.route()
            assert decision is not None, self.notes
            got[decision.owner_id] += 1
            self.now += step
        return got

    def away(self, owner_id: str, until: datetime | None, reason: str = "vacation") -> None:
        self.ledger.aways[owner_id].append((self.now, until, reason))


def owner(oid: str, **kw: Any) -> dict[str, Any]:
    return {"id": oid, "name": oid.capitalize(), **kw}
