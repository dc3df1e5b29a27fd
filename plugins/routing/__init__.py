"""Built-in routing: ordered rules, named accounts, partners, weighted teams, availability.

For a qualified lead, in this order (docs/routing.md says it for sales managers):

1. The first ``[[routing.rules]]`` whose conditions hold is *the rule* (none: no rule).
2. Unless the rule has ``over_named_accounts = true``: an account (or its parent) with an owner
   goes to that owner, if they are available.
3. Unless the rule overrides it: a partner-sourced lead goes to its partner's channel manager,
   if available (``[routing] partner_channel_manager``).
4. The rule's target: a team (the available member with the lowest leads-per-weight,
   :mod:`plugins.routing.teams`) or an owner; nobody available there: the rule's overflow, the
   team's overflow, then ``[routing] overflow``.
5. No rule matched: ``[routing] strategy`` (``round_robin`` or ``default_owner``) over the
   available owners.

Nobody available anywhere: ``hub_route`` returns ``None`` with the reasons in
``context.notes``; the lead waits qualified and the SLA watch routes it when someone is back.
Who is available is :mod:`plugins.routing.availability`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING

from hub.api import RouteDecision, RoutingStrategy, hookimpl
from plugins.routing.availability import Availability, Schedule, schedule_of
from plugins.routing.rules import Facts, Rule, compile_rule
from plugins.routing.teams import Standing, advance, standings

if TYPE_CHECKING:
    from hub.api import HubConfig, Owner, RoutingContext, RoutingSettings, TeamSettings


@dataclass
class _Trail:
    """What was tried for one lead, in words (the decision's reason, or why it waits)."""

    #: Who was passed over and why (formatted only when the words are asked for).
    skipped: list[str | tuple[str, str]] = field(default_factory=list)

    def skip(self, owner: Owner, why: str) -> None:
        self.skipped.append((owner.name, why))

    def words(self) -> str:
        if not self.skipped:
            return ""
        return "; skipped: " + ", ".join(p if isinstance(p, str) else f"{p[0]} {p[1]}" for p in self.skipped)


class RoutingPlugin:
    """``hub_route`` and the built-in strategies, deciding with this hub's ``[routing]`` table."""

    def __init__(self) -> None:
        self._settings: RoutingSettings | None = None  # hub_configure sets it; the defaults otherwise
        self._rules: list[Rule] = []
        self._teams: dict[str, TeamSettings] = {}
        self._team_of: dict[str, TeamSettings] = {}  # owner id -> their (first) team
        self.availability = Availability()
        self._schedules: dict[tuple[int, str | None], tuple[Owner, Schedule]] = {}
        self._interned: dict[Schedule, Schedule] = {}
        self._rosters: dict[str, tuple[list[Owner], list[tuple[str, float, Owner, Schedule]]]] = {}
        self._owners_seen: tuple[list[Owner], dict[str, Owner]] | None = None

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
        self._rules = [compile_rule(r) for r in config.routing.rules]
        self._teams = {t.name: t for t in config.routing.teams}
        self._team_of = {}
        for team in config.routing.teams:
            for member in team.members:
                self._team_of.setdefault(member, team)
        self._schedules.clear()
        self._interned.clear()
        self._rosters.clear()
        self._owners_seen = None

    # -- helpers -------------------------------------------------------------------------------
    def _owners(self, ctx: RoutingContext) -> dict[str, Owner]:
        seen = self._owners_seen
        if seen is None or seen[0] is not ctx.owners:
            seen = (ctx.owners, {o.id: o for o in ctx.owners})
            self._owners_seen = seen
        return seen[1]

    def _schedule(self, owner: Owner, team: TeamSettings | None) -> Schedule:
        key = (id(owner), team.name if team is not None else None)
        kept = self._schedules.get(key)
        if kept is None or kept[0] is not owner:
            schedule = schedule_of(owner, team or self._team_of.get(owner.id))
            schedule = self._interned.setdefault(schedule, schedule)  # owners of one team share theirs
            kept = self._schedules[key] = (owner, schedule)
        return kept[1]

    def _roster(self, ctx: RoutingContext, team: TeamSettings) -> list[tuple[str, float, Owner, Schedule]]:
        """The team's members known as owners, each with their weight and schedule (kept while
        the owners list is the same object)."""
        owners = self._owners(ctx)
        kept = self._rosters.get(team.name)
        if kept is None or kept[0] is not ctx.owners:
            roster = [(o, w, owners[o], self._schedule(owners[o], team))
                      for o, w in team.members.items() if o in owners]
            kept = self._rosters[team.name] = (ctx.owners, roster)
        return kept[1]

    def why_not(self, ctx: RoutingContext, owner: Owner, team: TeamSettings | None = None) -> str | None:
        """Why ``owner`` cannot take the lead now, in words; ``None``: they can."""
        return self.availability.why_not(owner, self._schedule(owner, team), ctx.now, ctx.ledger)

    def _decide(self, owner: Owner, reason: str, team: str | None = None, rule: str | None = None) -> RouteDecision:
        return RouteDecision(owner.id, reason, self.sla, team=team, rule=rule)

    def _to_owner(self, ctx: RoutingContext, owner_id: str, trail: _Trail, why: str,
                  rule: str | None) -> RouteDecision | None:
        owner = self._owners(ctx).get(owner_id)
        if owner is None:
            trail.skipped.append(f"{owner_id} (no such owner in hub.toml)")
            return None
        reason = self.why_not(ctx, owner)
        if reason is not None:
            trail.skip(owner, reason)
            return None
        return self._decide(owner, f"{why}{trail.words()}", rule=rule)

    def _to_team(self, ctx: RoutingContext, name: str, trail: _Trail, why: str,
                 rule: str | None) -> RouteDecision | None:
        team = self._teams[name]
        owners = self._owners(ctx)
        on_duty = []
        off_time, now = self.availability.off_time, ctx.now
        verdicts: dict[int, str | None] = {}  # members mostly share their team's schedule
        for owner_id, weight, owner, schedule in self._roster(ctx, team):
            if not owner.active:
                trail.skip(owner, "inactive")
                continue
            key = id(schedule)
            off = verdicts[key] if key in verdicts else verdicts.setdefault(key, off_time(schedule, now))
            if off is None:
                on_duty.append((owner_id, weight))
            else:
                trail.skip(owner, off)
        if ctx.ledger is None:  # no fairness state: plain rotation, from the next in turn
            start = ctx.rotate(f"team:{name}", len(on_duty)) if on_duty else 0
            line = [Standing(o, w, 0, False) for o, w in on_duty[start:] + on_duty[:start]]
        elif on_duty:
            line = standings(name, on_duty, team.catch_up, ctx.ledger)
        else:
            line = []
        members = team.members
        for place in line:  # first in line first: the others' away and capacity are not even read
            owner = owners[place.owner_id]
            reason = self.availability.busy(owner, self._schedule(owner, team), ctx.now, ctx.ledger)
            if reason is not None:
                trail.skip(owner, reason)
                continue
            if ctx.ledger is None:
                load = "next in turn"
            else:
                advance(name, place, ctx.ledger)
                load = (f"next in line: fewest leads for their weight ({place.weight:g}x) in a team of {len(members)}"
                        + (f"; back or new, catch-up capped at {team.catch_up:g} leads" if place.lifted else ""))
            return self._decide(owner, f"{why} -> team {name}: {owner.name}, {load}{trail.words()}",
                                team=name, rule=rule)
        trail.skipped.append(f"nobody in team {name} is available")
        return None

    def _send(self, ctx: RoutingContext, target: str, trail: _Trail, why: str,
              rule: str | None) -> RouteDecision | None:
        if target in self._teams:
            return self._to_team(ctx, target, trail, why, rule)
        return self._to_owner(ctx, target, trail, f"{why} -> {target}", rule)

    # -- the decision ---------------------------------------------------------------------------
    @hookimpl(trylast=True)
    def hub_route(self, context: RoutingContext) -> RouteDecision | None:
        ctx, trail = context, _Trail()
        facts = Facts(ctx)
        rule = next((r for r in self._rules if r.matches(facts)), None)
        overrides = rule is not None and rule.settings.over_named_accounts
        if not overrides:
            decision = self._named(ctx, trail) or self._partner(ctx, trail)
            if decision is not None:
                return decision
        if rule is None:
            return self._strategy(ctx, trail)
        why = f"rule '{rule.name}' ({rule.words})"
        s = rule.settings
        if s.partner_manager:
            decision = self._partner(ctx, trail, why=why, rule=rule.name)
        else:
            decision = self._send(ctx, s.team or s.owner or "", trail, why, rule.name)
        if decision is not None:
            return decision
        for label, target in (("the rule's overflow", s.overflow),
                              ("the team's overflow", self._teams[s.team].overflow if s.team else None),
                              ("the overflow", self.settings.overflow)):
            if target:
                decision = self._send(ctx, target, trail, f"{why}: nobody at {rule.target} is available; {label}",
                                      rule.name)
                if decision is not None:
                    return decision
        ctx.notes.append(f"{why} sends it to {rule.target}, and nobody there or in the overflow is available"
                         f"{trail.words()}")
        return None

    def _named(self, ctx: RoutingContext, trail: _Trail) -> RouteDecision | None:
        owners = self._owners(ctx)
        for acct, label in ((ctx.account, "account"), (ctx.parent_account, "parent account")):
            if acct is None or acct.owner_id is None or acct.owner_id not in owners:
                continue
            owner = owners[acct.owner_id]
            why = self.why_not(ctx, owner)
            if why is None:
                named = f"named account: {label} {acct.name} is owned by {owner.name}"
                return self._decide(owner, named + trail.words())
            trail.skip(owner, f"(owner of {label} {acct.name}) {why}")
        return None

    def _partner(self, ctx: RoutingContext, trail: _Trail, *, why: str | None = None,
                 rule: str | None = None) -> RouteDecision | None:
        pid = ctx.lead.partner_id
        if pid is None or ctx.ledger is None or (why is None and not self.settings.partner_channel_manager):
            return None
        manager = ctx.ledger.partner_manager(pid)
        if manager is None:
            trail.skipped.append(f"partner {pid} has no channel manager")
            return None
        lead_in = why or f"partner-sourced ({pid})"
        return self._to_owner(ctx, manager, trail, f"{lead_in} -> the partner's channel manager", rule)

    def _strategy(self, ctx: RoutingContext, trail: _Trail) -> RouteDecision | None:
        name = self.settings.strategy
        strategy = ctx.strategies.get(name)
        if strategy is None:
            known = ", ".join(sorted(ctx.strategies)) or "none"
            raise LookupError(f"[routing] strategy {name!r} is not registered (known: {known})")
        decision: RouteDecision | None = strategy.choose(ctx)
        if decision is None and name != "default_owner":
            fallback = self.default_owner(ctx)
            if fallback is not None:
                return RouteDecision(fallback.owner_id, f"{name} found no available owner; {fallback.reason}",
                                     fallback.sla)
        if decision is None and self.settings.overflow:
            decision = self._send(ctx, self.settings.overflow, trail,
                                  f"no rule matched and strategy {name} found nobody available; the overflow", None)
        if decision is None:
            ctx.notes.append(f"no rule matched and strategy {name} found no available owner{trail.words()}")
        return decision

    # -- strategies ---------------------------------------------------------------------------
    def _eligible(self, ctx: RoutingContext) -> tuple[list[Owner], list[str]]:
        region = (ctx.account.country or "").upper()
        out, skipped = [], []
        for owner in ctx.owners:
            if owner.product_lines and ctx.lead.product_line not in owner.product_lines:
                continue
            if owner.regions and region and region not in {r.upper() for r in owner.regions}:
                continue
            why = self.why_not(ctx, owner)
            if why is None:
                out.append(owner)
            else:
                skipped.append(f"{owner.name} {why}")
        return out, skipped

    def round_robin(self, ctx: RoutingContext) -> RouteDecision | None:
        pool, skipped = self._eligible(ctx)
        if not pool:
            ctx.notes.extend(skipped)
            return None
        key = f"round_robin:{ctx.lead.product_line}"
        owner = pool[ctx.rotate(key, len(pool))]
        why = f"round robin over {len(pool)} available owner(s) covering product line '{ctx.lead.product_line}'"
        more = f"; skipped: {', '.join(skipped)}" if skipped else ""
        return RouteDecision(owner.id, f"{why}: next in turn is {owner.name}{more}", self.sla)

    def default_owner(self, ctx: RoutingContext) -> RouteDecision | None:
        owner_id = self.settings.default_owner
        owner = next((o for o in ctx.owners if o.id == owner_id), None)
        if owner is None:
            return None
        why = self.why_not(ctx, owner)
        if why is not None:
            ctx.notes.append(f"default owner {owner.name} {why}")
            return None
        return RouteDecision(owner.id, f"default owner {owner.name}", self.sla)

    @hookimpl
    def hub_routing_strategies(self) -> list[RoutingStrategy]:
        return [
            RoutingStrategy("round_robin", "Rotate over available owners of the product line and region.",
                            self.round_robin),
            RoutingStrategy("default_owner", "Every lead to [routing] default_owner.", self.default_owner),
        ]
