"""The HubSpot connector plugin: contacts and companies in, routed leads out, outcomes both ways.

Built on hubspot-api-client 12; configured in hub.toml (``[connectors.hubspot] type = "hubspot"``)
with the private-app token in ``LEADHUB_CONNECTORS__HUBSPOT__ACCESS_TOKEN``; mapped by its
shipped ``hubspot.toml`` (``mappings/hubspot.toml`` replaces it). Setup in a real portal:
docs/connectors/hubspot.md. Its classes load on first use, so the command line starts quickly.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from hub.api import hookimpl

if TYPE_CHECKING:
    from connectors.hubspot.connector import HubSpotConnector
    from connectors.hubspot.settings import HubSpotSettings
    from hub.api import Connector

__all__ = ["HubSpotConnector", "HubSpotSettings"]


def __getattr__(name: str) -> Any:
    if name == "HubSpotConnector":
        from connectors.hubspot.connector import HubSpotConnector

        return HubSpotConnector
    if name == "HubSpotSettings":
        from connectors.hubspot.settings import HubSpotSettings

        return HubSpotSettings
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


@hookimpl
def hub_connector_types() -> list[type[Connector]]:
    from connectors.hubspot.connector import HubSpotConnector

    return [HubSpotConnector]


@hookimpl
def hub_mappings() -> list[Path]:
    return [Path(__file__).with_name("hubspot.toml")]
