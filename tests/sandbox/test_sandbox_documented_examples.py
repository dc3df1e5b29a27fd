"""Field-by-field checks of documented example responses (the shapes in the official API
references, as collected in shared/reference/crm-wire-protocol.md sections A3, B3, B4 and B5).

Raw HTTP is used here on purpose: the point is the exact JSON on the wire, which the client
libraries would otherwise reshape.
"""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest

from sandbox.testing import SandboxServer

SF_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.000\+0000$")
HS_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")


@pytest.fixture
def http(sandbox_reset: SandboxServer) -> Any:
    with httpx.Client(base_url=sandbox_reset.url, trust_env=False, timeout=10) as client:
        yield client


def _sf(sandbox: SandboxServer) -> dict[str, str]:
    return {"Authorization": f"Bearer {sandbox.sf_token}", "Content-Type": "application/json"}


def _hs(sandbox: SandboxServer) -> dict[str, str]:
    return {"Authorization": f"Bearer {sandbox.hs_token}", "Content-Type": "application/json"}


def test_salesforce_create_response(http: httpx.Client, sandbox_reset: SandboxServer) -> None:
    # {"id":"001D000000IqhSLIAZ","errors":[],"success":true} with 201
    response = http.post("/services/data/v59.0/sobjects/Account/", headers=_sf(sandbox_reset),
                         json={"Name": "Example"})
    assert response.status_code == 201
    body = response.json()
    assert set(body) == {"id", "errors", "success"}
    assert re.fullmatch(r"001[A-Za-z0-9]{15}", body["id"])
    assert body["errors"] == [] and body["success"] is True
    assert re.fullmatch(r"api-usage=\d+/\d+", response.headers["Sforce-Limit-Info"])


def test_salesforce_query_response(http: httpx.Client, sandbox_reset: SandboxServer) -> None:
    # {"totalSize":..,"done":..,"records":[{"attributes":{"type","url"},"Id",...}]}
    response = http.get("/services/data/v59.0/query/", headers=_sf(sandbox_reset),
                        params={"q": "SELECT Id, SystemModstamp FROM Lead LIMIT 1"})
    body = response.json()
    assert list(body) == ["totalSize", "done", "records"]
    assert body["totalSize"] == 1 and body["done"] is True
    record = body["records"][0]
    assert list(record) == ["attributes", "Id", "SystemModstamp"]
    assert record["attributes"] == {"type": "Lead",
                                    "url": f"/services/data/v59.0/sobjects/Lead/{record['Id']}"}
    assert SF_DATETIME.match(record["SystemModstamp"])


def test_salesforce_error_body_and_upsert_created(http: httpx.Client,
                                                  sandbox_reset: SandboxServer) -> None:
    # [{"message":"The Id field should not be specified in the sobject data.","errorCode":"INVALID_FIELD"}]
    response = http.post("/services/data/v59.0/sobjects/Lead/", headers=_sf(sandbox_reset),
                         json={"Id": "00Q000000000000AAA", "LastName": "A", "Company": "B"})
    assert response.status_code == 400
    assert response.json() == [{"message": "The Id field should not be specified in the sobject "
                                           "data.", "errorCode": "INVALID_FIELD", "fields": []}]
    # upsert, no match: 201 {"id","success":true,"errors":[],"created":true}
    response = http.patch("/services/data/v59.0/sobjects/Lead/LeadHub_Id__c/doc-1",
                          headers=_sf(sandbox_reset), json={"LastName": "A", "Company": "B"})
    assert response.status_code == 201
    assert response.json() == {"id": response.json()["id"], "success": True, "errors": [],
                               "created": True}
    # 401: a JSON array with errorCode INVALID_SESSION_ID
    response = http.get("/services/data/v59.0/query/?q=SELECT+Id+FROM+Lead",
                        headers={"Authorization": "Bearer wrong"})
    assert response.status_code == 401
    assert response.json()[0]["errorCode"] == "INVALID_SESSION_ID"


def test_hubspot_simple_public_object(http: httpx.Client, sandbox_reset: SandboxServer) -> None:
    # {"id":"100451","properties":{...,"lastmodifieddate":"..."},"createdAt","updatedAt","archived":false}
    response = http.post("/crm/v3/objects/contacts", headers=_hs(sandbox_reset),
                         json={"properties": {"email": "doc@example.com"}})
    assert response.status_code == 201
    body = response.json()
    assert list(body) == ["id", "properties", "createdAt", "updatedAt", "archived"]
    assert body["id"].isdigit() and body["archived"] is False
    assert body["properties"]["hs_object_id"] == body["id"]
    assert body["properties"]["lastmodifieddate"] == body["updatedAt"]
    assert HS_DATETIME.match(body["createdAt"]) and HS_DATETIME.match(body["updatedAt"])
    assert all(v is None or isinstance(v, str) for v in body["properties"].values())
    for header in ("X-HubSpot-RateLimit-Daily", "X-HubSpot-RateLimit-Daily-Remaining",
                   "X-HubSpot-RateLimit-Interval-Milliseconds", "X-HubSpot-RateLimit-Max",
                   "X-HubSpot-RateLimit-Remaining"):
        assert response.headers[header].isdigit()


def test_hubspot_batch_207_and_error_bodies(http: httpx.Client,
                                            sandbox_reset: SandboxServer) -> None:
    # 207 adds "numErrors":1,"errors":[{"status":"error","category":"OBJECT_NOT_FOUND",...}]
    response = http.post("/crm/v3/objects/contacts/batch/read", headers=_hs(sandbox_reset),
                         json={"inputs": [{"id": "999"}], "properties": []})
    assert response.status_code == 207
    body = response.json()
    assert body["status"] == "COMPLETE" and body["results"] == [] and body["numErrors"] == 1
    error = body["errors"][0]
    assert error["status"] == "error" and error["category"] == "OBJECT_NOT_FOUND"
    assert error["context"] == {"ids": ["999"]}
    assert error["errors"] == [] and error["links"] == {}
    assert HS_DATETIME.match(body["startedAt"]) and HS_DATETIME.match(body["completedAt"])
    # 409: "Contact already exists. Existing ID: 12345"
    http.post("/crm/v3/objects/contacts", headers=_hs(sandbox_reset),
              json={"properties": {"email": "dup@example.com"}})
    response = http.post("/crm/v3/objects/contacts", headers=_hs(sandbox_reset),
                         json={"properties": {"email": "dup@example.com"}})
    assert response.status_code == 409
    body = response.json()
    assert body["status"] == "error"
    assert re.fullmatch(r"Contact already exists\. Existing ID: \d+", body["message"])
    assert re.fullmatch(r"[0-9a-f-]{36}", body["correlationId"])


def test_hubspot_default_association_response(http: httpx.Client,
                                              sandbox_reset: SandboxServer) -> None:
    headers = _hs(sandbox_reset)
    contact = http.post("/crm/v3/objects/contacts", headers=headers,
                        json={"properties": {"email": "assoc@example.com"}}).json()["id"]
    company = http.post("/crm/v3/objects/companies", headers=headers,
                        json={"properties": {"name": "A"}}).json()["id"]
    response = http.put(f"/crm/v4/objects/contacts/{contact}/associations/default/companies/"
                        f"{company}", headers=headers)
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "COMPLETE" and {"startedAt", "completedAt"} <= set(body)
    assert body["results"][0] == {"from": {"id": contact}, "to": {"id": company},
                                  "associationSpec": {"associationCategory": "HUBSPOT_DEFINED",
                                                      "associationTypeId": 279}}
