"""The built-in account matcher (policy plugin behind ``hub_match_account``).

An inquiry's match keys (domain, phone, normalised company name and blocking keys) find candidate
accounts through the store's index; each candidate is scored; the verdict is MATCHED, NEW or
UNCERTAIN with the reason in words. Thresholds come from ``[matching]`` in hub.toml. Registered
``trylast`` so a third-party matcher can decide first. See docs/matching.md.

Public interface::

    match_keys(inquiry) -> list[MatchKey]          # the keys to index and look up
    match_account(inquiry, lookup, settings) -> AccountMatch
    canonical_email(email), contact_duplicate_confidence(a, b)   # contact de-dup
    hub_contact_key, hub_contact_duplicate          # ... behind the engine's contact hooks
    InMemoryAccounts                                # an AccountLookup for tests and benchmarks
"""

from __future__ import annotations

from typing import Any

from hub.decisions import AccountLookup, AccountMatch, ContactRecord, DuplicateScore
from hub.plugins import hookimpl
from hub.schema import Contact, Inquiry
from plugins.matching.contacts import (
    DuplicateVerdict,
    PersonRecord,
    canonical_email,
    contact_duplicate_confidence,
)
from plugins.matching.keys import match_keys, profile_inquiry
from plugins.matching.matcher import match_account
from plugins.matching.memory import InMemoryAccounts
from plugins.matching.names import normalize_company_name
from plugins.matching.settings import MatchingSettings, load_settings

__all__ = [
    "DuplicateVerdict",
    "InMemoryAccounts",
    "MatchingSettings",
    "PersonRecord",
    "canonical_email",
    "contact_duplicate_confidence",
    "hub_configure",
    "hub_contact_duplicate",
    "hub_contact_key",
    "hub_match_account",
    "load_settings",
    "match_account",
    "match_keys",
    "normalize_company_name",
    "profile_inquiry",
]

#: The settings in force; replaced by ``hub_configure`` from hub.toml's ``[matching]`` table.
_settings = MatchingSettings()


def current_settings() -> MatchingSettings:
    return _settings


@hookimpl
def hub_configure(config: Any) -> None:
    """Read and validate ``[matching]`` (absent: the defaults)."""
    global _settings
    _settings = load_settings(dict(config.section("matching") or {}))


@hookimpl(trylast=True)
def hub_match_account(inquiry: Inquiry, lookup: AccountLookup) -> AccountMatch:
    """The built-in matcher: always decides (matched, new or uncertain)."""
    return match_account(inquiry, lookup, _settings)


@hookimpl(trylast=True)
def hub_contact_key(contact: Contact) -> str | None:
    """The built-in key of a person: the canonical e-mail (no e-mail: no key)."""
    return canonical_email(str(contact.email)) if contact.email else None


@hookimpl(trylast=True)
def hub_contact_duplicate(contact: ContactRecord, other: ContactRecord) -> DuplicateScore:
    """The built-in candidate scoring: :func:`contact_duplicate_confidence` on the two people."""
    verdict = contact_duplicate_confidence(_person(contact), _person(other))
    return DuplicateScore(verdict.confidence, verdict.reason, verdict.is_duplicate)


def _person(contact: ContactRecord) -> PersonRecord:
    return PersonRecord(first_name=contact.first_name, last_name=contact.last_name, email=contact.email,
                        phone=contact.phone, account_id=contact.account_id)
