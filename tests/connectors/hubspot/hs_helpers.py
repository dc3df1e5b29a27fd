"""Builders shared by the HubSpot connector tests (a module of its own: conftest is not importable)."""

from __future__ import annotations

from typing import Any

from hub.connector import DeliveryItem
from hub.decisions import Owner
from hub.sandbox.testing import SandboxServer
from hub.schema import Account, Contact, Lead, LeadStatus


def routed_items(count: int, owner: Owner | None = None, start: int = 0) -> list[DeliveryItem]:
    """``count`` routed leads as the deliverer hands them over (one contact, one new account each)."""
    items = []
    for i in range(start, start + count):
        account = Account(name=f"Company {i} GmbH", domains=[f"company{i}.example"], country="DE")
        lead = Lead(account_id=account.id, status=LeadStatus.ROUTED, source_connector="webform",
                    owner_id=owner.id if owner else None,
                    contacts=[Contact(email=f"buyer{i}@company{i}.example", first_name="Ann", last_name=f"Buyer{i}")])
        items.append(DeliveryItem(key=i + 1, lead=lead, account=account, owner=owner))
    return items


def hubspot_calls(portal: SandboxServer) -> dict[str, int]:
    """The sandbox's HubSpot call counters by endpoint (``METHOD /route``)."""
    assert portal.control is not None
    counters: dict[str, Any] = portal.control.counters()["hubspot"]
    return dict(counters["by_endpoint"])


def statuses(portal: SandboxServer) -> dict[str, int]:
    assert portal.control is not None
    return dict(portal.control.counters()["hubspot"]["by_status"])
