"""Sandbox CRMs: a local Salesforce REST and HubSpot CRM v3/v4 API for development and tests.

One ASGI app (``sandbox.app.create_app``) serves both, faithfully enough that the unmodified
simple-salesforce and hubspot-api-client libraries work against it over loopback. See
``docs/sandbox.md``. Entry points: ``sandbox.testing`` (SandboxServer, client factories),
``sandbox.control`` (SandboxControl), ``sandbox.pytest_fixtures``, ``sandbox.cli``,
``sandbox.process`` (the sandbox as a child process) and ``sandbox.plugin`` (the LeadHub plugin
that adds ``leadhub sandbox`` and ``leadhub run --with-sandbox``).

Importing the package loads no web code: the server's modules load when they are used.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sandbox.defaults import DEFAULT_HS_TOKEN, DEFAULT_SF_TOKEN

if TYPE_CHECKING:
    from sandbox.core import SandboxSettings

__all__ = ["DEFAULT_HS_TOKEN", "DEFAULT_SF_TOKEN", "SandboxSettings"]


def __getattr__(name: str) -> Any:
    if name == "SandboxSettings":
        from sandbox.core import SandboxSettings

        return SandboxSettings
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
