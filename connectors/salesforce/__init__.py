"""The Salesforce connector plugin: registers :class:`SalesforceConnector` as type "salesforce".

It ships ``salesforce.toml`` (its default mapping). Its classes load on first use, so the
command line starts without simple-salesforce.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from hub.api import hookimpl

if TYPE_CHECKING:
    from connectors.salesforce.client import SalesforceClient
    from connectors.salesforce.connector import SalesforceConnector
    from connectors.salesforce.settings import SalesforceSettings
    from hub.api import Connector

__all__ = ["SalesforceClient", "SalesforceConnector", "SalesforceSettings"]


def __getattr__(name: str) -> Any:
    if name == "SalesforceClient":
        from connectors.salesforce.client import SalesforceClient

        return SalesforceClient
    if name == "SalesforceConnector":
        from connectors.salesforce.connector import SalesforceConnector

        return SalesforceConnector
    if name == "SalesforceSettings":
        from connectors.salesforce.settings import SalesforceSettings

        return SalesforceSettings
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


@hookimpl
def hub_connector_types() -> list[type[Connector]]:
    from connectors.salesforce.connector import SalesforceConnector

    return [SalesforceConnector]


@hookimpl
def hub_mappings() -> list[Path]:
    return [Path(__file__).with_name("salesforce.toml")]
