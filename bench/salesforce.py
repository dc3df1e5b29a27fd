"""Benchmark: backfill routed leads into the sandbox org through the Salesforce connector.

Runs the sandbox in a subprocess (its own core), hands the connector real ``DeliveryItem``s in
batches of its ``batch_limit`` (as the deliverer does), and compares with a naive baseline that
upserts one record per call with the same library (``sf.Lead.upsert``). API calls are read from
the sandbox's counters. Prints the figures and writes ``bench/results/salesforce.json``.

    .venv/bin/python bench/salesforce.py [--leads 10000] [--baseline 2000]
"""

from __future__ import annotations

import argparse
import platform
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
# Run as a script, bench/ comes first on sys.path, where bench/hubspot.py would shadow the
# hubspot-api-client package: the project root goes first and bench/ last.
sys.path[:] = [str(ROOT)] + [p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench"] + [str(ROOT / "bench")]

from common import make_items, push_in_batches, write_results
from simple_salesforce.format import format_external_id

from connectors.salesforce import SalesforceConnector, SalesforceSettings
from hub.decisions import Owner
from hub.mapping import MappingSet, lead_view
from sandbox.testing import SandboxServer


def salesforce_calls(server: SandboxServer) -> int:
    assert server.control is not None
    return int(server.control.counters()["salesforce"]["total"])


def run(leads: int, baseline_leads: int) -> dict[str, Any]:
    mappings = MappingSet.load(ROOT / "mappings")
    with SandboxServer(subprocess=True) as server:
        assert server.control is not None
        rep = next(p for p in server.control.team() if "Integration" not in p["name"])
        owner = Owner(id="rep", name=rep["name"], crm_ids={"salesforce": rep["salesforce_user_id"]})
        settings = SalesforceSettings(instance_url=server.url, session_id=server.sf_token)
        connector = SalesforceConnector("salesforce", settings, mappings)
        items = make_items(leads, owner)

        server.control.reset_counters()
        failed, hub_seconds = push_in_batches(connector, items)
        hub_calls = salesforce_calls(server)
        connector.close()

        # Naive baseline: the same library, one upsert per lead, same mapping.
        sf = server.salesforce()
        naive_items = make_items(baseline_leads, owner, start=leads)
        server.control.reset_counters()
        started = time.perf_counter()
        for item in naive_items:
            body = mappings.outbound("salesforce", "Lead", lead_view(item, "salesforce"))
            body.pop("LeadHub_Id__c", None)
            sf.Lead.upsert(format_external_id("LeadHub_Id__c", item.lead.id), body)
        naive_seconds = time.perf_counter() - started
        naive_calls = salesforce_calls(server)

    return {
        "benchmark": "salesforce_backfill",
        "machine": {"python": platform.python_version(), "cpus": __import__("os").cpu_count()},
        "connector": {
            "leads": leads, "failed": failed, "seconds": round(hub_seconds, 3),
            "leads_per_second": round(leads / hub_seconds, 1), "api_calls": hub_calls,
            "leads_per_api_call": round(leads / hub_calls, 1) if hub_calls else None,
        },
        "naive_baseline": {
            "leads": baseline_leads, "seconds": round(naive_seconds, 3),
            "leads_per_second": round(baseline_leads / naive_seconds, 1), "api_calls": naive_calls,
            "leads_per_api_call": round(baseline_leads / naive_calls, 2) if naive_calls else None,
            "api_calls_for_same_leads": leads,  # one call per lead, by construction
        },
        "target": "<= 1 API call per 150 leads",
        "target_met": bool(hub_calls) and leads / hub_calls >= 150,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--leads", type=int, default=10_000)
    parser.add_argument("--baseline", type=int, default=2_000,
                        help="leads for the naive baseline (one call each; its rate scales linearly)")
    args = parser.parse_args()
    result = run(args.leads, args.baseline)
    c, n = result["connector"], result["naive_baseline"]
    print(f"connector: {c['leads']} leads in {c['seconds']} s = {c['leads_per_second']} leads/s, "
          f"{c['api_calls']} API calls ({c['leads_per_api_call']} leads per call), {c['failed']} failed")
    print(f"naive    : {n['leads']} leads in {n['seconds']} s = {n['leads_per_second']} leads/s, "
          f"{n['api_calls']} API calls (1 per lead; {args.leads} for the full backfill)")
    print(f"target <= 1 call per 150 leads: {'met' if result['target_met'] else 'NOT met'}")
    write_results("salesforce", result)


if __name__ == "__main__":
    main()
