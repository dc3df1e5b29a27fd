"""The partner channel: referrals over an API and a portal, outcomes back by signed callback.

See docs/partners.md. The plugin registers connector type ``partner``, ships ``partner.toml``
(its default mapping) and adds ``leadhub partners ...`` and ``leadhub referrals ...``
(:mod:`connectors.partner.cli`). Its classes load on first use, so the command line starts quickly.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from hub.api import hookimpl

if TYPE_CHECKING:
    import typer

    from connectors.partner.connector import PartnerConnector, PartnerSettings
    from hub.api import Connector

__all__ = ["PartnerConnector", "PartnerSettings"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from connectors.partner import connector

        return getattr(connector, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


@hookimpl
def hub_connector_types() -> list[type[Connector]]:
    from connectors.partner.connector import PartnerConnector

    return [PartnerConnector]


@hookimpl
def hub_mappings() -> list[Path]:
    return [Path(__file__).with_name("partner.toml")]


@hookimpl
def hub_cli_commands(app: typer.Typer) -> None:
    from connectors.partner.cli import partners_app, referrals_app

    app.add_typer(partners_app, name="partners", help="Partners who submit referrals, and their API keys.")
    app.add_typer(referrals_app, name="referrals", help="Partner referrals; approve or reject channel conflicts.")
