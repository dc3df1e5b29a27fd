"""What policy plugins decide, as typed records the engine stores and audits.

Every decision carries a ``reason`` in words: it ends up in the audit trail that
``leadhub leads show ID`` prints ("why did this lead go to Jane?").
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from hub.schema import Account, Company, Lead


class MatchOutcome(StrEnum):
    MATCHED = "matched"  # an existing account
    NEW = "new"  # no account fits: open one
    UNCERTAIN = "uncertain"  # a person must decide (review queue); a new account is opened meanwhile


@dataclass(frozen=True)
class MatchKey:
    """An indexed key an account can be found by, e.g. ``("domain", "acme.com")``."""

    kind: str
    value: str


@dataclass(frozen=True)
class AccountCandidate:
    """An account found through a match key, as handed to the matcher for scoring."""

    account_id: str
    name: str
    keys: tuple[MatchKey, ...]
    parent_id: str | None = None
    country: str | None = None


class AccountLookup(Protocol):
    """Read access to the accounts, by indexed keys only (never a scan of all accounts)."""

    def candidates(self, keys: list[MatchKey], limit: int = 50) -> list[AccountCandidate]:
        """Accounts that share at least one of ``keys``."""
        ...


@dataclass(frozen=True)
class AccountMatch:
    """The matcher's verdict for one inquiry."""

    outcome: MatchOutcome
    reason: str
    account_id: str | None = None  # set when outcome is MATCHED (or the best guess when UNCERTAIN)
    score: float = 0.0
    #: Keys to index the (matched or new) account under, so the next inquiry finds it.
    keys: tuple[MatchKey, ...] = ()
    #: Name and domain for a new account.
    new_account_name: str = ""
    new_account_domain: str | None = None


@dataclass(frozen=True)
class ContactRecord:
    """A contact as contact de-duplication compares it (``hub_contact_duplicate``)."""

    id: str
    account_id: str
    email: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    phone: str | None = None  # E.164

    @property
    def display(self) -> str:
        """"Ann Lee <ann@acme.com>" (what a person reading the audit recognises)."""
        name = " ".join(p for p in (self.first_name, self.last_name) if p) or "(no name)"
        return f"{name} <{self.email}>" if self.email else name


@dataclass(frozen=True)
class DuplicateScore:
    """How sure a plugin is that two contacts are one person, and why.

    ``is_candidate``: sure enough that a person should look at the pair (the engine records it
    as a candidate duplicate; it never merges on its own).
    """

    confidence: float
    reason: str
    is_candidate: bool


#: What a :class:`ScorePart` counts towards: ``Lead.score`` (engagement) or ``Lead.fit_score`` (fit).
SCORE_KINDS = frozenset({"engagement", "fit"})


@dataclass(frozen=True)
class ScorePart:
    """One plugin's contribution to a lead's score; the engine sums the parts of each kind.

    ``kind`` is ``"engagement"`` (what the account's people did: ``Lead.score``) or ``"fit"``
    (who they are: ``Lead.fit_score``).
    """

    points: int
    reason: str
    plugin: str = ""
    kind: str = "engagement"


@dataclass(frozen=True)
class Owner:
    """A sales rep (or queue) leads can be routed to, with their ids in each CRM."""

    id: str
    name: str
    email: str = ""
    crm_ids: dict[str, str] = field(default_factory=dict)  # connector name -> CRM user id
    destination: str | None = None  # the connector this owner works in
    product_lines: tuple[str, ...] = ()  # empty: any
    regions: tuple[str, ...] = ()  # empty: any
    active: bool = True
    #: Availability (``None``: the owner's team decides, or no limit): IANA time zone,
    #: working hours "09:00-17:30", working days ("mon".."sun"), public holidays of a country
    #: ("JP", "US-CA"), and capacity caps.
    timezone: str | None = None
    working_hours: str | None = None
    working_days: tuple[str, ...] | None = None
    holidays: str | None = None
    max_open: int | None = None
    max_per_day: int | None = None
    max_per_week: int | None = None

    @property
    def first_name(self) -> str:
        return self.name.split()[0] if self.name else ""


@dataclass(frozen=True)
class RouteDecision:
    """Who gets the lead, by when they must act, and where it is delivered."""

    owner_id: str
    reason: str
    sla: timedelta | None = None
    destinations: tuple[str, ...] = ()  # connector names; empty: the owner's destination
    #: The team and the rule that chose the owner (recorded with the assignment; ``None``: none).
    team: str | None = None
    rule: str | None = None


class SlaActionKind(StrEnum):
    ESCALATE = "escalate"
    REASSIGN = "reassign"
    CLAW_BACK = "claw_back"


@dataclass(frozen=True)
class SlaAction:
    """What to do with a routed lead its owner did not accept in time."""

    kind: SlaActionKind
    reason: str
    owner_id: str | None = None  # the new owner for REASSIGN / ESCALATE
    #: When the new owner must have acted (REASSIGN / ESCALATE); the policy decides, not the
    #: engine. ``None``: no further deadline.
    due_at: datetime | None = None


@dataclass(frozen=True)
class QualifyDecision:
    """Whether a scored lead goes to sales (``qualified``) or stays with marketing (nurture)."""

    qualified: bool
    reason: str


@dataclass(frozen=True)
class RoutingStrategy:
    """A named way of choosing an owner, offered by a plugin (``hub_routing_strategies``)."""

    name: str
    description: str
    choose: Callable[[RoutingContext], RouteDecision | None]

    def __post_init__(self) -> None:
        cleaned = self.name.strip().lower().replace("-", "_")
        if not cleaned.replace("_", "").isalnum():
            raise ValueError(f"routing strategy name {self.name!r} must be letters, digits and _")
        object.__setattr__(self, "name", cleaned)


class RoutingLedger(Protocol):
    """What routing needs from the store, supplied by the engine (a policy plugin has no store).

    The engine's ledger reads the store through the batch's unit of work and sees the batch's own
    assignments; ``leadhub routing replay`` hands an in-memory one that simulates history.
    """

    def away(self, owner_id: str, at: datetime) -> str | None:
        """The reason ``owner_id`` is away at ``at`` (out of office), or ``None``."""
        ...

    def assigned_since(self, owner_id: str, since: datetime) -> int:
        """Leads routed to ``owner_id`` at or after ``since``."""
        ...

    def open_leads(self, owner_id: str) -> int:
        """Leads ``owner_id`` holds that are not closed (routed, accepted, escalated)."""
        ...

    def partner_manager(self, partner_id: str) -> str | None:
        """The owner id of the partner's channel manager, if it has one."""
        ...

    def counter(self, name: str) -> int:
        """A persisted named integer (0 if never set): a router's fairness state."""
        ...

    def set_counter(self, name: str, value: int) -> None:
        """Change a named integer; written with the batch."""
        ...


@dataclass
class RoutingContext:
    """Everything a router needs to choose an owner for one lead."""

    lead: Lead
    account: Account
    #: The account of the parent company, if any.
    parent_account: Account | None
    owners: list[Owner]
    #: The ``[routing]`` table of hub.toml (strategy, default owner, SLA, rules...).
    settings: Mapping[str, object]
    #: Strategies registered through ``hub_routing_strategies``, by name.
    strategies: dict[str, RoutingStrategy]
    #: ``rotate(name, n)`` returns the next position 0..n-1 of a persisted round-robin counter.
    rotate: Callable[[str, int], int]
    #: When the decision is made (the engine's clock; replay: the lead's own time).
    now: datetime = field(default_factory=lambda: datetime.now(UTC))
    #: The company as the inquiry described it (region, employees, industry); ``None`` when the
    #: lead is routed again later (a waiting lead, a split).
    company: Company | None = None
    #: Availability, capacity, fairness state and partners; ``None``: nobody away, no counts.
    ledger: RoutingLedger | None = None
    #: Why nobody could be chosen, in words, for the audit when ``hub_route`` returns ``None``.
    notes: list[str] = field(default_factory=list)
