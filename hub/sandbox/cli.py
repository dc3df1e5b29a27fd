"""``leadhub sandbox serve`` (and ``python -m hub.sandbox serve``): run the sandbox CRMs.

The lead engineer mounts :data:`app` under the main CLI; it also runs on its own.
"""

from __future__ import annotations

import logging
from pathlib import Path

import typer
import uvicorn

from hub.sandbox.core import DEFAULT_HS_TOKEN, DEFAULT_SF_TOKEN, SandboxSettings

app = typer.Typer(help="Local Salesforce and HubSpot sandboxes that the real clients talk to.",
                  no_args_is_help=True)


@app.callback()
def main() -> None:
    """Sandbox CRMs for development, tests and demos."""


@app.command()
def serve(
    host: str = typer.Option("127.0.0.1", help="Interface to listen on (keep it loopback)."),
    port: int = typer.Option(8765, help="TCP port."),
    sf_token: str = typer.Option(DEFAULT_SF_TOKEN, "--sf-token", envvar="LEADHUB_SANDBOX_SF_TOKEN",
                                 help="Bearer token the Salesforce API accepts.", show_default=False),
    hs_token: str = typer.Option(DEFAULT_HS_TOKEN, "--hs-token", envvar="LEADHUB_SANDBOX_HS_TOKEN",
                                 help="Bearer token the HubSpot API accepts.", show_default=False),
    seed: bool = typer.Option(True, "--seed/--no-seed", help="Start with the demo org."),
    persist: Path | None = typer.Option(None, "--persist",
                                        help="SQLite file to keep state in across restarts."),
    log_level: str = typer.Option("info", help="uvicorn log level."),
) -> None:
    """Serve both sandboxes on one port until Ctrl-C."""
    from hub.sandbox.app import create_app

    logging.basicConfig(level=log_level.upper())
    settings = SandboxSettings(sf_token=sf_token, hs_token=hs_token, seed=seed, persist=persist)
    typer.echo(f"Sandbox CRMs on http://{host}:{port}  (Salesforce /services/data, HubSpot /crm, "
               f"control /_sandbox; state {'in ' + str(persist) if persist else 'in memory'})")
    uvicorn.run(create_app(settings), host=host, port=port, log_level=log_level,
                access_log=log_level == "debug", timeout_graceful_shutdown=5)
