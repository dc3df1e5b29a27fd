"""The ``leadhub`` command line (typer + rich); see :mod:`hub.cli.main`."""

from __future__ import annotations


def main() -> None:
    """The console script: build the app and run it."""
    from hub.cli.main import main as run

    run()
