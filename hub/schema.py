"""The shared lead schema: what every connector, plugin and the store agree on.

Records flow through these shapes::

    SourceRecord  (a connector's raw row, committed to the inbox before it is acknowledged)
        -> Inquiry (normalized: contact, company, activity; or an Outcome report)
        -> Account (matched or new) + Lead (merged or opened), scored, routed
        -> outbox rows per destination, delivered in batches

A lead's status is a small state machine (:data:`TRANSITIONS`); :meth:`Lead.move_to` is the only
way to change it and an illegal move raises :class:`IllegalTransition`.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, EmailStr, Field


def utcnow() -> datetime:
    """The current time, timezone-aware in UTC (the only kind of datetime the hub stores)."""
    return datetime.now(UTC)


def new_id(prefix: str) -> str:
    """A hub id: a short readable prefix and 20 hex digits, e.g. ``lead_4f2c...``."""
    return f"{prefix}_{uuid.uuid4().hex[:20]}"


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)


class SourceRecord(_Model):
    """A record as a connector hands it in, before any interpretation.

    Idempotent on ``(connector, stream, external_id, version)``: the same version of the same
    record, handed in twice, is stored once.
    """

    connector: str
    stream: str  # e.g. "Lead", "contacts", "referral", "form:demo"
    external_id: str
    version: str = ""  # e.g. SystemModstamp; "" when the source has no versions
    updated_at: datetime | None = None
    payload: dict[str, Any]
    received_at: datetime = Field(default_factory=utcnow)
    deleted: bool = False


class Contact(_Model):
    """A person at a company."""

    email: EmailStr | None = None
    first_name: str | None = None
    last_name: str | None = None
    phone: str | None = None  # E.164
    title: str | None = None
    country: str | None = None  # ISO 3166-1 alpha-2


class Company(_Model):
    """A company as an inbound record describes it (not yet matched to an account)."""

    name: str | None = None
    domain: str | None = None
    website: str | None = None
    country: str | None = None
    region: str | None = None
    employees: int | None = None
    industry: str | None = None
    phone: str | None = None


class Activity(_Model):
    """Something a contact did: a form fill, a demo request, a referral, a webinar."""

    kind: str
    at: datetime = Field(default_factory=utcnow)
    source: str = ""
    details: dict[str, Any] = Field(default_factory=dict)


class LeadStatus(StrEnum):
    NEW = "new"
    NURTURE = "nurture"
    QUALIFIED = "qualified"
    ROUTED = "routed"
    ACCEPTED = "accepted"
    ESCALATED = "escalated"
    REJECTED = "rejected"
    CONVERTED = "converted"
    WON = "won"
    LOST = "lost"


S = LeadStatus
#: Allowed moves of a lead's status. Anything else is an error, never a silent overwrite.
TRANSITIONS: dict[LeadStatus, frozenset[LeadStatus]] = {
    S.NEW: frozenset({S.NURTURE, S.QUALIFIED}),
    S.NURTURE: frozenset({S.QUALIFIED}),
    S.QUALIFIED: frozenset({S.ROUTED, S.NURTURE}),
    S.ROUTED: frozenset({S.ACCEPTED, S.ESCALATED, S.REJECTED, S.CONVERTED, S.ROUTED}),
    S.ESCALATED: frozenset({S.ROUTED, S.ACCEPTED, S.REJECTED, S.NURTURE}),
    S.ACCEPTED: frozenset({S.CONVERTED, S.REJECTED, S.WON, S.LOST}),
    S.REJECTED: frozenset({S.NURTURE}),
    S.CONVERTED: frozenset({S.WON, S.LOST}),
    S.WON: frozenset(),
    S.LOST: frozenset(),
}
#: Statuses of a lead that no longer absorbs new activity.
CLOSED_STATUSES = frozenset({S.WON, S.LOST})
#: Statuses in which the lead waits for its owner (the SLA clock runs).
AWAITING_OWNER = frozenset({S.ROUTED, S.ESCALATED})
#: A move to nurture from these is not a new recycling: a new lead's first verdict, or the second
#: step of a rejection (whose time is the recycling's).
RECYCLED_FROM = frozenset({S.NEW, S.REJECTED})
#: Statuses of a recycled lead: it absorbs new activity only within the recycle window.
RECYCLED = frozenset({S.NURTURE, S.REJECTED})
del S


class IllegalTransition(ValueError):
    """A lead status change that the state machine does not allow."""

    def __init__(self, lead_id: str, current: LeadStatus, target: LeadStatus) -> None:
        allowed = ", ".join(sorted(TRANSITIONS[current])) or "none (final)"
        super().__init__(
            f"lead {lead_id}: cannot move from {current} to {target}; allowed from {current}: {allowed}"
        )
        self.current, self.target = current, target


def path_to(current: LeadStatus, target: LeadStatus) -> list[LeadStatus] | None:
    """The shortest chain of legal moves from ``current`` to ``target`` (excluding ``current``).

    Used when a CRM reports a jump (a routed lead converted and won in one sync): each
    intermediate step is applied and audited. ``None`` when ``target`` cannot be reached.
    """
    if current == target:
        return []
    frontier: list[list[LeadStatus]] = [[current]]
    seen = {current}
    while frontier:
        nxt: list[list[LeadStatus]] = []
        for chain in frontier:
            for step in sorted(TRANSITIONS[chain[-1]]):
                if step in seen:
                    continue
                if step == target:
                    return chain[1:] + [step]
                seen.add(step)
                nxt.append(chain + [step])
        frontier = nxt
    return None


class Account(_Model):
    """A company the hub knows, with its cross-references to each CRM."""

    id: str = Field(default_factory=lambda: new_id("acct"))
    name: str
    domains: list[str] = Field(default_factory=list)
    country: str | None = None
    parent_id: str | None = None
    owner_id: str | None = None
    xrefs: dict[str, str] = Field(default_factory=dict)  # connector name -> that CRM's id


class Lead(_Model):
    """An account's need for a product line: its contacts, their activities, score and owner."""

    id: str = Field(default_factory=lambda: new_id("lead"))
    account_id: str
    product_line: str = "default"
    contacts: list[Contact] = Field(default_factory=list)
    activities: list[Activity] = Field(default_factory=list)
    #: Engagement: what the account's people did (``hub_score`` parts of kind ``engagement``).
    score: int = 0
    #: Fit: who they are (``hub_score`` parts of kind ``fit``); ``grade`` is its letter (A-D).
    fit_score: int = 0
    grade: str | None = None
    status: LeadStatus = LeadStatus.NEW
    owner_id: str | None = None
    sla_due_at: datetime | None = None
    source_connector: str = ""
    partner_id: str | None = None
    xrefs: dict[str, str] = Field(default_factory=dict)
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)
    #: When sales gave the lead back (rejected, or sent back to nurture after it left it); ``None``
    #: while it never left marketing or is with sales again. The recycle window runs from here.
    recycled_at: datetime | None = None

    def can_move_to(self, target: LeadStatus) -> bool:
        return target in TRANSITIONS[self.status]

    def move_to(self, target: LeadStatus, at: datetime | None = None) -> LeadStatus:
        """Change the status, returning the previous one; raises :class:`IllegalTransition`.

        ``at`` is when it happened (default now): it dates a recycling (see :attr:`recycled_at`).
        """
        if not self.can_move_to(target):
            raise IllegalTransition(self.id, self.status, target)
        previous = self.status
        self.status = target
        if target not in AWAITING_OWNER:
            self.sla_due_at = None
        if target == LeadStatus.REJECTED or (target == LeadStatus.NURTURE and previous not in RECYCLED_FROM):
            self.recycled_at = at or utcnow()
        elif target not in (LeadStatus.NURTURE, LeadStatus.REJECTED):
            self.recycled_at = None  # with sales again (or closed): no longer a recycled lead
        return previous

    @property
    def is_open(self) -> bool:
        return self.status not in CLOSED_STATUSES


class Outcome(_Model):
    """What became of a lead, as a CRM (or an operator) reports it."""

    lead_id: str
    status: LeadStatus
    reason: str = ""
    amount: float | None = None
    at: datetime = Field(default_factory=utcnow)
    reported_by: str = ""


class Inquiry(_Model):
    """A normalized inbound record: who asked, for which company, what they did.

    ``company`` fields decide the account; ``contact.email`` is only one matching key (a partner's
    referral carries the partner rep's address, which must not decide the account).
    """

    source: SourceRecord
    contact: Contact = Field(default_factory=Contact)
    company: Company = Field(default_factory=Company)
    activity: Activity
    product_line: str = "default"
    partner_id: str | None = None
    #: The source system's own id for this person/lead, kept as a cross-reference.
    source_ref: str | None = None


class OutcomeReport(_Model):
    """A normalized record that reports an outcome for a lead the hub already knows."""

    source: SourceRecord
    lead_ref: str  # hub lead id, or the source system's id (resolved through cross-references)
    status: LeadStatus
    reason: str = ""
    amount: float | None = None


class AccountRecord(_Model):
    """A normalized record that describes a company a CRM already knows (a Salesforce Account, a
    HubSpot company): it is matched to a hub account and cross-referenced, and opens no lead.

    So the same company in two CRMs is one hub account with both cross-references.
    """

    source: SourceRecord
    company: Company = Field(default_factory=Company)
    #: The CRM's own id for the company.
    source_ref: str | None = None
    #: The CRM's id of the company's owner (a user), matched to a hub owner by ``crm_ids``.
    owner_ref: str | None = None
    #: The CRM's id of the parent company; the hub account cross-referenced with it becomes the parent.
    parent_ref: str | None = None


Normalized = Inquiry | OutcomeReport | AccountRecord
