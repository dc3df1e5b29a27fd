"""The built-in account matcher (policy plugin behind ``hub_match_account``).

An inquiry's match keys (domain, phone, normalised company name and blocking keys) find candidate
accounts through the store's index; each candidate is scored; the verdict is MATCHED, NEW or
UNCERTAIN with the reason in words. Thresholds come from ``[plugins.matching]`` in hub.toml.
Registered ``trylast`` so a third-party matcher can decide first. See docs/matching.md.

Public interface::

    MatchingPlugin                                  # the plugin: one per hub, its own settings
    match_keys(inquiry) -> list[MatchKey]          # the keys to index and look up
    match_account(inquiry, lookup, settings) -> AccountMatch
    canonical_email(email), contact_duplicate_confidence(a, b)   # contact de-dup
    InMemoryAccounts                                # an AccountLookup for tests and benchmarks
"""

from __future__ import annotations

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
from plugins.matching.plugin import MatchingPlugin
from plugins.matching.settings import MatchingSettings

__all__ = [
    "DuplicateVerdict",
    "InMemoryAccounts",
    "MatchingPlugin",
    "MatchingSettings",
    "PersonRecord",
    "canonical_email",
    "contact_duplicate_confidence",
    "match_account",
    "match_keys",
    "normalize_company_name",
    "profile_inquiry",
]
