"""The partner API: auth, key rotation, cross-partner access (IDOR) on every endpoint, conflicts."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from connectors.partner import keys
from connectors.partner import store as q
from hub.runtime import Hub
from hub.store import tables as t

GLOBEX = {"company_name": "Globex", "company_domain": "globex.com", "contact_email": "ann@globex.com",
          "contact_first_name": "Ann", "notes": "wants 100 seats", "expected_deal_size": 50000}


def test_submit_then_follow_status_owner_and_history(hub: Hub, client: TestClient, make_partner: Callable) -> None:
    p = make_partner(hub, "Acme")
    r = client.post("/api/v1/referrals", json=GLOBEX, headers=p.auth)
    assert r.status_code == 202 and r.json()["status"] == "received"
    ref = r.json()["id"]
    assert client.get(f"/api/v1/referrals/{ref}", headers=p.auth).json()["status"] == "received"
    hub.sync_once()
    detail = client.get(f"/api/v1/referrals/{ref}", headers=p.auth).json()
    assert detail["status"] == "routed" and detail["owner_first_name"] == "Jane"
    assert [h["status"] for h in detail["history"]] == ["received", "qualified", "routed"]
    with hub.store.engine.connect() as conn:
        lead = conn.execute(select(t.leads)).mappings().one()
    assert lead["partner_id"] == p.id  # from the authenticated partner
    page = client.get("/api/v1/referrals", params={"status": "routed"}, headers=p.auth).json()
    assert [i["id"] for i in page["items"]] == [ref] and page["total"] == 1
    assert client.get("/api/v1/referrals", params={"status": "won"}, headers=p.auth).json()["total"] == 0


def test_partner_id_cannot_be_set_by_the_client(hub: Hub, client: TestClient, make_partner: Callable) -> None:
    p = make_partner(hub, "Acme")
    other = make_partner(hub, "Other")
    r = client.post("/api/v1/referrals", json={**GLOBEX, "partner_id": other.id}, headers=p.auth)
    assert r.status_code == 422  # unknown field
    with hub.store.engine.connect() as conn:
        assert conn.execute(select(t.inbox)).first() is None


def test_auth_is_required_and_bad_keys_are_refused(hub: Hub, client: TestClient, make_partner: Callable) -> None:
    p = make_partner(hub, "Acme")
    for headers in ({}, {"Authorization": "Bearer nope"}, {"Authorization": f"Bearer {p.key}x"},
                    {"Authorization": f"Basic {p.key}"}, {"Authorization": f"Bearer {keys.new_key()}"}):
        r = client.get("/api/v1/referrals", headers=headers)
        assert r.status_code == 401, headers
        assert r.headers["www-authenticate"] == "Bearer"
        assert p.key not in r.text


def test_rotation_and_disable(hub: Hub, client: TestClient, make_partner: Callable) -> None:
    p = make_partner(hub, "Acme")
    assert client.get("/api/v1/referrals", headers=p.auth).status_code == 200
    new = keys.new_key()
    with hub.store.engine.begin() as conn:
        q.set_key(conn, p.id, keys.prefix_of(new) or "", keys.hash_key(new))
    assert client.get("/api/v1/referrals", headers=p.auth).status_code == 401
    assert client.get("/api/v1/referrals", headers={"Authorization": f"Bearer {new}"}).status_code == 200
    with hub.store.engine.begin() as conn:
        q.set_status(conn, p.id, "disabled")
    assert client.get("/api/v1/referrals", headers={"Authorization": f"Bearer {new}"}).status_code == 401


def test_keys_are_stored_only_as_hashes(hub: Hub, make_partner: Callable) -> None:
    p = make_partner(hub, "Acme")
    with hub.store.engine.connect() as conn:
        row = conn.execute(select(t.partners)).mappings().one()
    assert p.key not in str(dict(row)) and row["key_hash"].startswith("hmac-sha256$")
    assert keys.verify_key(p.key, row["key_hash"]) and not keys.verify_key(p.key + "x", row["key_hash"])


@pytest.mark.parametrize("how", ["get", "list", "list_filtered"])
def test_other_partners_referrals_are_invisible(hub: Hub, client: TestClient, make_partner: Callable, how: str) -> None:
    a, b = make_partner(hub, "Acme"), make_partner(hub, "Bolt")
    ref = client.post("/api/v1/referrals", json=GLOBEX, headers=a.auth).json()["id"]
    hub.sync_once()
    if how == "get":
        r = client.get(f"/api/v1/referrals/{ref}", headers=b.auth)
        missing = client.get("/api/v1/referrals/ref_doesnotexist", headers=b.auth)
        assert r.status_code == missing.status_code == 404
        assert r.json() == missing.json()  # indistinguishable from an id that does not exist
    else:
        params = {"status": "routed"} if how == "list_filtered" else {}
        r = client.get("/api/v1/referrals", params=params, headers=b.auth)
        assert r.status_code == 200 and r.json()["items"] == [] and r.json()["total"] == 0
        assert client.get("/api/v1/referrals", params=params, headers=a.auth).json()["total"] == 1


def test_conflict_with_another_partner_within_protection_window(hub: Hub, client: TestClient,
                                                               make_partner: Callable) -> None:
    a, b = make_partner(hub, "Acme"), make_partner(hub, "Bolt")
    first = client.post("/api/v1/referrals", json={"company_name": "Initech", "company_domain": "initech.com"},
                        headers=a.auth).json()
    assert first["status"] == "received"
    second = client.post("/api/v1/referrals", json={"company_name": "Initech Inc", "company_domain": "initech.com"},
                         headers=b.auth)
    body = second.json()
    assert second.status_code == 202 and body["status"] == "conflict"
    assert "another channel" in body["reason"] and "Acme" not in body["reason"] and a.id not in body["reason"]
    with hub.store.engine.connect() as conn:
        inbox = conn.execute(select(t.inbox.c.external_id)).scalars().all()
        held = q.get_referral(conn, body["id"], None)
    assert inbox == [first["id"]]  # the held referral is not in the pipeline
    assert held is not None and a.id in (held.conflict_detail or "")  # ops see who
    detail = client.get(f"/api/v1/referrals/{body['id']}", headers=b.auth).json()
    assert detail["status"] == "conflict" and a.id not in str(detail)


def test_conflict_with_an_open_lead_and_ops_decisions(hub: Hub, client: TestClient, make_partner: Callable) -> None:
    from connectors.partner import service

    a, b = make_partner(hub, "Acme"), make_partner(hub, "Bolt")
    first = client.post("/api/v1/referrals", json=GLOBEX, headers=a.auth).json()
    hub.sync_once()  # Globex now has a routed lead
    with hub.store.engine.begin() as conn:  # outside the protection window: only the open lead conflicts
        conn.execute(t.metadata.tables["referrals"].update().values(company_key="old"))
    held = client.post("/api/v1/referrals", json={"company_name": "Globex", "company_domain": "globex.com"},
                       headers=b.auth).json()
    assert held["status"] == "conflict" and "already working" in held["reason"]
    rejected = client.post("/api/v1/referrals", json={"company_name": "Globex", "company_domain": "globex.com"},
                           headers=b.auth).json()
    assert service.approve(hub, held["id"], "joint deal agreed with the channel team")
    assert not service.approve(hub, held["id"], "twice")  # no longer held
    assert service.reject(hub, rejected["id"], "Globex is a direct account")
    hub.sync_once()
    approved = client.get(f"/api/v1/referrals/{held['id']}", headers=b.auth).json()
    assert approved["status"] == "routed"  # joined the open lead
    assert [h["status"] for h in approved["history"]][:3] == ["received", "conflict", "approved"]
    refused = client.get(f"/api/v1/referrals/{rejected['id']}", headers=b.auth).json()
    assert refused["status"] == "rejected" and refused["reason"] == "Globex is a direct account"
    assert first["id"] != held["id"]


def test_outcome_is_visible_after_the_deal_closes(hub: Hub, client: TestClient, make_partner: Callable) -> None:
    from hub.schema import LeadStatus, Outcome

    p = make_partner(hub, "Acme")
    ref = client.post("/api/v1/referrals", json=GLOBEX, headers=p.auth).json()["id"]
    hub.sync_once()
    lead_id = client.get(f"/api/v1/referrals/{ref}", headers=p.auth).json()
    with hub.store.engine.connect() as conn:
        lead = conn.execute(select(t.leads.c.id)).scalar_one()
    hub.pipeline.record_outcome(Outcome(lead_id=lead, status=LeadStatus.WON, amount=48000.0,
                                      reason="signed 3-year deal", reported_by="salesforce"))
    detail = client.get(f"/api/v1/referrals/{ref}", headers=p.auth).json()
    assert detail["status"] == "won"
    assert detail["outcome"]["amount"] == 48000.0 and detail["outcome"]["reason"] == "signed 3-year deal"
    assert [h["status"] for h in detail["history"]][-2:] == ["accepted", "won"]
    assert lead_id["status"] == "routed"


def test_invalid_fields_name_the_field(hub: Hub, client: TestClient, make_partner: Callable) -> None:
    p = make_partner(hub, "Acme")
    r = client.post("/api/v1/referrals", json={"company_name": "", "contact_email": "nope"}, headers=p.auth)
    assert r.status_code == 422
    locs = {tuple(e["loc"]) for e in r.json()["detail"]}
    assert ("body", "company_name") in locs and ("body", "contact_email") in locs
