"""Sandbox CRMs: a local Salesforce REST and HubSpot CRM v3/v4 API for development and tests.

One ASGI app (``hub.sandbox.app.create_app``) serves both, faithfully enough that the unmodified
simple-salesforce and hubspot-api-client libraries work against it over loopback. See
``docs/sandbox.md``. Entry points: ``hub.sandbox.testing`` (SandboxServer, client factories),
``hub.sandbox.control`` (SandboxControl), ``hub.sandbox.pytest_fixtures``, ``hub.sandbox.cli``.
"""

from __future__ import annotations

from hub.sandbox.core import DEFAULT_HS_TOKEN, DEFAULT_SF_TOKEN, SandboxSettings

__all__ = ["DEFAULT_HS_TOKEN", "DEFAULT_SF_TOKEN", "SandboxSettings"]
