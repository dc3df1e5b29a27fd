"""Sandbox CRMs: a local Salesforce REST and HubSpot CRM v3/v4 API for development and tests.

One ASGI app (``sandbox.app.create_app``) serves both, faithfully enough that the unmodified
simple-salesforce and hubspot-api-client libraries work against it over loopback. See
``docs/sandbox.md``. Entry points: ``sandbox.testing`` (SandboxServer, client factories),
``sandbox.control`` (SandboxControl), ``sandbox.pytest_fixtures``, ``sandbox.cli``.
"""

from __future__ import annotations

from sandbox.core import DEFAULT_HS_TOKEN, DEFAULT_SF_TOKEN, SandboxSettings

__all__ = ["DEFAULT_HS_TOKEN", "DEFAULT_SF_TOKEN", "SandboxSettings"]
