"""Fixtures for the partner channel: a hub with the partner connector on a real SQLite file, and a
real HTTP receiver on loopback for callbacks."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from http.server import ThreadingHTTPServer
from typing import Any

import pytest
from fastapi.testclient import TestClient
from partner_helpers import Receiver

import connectors.partner
from connectors.partner import keys
from connectors.partner import store as q
from hub.runtime import Hub
from hub.server.app import create_app


@dataclass
class PartnerKey:
    id: str
    key: str
    secret: str | None = None

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.key}"}


def add_partner(hub: Hub, name: str, callback_url: str | None = None) -> PartnerKey:
    """What `leadhub partners add` does (the CLI itself is tested in test_cli.py)."""
    key = keys.new_key()
    secret = keys.new_callback_secret() if callback_url else None
    with hub.store.engine.begin() as conn:
        row = q.add_partner(conn, name=name, email=f"{name.lower()}@partner.example",
                            key_prefix=keys.prefix_of(key) or "", key_hash=keys.hash_key(key),
                            callback_url=callback_url, callback_secret=secret)
    return PartnerKey(row.id, key, secret)


@pytest.fixture
def make_partner() -> Callable[..., PartnerKey]:
    return add_partner


@pytest.fixture
def partner_hub(hub_factory: Callable[..., Hub], sqlite_url: str) -> Callable[..., Hub]:
    def make(db: str | None = None, **partner_settings: Any) -> Hub:
        return hub_factory(db or sqlite_url, extra_plugins=(connectors.partner,),
                           connectors={"partner": {"type": "partner", **partner_settings}})
    return make


@pytest.fixture
def hub(partner_hub: Callable[..., Hub]) -> Hub:
    return partner_hub()


@pytest.fixture
def client(hub: Hub) -> Iterator[TestClient]:
    # Workers off: tests drive processing and delivery explicitly with hub.sync_once().
    with TestClient(create_app(hub, start_workers=False)) as c:
        yield c


@pytest.fixture
def receiver() -> Iterator[tuple[str, type[Receiver]]]:
    """``(url, handler class)``; ``handler.got`` fills as callbacks arrive, ``handler.event`` is set."""
    handler = type("TestReceiver", (Receiver,), {"got": [], "event": threading.Event()})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/hook", handler
    server.shutdown()
    server.server_close()
