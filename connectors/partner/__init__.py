"""The partner channel: referrals over an API and a portal, outcomes back by signed callback.

See docs/partners.md. ``leadhub partners ...`` and ``leadhub referrals ...`` come from
:mod:`connectors.partner.cli`.
"""

from __future__ import annotations

from typing import Any

from connectors.partner.connector import PartnerConnector, PartnerSettings, _configured_database_url
from hub.connector import Connector
from hub.plugins import hookimpl

__all__ = ["PartnerConnector", "PartnerSettings"]


@hookimpl
def hub_connector_types() -> list[type[Connector]]:
    return [PartnerConnector]


@hookimpl
def hub_configure(config: Any) -> None:
    # Lets the connector deliver callbacks when the hub runs without its web app (`leadhub sync`).
    _configured_database_url["url"] = config.database_url
