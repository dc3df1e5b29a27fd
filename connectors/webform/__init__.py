"""Web forms: ``POST /forms/{form_id}`` for every form declared in hub.toml (see docs/webforms.md).

The plugin registers connector type ``webform``, ships ``webform.toml`` (its default mapping) and
adds ``leadhub forms``. Its classes load on first use, so the command line starts quickly.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from hub.api import hookimpl

if TYPE_CHECKING:
    import typer

    from connectors.webform.connector import FormSettings, WebformConnector, WebformSettings
    from hub.api import Connector

__all__ = ["FormSettings", "WebformConnector", "WebformSettings"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from connectors.webform import connector

        return getattr(connector, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


@hookimpl
def hub_connector_types() -> list[type[Connector]]:
    from connectors.webform.connector import WebformConnector

    return [WebformConnector]


@hookimpl
def hub_mappings() -> list[Path]:
    return [Path(__file__).with_name("webform.toml")]


@hookimpl
def hub_cli_commands(app: typer.Typer) -> None:
    from connectors.webform.cli import forms_app

    app.add_typer(forms_app, name="forms", help="Web forms declared in hub.toml, and their embed snippets.")
