"""Reading the sandbox portal incrementally: backfill, increments, lookback, archived records,
and a window holding more changes than one search query can page through."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hs_helpers import connector_config, hub_plugins, hubspot_calls, insert_late, routed_items

from connectors.hubspot import HubSpotConnector
from connectors.hubspot.pull import SEARCH_CAP, to_ms
from hub.runtime import Hub
from hub.schema import SourceRecord
from sandbox.testing import SandboxServer

SEARCH = "POST /crm/v3/objects/{object_type}/search"


def pull_all(
    connector: HubSpotConnector, stream: str, cursor: dict[str, Any] | None
) -> tuple[list[SourceRecord], dict[str, Any] | None]:
    records: list[SourceRecord] = []
    for page in connector.pull(stream, cursor):
        records += page.records
        cursor = page.cursor
    return records, cursor


def test_backfill_reads_contacts_with_their_company(make_connector: Callable[..., HubSpotConnector]) -> None:
    records, cursor = pull_all(make_connector(), "contacts", None)

    by_email = {r.payload.get("email"): r for r in records}
    assert len(by_email) == 8  # the seeded portal's contacts
    rafael = by_email["rafael.souza@globexmfg.com"]
    # Read through the contact -> company association, so matching sees the real company.
    assert rafael.payload["associated_company"]["name"] == "Globex Manufacturing"
    assert rafael.payload["associated_company"]["domain"] == "globexmfg.com"
    assert rafael.version and rafael.external_id == rafael.payload["id"]
    assert cursor is not None and cursor["search"]["ts"] == max(to_ms(r.version) or 0 for r in records)


def test_incremental_pull_through_the_hub(
        portal: SandboxServer, hs: Any, sqlite_url: str, hub_factory: Callable[..., Hub]) -> None:
    from hubspot.crm.contacts import SimplePublicObjectInputForCreate

    hub = hub_factory(sqlite_url, connectors={"hubspot": connector_config(portal, lookback_seconds=0)},
                      extra_plugins=hub_plugins())
    first = hub.pull_all()
    assert (first["hubspot/contacts"].new, first["hubspot/companies"].new) == (8, 4)
    processed = hub.process_pending()
    assert processed.processed == 12 and processed.quarantined == 0

    again = hub.pull_all()
    assert again["hubspot/contacts"].new == 0 and again["hubspot/companies"].new == 0

    # A rep adds a contact; the hub writes leads of its own (they must not come back as inquiries).
    hs.crm.contacts.basic_api.create(SimplePublicObjectInputForCreate(
        properties={"email": "lena.vogel@initech.io", "firstname": "Lena", "lastname": "Vogel"}))
    written = hub.connectors["hubspot"].push_leads(routed_items(3))
    assert all(r.ok for r in written)

    third = hub.pull_all()
    assert third["hubspot/contacts"].new == 1
    with hub.store.engine.connect() as conn:
        found = hub.store.find_xref(conn, "lead", "hubspot", written[0].external_id or "")
    assert found is None  # never ingested as an inquiry


def test_lookback_catches_a_record_that_reached_search_late(
        portal: SandboxServer, make_connector: Callable[..., HubSpotConnector]) -> None:
    _, cursor = pull_all(make_connector(lookback_seconds=60), "contacts", None)
    assert cursor is not None
    # Modified 5 s before the newest record we saw, visible to search only now.
    late = insert_late(portal, "contacts", {"email": "late@example.org", "lastname": "Late"},
                       cursor["search"]["ts"] - 5000)

    without, _ = pull_all(make_connector(lookback_seconds=0, pull_archived=False), "contacts", cursor)
    with_lookback, _ = pull_all(make_connector(lookback_seconds=60, pull_archived=False), "contacts", cursor)

    assert late not in {r.external_id for r in without}
    assert late in {r.external_id for r in with_lookback}


def test_archived_contacts_are_handed_in_as_deleted(
        hs: Any, make_connector: Callable[..., HubSpotConnector]) -> None:
    connector = make_connector()
    records, cursor = pull_all(connector, "contacts", None)
    victim = records[0].external_id
    hs.crm.contacts.basic_api.archive(victim)

    later, _ = pull_all(connector, "contacts", cursor)

    deleted = [r for r in later if r.deleted]
    assert [(r.stream, r.external_id) for r in deleted] == [("contacts:archived", victim)]
    assert deleted[0].version  # archivedAt: archiving again later is a new version


@pytest.mark.slow  # ~15 s: the sandbox searches 10,000 objects per page
def test_more_than_10000_changes_in_one_window_are_all_read(
        portal: SandboxServer, make_connector: Callable[..., HubSpotConnector]) -> None:
    assert portal.control is not None
    portal.control.set_limits(hubspot_ten_second_max=100_000, hubspot_search_per_second=1_000)
    base = 1_700_000_000_000
    # A bulk import: 10,200 changes, 170 per millisecond (batch writes share one stamp).
    bulk = [insert_late(portal, "companies", {"name": f"Bulk {i}"}, base + i // 170) for i in range(SEARCH_CAP + 200)]
    portal.control.reset_counters()
    connector = make_connector(search_per_second=1_000, budget_share=1.0, pull_archived=False)

    records, cursor = pull_all(connector, "companies", None)

    ids = [r.external_id for r in records]
    assert set(bulk) <= set(ids)
    assert len(ids) == len(set(ids))  # none handed over twice, although the boundary was re-read
    assert cursor is not None and cursor["search"]["ts"] > base + 60  # past the bulk (then the seed)
    # The window was sliced once at the cap: 50 pages, then the rest from the last timestamp.
    assert hubspot_calls(portal)[SEARCH] == 50 + 2


def test_a_millisecond_holding_more_than_a_query_is_read_in_id_order(
        portal: SandboxServer, make_connector: Callable[..., HubSpotConnector]) -> None:
    from connectors.hubspot.pull import SearchScan

    assert portal.control is not None
    portal.control.set_limits(hubspot_search_per_second=1_000)
    base = 1_650_000_000_000
    crowd = [insert_late(portal, "companies", {"name": f"Crowd {i}"}, base) for i in range(700)]
    after = [insert_late(portal, "companies", {"name": f"After {i}"}, base + 5) for i in range(30)]
    connector = make_connector(pull_archived=False, search_per_second=1_000)
    # A query cap of 400 stands in for HubSpot's 10,000 (same code path, a smaller portal).
    scan = SearchScan(connector.client, "companies", ["name"], 100, cap=400)

    batches = list(scan.pages(base, base + 10))

    ids = [r["id"] for b in batches for r in b.results]
    assert set(crowd) | set(after) == set(ids) and len(ids) == len(set(ids))
    assert any(b.cursor["id"] for b in batches)  # the compound cursor (timestamp, id) was used


def test_a_crash_inside_a_crowded_millisecond_resumes_by_id(
        portal: SandboxServer, make_connector: Callable[..., HubSpotConnector]) -> None:
    base = 1_600_000_000_000
    crowd = [insert_late(portal, "companies", {"name": f"Crowd {i}"}, base) for i in range(450)]
    connector = make_connector(lookback_seconds=0, pull_archived=False, page_size=200)
    # The compound cursor of a page read in id order: (timestamp, last id).
    cursor = {"search": {"ts": base, "id": crowd[199]}}

    records, _ = pull_all(connector, "companies", cursor)

    got = [r.external_id for r in records]
    assert set(crowd[200:]) <= set(got) and not set(crowd[:200]) & set(got)


def test_properties_are_requested_in_the_body_not_the_url(make_connector: Callable[..., HubSpotConnector],
                                                         tmp_path: Path) -> None:
    connector = make_connector()
    records, _ = pull_all(connector, "contacts", None)
    assert records and "jobtitle" in records[0].payload  # asked for by the mapping, sent in the search body
    assert all("properties" not in op for op in connector.client.stats.by_operation)
