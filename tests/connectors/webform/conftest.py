"""Fixtures for web forms: a hub with two declared forms on a real SQLite file."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

import connectors.webform
from hub.runtime import Hub
from hub.server.app import create_app

FORMS: dict[str, Any] = {
    "demo": {"title": "Request a demo", "activity_kind": "demo_request", "product_line": "analytics",
             "redirect_url": "https://www.example.com/thanks", "allowed_origins": ["https://www.example.com"],
             "fields": ["email", "name", "company", "website", "phone", "message", "utm_source"]},
    "tools": {"title": "Partner tool", "secret": "s3cret-form-key", "fields": ["email", "name", "company"]},
    "tiny": {"max_body_bytes": 600},
}


@pytest.fixture
def webform_hub(hub_factory: Callable[..., Hub], sqlite_url: str) -> Callable[..., Hub]:
    def make(**settings: Any) -> Hub:
        spec = {"type": "webform", "forms": FORMS, "rate_limit": "1000/minute", **settings}
        return hub_factory(sqlite_url, extra_plugins=(connectors.webform,), connectors={"webform": spec})
    return make


@pytest.fixture
def hub(webform_hub: Callable[..., Hub]) -> Hub:
    return webform_hub()


@pytest.fixture
def client(hub: Hub) -> Iterator[TestClient]:
    with TestClient(create_app(hub, start_workers=False)) as c:
        yield c
