"""Fixtures for the partner channel: a hub with the partner connector on a real SQLite file."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.testclient import TestClient

import connectors.partner
from connectors.partner import keys
from hub.runtime import Hub
from hub.store import partners as q
from hub.web import create_app


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
        row = q.add_partner(conn, name=name, email=f"{name.lower()}@partner.example", key_prefix=keys.prefix_of(key) or "",
                            key_hash=keys.hash_key(key), callback_url=callback_url, callback_secret=secret)
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
