"""sObject Collections through simple-salesforce's ``restful``: caps, allOrNone, per-record errors."""

from __future__ import annotations

from typing import Any

import pytest
from simple_salesforce.exceptions import SalesforceMalformedRequest


def _leads(count: int, prefix: str = "C") -> list[dict[str, Any]]:
    return [{"attributes": {"type": "Lead"}, "LastName": f"{prefix}{i}", "Company": "Coll",
             "LeadHub_Id__c": f"{prefix}-{i}"} for i in range(count)]


def test_create_200_ok_and_201_exceeds_id_limit(sf: Any) -> None:
    result = sf.restful("composite/sobjects", method="POST",
                        json={"allOrNone": False, "records": _leads(200)})
    assert len(result) == 200 and all(r["success"] and r["id"].startswith("00Q") for r in result)
    with pytest.raises(SalesforceMalformedRequest) as excinfo:
        sf.restful("composite/sobjects", method="POST",
                   json={"allOrNone": False, "records": _leads(201, "D")})
    assert excinfo.value.content[0]["errorCode"] == "EXCEEDED_ID_LIMIT"
    assert sf.query("SELECT COUNT() FROM Lead WHERE Company = 'Coll'")["totalSize"] == 200


def test_per_record_errors_use_status_code(sf: Any) -> None:
    records = _leads(3)
    del records[1]["LastName"]
    result = sf.restful("composite/sobjects", method="POST",
                        json={"allOrNone": False, "records": records})
    assert [r["success"] for r in result] == [True, False, True]
    error = result[1]["errors"][0]
    assert error["statusCode"] == "REQUIRED_FIELD_MISSING" and error["fields"] == ["LastName"]
    assert "errorCode" not in error


def test_all_or_none_rolls_back_good_records(sf: Any) -> None:
    records = _leads(3, "R")
    records[2]["Status"] = "Bogus"
    result = sf.restful("composite/sobjects", method="POST",
                        json={"allOrNone": True, "records": records})
    assert [r["success"] for r in result] == [False, False, False]
    assert result[0]["errors"][0]["statusCode"] == "ALL_OR_NONE_OPERATION_ROLLED_BACK"
    assert result[2]["errors"][0]["statusCode"] == "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST"
    assert sf.query("SELECT COUNT() FROM Lead WHERE LastName LIKE 'R%'")["totalSize"] == 0


def test_upsert_update_and_delete_collections(sf: Any) -> None:
    first = sf.restful("composite/sobjects/Lead/LeadHub_Id__c", method="PATCH",
                       json={"allOrNone": False, "records": _leads(5, "U")})
    assert [r["created"] for r in first] == [True] * 5
    again = _leads(6, "U")
    again[0]["Title"] = "Changed"
    second = sf.restful("composite/sobjects/Lead/LeadHub_Id__c", method="PATCH",
                        json={"allOrNone": False, "records": again})
    assert [r["created"] for r in second] == [False] * 5 + [True]
    assert second[0]["id"] == first[0]["id"]
    assert sf.Lead.get(first[0]["id"])["Title"] == "Changed"

    duplicated = sf.restful("composite/sobjects/Lead/LeadHub_Id__c", method="PATCH",
                            json={"allOrNone": False, "records": _leads(1, "U") * 2})
    assert all(r["errors"][0]["statusCode"] == "DUPLICATE_EXTERNAL_ID" for r in duplicated)

    ids = [r["id"] for r in second]
    updated = sf.restful("composite/sobjects", method="PATCH", json={"allOrNone": False, "records": [
        {"attributes": {"type": "Lead"}, "id": ids[0], "Status": "Working - Contacted"},
        {"attributes": {"type": "Lead"}, "id": "00Q5g00000zzzzzAAA", "Title": "x"}]})
    assert updated[0] == {"id": ids[0], "success": True, "errors": []}
    assert updated[1]["success"] is False

    deleted = sf.restful("composite/sobjects", method="DELETE",
                         params={"ids": ",".join(ids[:2]), "allOrNone": "false"})
    assert [r["success"] for r in deleted] == [True, True]
    again_deleted = sf.restful("composite/sobjects", method="DELETE",
                               params={"ids": ids[0], "allOrNone": "false"})
    assert again_deleted[0]["errors"][0]["statusCode"] == "ENTITY_IS_DELETED"
    retrieved = sf.restful("composite/sobjects/Lead", params={"ids": ",".join(ids[1:3]),
                                                               "fields": "Id,LastName"})
    assert retrieved[0] is None and retrieved[1]["LastName"] == "U2"
