"""The matcher as a plugin: :class:`MatchingPlugin`, one per hub, holding its ``[plugins.matching]``."""

from __future__ import annotations

from typing import TYPE_CHECKING

from hub.api import DuplicateScore, hookimpl

if TYPE_CHECKING:
    from hub.api import AccountLookup, AccountMatch, Contact, ContactRecord, HubConfig, Inquiry
    from plugins.matching.contacts import PersonRecord
    from plugins.matching.settings import MatchingSettings

# The matcher's modules (rapidfuzz, cleanco, the suffix list) load on first use, not when the
# plugin is registered: `leadhub --help` builds every plugin and must stay quick.


class MatchingPlugin:
    """The built-in account matcher and contact de-duplication, with this hub's thresholds."""

    def __init__(self) -> None:
        self._settings: MatchingSettings | None = None  # hub_configure sets it; the defaults otherwise

    @property
    def settings(self) -> MatchingSettings:
        if self._settings is None:
            from plugins.matching.settings import MatchingSettings

            self._settings = MatchingSettings()
        return self._settings

    @hookimpl
    def hub_configure(self, config: HubConfig) -> None:
        """Read and validate ``[plugins.matching]`` (absent: the defaults)."""
        from plugins.matching.settings import MatchingSettings

        self._settings = config.plugin_settings("matching", MatchingSettings)

    @hookimpl(trylast=True)
    def hub_match_account(self, inquiry: Inquiry, lookup: AccountLookup) -> AccountMatch:
        """The built-in matcher: always decides (matched, new or uncertain)."""
        from plugins.matching.matcher import match_account

        return match_account(inquiry, lookup, self.settings)

    @hookimpl(trylast=True)
    def hub_contact_key(self, contact: Contact) -> str | None:
        """The built-in key of a person: the canonical e-mail (no e-mail: no key)."""
        from plugins.matching.contacts import canonical_email

        return canonical_email(str(contact.email)) if contact.email else None

    @hookimpl(trylast=True)
    def hub_contact_duplicate(self, contact: ContactRecord, other: ContactRecord) -> DuplicateScore:
        """The built-in candidate scoring: :func:`contact_duplicate_confidence` on the two people."""
        from plugins.matching.contacts import contact_duplicate_confidence

        verdict = contact_duplicate_confidence(_person(contact), _person(other))
        return DuplicateScore(verdict.confidence, verdict.reason, verdict.is_duplicate)


def _person(contact: ContactRecord) -> PersonRecord:
    from plugins.matching.contacts import PersonRecord

    return PersonRecord(first_name=contact.first_name, last_name=contact.last_name, email=contact.email,
                        phone=contact.phone, account_id=contact.account_id)
