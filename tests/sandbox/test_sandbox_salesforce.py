"""Salesforce sObject calls through the real simple-salesforce client."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from simple_salesforce.exceptions import (
    SalesforceExpiredSession,
    SalesforceMalformedRequest,
    SalesforceMoreThanOneRecord,
    SalesforceResourceNotFound,
)

from sandbox.testing import SandboxServer, salesforce_client


def test_create_get_update_delete_round_trip(sf: Any) -> None:
    created = sf.Lead.create({"FirstName": "Ada", "LastName": "Lovelace", "Company": "Engines Ltd",
                              "Email": "ada@engines.example"})
    assert created["success"] is True and created["errors"] == []
    lead_id = created["id"]
    assert lead_id.startswith("00Q") and len(lead_id) == 18
    record = sf.Lead.get(lead_id)
    assert record["attributes"]["type"] == "Lead"
    assert record["Name"] == "Ada Lovelace"
    assert record["Status"] == "Open - Not Contacted"  # picklist default
    assert record["IsConverted"] is False
    assert record["SystemModstamp"] == record["CreatedDate"]
    assert record["SystemModstamp"].endswith(".000+0000")
    assert sf.Lead.get(lead_id[:15])["Id"] == lead_id  # 15-character ids work too

    assert sf.Lead.update(lead_id, {"Title": "Analyst", "Status": "Working - Contacted"}) == 204
    updated = sf.Lead.get(lead_id)
    assert updated["Title"] == "Analyst" and updated["Status"] == "Working - Contacted"
    assert updated["LastModifiedDate"] >= record["LastModifiedDate"]

    assert sf.Lead.delete(lead_id) == 204
    with pytest.raises(SalesforceResourceNotFound) as excinfo:
        sf.Lead.get(lead_id)
    assert excinfo.value.content[0]["errorCode"] == "NOT_FOUND"


def test_required_fields_and_restricted_picklist_errors(sf: Any) -> None:
    with pytest.raises(SalesforceMalformedRequest) as excinfo:
        sf.Lead.create({"FirstName": "No", "Email": "no@x.example"})
    error = excinfo.value.content[0]
    assert error["errorCode"] == "REQUIRED_FIELD_MISSING"
    assert set(error["fields"]) == {"LastName", "Company"}

    with pytest.raises(SalesforceMalformedRequest) as excinfo:
        sf.Lead.create({"LastName": "A", "Company": "B", "Status": "Maybe"})
    assert excinfo.value.content[0]["errorCode"] == "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST"
    assert excinfo.value.content[0]["fields"] == ["Status"]

    with pytest.raises(SalesforceMalformedRequest) as excinfo:
        sf.Lead.create({"LastName": "A", "Company": "B", "Nope__c": 1})
    assert excinfo.value.content[0]["errorCode"] == "INVALID_FIELD"

    with pytest.raises(SalesforceMalformedRequest) as excinfo:
        sf.Lead.create({"LastName": "A", "Company": "B", "IsConverted": True})
    assert excinfo.value.content[0]["errorCode"] == "INVALID_FIELD_FOR_INSERT_UPDATE"

    with pytest.raises(SalesforceMalformedRequest) as excinfo:
        sf.Lead.create({"LastName": "A", "Company": "B", "Email": "not-an-email"})
    assert excinfo.value.content[0]["errorCode"] == "INVALID_EMAIL_ADDRESS"

    with pytest.raises(SalesforceMalformedRequest) as excinfo:
        sf.Lead.create({"LastName": "A", "Company": "B", "OwnerId": "005000000000000AAA"})
    assert excinfo.value.content[0]["errorCode"] == "INVALID_CROSS_REFERENCE_KEY"


def test_upsert_by_external_id_created_updated_and_several_matches(sf: Any) -> None:
    assert sf.Lead.upsert("LeadHub_Id__c/L-1", {"LastName": "One", "Company": "C"}) == 201
    assert sf.Lead.upsert("LeadHub_Id__c/L-1", {"Title": "Boss"}) == 200
    record = sf.Lead.get_by_custom_id("LeadHub_Id__c", "L-1")
    assert record["Title"] == "Boss" and record["LastName"] == "One"
    assert sf.query("SELECT Id FROM Lead WHERE LeadHub_Id__c = 'L-1'")["totalSize"] == 1

    # Unique external ids refuse a second record with the same value.
    with pytest.raises(SalesforceMalformedRequest) as excinfo:
        sf.Lead.create({"LastName": "Two", "Company": "C", "LeadHub_Id__c": "l-1"})
    assert excinfo.value.content[0]["errorCode"] == "DUPLICATE_VALUE"

    # Legacy_Id__c is a non-unique external id: two matches -> 300 with the record URLs.
    for name in ("A", "B"):
        sf.Lead.create({"LastName": name, "Company": "C", "Legacy_Id__c": "OLD-7"})
    with pytest.raises(SalesforceMoreThanOneRecord) as several:
        sf.Lead.upsert("Legacy_Id__c/OLD-7", {"Title": "x"})
    assert several.value.status == 300
    assert len(several.value.content) == 2
    assert all("/sobjects/Lead/00Q" in url for url in several.value.content)

    with pytest.raises(SalesforceResourceNotFound) as excinfo:
        sf.Lead.upsert("Email/x@y.example", {"LastName": "A", "Company": "B"})
    assert excinfo.value.content[0]["errorCode"] == "NOT_FOUND"


def test_wrong_token_is_401_expired_session(sandbox_reset: SandboxServer) -> None:
    bad = salesforce_client(sandbox_reset.port, "not-the-token")
    with pytest.raises(SalesforceExpiredSession) as excinfo:
        bad.query("SELECT Id FROM Lead")
    assert excinfo.value.content[0]["errorCode"] == "INVALID_SESSION_ID"
    assert "not-the-token" not in str(excinfo.value.content)


def test_describe_reports_external_id_fields_and_picklists(sf: Any) -> None:
    describe = sf.Lead.describe()
    fields = {f["name"]: f for f in describe["fields"]}
    assert describe["keyPrefix"] == "00Q"
    assert fields["LeadHub_Id__c"]["externalId"] is True and fields["LeadHub_Id__c"]["unique"]
    assert fields["LeadHub_Id__c"]["custom"] is True
    assert fields["LastName"]["nillable"] is False and fields["LastName"]["createable"]
    assert fields["IsConverted"]["createable"] is False
    statuses = [p["value"] for p in fields["Status"]["picklistValues"]]
    assert "Closed - Converted" in statuses and fields["Status"]["restrictedPicklist"]
    account = {f["name"]: f for f in sf.Account.describe()["fields"]}
    assert account["LeadHub_Account_Id__c"]["externalId"] is True
    contact = {f["name"]: f for f in sf.Contact.describe()["fields"]}
    assert contact["LeadHub_Id__c"]["externalId"] is True
    for name in ("Opportunity", "User"):
        assert sf.restful(f"sobjects/{name}/describe")["name"] == name


def test_updated_and_deleted_windows(sf: Any) -> None:
    start = datetime.now(UTC) - timedelta(minutes=1)
    lead_id = sf.Lead.create({"LastName": "Gone", "Company": "C"})["id"]
    kept_id = sf.Lead.create({"LastName": "Kept", "Company": "C"})["id"]
    sf.Lead.delete(lead_id)
    end = datetime.now(UTC) + timedelta(minutes=1)
    updated = sf.Lead.updated(start, end)
    assert kept_id in updated["ids"] and lead_id not in updated["ids"]
    deleted = sf.Lead.deleted(start, end)
    assert [d["id"] for d in deleted["deletedRecords"]] == [lead_id]
    assert "latestDateCovered" in deleted and "earliestDateAvailable" in deleted
    with pytest.raises(SalesforceMalformedRequest):
        sf.Lead.updated(start.replace(tzinfo=None), end.replace(tzinfo=None))


def test_limit_info_header_updates_api_usage(sf: Any) -> None:
    sf.query("SELECT Id FROM Lead")
    first = sf.api_usage["api-usage"].used
    sf.query("SELECT Id FROM Lead")
    assert sf.api_usage["api-usage"].used == first + 1
    assert sf.api_usage["api-usage"].total == 100_000
    limits = sf.restful("limits/")
    assert limits["DailyApiRequests"]["Max"] == 100_000
