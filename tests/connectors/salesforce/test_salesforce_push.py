"""Delivery into the sandbox org through the real simple-salesforce: batching, errors, conflicts,
retries, expired sessions and the API budget."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest

from connectors.salesforce import SalesforceConnector
from hub.decisions import Owner
from hub.errors import AuthError, RateLimited, TransientError
from hub.schema import utcnow
from hub.testing import routed_items
from sandbox.testing import SandboxServer

Make = Callable[..., SalesforceConnector]


def _collection_calls(org: SandboxServer) -> int:
    assert org.control is not None
    by_endpoint = org.control.counters()["salesforce"]["by_endpoint"]
    return sum(n for name, n in by_endpoint.items() if "composite/sobjects" in name)


def test_450_leads_in_3_calls_with_owner_and_external_id(org: SandboxServer, sf: Any, make_connector: Make,
                                                        rep_id: str) -> None:
    owner = Owner(id="jane", name="Jane", crm_ids={"salesforce": rep_id})
    items = routed_items(450, owner)
    connector = make_connector()
    assert org.control is not None
    org.control.reset_counters()

    results = connector.push_leads(items)

    assert [r.ok for r in results] == [True] * 450, [r.error for r in results if not r.ok][:3]
    assert _collection_calls(org) == 3
    assert org.control.counters()["salesforce"]["total"] == 3
    first = sf.Lead.get_by_custom_id("LeadHub_Id__c", items[0].lead.id)
    assert first["Id"] == results[0].external_id
    assert first["OwnerId"] == rep_id
    assert first["LastName"] == "Buyer0" and first["Company"] == "Company 0 GmbH"
    assert first["Status"] == "Open - Not Contacted" and first["LeadSource"] == "Web"
    total = sf.query("SELECT COUNT() FROM Lead WHERE LeadHub_Id__c != null")["totalSize"]
    assert total == 450


def test_retry_never_duplicates(sf: Any, make_connector: Make) -> None:
    items = routed_items(3)
    connector = make_connector()
    first = connector.push_leads(items)
    again = connector.push_leads(items)  # the deliverer retrying after a lost answer
    assert [r.external_id for r in again] == [r.external_id for r in first]
    assert sf.query("SELECT COUNT() FROM Lead WHERE LeadHub_Id__c != null")["totalSize"] == 3


def test_one_invalid_record_fails_alone_with_the_salesforce_message(sf: Any, make_connector: Make) -> None:
    items = routed_items(5)
    items[2].lead.contacts[0].title = "T" * 200  # Lead.Title holds 128 characters
    results = {r.key: r for r in make_connector().push_leads(items)}

    bad = results[items[2].key]
    assert not bad.ok and not bad.retryable
    assert "STRING_TOO_LONG" in bad.error and "Title" in bad.error
    assert all(results[i.key].ok for i in items if i is not items[2])
    assert sf.query("SELECT COUNT() FROM Lead WHERE LeadHub_Id__c != null")["totalSize"] == 4


def test_update_honours_conflict_rules(sf: Any, make_connector: Make, rep_id: str) -> None:
    connector = make_connector()
    [item] = routed_items(1)
    [created] = connector.push_leads([item])
    # A rep corrects the first name and works the lead in Salesforce.
    sf.Lead.update(created.external_id, {"FirstName": "Annabel", "Status": "Working - Contacted"})

    # The hub re-routes the lead (SLA reassignment) and delivers it again.
    item.external_id = created.external_id
    item.owner = Owner(id="omar", name="Omar", crm_ids={"salesforce": rep_id})
    item.lead.contacts[0].first_name = "Ann-Marie"
    item.lead.contacts[0].phone = "+4930123456"
    [updated] = connector.push_leads([item])

    assert updated.ok and updated.external_id == created.external_id
    record = sf.Lead.get(created.external_id)
    assert record["FirstName"] == "Annabel"  # crm_wins_unless_blank: the rep's value stays
    assert record["Phone"] == "+4930123456"  # blank in Salesforce: the hub fills it
    assert record["OwnerId"] == rep_id  # hub_wins: routing is the hub's decision
    assert record["Status"] == "Working - Contacted"  # crm_wins: never overwritten


def test_rep_created_lead_is_updated_by_id_and_tagged(sf: Any, make_connector: Make) -> None:
    made = sf.Lead.create({"LastName": "Rep", "Company": "Made In CRM Ltd"})
    [item] = routed_items(1)
    item.external_id = made["id"]
    [result] = make_connector().push_leads([item])
    assert result.ok and result.external_id == made["id"]
    assert sf.Lead.get(made["id"])["LeadHub_Id__c"] == item.lead.id
    assert sf.query("SELECT COUNT() FROM Lead WHERE LeadHub_Id__c != null")["totalSize"] == 1


def test_known_account_becomes_contact_on_it(sf: Any, make_connector: Make) -> None:
    account_id = sf.Account.create({"Name": "Existing Customer Inc"})["id"]
    [item] = routed_items(1)
    item.account.xrefs["salesforce"] = account_id
    [result] = make_connector(known_account_mode="contact").push_leads([item])
    assert result.ok and result.external_id and result.external_id.startswith("003")
    contact = sf.Contact.get(result.external_id)
    assert contact["AccountId"] == account_id and contact["LeadHub_Id__c"] == item.lead.id
    assert sf.query("SELECT COUNT() FROM Lead WHERE LeadHub_Id__c != null")["totalSize"] == 0


def test_429_storm_is_ridden_out_with_backoff(org: SandboxServer, sf: Any, make_connector: Make) -> None:
    assert org.control is not None
    org.control.inject_fault("composite/sobjects", status=429, count=2)
    results = make_connector().push_leads(routed_items(10))
    assert all(r.ok for r in results)
    statuses = org.control.counters()["salesforce"]["by_status"]
    assert int(statuses.get("429", 0)) == 2
    assert sf.query("SELECT COUNT() FROM Lead WHERE LeadHub_Id__c != null")["totalSize"] == 10


def test_429_beyond_retries_hands_back_rate_limited(org: SandboxServer, make_connector: Make) -> None:
    assert org.control is not None
    org.control.inject_fault("composite/sobjects", status=429, count=5)
    with pytest.raises(RateLimited, match="rate limiting"):
        make_connector(max_retries=1).push_leads(routed_items(2))
    statuses = org.control.counters()["salesforce"]["by_status"]
    assert int(statuses.get("429", 0)) == 2  # the first try and one retry, then handed back


def test_server_errors_become_transient(org: SandboxServer, make_connector: Make) -> None:
    assert org.control is not None
    org.control.inject_fault("composite/sobjects", status=503, count=3)
    with pytest.raises(TransientError):
        make_connector(max_retries=2).push_leads(routed_items(2))
    # The fourth attempt (a later delivery) goes through.
    assert all(r.ok for r in make_connector().push_leads(routed_items(2)))


def test_expired_session_reports_what_to_fix_without_the_token(make_connector: Make) -> None:
    connector = make_connector(session_id="00Dexpired!SESSION-TOKEN-VALUE")
    with pytest.raises(AuthError) as caught:
        connector.push_leads(routed_items(1))
    message = str(caught.value)
    assert "LEADHUB_CONNECTORS__SALESFORCE__SESSION_ID" in message
    assert "SESSION-TOKEN-VALUE" not in message
    health = connector.check()
    assert not health.ok and "401" in health.message and "SESSION-TOKEN-VALUE" not in health.message


def test_over_budget_sends_only_fresh_leads(org: SandboxServer, sf: Any, make_connector: Make) -> None:
    assert org.control is not None
    connector = make_connector(budget_share=0.5)
    org.control.set_limits(salesforce_daily_max=10, reset_usage=True)
    for _ in range(6):  # someone else's integration spends most of the allocation
        sf.query("SELECT Id FROM Lead LIMIT 1")
    connector.check()  # learns the usage from Sforce-Limit-Info
    assert connector.client.over_budget()
    items = routed_items(3)
    items[0].lead.created_at = utcnow() - timedelta(days=30)  # a backfilled lead

    results = {r.key: r for r in connector.push_leads(items)}

    assert not results[items[0].key].ok and results[items[0].key].retryable
    assert "deferred" in results[items[0].key].error
    assert results[items[1].key].ok and results[items[2].key].ok


def test_daily_allocation_used_up_is_rate_limited(org: SandboxServer, make_connector: Make) -> None:
    assert org.control is not None
    org.control.set_limits(salesforce_daily_max=1, reset_usage=True)
    connector = make_connector(exhausted_retry_seconds=1800)
    connector.check()
    with pytest.raises(RateLimited) as caught:
        connector.push_leads(routed_items(1))
    assert caught.value.retry_after == 1800 and "allocation" in str(caught.value)
