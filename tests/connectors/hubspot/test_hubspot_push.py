"""Delivering routed leads to the sandbox portal through the real hubspot-api-client."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from hs_helpers import hubspot_calls, routed_items

from connectors.hubspot import HubSpotConnector
from hub.decisions import Owner
from sandbox.testing import SandboxServer

UPSERT = "POST /crm/v3/objects/{object_type}/batch/{action}"
SEARCH = "POST /crm/v3/objects/{object_type}/search"
ASSOCIATE = "POST /crm/v4/associations/{from_type}/{to_type}/batch/{action:path}"


def _contact(hs: Any, contact_id: str) -> Any:
    return hs.crm.contacts.basic_api.get_by_id(
        contact_id, properties=["email", "hubspot_owner_id", "lifecyclestage", "hs_lead_status", "leadhub_lead_id",
                                "firstname"],
        associations=["companies"])


def test_250_leads_in_three_batches_of_three_calls(
        portal: SandboxServer, hs: Any, make_connector: Callable[..., HubSpotConnector], owner_ids: list[str]) -> None:
    connector = make_connector(company_lookup="off")
    owner = Owner(id="jane", name="Jane Smith", crm_ids={"hubspot": owner_ids[0]})
    items = routed_items(250, owner)
    assert portal.control is not None
    portal.control.reset_counters()

    results = []
    for start in range(0, 250, connector.batch_limit):
        results += connector.push_leads(items[start:start + connector.batch_limit])

    assert all(r.ok for r in results), [r.error for r in results if not r.ok][:3]
    calls = hubspot_calls(portal)
    # companies upsert + contacts upsert + one association batch, per batch of 100
    assert calls == {UPSERT: 6, ASSOCIATE: 3}
    contact = _contact(hs, str(results[7].external_id))
    props = contact.properties
    assert props["email"] == "buyer7@company7.example"
    assert props["hubspot_owner_id"] == owner_ids[0]
    assert props["leadhub_lead_id"] == items[7].lead.id
    assert (props["lifecyclestage"], props["hs_lead_status"]) == ("salesqualifiedlead", "OPEN")
    company_ids = {a.id for a in contact.associations["companies"].results}
    assert company_ids == {results[7].xrefs["account"]}
    company = hs.crm.companies.basic_api.get_by_id(results[7].xrefs["account"],
                                                   properties=["leadhub_account_id", "name"])
    assert company.properties["leadhub_account_id"] == items[7].account.id

    # Delivering again (a retry, a re-route) creates nothing new and links nothing twice.
    for item, result in zip(items, results, strict=True):
        item.external_id = result.external_id
        item.xrefs = dict(result.xrefs)
    portal.control.reset_counters()
    again = connector.push_leads(items[:100])
    assert [r.external_id for r in again] == [r.external_id for r in results[:100]]
    assert hubspot_calls(portal) == {UPSERT: 2}  # read current values, upsert contacts; no company, no links
    assert portal.control.summary()["hubspot"]["contacts"] == 8 + 250


def test_existing_company_found_by_domain_is_reused(
        portal: SandboxServer, hs: Any, make_connector: Callable[..., HubSpotConnector]) -> None:
    connector = make_connector()  # company_lookup = "domain"
    items = routed_items(3)
    items[1].account.domains = ["northwindtraders.com"]  # a seeded company
    before = portal.control.summary()["hubspot"]["companies"] if portal.control else 0

    results = connector.push_leads(items)

    assert all(r.ok for r in results)
    seeded = hs.crm.companies.basic_api.get_by_id(results[1].xrefs["account"],
                                                  properties=["domain", "leadhub_account_id"])
    assert seeded.properties["domain"] == "northwindtraders.com"
    assert seeded.properties["leadhub_account_id"] == items[1].account.id  # tagged for later reads
    assert portal.control is not None
    assert portal.control.summary()["hubspot"]["companies"] == before + 2  # two new, one reused


def test_207_fails_only_the_refused_input_with_hubspots_message(
        portal: SandboxServer, hs: Any, make_connector: Callable[..., HubSpotConnector]) -> None:
    from hubspot.crm.contacts import SimplePublicObjectInputForCreate

    items = routed_items(10)
    # Another contact already holds lead 4's id in the unique property: HubSpot refuses that input.
    hs.crm.contacts.basic_api.create(SimplePublicObjectInputForCreate(
        properties={"email": "someone.else@example.org", "leadhub_lead_id": items[4].lead.id}))

    results = make_connector(company_lookup="off").push_leads(items)

    bad = [r for r in results if not r.ok]
    assert [r.key for r in bad] == [items[4].key]
    assert not bad[0].retryable  # dead-lettered, not retried forever
    assert "already exists" in bad[0].error
    assert all(r.external_id for r in results if r.ok)


def test_a_whole_batch_400_is_split_until_the_bad_input_is_isolated(
        portal: SandboxServer, make_connector: Callable[..., HubSpotConnector], owner_ids: list[str]) -> None:
    items = routed_items(16, Owner(id="jane", name="Jane", crm_ids={"hubspot": owner_ids[0]}))
    items[11].owner = Owner(id="ghost", name="Nobody", crm_ids={"hubspot": "999"})  # not an owner of the portal

    results = make_connector(company_lookup="off").push_leads(items)

    assert [r.key for r in results if not r.ok] == [items[11].key]
    failed = results[11]
    assert not failed.retryable and "999" in failed.error and "hubspot_owner_id" in failed.error


def test_a_lead_without_email_is_refused_with_what_to_do(make_connector: Callable[..., HubSpotConnector]) -> None:
    items = routed_items(2)
    items[0].lead.contacts[0].email = None

    results = make_connector(company_lookup="off").push_leads(items)

    assert not results[0].ok and not results[0].retryable and "e-mail" in results[0].error
    assert results[1].ok
