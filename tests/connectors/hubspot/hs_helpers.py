"""Builders shared by the HubSpot connector tests (a module of its own: conftest is not importable)."""

from __future__ import annotations

from typing import Any

from hub.testing import routed_items  # noqa: F401 - re-exported for the tests
from sandbox.testing import SandboxServer


def hubspot_calls(portal: SandboxServer) -> dict[str, int]:
    """The sandbox's HubSpot call counters by endpoint (``METHOD /route``)."""
    assert portal.control is not None
    counters: dict[str, Any] = portal.control.counters()["hubspot"]
    return dict(counters["by_endpoint"])


def statuses(portal: SandboxServer) -> dict[str, int]:
    assert portal.control is not None
    return dict(portal.control.counters()["hubspot"]["by_status"])


def hub_plugins() -> tuple[Any, ...]:
    """The connector's plugin module, unless the hub already loads it as a built-in."""
    import connectors.hubspot
    from hub.plugins import DEFAULT_PLUGINS

    return () if "connectors.hubspot" in DEFAULT_PLUGINS else (connectors.hubspot,)


def connector_config(portal: SandboxServer, **overrides: Any) -> dict[str, Any]:
    """``[connectors.hubspot]`` of a test hub.toml (the token as a test's environment would give it)."""
    return {"type": "hubspot", "host": portal.url, "access_token": portal.hs_token,
            "portal_id": f"hub-test-{id(overrides)}", **overrides}


def insert_late(portal: SandboxServer, object_type: str, values: dict[str, str], stamp_ms: int) -> str:
    """Put an object into the portal that was modified at ``stamp_ms`` but only now becomes visible
    to search: what HubSpot's search lag does. There is no API for it, so the sandbox's state is
    changed in-process (thread mode)."""
    from datetime import UTC, datetime

    from sandbox.hs_portal import OBJECT_TYPES, hs_datetime

    assert portal.state is not None
    stamp = hs_datetime(datetime.fromtimestamp(stamp_ms / 1000, UTC))
    record = portal.state.hubspot.insert(OBJECT_TYPES[object_type], values, stamp)
    return str(record["hs_object_id"])
