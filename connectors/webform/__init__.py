"""Web forms: ``POST /forms/{form_id}`` for every form declared in hub.toml (see docs/webforms.md)."""

from __future__ import annotations

from hub.connector import Connector
from hub.plugins import hookimpl

from connectors.webform.connector import FormSettings, WebformConnector, WebformSettings

__all__ = ["FormSettings", "WebformConnector", "WebformSettings"]


@hookimpl
def hub_connector_types() -> list[type[Connector]]:
    return [WebformConnector]
