"""End-to-end fixtures: the sandbox CRMs on loopback (one server for the session, reset per test)."""

from __future__ import annotations

from sandbox.pytest_fixtures import sandbox, sandbox_reset  # noqa: F401 - pytest fixtures
