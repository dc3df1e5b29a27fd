"""The file connector: CSV / JSON Lines import (the spreadsheet on-ramp) and a JSONL destination."""

from __future__ import annotations

from hub.connector import Connector
from hub.plugins import hookimpl

from connectors.file.connector import FileConnector, FileSettings
from connectors.file.reader import ImportReport, import_file

__all__ = ["FileConnector", "FileSettings", "ImportReport", "import_file"]


@hookimpl
def hub_connector_types() -> list[type[Connector]]:
    return [FileConnector]
