"""Outcomes both ways through a hub: a rep's lead status and deal stages come back; the hub's
status changes move the contact's lifecycle stage and lead status; a 429 storm stays paced."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hs_helpers import connector_config, hub_plugins, routed_items

from connectors.file import import_file
from connectors.hubspot import HubSpotConnector
from hub.runtime import Hub
from hub.schema import LeadStatus, Outcome
from sandbox.testing import SandboxServer

CSV = """Email,First Name,Last Name,Company,Website,Country,Product,Activity,Notes
ann@acme.com,Ann,Lee,Acme Inc,https://www.acme.com,US,widgets,demo_request,hot
dina@initech.io,Dina,Ng,Initech,initech.io,US,widgets,contact_sales,
"""


def _hub(portal: SandboxServer, sqlite_url: str, hub_factory: Callable[..., Hub], owner_ids: list[str]) -> Hub:
    owners = [{"id": "jane", "name": "Jane Smith", "email": "jane@example.com",
               "crm_ids": {"hubspot": owner_ids[0]}, "destination": "hubspot"},
              {"id": "omar", "name": "Omar Haddad", "email": "omar@example.com",
               "crm_ids": {"hubspot": owner_ids[1]}, "destination": "hubspot"}]
    return hub_factory(sqlite_url, owners=owners, routing={"destinations": []},
                       connectors={"hubspot": connector_config(portal, lookback_seconds=0, pull_archived=False)},
                       extra_plugins=hub_plugins())


def _routed_to_hubspot(hub: Hub, tmp_path: Path) -> dict[str, Any]:
    path = tmp_path / "leads.csv"
    path.write_text(CSV, encoding="utf-8")
    import_file(path, hub.intake, source="tradeshow")
    hub.process_pending()
    delivered = hub.deliverer.deliver_due()
    assert delivered.sent == 2 and delivered.dead == 0
    with hub.store.engine.connect() as conn:
        return {r["account_name"]: hub.store.get_lead(conn, r["id"]) for r in hub.store.leads_page(conn, limit=10)}


def _lead(hub: Hub, lead_id: str) -> Any:
    with hub.store.engine.connect() as conn:
        return hub.store.get_lead(conn, lead_id)


def test_rep_status_and_deal_stage_come_back_as_outcomes(
        portal: SandboxServer, tmp_path: Path, sqlite_url: str, hub_factory: Callable[..., Hub],
        owner_ids: list[str]) -> None:
    hub = _hub(portal, sqlite_url, hub_factory, owner_ids)
    leads = _routed_to_hubspot(hub, tmp_path)
    acme, initech = leads["Acme Inc"], leads["Initech"]
    acme_contact, initech_contact = acme.xrefs["hubspot"], initech.xrefs["hubspot"]
    assert portal.control is not None

    # The hub's own write comes back unchanged: nothing happens.
    quiet = hub.sync_once()
    assert quiet.processed.outcomes == 0 and quiet.processed.quarantined == 0

    portal.control.set_contact_status(acme_contact, hs_lead_status="IN_PROGRESS")
    portal.control.set_contact_status(initech_contact, hs_lead_status="UNQUALIFIED")
    report = hub.sync_once()
    assert report.processed.outcomes == 2 and report.processed.quarantined == 0
    assert _lead(hub, acme.id).status == LeadStatus.ACCEPTED
    assert _lead(hub, initech.id).status == LeadStatus.REJECTED

    deal = portal.control.create_deal("Acme widgets", amount=12000, contact_id=acme_contact)
    hub.sync_once()
    assert _lead(hub, acme.id).status == LeadStatus.CONVERTED  # an open deal: converted, being worked
    portal.control.close_deal(str(deal["id"]), won=True, amount=15000)
    hub.sync_once()
    assert _lead(hub, acme.id).status == LeadStatus.WON
    with hub.store.engine.connect() as conn:
        outcomes = hub.store.outcomes_of(conn, acme.id)
    assert any(o["status"] == "won" and o["amount"] == 15000 for o in outcomes)


def test_hub_status_changes_update_lifecycle_and_lead_status(
        portal: SandboxServer, hs: Any, tmp_path: Path, sqlite_url: str, hub_factory: Callable[..., Hub],
        owner_ids: list[str]) -> None:
    hub = _hub(portal, sqlite_url, hub_factory, owner_ids)
    acme = _routed_to_hubspot(hub, tmp_path)["Acme Inc"]
    contact_id = acme.xrefs["hubspot"]

    def contact() -> dict[str, Any]:
        got = hs.crm.contacts.basic_api.get_by_id(contact_id, properties=["lifecyclestage", "hs_lead_status"])
        return dict(got.properties)

    # Another system (say Salesforce) reports the rep accepted, then rejected it; the hub recycles it.
    hub.pipeline.record_outcome(Outcome(lead_id=acme.id, status=LeadStatus.ACCEPTED, reported_by="salesforce"))
    assert hub.deliverer.deliver_due().sent == 1
    assert (contact()["lifecyclestage"], contact()["hs_lead_status"]) == ("salesqualifiedlead", "IN_PROGRESS")

    hub.pipeline.record_outcome(Outcome(lead_id=acme.id, status=LeadStatus.REJECTED, reason="no budget",
                                      reported_by="salesforce"))
    hub.pipeline.record_outcome(Outcome(lead_id=acme.id, status=LeadStatus.NURTURE, reported_by="hub"))
    assert hub.deliverer.deliver_due().sent >= 1
    # Back to marketing: an earlier lifecycle stage (cleared first, as HubSpot requires).
    assert (contact()["lifecyclestage"], contact()["hs_lead_status"]) == ("lead", "UNQUALIFIED")

    # The hub's own UNQUALIFIED write is a rep status too; pulled back, it is recognised as an echo.
    echoed = hub.sync_once()
    assert echoed.processed.echoes >= 1 and echoed.processed.outcomes == 0
    assert _lead(hub, acme.id).status == LeadStatus.NURTURE


@pytest.mark.slow  # ~12 s: the sandbox's rate window is ten seconds long
def test_a_429_storm_stays_under_five_percent_errors(
        portal: SandboxServer, make_connector: Callable[..., HubSpotConnector]) -> None:
    assert portal.control is not None
    portal.control.set_limits(hubspot_ten_second_max=40, reset_usage=True)
    other_app = portal.hubspot()  # another integration on the same portal, not paced by us
    storm_over = threading.Event()
    burst_done = threading.Event()

    def hog() -> None:
        from hubspot.crm.contacts import ApiException

        for _ in range(30):  # a burst that takes three quarters of the window...
            other_app.crm.contacts.basic_api.get_page(limit=1)
        burst_done.set()
        while not storm_over.wait(1.0):  # ...then one call a second for as long as we work
            with contextlib.suppress(ApiException):
                other_app.crm.contacts.basic_api.get_page(limit=1)

    thread = threading.Thread(target=hog, daemon=True)
    thread.start()
    assert burst_done.wait(10)
    try:
        connector = make_connector(company_lookup="off")
        results = []
        for start in range(0, 32, 4):  # 8 small batches: 24 calls into a window the other app filled
            results += connector.push_leads(routed_items(4, start=start))
    finally:
        storm_over.set()
        thread.join(timeout=10)

    stats = connector.client.stats
    assert all(r.ok for r in results)
    assert stats.rate_limited / stats.calls < 0.05, stats
    assert stats.calls >= 24
