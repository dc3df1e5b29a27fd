"""Fixtures for the Salesforce connector tests: the sandbox org, the connector, the real client."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from connectors.salesforce import SalesforceConnector, SalesforceSettings
from hub.mapping import MappingSet
from sandbox.testing import SandboxServer

ROOT = Path(__file__).resolve().parents[3]
#: Retries fast enough for tests (a Retry-After from the sandbox is still honoured).
FAST = {"retry_initial_seconds": 0.01, "retry_max_seconds": 0.05, "page_size": 200}


@pytest.fixture
def org(sandbox_reset: SandboxServer) -> SandboxServer:
    """A freshly reset, seeded sandbox org."""
    return sandbox_reset


@pytest.fixture
def sf(org: SandboxServer) -> Any:
    """The real simple-salesforce client on the sandbox (what a person or the org's UI does)."""
    return org.salesforce()


@pytest.fixture
def make_connector(org: SandboxServer, mappings: MappingSet) -> Iterator[Callable[..., SalesforceConnector]]:
    made: list[SalesforceConnector] = []

    def make(**overrides: Any) -> SalesforceConnector:
        values: dict[str, Any] = {"instance_url": org.url, "session_id": org.sf_token, **FAST, **overrides}
        connector = SalesforceConnector("salesforce", SalesforceSettings(**values), mappings)
        made.append(connector)
        return connector

    yield make
    for connector in made:
        connector.close()


@pytest.fixture
def rep_id(org: SandboxServer) -> str:
    """A seeded sales rep's Salesforce user id (not the integration user)."""
    assert org.control is not None
    team = [p for p in org.control.team() if "Integration" not in p["name"]]
    return str(team[0]["salesforce_user_id"])
