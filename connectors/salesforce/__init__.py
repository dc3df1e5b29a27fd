"""The Salesforce connector plugin: registers :class:`SalesforceConnector` as type "salesforce"."""

from __future__ import annotations

from connectors.salesforce.client import SalesforceClient
from connectors.salesforce.connector import SalesforceConnector
from connectors.salesforce.settings import SalesforceSettings
from hub.connector import Connector
from hub.plugins import hookimpl

__all__ = ["SalesforceClient", "SalesforceConnector", "SalesforceSettings"]


@hookimpl
def hub_connector_types() -> list[type[Connector]]:
    return [SalesforceConnector]
