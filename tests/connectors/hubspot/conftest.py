"""Fixtures for the HubSpot connector tests: the sandbox portal, the connector, the real client."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from connectors.hubspot import HubSpotConnector, HubSpotSettings
from hub.mapping import MappingSet
from sandbox.testing import SandboxServer

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture
def portal(sandbox_reset: SandboxServer) -> SandboxServer:
    """A freshly reset, seeded sandbox portal with its call counters at zero."""
    return sandbox_reset


@pytest.fixture
def hs(portal: SandboxServer) -> Any:
    """The real hubspot-api-client on the sandbox (what a rep or another app does)."""
    return portal.hubspot()


@pytest.fixture
def make_connector(portal: SandboxServer, mappings: MappingSet) -> Iterator[Callable[..., HubSpotConnector]]:
    made: list[HubSpotConnector] = []

    def make(**overrides: Any) -> HubSpotConnector:
        values: dict[str, Any] = {"host": portal.url, "access_token": portal.hs_token,
                                  # each test gets its own portal budget (the key includes portal_id)
                                  "portal_id": f"test-{len(made)}-{id(portal)}-{id(overrides)}",
                                  **overrides}
        connector = HubSpotConnector("hubspot", HubSpotSettings(**values), mappings)
        made.append(connector)
        return connector

    yield make
    for connector in made:
        connector.close()


@pytest.fixture
def owner_ids(portal: SandboxServer) -> list[str]:
    """HubSpot owner ids of the seeded sales reps (not the integration user)."""
    assert portal.control is not None
    return [str(p["hubspot_owner_id"]) for p in portal.control.team() if "Integration" not in p["name"]]
