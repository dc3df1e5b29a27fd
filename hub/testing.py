"""Builders for connector authors' tests: deliveries as the hub hands them to a connector.

    from hub.testing import routed_items

    results = connector.push_leads(routed_items(250, owner=jane))
"""

from __future__ import annotations

from hub.connector import DeliveryItem
from hub.decisions import Owner
from hub.schema import Account, Contact, Lead, LeadStatus


def routed_items(count: int, owner: Owner | None = None, start: int = 0, source: str = "webform") -> list[DeliveryItem]:
    """``count`` routed leads as the deliverer hands them over: one contact and one new account each."""
    items = []
    for i in range(start, start + count):
        account = Account(name=f"Company {i} GmbH", domains=[f"company{i}.example"], country="DE")
        lead = Lead(account_id=account.id, status=LeadStatus.ROUTED, source_connector=source,
                    owner_id=owner.id if owner else None,
                    contacts=[Contact(email=f"buyer{i}@company{i}.example", first_name="Ann", last_name=f"Buyer{i}")])
        items.append(DeliveryItem(key=i + 1, lead=lead, account=account, owner=owner))
    return items
