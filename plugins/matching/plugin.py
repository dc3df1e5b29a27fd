"""The matcher as a plugin: :class:`MatchingPlugin`, one per hub, holding its ``[plugins.matching]``."""

from __future__ import annotations

from hub.config import HubConfig
from hub.decisions import AccountLookup, AccountMatch, ContactRecord, DuplicateScore
from hub.plugins import hookimpl
from hub.schema import Contact, Inquiry
from plugins.matching.contacts import PersonRecord, canonical_email, contact_duplicate_confidence
from plugins.matching.matcher import match_account
from plugins.matching.settings import MatchingSettings


class MatchingPlugin:
    """The built-in account matcher and contact de-duplication, with this hub's thresholds."""

    def __init__(self) -> None:
        self.settings = MatchingSettings()

    @hookimpl
    def hub_configure(self, config: HubConfig) -> None:
        """Read and validate ``[plugins.matching]`` (absent: the defaults)."""
        self.settings = config.plugin_settings("matching", MatchingSettings)

    @hookimpl(trylast=True)
    def hub_match_account(self, inquiry: Inquiry, lookup: AccountLookup) -> AccountMatch:
        """The built-in matcher: always decides (matched, new or uncertain)."""
        return match_account(inquiry, lookup, self.settings)

    @hookimpl(trylast=True)
    def hub_contact_key(self, contact: Contact) -> str | None:
        """The built-in key of a person: the canonical e-mail (no e-mail: no key)."""
        return canonical_email(str(contact.email)) if contact.email else None

    @hookimpl(trylast=True)
    def hub_contact_duplicate(self, contact: ContactRecord, other: ContactRecord) -> DuplicateScore:
        """The built-in candidate scoring: :func:`contact_duplicate_confidence` on the two people."""
        verdict = contact_duplicate_confidence(_person(contact), _person(other))
        return DuplicateScore(verdict.confidence, verdict.reason, verdict.is_duplicate)


def _person(contact: ContactRecord) -> PersonRecord:
    return PersonRecord(first_name=contact.first_name, last_name=contact.last_name, email=contact.email,
                        phone=contact.phone, account_id=contact.account_id)
