"""The Salesforce connector inside a real hub (SQLite file): a rep's lead is pulled, routed and
written back; the write does not come back as new activity; conversion and a won opportunity
reach the hub's lead; a record Salesforce refuses is dead-lettered with its message."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import connectors.salesforce
from hub.runtime import Hub
from sandbox.testing import SandboxServer


def _hub(hub_factory: Callable[..., Hub], sqlite_url: str, org: SandboxServer, owner_crm_id: str) -> Hub:
    return hub_factory(
        sqlite_url,
        extra_plugins=(connectors.salesforce,),
        connectors={"salesforce": {"type": "salesforce", "instance_url": org.url, "session_id": org.sf_token,
                                   "pull_streams": ["Lead"], "page_size": 200, "retry_initial_seconds": 0.01}},
        owners=[{"id": "jane", "name": "Jane Doe", "email": "jane@example.com",
                 "crm_ids": {"salesforce": owner_crm_id}}],
        routing={"strategy": "round_robin", "default_owner": "jane", "destinations": ["salesforce"]},
        pipeline={"qualify_score": 0},
    )


def test_rep_lead_routed_written_back_no_echo_then_won(hub_factory: Callable[..., Hub], sqlite_url: str,
                                                       org: SandboxServer, sf: Any, rep_id: str) -> None:
    assert org.control is not None
    hub = _hub(hub_factory, sqlite_url, org, rep_id)
    made = sf.Lead.create({"FirstName": "Rita", "LastName": "Rep", "Company": "Globex Corporation",
                           "Email": "rita@globex.example", "Website": "https://globex.example"})["id"]
    leads_before = sf.query("SELECT COUNT() FROM Lead")["totalSize"]

    first = hub.sync_once()
    assert not first.errors and first.delivered.dead == 0

    record = sf.Lead.get(made)
    hub_lead_id = record["LeadHub_Id__c"]
    assert hub_lead_id and hub_lead_id.startswith("lead_")  # the rep's lead is now the hub's
    assert record["OwnerId"] == rep_id and record["FirstName"] == "Rita"
    assert sf.query("SELECT COUNT() FROM Lead")["totalSize"] == leads_before  # updated, not duplicated

    second = hub.sync_once()  # the hub's own write must not start a new cycle
    assert second.delivered.sent == 0
    with hub.store.engine.begin() as conn:
        lead = hub.store.get_lead(conn, hub_lead_id)
    assert lead is not None and lead.status == "routed" and len(lead.activities) == 1

    ids = org.control.convert_lead(made)
    hub.sync_once()
    with hub.store.engine.begin() as conn:
        lead = hub.store.get_lead(conn, hub_lead_id)
    assert lead is not None and lead.status == "converted"

    org.control.close_opportunity(ids["opportunityId"], won=True, amount=48000)
    hub.sync_once()
    with hub.store.engine.begin() as conn:
        lead = hub.store.get_lead(conn, hub_lead_id)
        outcomes = hub.store.outcomes_of(conn, hub_lead_id)
    assert lead is not None and lead.status == "won"
    assert any(o["status"] == "won" and o["amount"] == 48000 for o in outcomes)


def test_refused_record_is_dead_lettered_with_the_salesforce_message(
        hub_factory: Callable[..., Hub], sqlite_url: str, org: SandboxServer, sf: Any) -> None:
    hub = _hub(hub_factory, sqlite_url, org, "0055g0000000999AAA")  # an owner id the org does not have
    sf.Lead.create({"LastName": "Nobody", "Company": "Initech", "Email": "nobody@initech.example"})
    report = hub.sync_once()
    assert report.delivered.dead >= 1
    with hub.store.engine.begin() as conn:
        dead = hub.store.dead_letters(conn)
    assert dead and all("INVALID_CROSS_REFERENCE_KEY" in str(d["error"]) and "OwnerId" in str(d["error"])
                        for d in dead if d["destination"] == "salesforce")
