"""The HubSpot connector plugin: contacts and companies in, routed leads out, outcomes both ways.

Built on hubspot-api-client 12; configured in hub.toml (``[connectors.hubspot] type = "hubspot"``)
with the private-app token in ``LEADHUB_CONNECTORS__HUBSPOT__ACCESS_TOKEN``; mapped by
``mappings/hubspot.toml``. Setup in a real portal: docs/connectors/hubspot.md.
"""

from __future__ import annotations

from connectors.hubspot.connector import HubSpotConnector
from connectors.hubspot.settings import HubSpotSettings
from hub.connector import Connector
from hub.plugins import hookimpl

__all__ = ["HubSpotConnector", "HubSpotSettings"]


@hookimpl
def hub_connector_types() -> list[type[Connector]]:
    return [HubSpotConnector]
