"""Incremental pulls from the sandbox org: backfill, ties on SystemModstamp, deletes, lookback,
echo recognition, outcomes and SOQL built safely."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from pydantic import ValidationError

from connectors.salesforce import SalesforceConnector, SalesforceSettings
from connectors.salesforce.pull import to_source_record
from hub.connector import Page
from hub.testing import routed_items
from sandbox.testing import SandboxServer

Make = Callable[..., SalesforceConnector]


def _create_leads(sf: Any, count: int, tag: str) -> list[str]:
    """Reps' leads, 200 per collection call: each call's records share one SystemModstamp."""
    ids: list[str] = []
    for start in range(0, count, 200):
        records = [{"attributes": {"type": "Lead"}, "LastName": f"{tag}{i}", "Company": f"{tag} Co {i}",
                    "Email": f"{tag.lower()}{i}@example.org"} for i in range(start, min(count, start + 200))]
        answer = sf.restful("composite/sobjects", method="POST", json={"allOrNone": True, "records": records})
        ids += [r["id"] for r in answer]
    return ids


def _drain(pages: list[Page]) -> list[Any]:
    return [r for p in pages for r in p.records]


def test_backfill_then_incremental_with_ties_across_pages(sf: Any, make_connector: Make) -> None:
    seeded = sf.query("SELECT COUNT() FROM Lead")["totalSize"]
    created = _create_leads(sf, 450, "Tie")
    connector = make_connector(page_size=200)

    pages = list(connector.pull("Lead", None))
    records = _drain(pages)

    ids = [r.external_id for r in records]
    assert len(ids) == len(set(ids)) == seeded + 450  # nothing missed, nothing twice
    assert set(created) <= set(ids)
    assert all(r.stream == "Lead" and r.version and not r.deleted for r in records)
    # The test means something only if a page boundary falls inside a run of equal stamps.
    boundaries = [(pages[i].records[-1].updated_at, pages[i + 1].records[0].updated_at)
                  for i in range(len(pages) - 1) if pages[i].records and pages[i + 1].records]
    assert any(last == first for last, first in boundaries)

    cursor = pages[-1].cursor
    assert cursor["backfill"] is False
    assert _drain(list(connector.pull("Lead", cursor))) == []  # the lookback overlap is de-duplicated

    sf.Lead.update(created[7], {"Title": "Head of Ops"})
    changed = _drain(list(connector.pull("Lead", cursor)))
    assert [r.external_id for r in changed] == [created[7]]
    assert changed[0].payload["Title"] == "Head of Ops"


def test_resume_mid_backfill_from_a_page_cursor(sf: Any, make_connector: Make) -> None:
    _create_leads(sf, 450, "Resume")
    connector = make_connector(page_size=200)
    everything = {r.external_id for r in _drain(list(connector.pull("Lead", None)))}
    first_page = next(iter(connector.pull("Lead", None)))  # a crash after committing page one
    rest = _drain(list(connector.pull("Lead", first_page.cursor)))
    seen = [r.external_id for r in first_page.records] + [r.external_id for r in rest]
    assert len(seen) == len(set(seen)) and set(seen) == everything


def test_deletes_are_captured(sf: Any, make_connector: Make) -> None:
    [kept, gone] = _create_leads(sf, 2, "Del")
    connector = make_connector()
    cursor = list(connector.pull("Lead", None))[-1].cursor
    sf.Lead.delete(gone)
    records = _drain(list(connector.pull("Lead", cursor)))
    assert [(r.external_id, r.deleted) for r in records] == [(gone, True)]
    assert kept != gone


def test_hub_leads_are_not_inquiries_and_untouched_ones_report_nothing(sf: Any, make_connector: Make) -> None:
    connector = make_connector()
    pushed = connector.push_leads(routed_items(3))
    inquiries = {r.external_id for r in _drain(list(connector.pull("Lead", None)))}
    assert not inquiries & {p.external_id for p in pushed}
    assert _drain(list(connector.pull_outcomes(None))) == []


def test_echo_is_recognised_and_a_later_edit_is_not(sf: Any, make_connector: Make) -> None:
    connector = make_connector()
    [result] = connector.push_leads(routed_items(1))
    assert result.version
    fields = "Id, SystemModstamp, IsDeleted, LastModifiedById, Status, LeadHub_Id__c"
    read = sf.query(f"SELECT {fields} FROM Lead WHERE Id = '{result.external_id}'")["records"][0]
    echo = to_source_record("salesforce", "Lead:outcome", read)
    assert connector.is_echo(echo, result.version)

    # The same record read again (a later pull's overlap) is the same version: still the echo.
    again = to_source_record("salesforce", "Lead:outcome",
                             sf.query(f"SELECT {fields} FROM Lead WHERE Id = '{result.external_id}'")["records"][0])
    assert again.version == echo.version and connector.is_echo(again, result.version)
    assert not connector.is_echo(echo, None)  # a record the hub never wrote


def test_echo_with_integration_user_check(org: SandboxServer, sf: Any, make_connector: Make, rep_id: str) -> None:
    assert org.control is not None
    integration = next(p for p in org.control.team() if "Integration" in p["name"])["salesforce_user_id"]
    mine = make_connector(integration_user_id=integration)
    other = make_connector(integration_user_id=rep_id)
    [result] = mine.push_leads(routed_items(1))
    read = sf.query(format_lead_query(result.external_id))["records"][0]
    record = to_source_record("salesforce", "Lead:outcome", read)
    assert mine.is_echo(record, result.version)
    assert not other.is_echo(record, result.version)  # written by someone else: not ours


def format_lead_query(lead_id: str | None) -> str:
    from simple_salesforce import format_soql

    return format_soql("SELECT Id, SystemModstamp, IsDeleted, LastModifiedById FROM Lead WHERE Id = {}", lead_id)


def test_status_conversion_and_won_opportunity_are_outcomes(org: SandboxServer, sf: Any, make_connector: Make) -> None:
    assert org.control is not None
    connector = make_connector()
    pushed = connector.push_leads(routed_items(3))
    accepted, converted, _untouched = (p.external_id for p in pushed)
    org.control.set_lead_status(str(accepted), "Working - Contacted")
    ids = org.control.convert_lead(str(converted))
    org.control.close_opportunity(ids["opportunityId"], won=True, amount=25000)

    records = _drain(list(connector.pull_outcomes(None)))

    by_stream = {(r.stream, r.external_id): r for r in records}
    assert set(by_stream) == {("Lead:outcome", accepted), ("Lead:outcome", converted),
                              ("Opportunity", ids["opportunityId"])}
    normalized = {key: connector.mappings.normalize(r) for key, r in by_stream.items()}  # type: ignore[union-attr]
    assert normalized[("Lead:outcome", accepted)].status == "accepted"
    assert normalized[("Lead:outcome", converted)].status == "converted"
    won = normalized[("Opportunity", ids["opportunityId"])]
    assert won.status == "won" and won.amount == 25000
    assert won.lead_ref == pushed[1].external_id or won.lead_ref.startswith("lead_")


def test_opportunity_without_copied_id_is_traced_to_its_lead(org: SandboxServer, sf: Any, make_connector: Make) -> None:
    assert org.control is not None
    connector = make_connector(opportunity_external_id_field="")
    [item] = routed_items(1)
    [pushed] = connector.push_leads([item])
    ids = org.control.convert_lead(str(pushed.external_id))
    sf.Opportunity.update(ids["opportunityId"], {"LeadHub_Id__c": None})  # an org without the mapping
    org.control.close_opportunity(ids["opportunityId"], won=False)
    opps = [r for r in _drain(list(connector.pull_outcomes(None))) if r.stream == "Opportunity"]
    assert len(opps) == 1 and opps[0].payload["LeadHub_Id__c"] == item.lead.id


def test_converted_contact_of_a_hub_lead_is_not_a_new_inquiry(
    org: SandboxServer, sf: Any, make_connector: Make
) -> None:
    assert org.control is not None
    connector = make_connector()
    cursor = list(connector.pull("Contact", None))[-1].cursor
    [pushed] = connector.push_leads(routed_items(1))
    ids = org.control.convert_lead(str(pushed.external_id))
    rep_contact = sf.Contact.create({"LastName": "Walk-in", "Email": "walkin@example.org"})["id"]
    contacts = {r.external_id for r in _drain(list(connector.pull("Contact", cursor)))}
    assert rep_contact in contacts and ids["contactId"] not in contacts


def test_soql_injection_in_values_is_harmless(sf: Any, make_connector: Make) -> None:
    connector = make_connector()
    others = _create_leads(sf, 3, "Safe")
    [item] = routed_items(1)
    item.external_id = "00Q' OR Name != '"  # a poisoned cross-reference goes into WHERE Id IN (...)
    item.lead.contacts[0].last_name = "O'Brien') OR (Name != '"
    [result] = connector.push_leads([item])
    assert result.ok  # quoted by format_soql: no match, so the lead is created by upsert
    assert sf.Lead.get(result.external_id)["LastName"] == "O'Brien') OR (Name != '"
    for lead_id in others:
        assert sf.Lead.get(lead_id)["LeadHub_Id__c"] is None  # nothing else was touched
    with pytest.raises(ValidationError):
        SalesforceSettings(instance_url="http://127.0.0.1:1", session_id="x",
                           external_id_field="LeadHub_Id__c != null OR Id")


def test_http_instance_url_only_on_loopback() -> None:
    with pytest.raises(ValidationError, match="loopback"):
        SalesforceSettings(instance_url="http://example.my.salesforce.com", session_id="x")
    with pytest.raises(ValidationError, match="no complete credentials"):
        SalesforceSettings(instance_url="https://example.my.salesforce.com")
