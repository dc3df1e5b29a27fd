"""Ops reject a held referral: the partner's callback URL gets a signed ``rejected`` callback.

The referral never became a lead, so the callback is queued in ``referral_events`` with the
decision and sent by the partner connector: explicitly here, and by the daemon's callback pump
(in the daemon's process, or after `leadhub referrals reject` from another process).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta
from types import SimpleNamespace
from typing import Any

import httpx
import pytest
import respx
from fastapi.testclient import TestClient
from partner_helpers import Receiver
from sqlalchemy import select

from connectors.partner import service
from connectors.partner import store as q
from connectors.partner.callbacks import (
    DELIVERY_HEADER,
    EVENT_HEADER,
    SIGNATURE_HEADER,
    CallbackSender,
    verify,
)
from connectors.partner.connector import PartnerConnector
from connectors.partner.tables import referral_events
from hub.runtime import Hub
from hub.server.app import create_app
from hub.store import tables as t

INITECH = {"company_name": "Initech", "company_domain": "initech.com"}
URL = "https://hooks.bolt.example/leadhub"
REASON = "Initech is a direct account"


def _held_referral(client: TestClient, first: Any, second: Any) -> str:
    """``second`` refers a company ``first`` just referred: held for channel conflict."""
    assert client.post("/api/v1/referrals", json=INITECH, headers=first.auth).json()["status"] == "received"
    held = client.post("/api/v1/referrals", json=INITECH, headers=second.auth).json()
    assert held["status"] == "conflict"
    return str(held["id"])


def _partner_connector(hub: Hub) -> PartnerConnector:
    connector = hub.connectors["partner"]
    assert isinstance(connector, PartnerConnector)
    return connector


def test_rejection_is_posted_signed_to_the_partner(hub: Hub, client: TestClient, make_partner: Callable,
                                                   receiver: tuple[str, type[Receiver]]) -> None:
    url, handler = receiver
    a, b = make_partner(hub, "Acme"), make_partner(hub, "Bolt", callback_url=url)
    ref = _held_referral(client, a, b)
    assert service.reject(hub, ref, REASON)
    with hub.store.engine.connect() as conn:
        assert conn.execute(select(t.outbox).where(t.outbox.c.kind == "outcome")).first() is None  # no lead
        assert [e["status"] for e in q.events_of(conn, ref)] == ["pending"]

    tally = _partner_connector(hub).deliver_events()
    assert (tally.sent, tally.retried, tally.dead) == (1, 0, 0)
    assert handler.event.wait(5)
    [(headers, body)] = handler.got
    assert verify(b.secret, body, headers[SIGNATURE_HEADER])
    assert headers[EVENT_HEADER] == "referral.status_changed" and headers[DELIVERY_HEADER].startswith("partner-ev")
    payload = json.loads(body)
    assert payload["referral_ids"] == [ref] and payload["status"] == "rejected"
    assert payload["reason"] == REASON and payload["company"] == "Initech" and payload["amount"] is None
    assert a.id not in body.decode() and "Acme" not in body.decode()  # names no other partner
    with hub.store.engine.connect() as conn:
        assert [e["status"] for e in q.events_of(conn, ref)] == ["done"]
    assert _partner_connector(hub).deliver_events().claimed == 0  # sent once
    detail = client.get(f"/api/v1/referrals/{ref}", headers=b.auth).json()
    assert detail["status"] == "rejected" and detail["reason"] == REASON


def test_no_callback_url_means_nothing_is_queued(hub: Hub, client: TestClient, make_partner: Callable) -> None:
    a, b = make_partner(hub, "Acme"), make_partner(hub, "Bolt")
    ref = _held_referral(client, a, b)
    assert service.reject(hub, ref, REASON)
    assert not service.reject(hub, ref, "twice")  # no longer held: nothing more is queued either
    with hub.store.engine.connect() as conn:
        assert q.events_of(conn, ref) == []


def test_failing_rejection_callback_is_retried_later_then_given_up(
        partner_hub: Callable, make_partner: Callable) -> None:
    hub = partner_hub(callback_retry_initial_seconds=30)
    a, b = make_partner(hub, "Acme"), make_partner(hub, "Bolt", callback_url=URL)
    connector = _partner_connector(hub)
    connector.use_sender(CallbackSender(timeout=2, attempts=2, backoff_initial=0.01, backoff_max=0.02))
    with TestClient(create_app(hub, start_workers=False)) as client:
        ref = _held_referral(client, a, b)
    service.reject(hub, ref, REASON)
    with respx.mock() as mock:
        route = mock.post(URL).mock(return_value=httpx.Response(503))
        first = connector.deliver_events()
        assert route.call_count == 2 and first.retried == 1  # two quick tries, then later
        with hub.store.engine.connect() as conn:
            [event] = q.events_of(conn, ref)
        assert event["status"] == "pending" and event["attempts"] == 1 and "503" in event["last_error"]
        assert b.secret not in event["last_error"]
        assert connector.deliver_events().claimed == 0  # not due yet: backoff
        with hub.store.engine.begin() as conn:  # time passes
            conn.execute(referral_events.update().values(next_attempt_at=event["created_at"]))
        mock.post(URL).mock(return_value=httpx.Response(410))  # the partner's endpoint is gone
        assert connector.deliver_events().dead == 1
    with hub.store.engine.connect() as conn:
        [event] = q.events_of(conn, ref)
    assert event["status"] == "dead" and "410" in event["last_error"]


def test_the_daemon_sends_rejections_decided_in_another_process(
        partner_hub: Callable, make_partner: Callable, receiver: tuple[str, type[Receiver]]) -> None:
    """`leadhub referrals reject` only writes the store; the running daemon's pump sends the callback."""
    url, handler = receiver
    hub = partner_hub(callback_poll_seconds=0.05)
    a, b = make_partner(hub, "Acme"), make_partner(hub, "Bolt", callback_url=url)
    with TestClient(create_app(hub)) as client:  # workers on, so the callback pump runs
        assert _partner_connector(hub).pump.running
        ref = _held_referral(client, a, b)
        cli_like = SimpleNamespace(store=hub.store, intake=None, plugins=None, mappings=None)  # no connectors
        assert service.reject(cli_like, ref, REASON)  # type: ignore[arg-type]
        assert handler.event.wait(10), "the daemon did not send the rejection callback"
    assert not _partner_connector(hub).pump.running  # stopped with the app
    statuses = [json.loads(body)["status"] for _, body in handler.got]
    assert "rejected" in statuses
    [(headers, body)] = [(h, body) for h, body in handler.got if json.loads(body)["status"] == "rejected"]
    assert verify(b.secret, body, headers[SIGNATURE_HEADER]) and json.loads(body)["referral_ids"] == [ref]


def test_no_pump_without_workers(hub: Hub, client: TestClient) -> None:
    assert not _partner_connector(hub).pump.running


@pytest.mark.postgres
def test_rejection_callbacks_on_postgres_are_claimed_once(partner_hub: Callable, pg_url: str,
                                                           make_partner: Callable,
                                                           receiver: tuple[str, type[Receiver]]) -> None:
    from hub.schema import utcnow

    url, handler = receiver
    hub = partner_hub(pg_url)
    a, b = make_partner(hub, "Acme"), make_partner(hub, "Bolt", callback_url=url)
    with TestClient(create_app(hub, start_workers=False)) as client:
        ref = _held_referral(client, a, b)
    assert service.reject(hub, ref, REASON)
    # Two daemons looking at once: the row is locked (SKIP LOCKED) and then leased, never shared.
    with hub.store.engine.begin() as first:
        mine = q.claim_events(first, "partner", limit=10, now=utcnow(), lease=timedelta(minutes=5))
        with hub.store.engine.begin() as second:
            assert q.claim_events(second, "partner", limit=10, now=utcnow(), lease=timedelta(minutes=5)) == []
    assert [e["referral_id"] for e in mine] == [ref]
    with hub.store.engine.begin() as conn:  # the lease ends (as after a crash mid-send)
        conn.execute(referral_events.update().values(next_attempt_at=utcnow()))
    assert _partner_connector(hub).deliver_events().sent == 1
    assert handler.event.wait(5) and json.loads(handler.got[0][1])["status"] == "rejected"
