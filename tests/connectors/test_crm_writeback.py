"""What the owner sees in the CRM after delivery, read back from the sandbox with the real
clients: the owner the hub routed to (Salesforce writes send ``Sforce-Auto-Assign: FALSE``, so an
active assignment rule does not overwrite it), the score, the SLA due time and the partner."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import pytest

import connectors.hubspot
import connectors.salesforce
from hub.runtime import Hub
from hub.schema import Lead, SourceRecord
from sandbox.testing import SandboxServer


def _referral(ref: str, email: str) -> SourceRecord:
    return SourceRecord(connector="partner", stream="referral", external_id=ref, payload={
        "company_name": "Contoso Pharma", "company_domain": "contosopharma.com", "contact_email": email,
        "contact_first_name": "Ivy", "contact_last_name": "Ito", "partner_id": "ptn_acme"})


def _team(sandbox: SandboxServer) -> list[dict[str, Any]]:
    assert sandbox.control is not None
    return [p for p in sandbox.control.team() if "Integration" not in p["name"]]


def _deliver(hub: Hub, record: SourceRecord) -> Lead:
    hub.intake.submit([record])
    if hub.process_pending().routed != 1:
        with hub.store.engine.begin() as conn:
            pytest.fail(f"not routed: {hub.store.quarantined(conn)}")
    delivered = hub.deliverer.deliver_due()
    assert delivered.dead == 0 and delivered.sent >= 1
    with hub.store.engine.begin() as conn:
        lead_id = hub.store.find_xref(conn, "lead", "partner", record.external_id)
        assert lead_id is not None
        lead = hub.store.get_lead(conn, lead_id[0])
    assert lead is not None and lead.sla_due_at is not None and lead.partner_id == "ptn_acme"
    return lead


def _near(text: str | None, moment: datetime) -> bool:
    assert text is not None
    seen = datetime.fromisoformat(text.replace("Z", "+00:00").replace("+0000", "+00:00"))
    return abs(seen - moment) < timedelta(seconds=2)


def test_salesforce_lead_keeps_the_hubs_owner_and_shows_score_sla_and_partner(
        hub_factory: Callable[..., Hub], sqlite_url: str, sandbox_reset: SandboxServer) -> None:
    control = sandbox_reset.control
    assert control is not None
    jane, rule_owner = _team(sandbox_reset)[:2]
    control.set_assignment_rule(rule_owner["salesforce_user_id"])
    sf = sandbox_reset.salesforce()
    # The rule is real: a write that does not opt out gets the rule's owner.
    plain = sf.Lead.create({"LastName": "Plain", "Company": "X", "OwnerId": jane["salesforce_user_id"]})["id"]
    assert sf.Lead.get(plain)["OwnerId"] == rule_owner["salesforce_user_id"]

    hub = hub_factory(
        sqlite_url, extra_plugins=(connectors.salesforce,),
        connectors={"salesforce": {"type": "salesforce", "instance_url": sandbox_reset.url,
                                   "session_id": sandbox_reset.sf_token, "pull_streams": [],
                                   "retry_initial_seconds": 0.01}},
        owners=[{"id": "jane", "name": jane["name"], "email": jane["email"],
                 "crm_ids": {"salesforce": jane["salesforce_user_id"]}, "destination": "salesforce"}],
        routing={"strategy": "default_owner", "default_owner": "jane", "destinations": []},
        pipeline={"qualify_score": 0})
    lead = _deliver(hub, _referral("ref-sf-1", "ivy.ito@contosopharma.com"))

    found = sf.query(f"SELECT Id, OwnerId, LeadHub_Score__c, LeadHub_SLA_Due__c, LeadHub_Partner_Id__c, "
                     f"LeadHub_Grade__c FROM Lead WHERE LeadHub_Id__c = '{lead.id}'")["records"]
    assert len(found) == 1
    record = found[0]
    assert record["OwnerId"] == jane["salesforce_user_id"]  # not the assignment rule's owner
    assert record["LeadHub_Score__c"] == lead.score
    assert _near(record["LeadHub_SLA_Due__c"], lead.sla_due_at)  # type: ignore[arg-type]
    assert record["LeadHub_Partner_Id__c"] == "ptn_acme"
    assert record["LeadHub_Grade__c"] == getattr(lead, "grade", None)
    assert control.lead_auto_assign(record["Id"])["sforce_auto_assign"] == "FALSE"


def test_hubspot_contact_shows_owner_score_sla_and_partner(
        hub_factory: Callable[..., Hub], sqlite_url: str, sandbox_reset: SandboxServer) -> None:
    omar = _team(sandbox_reset)[1]
    hub = hub_factory(
        sqlite_url, extra_plugins=(connectors.hubspot,),
        connectors={"hubspot": {"type": "hubspot", "host": sandbox_reset.url, "access_token": sandbox_reset.hs_token,
                                "portal_id": f"writeback-{id(sqlite_url)}"}},
        owners=[{"id": "omar", "name": omar["name"], "email": omar["email"],
                 "crm_ids": {"hubspot": omar["hubspot_owner_id"]}, "destination": "hubspot"}],
        routing={"strategy": "default_owner", "default_owner": "omar", "destinations": []},
        pipeline={"qualify_score": 0})
    email = "ivy.ito@contosopharma.com"
    lead = _deliver(hub, _referral("ref-hs-1", email))

    hs = sandbox_reset.hubspot()
    contact = hs.crm.contacts.basic_api.get_by_id(
        email, id_property="email",
        properties=["hubspot_owner_id", "leadhub_score", "leadhub_sla_due", "leadhub_partner_id", "leadhub_lead_id"])
    props = contact.properties
    assert props["leadhub_lead_id"] == lead.id
    assert props["hubspot_owner_id"] == omar["hubspot_owner_id"]
    assert props["leadhub_score"] == str(lead.score)
    assert _near(props["leadhub_sla_due"], lead.sla_due_at)  # type: ignore[arg-type]
    assert props["leadhub_partner_id"] == "ptn_acme"


@pytest.fixture
def sf_hs_hub(hub_factory: Callable[..., Hub], sqlite_url: str, sandbox_reset: SandboxServer) -> Hub:
    """Both CRMs; jane is known by her Salesforce id only, omar by his HubSpot id only."""
    jane, omar = _team(sandbox_reset)[:2]
    return hub_factory(
        sqlite_url, extra_plugins=(connectors.salesforce, connectors.hubspot),
        connectors={
            "salesforce": {"type": "salesforce", "instance_url": sandbox_reset.url,
                           "session_id": sandbox_reset.sf_token, "pull_streams": ["Account", "Lead"],
                           "retry_initial_seconds": 0.01},
            "hubspot": {"type": "hubspot", "host": sandbox_reset.url, "access_token": sandbox_reset.hs_token,
                        "portal_id": f"named-{id(sqlite_url)}"}},
        owners=[{"id": "jane", "name": jane["name"], "email": jane["email"],
                 "crm_ids": {"salesforce": jane["salesforce_user_id"]}},
                {"id": "omar", "name": omar["name"], "email": omar["email"],
                 "crm_ids": {"hubspot": omar["hubspot_owner_id"]}}],
        routing={"strategy": "round_robin", "default_owner": "jane", "destinations": []},
        pipeline={"qualify_score": 0})


def _account_by_domain(hub: Hub, domain: str) -> Any:
    from sqlalchemy import select

    from hub.store import tables as t

    with hub.store.engine.begin() as conn:
        return conn.execute(select(t.accounts).where(t.accounts.c.domain == domain)).mappings().one()


def test_named_accounts_from_both_crms_and_a_subsidiary(sf_hs_hub: Hub, sandbox_reset: SandboxServer) -> None:
    from hubspot.crm.associations.v4 import AssociationSpec

    hs, sf = sandbox_reset.hubspot(), sandbox_reset.salesforce()
    # A subsidiary of Globex in HubSpot (no owner of its own), linked child -> parent (type 14).
    globex = hs.crm.companies.search_api.do_search({"filterGroups": [{"filters": [
        {"propertyName": "domain", "operator": "EQ", "value": "globexmfg.com"}]}], "limit": 1}).results[0].id
    child = hs.crm.companies.basic_api.create({"properties": {"name": "Globex Logistics",
                                                              "domain": "globexlogistics.com"}}).id
    hs.crm.associations.v4.basic_api.create("companies", child, "companies", globex, [
        AssociationSpec(association_category="HUBSPOT_DEFINED", association_type_id=14)])
    assert hs.crm.companies.basic_api.get_by_id(
        child, properties=["hs_parent_company_id"]).properties["hs_parent_company_id"] == globex

    report = sf_hs_hub.sync_once()
    assert not report.errors, report.errors
    northwind = _account_by_domain(sf_hs_hub, "northwindtraders.com")  # owned by Jane in Salesforce
    globex_acct = _account_by_domain(sf_hs_hub, "globexmfg.com")  # owned by Omar in HubSpot
    logistics = _account_by_domain(sf_hs_hub, "globexlogistics.com")
    assert northwind["owner_id"] == "jane"
    assert globex_acct["owner_id"] == "omar"
    assert logistics["owner_id"] is None and logistics["parent_id"] == globex_acct["id"]

    # A rep's new lead at the subsidiary goes to the parent's owner, end to end.
    sf.Lead.create({"LastName": "Lind", "Company": "Globex Logistics", "Email": "lind@globexlogistics.com",
                    "Website": "https://globexlogistics.com"})
    sf_hs_hub.sync_once()
    from sqlalchemy import select

    from hub.store import tables as t

    with sf_hs_hub.store.engine.begin() as conn:
        owners = [r[0] for r in conn.execute(select(t.leads.c.owner_id).where(
            t.leads.c.account_id == logistics["id"]))]
    assert owners == ["omar"]
