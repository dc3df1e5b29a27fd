"""Web form posts in each encoding, browser redirects, field errors, quarantine, size, secret."""

from __future__ import annotations

import hashlib
import hmac
import json

from fastapi.testclient import TestClient
from sqlalchemy import select

from hub.runtime import Hub
from hub.store import tables as t

HTML = {"Accept": "text/html,application/xhtml+xml"}


def inbox(hub: Hub) -> list[dict]:
    with hub.store.engine.connect() as conn:
        return [dict(r) for r in conn.execute(select(t.inbox).order_by(t.inbox.c.id)).mappings()]


def test_json_post_is_committed_before_202_and_becomes_a_routed_lead(hub: Hub, client: TestClient) -> None:
    r = client.post("/forms/demo", json={"email": "ann@globex.com", "name": "Ann Lee", "company": "Globex",
                                         "website": "https://www.globex.com", "activity_kind": "newsletter"})
    assert r.status_code == 202
    ref = r.json()["reference"]
    rows = inbox(hub)
    assert [(x["stream"], x["external_id"], x["status"]) for x in rows] == [("form:demo", ref, "pending")]
    # The form's declaration decides the activity, not the client.
    assert rows[0]["payload"]["activity_kind"] == "demo_request"
    assert hub.wakeup.is_set()
    hub.sync_once()
    with hub.store.engine.connect() as conn:
        lead = conn.execute(select(t.leads)).mappings().one()
        kinds = [a["kind"] for a in conn.execute(select(t.activities)).mappings()]
    assert lead["status"] == "routed" and lead["product_line"] == "analytics"
    assert kinds == ["demo_request"]


def test_urlencoded_browser_post_redirects(hub: Hub, client: TestClient) -> None:
    r = client.post("/forms/demo", data={"email": "bo@initech.com", "name": "Bo", "message": "call me"},
                    headers=HTML, follow_redirects=False)
    assert r.status_code == 303
    assert r.headers["location"] == "https://www.example.com/thanks"
    assert inbox(hub)[0]["payload"]["message"] == "call me"


def test_multipart_post_is_accepted(hub: Hub, client: TestClient) -> None:
    r = client.post("/forms/demo", data={"email": "cy@hooli.com", "company": "Hooli"},
                    files={"cv": ("cv.pdf", b"%PDF-1.4")}, headers={"Accept": "application/json"})
    # Forms take no uploads.
    assert r.status_code == 422
    r = client.post("/forms/demo", files={"email": (None, "cy@hooli.com"), "company": (None, "Hooli")})
    assert r.status_code == 202, r.text
    assert inbox(hub)[0]["payload"]["company"] == "Hooli"


def test_undeclared_fields_are_dropped(hub: Hub, client: TestClient) -> None:
    client.post("/forms/demo", json={"email": "d@x-corp.com", "utm_source": "ads", "evil": "x" * 100})
    payload = inbox(hub)[0]["payload"]
    assert payload["utm_source"] == "ads" and "evil" not in payload


def test_field_errors_json_list_each_field_and_person_is_quarantined(hub: Hub, client: TestClient) -> None:
    r = client.post("/forms/demo", json={"email": "not-an-email", "name": "Eve", "message": "x" * 6000})
    assert r.status_code == 422
    fields = {tuple(e["loc"]): e["msg"] for e in r.json()["detail"]}
    assert ("body", "email") in fields and ("body", "message") in fields
    assert inbox(hub) == []
    with hub.store.engine.connect() as conn:
        q = hub.store.quarantined(conn)
    assert len(q) == 1 and q[0]["stream"] == "form:demo" and "email" in q[0]["reason"]
    assert q[0]["raw"]["name"] == "Eve"


def test_missing_email_browser_gets_readable_page(hub: Hub, client: TestClient) -> None:
    r = client.post("/forms/demo", data={"name": ""}, headers=HTML)
    assert r.status_code == 422
    assert "text/html" in r.headers["content-type"]
    assert "email" in r.text and "is required" in r.text
    with hub.store.engine.connect() as conn:
        assert hub.store.quarantined(conn) == []  # nothing that looks like a person: not kept


def test_unknown_form_and_bad_content_type(client: TestClient) -> None:
    assert client.post("/forms/nope", json={"email": "a@b.co"}).status_code == 404
    r = client.post("/forms/demo", content=b"email=a", headers={"Content-Type": "text/plain"})
    assert r.status_code == 415
    assert client.post("/forms/demo", content=b"{bad", headers={"Content-Type": "application/json"}).status_code == 400
    assert client.post("/forms/demo", json=["a"]).status_code == 422


def test_oversize_body_is_413_per_form_and_app_wide(hub: Hub, client: TestClient) -> None:
    r = client.post("/forms/tiny", json={"email": "a@b.co", "message": "x" * 700})
    assert r.status_code == 413
    r = client.post("/forms/demo", json={"email": "a@b.co", "message": "x" * 70_000})
    assert r.status_code == 413
    assert inbox(hub) == []


def test_honeypot_is_counted_not_stored(hub: Hub, client: TestClient) -> None:
    from connectors.webform.guard import SUBMISSIONS

    before = SUBMISSIONS.labels("demo", "spam")._value.get()
    r = client.post("/forms/demo", data={"email": "bot@spam.biz", "fax_number": "123"}, headers=HTML,
                    follow_redirects=False)
    assert r.status_code == 303  # the same answer as success: bots learn nothing
    assert inbox(hub) == []
    with hub.store.engine.connect() as conn:
        assert hub.store.quarantined(conn) == []
    assert SUBMISSIONS.labels("demo", "spam")._value.get() == before + 1
    metrics = client.get("/metrics").text
    assert 'leadhub_webform_submissions_total{form="demo",result="spam"}' in metrics


def test_shared_secret_and_hmac_signature(hub: Hub, client: TestClient) -> None:
    body = json.dumps({"email": "f@umbrella.com", "company": "Umbrella"}).encode()
    plain = {"Content-Type": "application/json"}
    assert client.post("/forms/tools", content=body, headers=plain).status_code == 401
    assert client.post("/forms/tools", content=body,
                       headers={**plain, "X-LeadHub-Form-Secret": "wrong"}).status_code == 401
    assert client.post("/forms/tools", content=body,
                       headers={**plain, "X-LeadHub-Form-Secret": "s3cret-form-key"}).status_code == 202
    sig = hmac.new(b"s3cret-form-key", body, hashlib.sha256).hexdigest()
    assert client.post("/forms/tools", content=body,
                       headers={**plain, "X-LeadHub-Signature": f"sha256={sig}"}).status_code == 202
    tampered = body.replace(b"Umbrella", b"Umbrelle")
    assert client.post("/forms/tools", content=tampered,
                       headers={**plain, "X-LeadHub-Signature": f"sha256={sig}"}).status_code == 401
    assert len(inbox(hub)) == 2


def test_cors_allow_list(client: TestClient) -> None:
    ok = client.options("/forms/demo", headers={"Origin": "https://www.example.com",
                                                "Access-Control-Request-Method": "POST"})
    assert ok.status_code == 204 and ok.headers["access-control-allow-origin"] == "https://www.example.com"
    bad = client.options("/forms/demo", headers={"Origin": "https://evil.example"})
    assert bad.status_code == 403
    r = client.post("/forms/demo", json={"email": "g@example.com"}, headers={"Origin": "https://evil.example"})
    assert r.status_code == 403 and "access-control-allow-origin" not in r.headers
    r = client.post("/forms/demo", json={"email": "g@example.com"}, headers={"Origin": "https://www.example.com"})
    assert r.status_code == 202 and r.headers["access-control-allow-origin"] == "https://www.example.com"


def test_rate_limit_per_ip(webform_hub) -> None:  # type: ignore[no-untyped-def]
    from hub.server.app import create_app

    hub = webform_hub(rate_limit="3/minute")
    with TestClient(create_app(hub, start_workers=False)) as client:
        codes = [client.post("/forms/demo", json={"email": f"p{i}@initech.com"}).status_code for i in range(5)]
        assert codes == [202, 202, 202, 429, 429]
        r = client.post("/forms/demo", json={"email": "q@initech.com"})
        assert int(r.headers["retry-after"]) >= 1
    assert len(inbox(hub)) == 3
