"""Routing rules compiled from ``[[routing.rules]]``: each a list of tests, first match wins.

A condition that is absent always holds; a condition on something the lead does not say (the
company's region when the lead is routed again later, without its inquiry) does not hold.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from hub.api import RoutingContext, RuleSettings

Test = Callable[["RoutingContext"], bool]


@dataclass(frozen=True)
class Rule:
    settings: RuleSettings
    tests: tuple[Test, ...]
    #: The conditions in words ("country in DE, AT; employees >= 1000").
    words: str

    @property
    def name(self) -> str:
        return self.settings.name

    def matches(self, ctx: RoutingContext) -> bool:
        return all(test(ctx) for test in self.tests)

    @property
    def target(self) -> str:
        s = self.settings
        return f"team {s.team}" if s.team else f"owner {s.owner}" if s.owner else "the partner's channel manager"


def _folded(values: list[str]) -> frozenset[str]:
    return frozenset(v.strip().casefold() for v in values)


def _country(ctx: RoutingContext) -> str:
    company = ctx.company
    country = (company.country if company is not None else None) or ctx.account.country
    if not country and ctx.lead.contacts:
        country = ctx.lead.contacts[-1].country
    return (country or "").casefold()


def compile_rule(rule: RuleSettings) -> Rule:
    tests: list[Test] = []
    words: list[str] = []

    def one_of(label: str, values: list[str] | None, get: Callable[[RoutingContext], str | None]) -> None:
        if values is None:
            return
        wanted = _folded(values)
        tests.append(lambda ctx: (get(ctx) or "").casefold() in wanted)
        words.append(f"{label} in {', '.join(values)}")

    one_of("country", rule.country, _country)
    one_of("region", rule.region, lambda ctx: ctx.company.region if ctx.company else None)
    one_of("industry", rule.industry, lambda ctx: ctx.company.industry if ctx.company else None)
    one_of("product line", rule.product_line, lambda ctx: ctx.lead.product_line)
    one_of("source", rule.source, lambda ctx: ctx.lead.source_connector)
    one_of("partner", rule.partner_id, lambda ctx: ctx.lead.partner_id)
    one_of("grade", rule.grade, lambda ctx: getattr(ctx.lead, "grade", None))
    if rule.employees_min is not None or rule.employees_max is not None:
        low = rule.employees_min if rule.employees_min is not None else 0
        high = rule.employees_max

        def employees(ctx: RoutingContext) -> bool:
            n = ctx.company.employees if ctx.company is not None else None
            return n is not None and n >= low and (high is None or n <= high)

        tests.append(employees)
        words.append(f"employees {low}-{high}" if high is not None else f"employees >= {low}")
    if rule.partner is not None:
        want = rule.partner
        tests.append(lambda ctx: (ctx.lead.partner_id is not None) == want)
        words.append("partner-sourced" if want else "not partner-sourced")
    if rule.score_min is not None:
        lo = rule.score_min
        tests.append(lambda ctx: ctx.lead.score >= lo)
        words.append(f"score >= {lo}")
    if rule.score_max is not None:
        hi = rule.score_max
        tests.append(lambda ctx: ctx.lead.score <= hi)
        words.append(f"score <= {hi}")
    if rule.accounts is not None:
        named = _folded(rule.accounts)

        def named_account(ctx: RoutingContext) -> bool:
            accounts = [a for a in (ctx.account, ctx.parent_account) if a is not None]
            return any(a.id.casefold() in named or a.name.casefold() in named for a in accounts)

        tests.append(named_account)
        words.append(f"account in the named list ({len(rule.accounts)})")
    if rule.domains is not None:
        domains = _folded(rule.domains)

        def domain(ctx: RoutingContext) -> bool:
            found = {d.casefold() for d in ctx.account.domains}
            if ctx.company is not None and ctx.company.domain:
                found.add(ctx.company.domain.casefold())
            return not found.isdisjoint(domains)

        tests.append(domain)
        words.append(f"domain in the list ({len(rule.domains)})")
    return Rule(rule, tuple(tests), "; ".join(words) or "every lead")
