"""Built-in routing: named strategies plus the default ``hub_route`` that applies the chosen one.

``[routing] strategy`` picks one of:

- ``round_robin``: rotate over active owners that cover the lead's product line and region.
- ``default_owner``: every lead to ``[routing] default_owner``.

Whatever the strategy, an account that already has an owner keeps it (named accounts), and a
subsidiary whose parent has an owner goes to the parent's owner.
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

from hub.api import RouteDecision, RoutingStrategy, hookimpl

if TYPE_CHECKING:
    from hub.api import HubConfig, Owner, RoutingContext, RoutingSettings


def _eligible(ctx: RoutingContext) -> list[Owner]:
    region = (ctx.account.country or "").upper() if ctx.account is not None else ""
    out = []
    for owner in ctx.owners:
        if not owner.active:
            continue
        if owner.product_lines and ctx.lead.product_line not in owner.product_lines:
            continue
        if owner.regions and region and region not in {r.upper() for r in owner.regions}:
            continue
        out.append(owner)
    return out


class RoutingPlugin:
    """The built-in strategies and ``hub_route``, deciding with this hub's ``[routing]`` table."""

    def __init__(self) -> None:
        self._settings: RoutingSettings | None = None  # hub_configure sets it; the defaults otherwise

    @property
    def settings(self) -> RoutingSettings:
        if self._settings is None:
            from hub.api import RoutingSettings  # the configuration loads only when needed

            self._settings = RoutingSettings()
        return self._settings

    @property
    def sla(self) -> timedelta:
        return timedelta(minutes=self.settings.sla_minutes)

    @hookimpl
    def hub_configure(self, config: HubConfig) -> None:
        self._settings = config.routing

    def round_robin(self, ctx: RoutingContext) -> RouteDecision | None:
        pool = _eligible(ctx)
        if not pool:
            return None
        key = f"round_robin:{ctx.lead.product_line}"
        owner = pool[ctx.rotate(key, len(pool))]
        why = f"round robin over {len(pool)} owner(s) covering product line '{ctx.lead.product_line}'"
        return RouteDecision(owner.id, f"{why}: next in turn is {owner.name}", self.sla)

    def default_owner(self, ctx: RoutingContext) -> RouteDecision | None:
        owner_id = self.settings.default_owner
        owner = next((o for o in ctx.owners if o.id == owner_id and o.active), None)
        if owner is None:
            return None
        return RouteDecision(owner.id, f"default owner {owner.name}", self.sla)

    @hookimpl
    def hub_routing_strategies(self) -> list[RoutingStrategy]:
        return [
            RoutingStrategy("round_robin", "Rotate over active owners of the product line and region.",
                            self.round_robin),
            RoutingStrategy("default_owner", "Every lead to [routing] default_owner.", self.default_owner),
        ]

    @hookimpl(trylast=True)
    def hub_route(self, context: RoutingContext) -> RouteDecision | None:
        by_id = {o.id: o for o in context.owners if o.active}
        for acct, label in ((context.account, "account"), (context.parent_account, "parent account")):
            if acct is not None and acct.owner_id in by_id:
                owner = by_id[acct.owner_id]
                return RouteDecision(owner.id, f"{label} {acct.name} is owned by {owner.name}", self.sla)
        name = self.settings.strategy
        strategy = context.strategies.get(name)
        if strategy is None:
            known = ", ".join(sorted(context.strategies)) or "none"
            raise LookupError(f"[routing] strategy {name!r} is not registered (known: {known})")
        decision: RouteDecision | None = strategy.choose(context)
        if decision is None and name != "default_owner":
            fallback = self.default_owner(context)
            if fallback is not None:
                return RouteDecision(fallback.owner_id, f"{name} found no eligible owner; {fallback.reason}",
                                     fallback.sla)
        return decision
