"""The built-in ``hub_normalize``: the declarative mapping of ``mappings/<connector>.toml``.

Registered ``trylast`` like every built-in policy, so a third-party plugin can normalize a record
its own way first (returning ``None`` hands it back to this one).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from hub.api import hookimpl

if TYPE_CHECKING:
    from hub.api import MappingSet, Normalized, SourceRecord


class NormalizePlugin:
    """The built-in ``hub_normalize``; it has no settings (the mappings are the hub's)."""

    @hookimpl(trylast=True)
    def hub_normalize(self, record: SourceRecord, mappings: MappingSet) -> Normalized:
        """Apply the record's (connector, stream) mapping.

        :raises hub.errors.InvalidRecord: no mapping for the stream ("add [streams.Y] to
            mappings/X.toml"), or a field that cannot be mapped; the record is quarantined.
        """
        return mappings.normalize(record)
