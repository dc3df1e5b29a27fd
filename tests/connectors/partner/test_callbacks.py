"""Outcome callbacks: signed POSTs to the partner's URL, retried; respx and a real loopback receiver."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import httpx
import respx
from fastapi.testclient import TestClient
from partner_helpers import Receiver
from sqlalchemy import select

from connectors.partner.callbacks import SIGNATURE_HEADER, CallbackSender, sign, verify
from hub.runtime import Hub
from hub.store import tables as t

GLOBEX = {"company_name": "Globex", "company_domain": "globex.com", "contact_email": "ann@globex.com"}
URL = "https://partner.example/hooks/leadhub"


def fast_sender() -> CallbackSender:
    return CallbackSender(timeout=2, attempts=3, backoff_initial=0.01, backoff_max=0.02)


def test_signature_round_trip_and_tampering() -> None:
    body = b'{"status":"won"}'
    header = sign("whsec_x", body, 1_700_000_000)
    assert verify("whsec_x", body, header, now=1_700_000_010)
    assert not verify("whsec_y", body, header, now=1_700_000_010)
    assert not verify("whsec_x", body + b" ", header, now=1_700_000_010)
    assert not verify("whsec_x", body, header, now=1_700_009_999)  # too old: replay refused


def _routed_referral(hub: Hub, client: TestClient, partner: Any) -> str:
    ref = client.post("/api/v1/referrals", json=GLOBEX, headers=partner.auth).json()["id"]
    hub.process_pending()
    return str(ref)


def test_routed_outcome_is_posted_signed_with_retries(hub: Hub, client: TestClient, make_partner: Callable) -> None:
    p = make_partner(hub, "Acme", callback_url=URL)
    hub.connectors["partner"].use_sender(fast_sender())  # type: ignore[attr-defined]
    ref = _routed_referral(hub, client, p)
    seen: list[httpx.Request] = []

    def receiver(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(503 if len(seen) == 1 else 200)

    with respx.mock(assert_all_called=True) as mock:
        mock.post(URL).mock(side_effect=receiver)
        result = hub.deliverer.deliver_due()
    assert result.sent >= 1
    assert len(seen) == 2  # one 503, then delivered
    body = seen[-1].content
    assert verify(p.secret, body, seen[-1].headers[SIGNATURE_HEADER])
    assert seen[0].headers["X-LeadHub-Delivery"] == seen[1].headers["X-LeadHub-Delivery"]
    payload = json.loads(body)
    assert payload["status"] == "routed" and payload["referral_ids"] == [ref]
    assert payload["owner_first_name"] == "Jane" and p.secret not in body.decode()


def test_failing_callback_is_retried_later_then_dead_lettered(partner_hub: Callable, make_partner: Callable) -> None:
    from hub.server.app import create_app

    hub = partner_hub()
    p = make_partner(hub, "Acme", callback_url=URL)
    hub.connectors["partner"].use_sender(fast_sender())  # type: ignore[attr-defined]
    with TestClient(create_app(hub, start_workers=False)) as client:
        _routed_referral(hub, client, p)
    with respx.mock() as mock:
        route = mock.post(URL).mock(return_value=httpx.Response(500))
        first = hub.deliverer.deliver_due()
        assert route.call_count == 3 and first.retried == 1
        with hub.store.engine.connect() as conn:
            row = conn.execute(select(t.outbox).where(t.outbox.c.kind == "outcome")).mappings().one()
        assert row["status"] == "pending" and "500" in row["last_error"] and p.secret not in row["last_error"]
        mock.post(URL).mock(return_value=httpx.Response(410))
        with hub.store.engine.begin() as conn:  # due now
            conn.execute(t.outbox.update().values(next_attempt_at=row["created_at"]))
        hub.deliverer.deliver_due()
    with hub.store.engine.connect() as conn:
        dead = hub.store.dead_letters(conn)
    assert len(dead) == 1 and "410" in dead[0]["error"]


def test_real_loopback_receiver_gets_every_status_change(hub: Hub, client: TestClient, make_partner: Callable,
                                                          receiver: tuple[str, type[Receiver]]) -> None:
    from hub.schema import LeadStatus, Outcome

    url, handler = receiver
    p = make_partner(hub, "Acme", callback_url=url)
    ref = _routed_referral(hub, client, p)
    hub.deliverer.deliver_due()
    assert handler.event.wait(5)
    with hub.store.engine.connect() as conn:
        lead_id = conn.execute(select(t.leads.c.id)).scalar_one()
    hub.pipeline.record_outcome(Outcome(lead_id=lead_id, status=LeadStatus.ACCEPTED, reported_by="salesforce"))
    hub.deliverer.deliver_due()
    statuses = [json.loads(body)["status"] for _, body in handler.got]
    for headers, body in handler.got:
        assert verify(p.secret, body, headers[SIGNATURE_HEADER])
        assert json.loads(body)["referral_ids"] == [ref]
    assert statuses[0] == "routed"
    assert statuses == ["routed", "accepted"], statuses


def test_callbacks_reach_a_partner_connector_under_another_instance_name(
        hub_factory: Callable[..., Hub], sqlite_url: str, make_partner: Callable,
        receiver: tuple[str, type[Receiver]]) -> None:
    """No partner-specific normalizer: the engine names the instance as the activity's source."""
    import connectors.partner
    from hub.server.app import create_app

    url, handler = receiver
    hub = hub_factory(sqlite_url, extra_plugins=(connectors.partner,), connectors={"channel": {"type": "partner"}})
    p = make_partner(hub, "Acme", callback_url=url)
    with TestClient(create_app(hub, start_workers=False)) as client:
        ref = _routed_referral(hub, client, p)
        assert client.get(f"/api/v1/referrals/{ref}", headers=p.auth).json()["status"] == "routed"
    with hub.store.engine.connect() as conn:
        sources = conn.execute(select(t.activities.c.source)).scalars().all()
    assert sources == ["channel"]
    hub.deliverer.deliver_due()
    assert handler.event.wait(5)
    headers, body = handler.got[0]
    assert verify(p.secret, body, headers[SIGNATURE_HEADER])
    assert json.loads(body)["referral_ids"] == [ref] and headers["X-LeadHub-Delivery"].startswith("channel-")
