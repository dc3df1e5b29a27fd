"""The sandbox as a LeadHub plugin: ``leadhub sandbox ...`` and ``leadhub run --with-sandbox``.

Registered from ``DEFAULT_PLUGINS`` like any other plugin; the hub imports no sandbox module by
name. This module stays light (the server and the child process load inside the hooks), so
``leadhub --help`` does not pay for the sandbox.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import TYPE_CHECKING

from hub.api import HubError, hookimpl

if TYPE_CHECKING:
    import typer


@hookimpl
def hub_cli_commands(app: typer.Typer) -> None:
    from sandbox.cli import app as sandbox_app

    app.add_typer(sandbox_app, name="sandbox", help="The local sandbox CRMs (Salesforce and HubSpot).")


@hookimpl
def hub_sandbox(port: int) -> AbstractContextManager[str]:
    return _served(port)


@contextmanager
def _served(port: int) -> Iterator[str]:
    from sandbox.process import SandboxError, SandboxProcess

    process = SandboxProcess(port)
    try:
        process.start()
    except SandboxError as exc:
        raise HubError(str(exc)) from exc
    try:
        yield process.url
    finally:
        process.stop()
