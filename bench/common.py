"""What the benchmarks share: routed leads as the deliverer hands them over, and writing results."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from hub.connector import Connector, DeliveryItem
from hub.decisions import Owner
from hub.schema import Account, Contact, Lead, LeadStatus


def make_items(count: int, owner: Owner, start: int = 0) -> list[DeliveryItem]:
    """``count`` routed leads, each with one full contact and a new account of its own."""
    items = []
    for i in range(start, start + count):
        account = Account(name=f"Bench Company {i}", domains=[f"bench{i}.example"], country="US")
        lead = Lead(account_id=account.id, status=LeadStatus.ROUTED, source_connector="webform", owner_id=owner.id,
                    contacts=[Contact(email=f"lead{i}@bench{i}.example", first_name="Pat", last_name=f"Lead{i}",
                                      title="CTO", phone="+14155550100")])
        items.append(DeliveryItem(key=i + 1, lead=lead, account=account, owner=owner))
    return items


RESULTS = Path(__file__).resolve().parent / "results"


def write_results(name: str, result: dict[str, Any]) -> Path:
    """Write ``bench/results/<name>.json`` and say so."""
    out = RESULTS / f"{name}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {out}")
    return out


def push_in_batches(connector: Connector, items: list[DeliveryItem]) -> tuple[int, float]:
    """Push ``items`` in the connector's own batch size: (records refused, seconds taken)."""
    started = time.perf_counter()
    failed = 0
    for start in range(0, len(items), connector.batch_limit):
        results = connector.push_leads(items[start:start + connector.batch_limit])
        failed += sum(not r.ok for r in results)
    return failed, time.perf_counter() - started
