"""Benchmark: backfill routed leads into the sandbox HubSpot portal through the HubSpot connector.

Runs the sandbox in a subprocess (its own core), hands the connector real ``DeliveryItem``s in
batches of its ``batch_limit`` (as the deliverer does), once with the default settings (an existing
company is looked for by domain: one search per batch) and once with ``company_lookup = "off"``,
and compares with a naive baseline using the same library: one ``basic_api.create`` per contact
and one ``create_default`` association per contact (companies created the same way). API calls are
read from the sandbox's counters. The portal's rate limits are lifted so the figures measure the
code; ``seconds_at_professional_limit`` converts calls into time at HubSpot's 190 calls / 10 s.
Prints the figures and writes ``bench/results/hubspot.json``.

    .venv/bin/python bench/hubspot.py [--leads 10000] [--baseline 1000]
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
# This file is named like the vendor package: keep bench/ off the import path so `hubspot` is the
# library, and put the repository on it.
sys.path[:] = [str(ROOT)] + [p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench"] + [str(ROOT / "bench")]

from common import make_items, push_in_batches, write_results

from connectors.hubspot import HubSpotConnector, HubSpotSettings
from hub.connector import DeliveryItem
from hub.decisions import Owner
from hub.mapping import MappingSet, lead_view
from sandbox.testing import SandboxServer

PROFESSIONAL_PER_SECOND = 19.0  # 190 calls per ten seconds


def hubspot_calls(server: SandboxServer) -> int:
    assert server.control is not None
    return int(server.control.counters()["hubspot"]["total"])


def figures(leads: int, seconds: float, calls: int, failed: int = 0) -> dict[str, Any]:
    return {"leads": leads, "failed": failed, "seconds": round(seconds, 3),
            "leads_per_second": round(leads / seconds, 1), "api_calls": calls,
            "api_calls_per_100_leads": round(100 * calls / leads, 2),
            "seconds_at_professional_limit": round(calls / PROFESSIONAL_PER_SECOND, 1)}


def run_connector(server: SandboxServer, mappings: MappingSet, owner: Owner, items: list[DeliveryItem],
                  **settings: Any) -> dict[str, Any]:
    connector = HubSpotConnector("hubspot", HubSpotSettings(
        host=server.url, access_token=server.hs_token, portal_id=f"bench-{len(settings)}",
        search_per_second=1_000, budget_share=1.0, **settings), mappings)
    assert server.control is not None
    server.control.reset_counters()
    failed, seconds = push_in_batches(connector, items)
    connector.close()
    return figures(len(items), seconds, hubspot_calls(server), failed)


def run_naive(server: SandboxServer, mappings: MappingSet, items: list[DeliveryItem]) -> dict[str, Any]:
    from hubspot.crm.companies import SimplePublicObjectInputForCreate as CompanyInput
    from hubspot.crm.contacts import SimplePublicObjectInputForCreate as ContactInput

    api = server.hubspot()
    contacts, companies = api.crm.contacts.basic_api, api.crm.companies.basic_api
    links = api.crm.associations.v4.basic_api
    assert server.control is not None
    server.control.reset_counters()
    started = time.perf_counter()
    for item in items:
        view = lead_view(item, "hubspot")
        company = companies.create(CompanyInput(properties=mappings.outbound("hubspot", "companies", view)))
        props = mappings.outbound("hubspot", "contacts", view)
        props["leadhub_lead_id"] = item.lead.id
        contact = contacts.create(ContactInput(properties=props))
        links.create_default("contacts", contact.id, "companies", company.id)
    seconds = time.perf_counter() - started
    return figures(len(items), seconds, hubspot_calls(server))


def run(leads: int, baseline_leads: int) -> dict[str, Any]:
    mappings = MappingSet.load(ROOT / "mappings")
    with SandboxServer(subprocess=True) as server:
        assert server.control is not None
        server.control.set_limits(hubspot_ten_second_max=1_000_000, hubspot_search_per_second=1_000_000,
                                  hubspot_daily_max=10_000_000, reset_usage=True)
        rep = next(p for p in server.control.team() if "Integration" not in p["name"])
        owner = Owner(id="rep", name=rep["name"], crm_ids={"hubspot": str(rep["hubspot_owner_id"])})
        default = run_connector(server, mappings, owner, make_items(leads, owner))
        off = run_connector(server, mappings, owner, make_items(leads, owner, start=leads), company_lookup="off")
        naive = run_naive(server, mappings, make_items(baseline_leads, owner, start=2 * leads))
    return {
        "benchmark": "hubspot_backfill",
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count()},
        "connector_default": {**default, "settings": {"company_lookup": "domain"}},
        "connector_lookup_off": {**off, "settings": {"company_lookup": "off"}},
        "naive_baseline": {**naive, "api_calls_for_full_backfill": round(naive["api_calls"] * leads / baseline_leads)},
        "target": "<= 3 API calls per 100 leads",
        "target_met": {"default": default["api_calls_per_100_leads"] <= 3,
                       "lookup_off": off["api_calls_per_100_leads"] <= 3},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--leads", type=int, default=10_000)
    parser.add_argument("--baseline", type=int, default=1_000,
                        help="leads for the naive baseline (three calls each; it scales linearly)")
    args = parser.parse_args()
    result = run(args.leads, args.baseline)
    for name in ("connector_default", "connector_lookup_off", "naive_baseline"):
        r = result[name]
        print(f"{name:21}: {r['leads']} leads in {r['seconds']} s = {r['leads_per_second']} leads/s, "
              f"{r['api_calls']} API calls ({r['api_calls_per_100_leads']} per 100 leads; "
              f"{r['seconds_at_professional_limit']} s at 190 calls/10 s), {r['failed']} failed")
    print(f"target <= 3 calls per 100 leads: default {'met' if result['target_met']['default'] else 'NOT met'}, "
          f"lookup off {'met' if result['target_met']['lookup_off'] else 'NOT met'}")
    write_results("hubspot", result)


if __name__ == "__main__":
    main()
