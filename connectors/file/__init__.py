"""The file connector: CSV / JSON Lines import (the spreadsheet on-ramp) and a JSONL destination.

The plugin registers connector type ``file``, ships ``file.toml`` (its default mapping) and adds
``leadhub import``. Its classes load on first use, so the command line starts quickly.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from hub.api import hookimpl

if TYPE_CHECKING:
    import typer

    from connectors.file.connector import FileConnector, FileSettings
    from connectors.file.reader import ImportReport, import_file
    from hub.api import Connector

__all__ = ["FileConnector", "FileSettings", "ImportReport", "import_file"]


def __getattr__(name: str) -> Any:
    if name in ("FileConnector", "FileSettings"):
        from connectors.file import connector

        return getattr(connector, name)
    if name in ("ImportReport", "import_file"):
        from connectors.file import reader

        return getattr(reader, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


@hookimpl
def hub_connector_types() -> list[type[Connector]]:
    from connectors.file.connector import FileConnector

    return [FileConnector]


@hookimpl
def hub_mappings() -> list[Path]:
    return [Path(__file__).with_name("file.toml")]


@hookimpl
def hub_cli_commands(app: typer.Typer) -> None:
    from connectors.file.cli import import_

    app.command("import")(import_)
