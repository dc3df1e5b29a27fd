"""Fixtures for the sandbox tests: one server for the session, reset before each test, and the
real simple-salesforce and hubspot-api-client clients pointed at it."""

from __future__ import annotations

from typing import Any

import pytest

from sandbox.control import SandboxControl
from sandbox.testing import SandboxServer


@pytest.fixture
def sf(sandbox_reset: SandboxServer) -> Any:
    return sandbox_reset.salesforce()


@pytest.fixture
def hs(sandbox_reset: SandboxServer) -> Any:
    return sandbox_reset.hubspot()


@pytest.fixture
def control(sandbox_reset: SandboxServer) -> SandboxControl:
    assert sandbox_reset.control is not None
    return sandbox_reset.control
