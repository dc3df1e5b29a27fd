"""SOQL queries, paging and queryAll through the real simple-salesforce client."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from simple_salesforce import format_soql
from simple_salesforce.exceptions import SalesforceMalformedRequest


def _bulk_leads(sf: Any, count: int, prefix: str) -> None:
    for start in range(0, count, 200):
        records = [{"attributes": {"type": "Lead"}, "LastName": f"{prefix}{i:04d}",
                    "Company": "Paging Co", "LeadHub_Id__c": f"{prefix}{i}"}
                   for i in range(start, min(count, start + 200))]
        result = sf.restful("composite/sobjects", method="POST",
                            json={"allOrNone": True, "records": records})
        assert all(r["success"] for r in result)


def test_where_order_limit_and_relationship_fields(sf: Any) -> None:
    result = sf.query("SELECT Id, FirstName, LastName, Owner.Email FROM Lead "
                      "WHERE IsConverted = false AND (LeadSource = 'Web' OR LeadSource = 'webinar') "
                      "ORDER BY LastName DESC LIMIT 5")
    names = [r["LastName"] for r in result["records"]]
    assert names == ["Khan", "Garcia"]  # text comparisons ignore case, as in SOQL
    assert result["records"][0]["Owner"]["Email"].endswith("@leadhub.example")
    assert result["done"] is True and "nextRecordsUrl" not in result

    like = sf.query("SELECT Id FROM Lead WHERE Email LIKE '%initech.io' AND Status IN "
                    "('Open - Not Contacted', 'Working - Contacted')")
    assert like["totalSize"] == 1
    count = sf.query("SELECT COUNT() FROM Account WHERE Name != null")
    assert count["totalSize"] == 4 and count["records"] == []


def test_datetime_filters_accept_format_soql_and_reject_quoted(sf: Any) -> None:
    before = datetime.now(UTC) - timedelta(hours=1)
    soql = format_soql("SELECT Id FROM Lead WHERE SystemModstamp > {} ORDER BY SystemModstamp, Id",
                       before)
    assert "+00:00" in soql
    assert sf.query(soql)["totalSize"] == 4
    zulu = before.strftime("%Y-%m-%dT%H:%M:%SZ")
    assert sf.query(f"SELECT Id FROM Lead WHERE SystemModstamp >= {zulu}")["totalSize"] == 4
    future = (datetime.now(UTC) + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert sf.query(f"SELECT Id FROM Lead WHERE LastModifiedDate > {future}")["totalSize"] == 0
    assert sf.query("SELECT Id FROM Lead WHERE CreatedDate = LAST_N_DAYS:1")["totalSize"] >= 0
    with pytest.raises(SalesforceMalformedRequest) as excinfo:
        sf.query(f"SELECT Id FROM Lead WHERE SystemModstamp > '{zulu}'")
    assert excinfo.value.content[0]["errorCode"] == "MALFORMED_QUERY"


def test_injection_attempt_is_just_a_string(sf: Any) -> None:
    soql = format_soql("SELECT Id FROM Lead WHERE LastName = {}", "x' OR LastName != '")
    assert sf.query(soql)["totalSize"] == 0


def test_bad_queries_map_to_malformed_request(sf: Any) -> None:
    cases = {"SELECT Nope FROM Lead": "INVALID_FIELD", "SELECT Id FROM Nope": "INVALID_TYPE",
             "SELECT Id FROM Lead WHERE": "MALFORMED_QUERY", "SELEKT Id FROM Lead": "MALFORMED_QUERY"}
    for soql, code in cases.items():
        with pytest.raises(SalesforceMalformedRequest) as excinfo:
            sf.query(soql)
        assert excinfo.value.content[0]["errorCode"] == code, soql


def test_paging_with_next_records_url(sf: Any) -> None:
    _bulk_leads(sf, 450, "P")
    sf.session.headers["Sforce-Query-Options"] = "batchSize=200"
    first = sf.query("SELECT Id, LastName FROM Lead WHERE Company = 'Paging Co' ORDER BY LastName")
    assert first["totalSize"] == 450 and first["done"] is False and len(first["records"]) == 200
    assert first["nextRecordsUrl"].startswith("/services/data/v59.0/query/01g")
    second = sf.query_more(first["nextRecordsUrl"], identifier_is_url=True)
    assert len(second["records"]) == 200 and second["done"] is False
    names = [r["LastName"] for r in sf.query_all_iter(
        "SELECT LastName FROM Lead WHERE Company = 'Paging Co' ORDER BY LastName")]
    assert names == [f"P{i:04d}" for i in range(450)]
    with pytest.raises(SalesforceMalformedRequest) as excinfo:
        sf.query_more("/services/data/v59.0/query/01gXXXXXXXXXXXXXXX-200", identifier_is_url=True)
    assert excinfo.value.content[0]["errorCode"] == "INVALID_QUERY_LOCATOR"


def test_query_all_includes_deleted(sf: Any) -> None:
    lead_id = sf.Lead.create({"LastName": "Deleted", "Company": "C"})["id"]
    sf.Lead.delete(lead_id)
    soql = format_soql("SELECT Id, IsDeleted FROM Lead WHERE Id = {}", lead_id)
    assert sf.query(soql)["totalSize"] == 0
    rows = sf.query_all(soql, include_deleted=True)["records"]
    assert [(r["Id"], r["IsDeleted"]) for r in rows] == [(lead_id, True)]
