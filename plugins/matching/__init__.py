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

import importlib
from types import MappingProxyType
from typing import TYPE_CHECKING

if TYPE_CHECKING:
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

#: Public name -> its module. Names load on first use (PEP 562): registering the plugin does not
#: load rapidfuzz, cleanco and the suffix list, so `leadhub --help` stays quick.
_HOME = MappingProxyType({
    "DuplicateVerdict": "plugins.matching.contacts",
    "PersonRecord": "plugins.matching.contacts",
    "canonical_email": "plugins.matching.contacts",
    "contact_duplicate_confidence": "plugins.matching.contacts",
    "match_keys": "plugins.matching.keys",
    "profile_inquiry": "plugins.matching.keys",
    "match_account": "plugins.matching.matcher",
    "InMemoryAccounts": "plugins.matching.memory",
    "normalize_company_name": "plugins.matching.names",
    "MatchingPlugin": "plugins.matching.plugin",
    "MatchingSettings": "plugins.matching.settings",
})

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


def __getattr__(name: str) -> object:
    home = _HOME.get(name)
    if home is None:
        raise AttributeError(f"module 'plugins.matching' has no attribute {name!r}")
    return getattr(importlib.import_module(home), name)


def __dir__() -> list[str]:
    return list(__all__)
