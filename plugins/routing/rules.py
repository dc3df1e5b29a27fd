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

Test = Callable[["Facts"], bool]


class Facts:
    """What rules ask about one lead, worked out once per decision (lower-cased)."""

    __slots__ = ("country", "ctx", "domains", "employees", "grade", "industry", "names", "partner", "product_line",
                 "region", "score", "source")

    def __init__(self, ctx: RoutingContext) -> None:
        company, lead, account = ctx.company, ctx.lead, ctx.account
        self.ctx = ctx
        self.country = _country(ctx)
        self.region = ((company.region if company else None) or "").casefold()
        self.industry = ((company.industry if company else None) or "").casefold()
        self.employees = company.employees if company is not None else None
        self.product_line = lead.product_line.casefold()
        self.source = lead.source_connector.casefold()
        self.partner = lead.partner_id
        self.grade = (getattr(lead, "grade", None) or "").casefold()
        self.score = lead.score
        domains = {d.casefold() for d in account.domains}
        if company is not None and company.domain:
            domains.add(company.domain.casefold())
        self.domains = domains
        accounts = [a for a in (account, ctx.parent_account) if a is not None]
        self.names = {a.id.casefold() for a in accounts} | {a.name.casefold() for a in accounts}


@dataclass(frozen=True)
class Rule:
    settings: RuleSettings
    tests: tuple[Test, ...]
    #: The conditions in words ("country in DE, AT; employees >= 1000").
    words: str

    @property
    def name(self) -> str:
        return self.settings.name

    def matches(self, facts: Facts) -> bool:
        for test in self.tests:  # noqa: SIM110 (a loop is faster than all() over a generator here)
            if not test(facts):
                return False
        return True

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

    def one_of(label: str, values: list[str] | None, attr: str) -> None:
        if values is None:
            return
        wanted = _folded(values)
        tests.append(lambda f: getattr(f, attr) in wanted)
        words.append(f"{label} in {', '.join(values)}")

    one_of("country", rule.country, "country")
    one_of("region", rule.region, "region")
    one_of("industry", rule.industry, "industry")
    one_of("product line", rule.product_line, "product_line")
    one_of("source", rule.source, "source")
    one_of("grade", rule.grade, "grade")
    if rule.partner_id is not None:
        partners = frozenset(rule.partner_id)
        tests.append(lambda f: f.partner in partners)
        words.append(f"partner in {', '.join(rule.partner_id)}")
    if rule.employees_min is not None or rule.employees_max is not None:
        low = rule.employees_min if rule.employees_min is not None else 0
        high = rule.employees_max
        tests.append(lambda f: f.employees is not None and f.employees >= low and (high is None or f.employees <= high))
        words.append(f"employees {low}-{high}" if high is not None else f"employees >= {low}")
    if rule.partner is not None:
        want = rule.partner
        tests.append(lambda f: (f.partner is not None) == want)
        words.append("partner-sourced" if want else "not partner-sourced")
    if rule.score_min is not None:
        lo = rule.score_min
        tests.append(lambda f: f.score >= lo)
        words.append(f"score >= {lo}")
    if rule.score_max is not None:
        hi = rule.score_max
        tests.append(lambda f: f.score <= hi)
        words.append(f"score <= {hi}")
    if rule.accounts is not None:
        named = _folded(rule.accounts)
        tests.append(lambda f: not named.isdisjoint(f.names))
        words.append(f"account in the named list ({len(rule.accounts)})")
    if rule.domains is not None:
        domains = _folded(rule.domains)
        tests.append(lambda f: not domains.isdisjoint(f.domains))
        words.append(f"domain in the list ({len(rule.domains)})")
    return Rule(rule, tuple(tests), "; ".join(words) or "every lead")
