"""``leadhub sandbox serve`` (and ``python -m sandbox serve``): run the sandbox CRMs.

:mod:`sandbox.plugin` adds :data:`app` to the ``leadhub`` command line; it also runs on its own.
The server (uvicorn, the ASGI app) loads inside ``serve``, so ``leadhub --help`` stays quick.
"""

from __future__ import annotations

import logging
from pathlib import Path

import typer

from sandbox.defaults import (
    DEFAULT_CLIENT_ID,
    DEFAULT_CLIENT_SECRET,
    DEFAULT_HS_TOKEN,
    DEFAULT_PASSWORD,
    DEFAULT_PORT,
    DEFAULT_SECURITY_TOKEN,
    DEFAULT_SF_TOKEN,
    DEFAULT_USERNAME,
    HS_TOKEN_ENV,
    SF_TOKEN_ENV,
)

app = typer.Typer(help="Local Salesforce and HubSpot sandboxes that the real clients talk to.",
                  no_args_is_help=True)


@app.callback()
def main() -> None:
    """Sandbox CRMs for development, tests and demos."""


@app.command()
def serve(
    host: str = typer.Option("127.0.0.1", help="Interface to listen on (keep it loopback)."),
    port: int = typer.Option(DEFAULT_PORT, help="TCP port."),
    sf_token: str = typer.Option(DEFAULT_SF_TOKEN, "--sf-token", envvar=SF_TOKEN_ENV,
                                 help="Bearer token the Salesforce API accepts.", show_default=False),
    hs_token: str = typer.Option(DEFAULT_HS_TOKEN, "--hs-token", envvar=HS_TOKEN_ENV,
                                 help="Bearer token the HubSpot API accepts.", show_default=False),
    sf_client_id: str = typer.Option(DEFAULT_CLIENT_ID, envvar="LEADHUB_SANDBOX_SF_CLIENT_ID",
                                     help="Connected app client id the token endpoint accepts."),
    sf_client_secret: str = typer.Option(DEFAULT_CLIENT_SECRET,
                                         envvar="LEADHUB_SANDBOX_SF_CLIENT_SECRET",
                                         help="Its client secret.", show_default=False),
    sf_username: str = typer.Option(DEFAULT_USERNAME, envvar="LEADHUB_SANDBOX_SF_USERNAME",
                                    help="Username for the OAuth password flow."),
    sf_password: str = typer.Option(DEFAULT_PASSWORD, envvar="LEADHUB_SANDBOX_SF_PASSWORD",
                                    help="Its password.", show_default=False),
    sf_security_token: str = typer.Option(DEFAULT_SECURITY_TOKEN,
                                          envvar="LEADHUB_SANDBOX_SF_SECURITY_TOKEN",
                                          help="Appended to the password (\"\" for none).",
                                          show_default=False),
    seed: bool = typer.Option(True, "--seed/--no-seed", help="Start with the demo org."),
    persist: Path | None = typer.Option(None, "--persist",
                                        help="SQLite file to keep state in across restarts."),
    log_level: str = typer.Option("info", help="uvicorn log level."),
) -> None:
    """Serve both sandboxes on one port until Ctrl-C."""
    import uvicorn

    from sandbox.app import create_app
    from sandbox.core import SandboxSettings
    from sandbox.oauth import OAuthSettings

    logging.basicConfig(level=log_level.upper())
    oauth = OAuthSettings(client_id=sf_client_id, client_secret=sf_client_secret,
                          username=sf_username, password=sf_password,
                          security_token=sf_security_token)
    settings = SandboxSettings(sf_token=sf_token, hs_token=hs_token, seed=seed, persist=persist,
                               oauth=oauth)
    typer.echo(f"Sandbox CRMs on http://{host}:{port}  (Salesforce /services/data, HubSpot /crm, "
               f"control /_sandbox; state {'in ' + str(persist) if persist else 'in memory'})")
    uvicorn.run(create_app(settings), host=host, port=port, log_level=log_level,
                access_log=log_level == "debug", timeout_graceful_shutdown=5)
