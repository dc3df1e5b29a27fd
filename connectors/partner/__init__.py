"""The partner channel: referrals over an API and a portal, outcomes back by signed callback.

See docs/partners.md. ``leadhub partners ...`` and ``leadhub referrals ...`` come from
:mod:`connectors.partner.cli`.
"""

from __future__ import annotations

from typing import Any

from hub.connector import Connector
from hub.mapping import MappingSet
from hub.plugins import hookimpl
from hub.schema import Inquiry, Normalized, SourceRecord

from connectors.partner.connector import PartnerConnector, PartnerSettings, _configured_database_url

__all__ = ["PartnerConnector", "PartnerSettings"]


@hookimpl
def hub_connector_types() -> list[type[Connector]]:
    return [PartnerConnector]


@hookimpl
def hub_normalize(record: SourceRecord, mappings: MappingSet) -> Normalized | None:
    """Referrals: the mapping's inquiry, with the activity's source set to the connector instance.

    The engine tells a lead's sources what became of it by matching activity sources against
    connector names, while the mapping engine writes ``"<connector>:<stream>"``. Naming the
    instance here keeps outcome callbacks flowing; ``None`` for every other record.
    """
    if record.stream != "referral" or mappings.stream(record.connector, record.stream) is None:
        return None
    normalized = mappings.normalize(record)
    if isinstance(normalized, Inquiry):
        activity = normalized.activity.model_copy(update={"source": record.connector})
        return normalized.model_copy(update={"activity": activity})
    return normalized


@hookimpl
def hub_configure(config: Any) -> None:
    # Lets the connector deliver callbacks when the hub runs without its web app (`leadhub sync`).
    _configured_database_url["url"] = config.database_url
