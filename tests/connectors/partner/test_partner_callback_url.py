"""PUT/GET/DELETE /api/v1/callback: a partner sets its own callback URL; validated, size-limited."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient
from partner_helpers import Receiver
from sqlalchemy import select

from connectors.partner.callbacks import SIGNATURE_HEADER, verify
from hub.runtime import Hub
from hub.server.app import create_app
from hub.store import tables as t

URL = "https://hooks.acme.example/leadhub"


def _stored(hub: Hub, partner_id: str) -> tuple[str | None, str | None]:
    with hub.store.engine.connect() as conn:
        row = conn.execute(select(t.partners.c.callback_url, t.partners.c.callback_secret)
                           .where(t.partners.c.id == partner_id)).one()
    return row[0], row[1]


def test_set_read_rotate_and_remove_the_callback(hub: Hub, client: TestClient, make_partner: Callable) -> None:
    p = make_partner(hub, "Acme")
    first = client.put("/api/v1/callback", json={"url": URL}, headers=p.auth)
    assert first.status_code == 200, first.text
    secret = first.json()["secret"]
    assert first.json()["url"] == URL and secret.startswith("whsec_")
    assert _stored(hub, p.id) == (URL, secret)

    shown = client.get("/api/v1/callback", headers=p.auth).json()
    assert shown == {"url": URL, "secret": None}  # the secret is shown once, never read back

    moved = client.put("/api/v1/callback", json={"url": URL + "/v2"}, headers=p.auth).json()
    assert moved["secret"] is None and _stored(hub, p.id) == (URL + "/v2", secret)  # same secret

    rotated = client.put("/api/v1/callback", json={"url": URL, "rotate_secret": True}, headers=p.auth).json()
    assert rotated["secret"].startswith("whsec_") and rotated["secret"] != secret
    assert _stored(hub, p.id) == (URL, rotated["secret"])

    assert client.delete("/api/v1/callback", headers=p.auth).status_code == 204
    assert client.get("/api/v1/callback", headers=p.auth).json()["url"] is None
    assert _stored(hub, p.id) == (None, None)


@pytest.mark.parametrize("url", [
    "http://hooks.acme.example/leadhub",  # plain http to the internet
    "ftp://hooks.acme.example/",
    "https://user:pw@hooks.acme.example/",  # credentials in the URL
    "https://10.1.2.3/hook",  # private network
    "https://169.254.169.254/latest/meta-data",  # cloud metadata (link-local)
    "https://127.1/hook",  # loopback in short notation
    "http://127.0.0.1:8080/hook",  # loopback: not allowed by default
    "https://localhost/hook",
    "https://intranet/hook",  # not fully qualified
    "https://hooks.acme.example/a b",
    "https://hooks.acme.example/#frag",
    "https://hooks.acme.example:99999/",
    "not a url",
    "https://hooks.acme.example/" + "a" * 2100,  # over the size limit
])
def test_unacceptable_urls_are_refused_naming_the_field(hub: Hub, client: TestClient, make_partner: Callable,
                                                         url: str) -> None:
    p = make_partner(hub, "Acme")
    r = client.put("/api/v1/callback", json={"url": url}, headers=p.auth)
    assert r.status_code == 422, r.text
    assert ["body", "url"] in [e["loc"] for e in r.json()["detail"]]
    assert _stored(hub, p.id) == (None, None)


def test_unknown_fields_and_oversize_bodies_are_refused(hub: Hub, client: TestClient, make_partner: Callable) -> None:
    p = make_partner(hub, "Acme")
    r = client.put("/api/v1/callback", json={"url": URL, "secret": "mine"}, headers=p.auth)
    assert r.status_code == 422  # a partner cannot choose the secret
    big = json.dumps({"url": URL, "rotate_secret": False, "pad": "x" * (hub.config.server.max_body_bytes + 1)})
    r = client.put("/api/v1/callback", content=big, headers={**p.auth, "Content-Type": "application/json"})
    assert r.status_code == 413
    assert _stored(hub, p.id) == (None, None)


def test_callback_endpoints_need_a_key_and_act_on_the_callers_row_only(hub: Hub, client: TestClient,
                                                                       make_partner: Callable) -> None:
    a, b = make_partner(hub, "Acme"), make_partner(hub, "Bolt")
    for method in ("put", "get", "delete"):
        kwargs = {"json": {"url": URL}} if method == "put" else {}
        assert getattr(client, method)("/api/v1/callback", **kwargs).status_code == 401
    client.put("/api/v1/callback", json={"url": URL}, headers=a.auth)
    client.put("/api/v1/callback", json={"url": "https://bolt.example/hook"}, headers=b.auth)
    client.delete("/api/v1/callback", headers=b.auth)
    assert _stored(hub, a.id)[0] == URL and _stored(hub, b.id) == (None, None)
    assert client.get("/api/v1/callback", headers=a.auth).json()["url"] == URL


def test_outcomes_reach_the_url_set_through_the_api(partner_hub: Callable, make_partner: Callable,
                                                    receiver: tuple[str, type[Receiver]]) -> None:
    url, handler = receiver
    hub = partner_hub(allow_loopback_callbacks=True)
    p = make_partner(hub, "Acme")  # no callback yet
    with TestClient(create_app(hub, start_workers=False)) as client:
        secret = client.put("/api/v1/callback", json={"url": url}, headers=p.auth).json()["secret"]
        ref = client.post("/api/v1/referrals", json={"company_name": "Globex", "company_domain": "globex.com"},
                          headers=p.auth).json()["id"]
    hub.process_pending()
    hub.deliverer.deliver_due()
    assert handler.event.wait(5)
    headers, body = handler.got[0]
    assert verify(secret, body, headers[SIGNATURE_HEADER])
    assert json.loads(body)["referral_ids"] == [ref] and json.loads(body)["status"] == "routed"
