"""The partner API and form endpoints' OpenAPI schema, fuzzed by schemathesis: no server errors.

Bounded (a few examples per operation, no shrinking) to keep the suite fast. A valid partner key
is sent so the authenticated paths are exercised too, not only the 401s.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings

import connectors.partner
import connectors.webform
from connectors.partner import keys
from connectors.partner import store as q
from hub.runtime import Hub
from hub.server.app import create_app

KEY: dict[str, str] = {}


@pytest.fixture
def api_schema(hub_factory: Callable[..., Hub], sqlite_url: str) -> Any:
    hub = hub_factory(sqlite_url, extra_plugins=(connectors.partner, connectors.webform), connectors={
        "partner": {"type": "partner"},
        "webform": {"type": "webform", "rate_limit": "100000/minute",
                    "forms": {"demo": {"activity_kind": "demo_request"}}},
    })
    key = keys.new_key()
    with hub.store.engine.begin() as conn:
        q.add_partner(conn, name="Fuzz", email="f@fuzz.example", key_prefix=keys.prefix_of(key) or "",
                      key_hash=keys.hash_key(key))
    KEY["value"] = key
    return schemathesis.openapi.from_asgi("/openapi.json", create_app(hub, start_workers=False))


def test_schema_documents_the_channels(api_schema: Any) -> None:
    paths = api_schema.raw_schema["paths"]
    assert {"/api/v1/referrals", "/api/v1/referrals/{referral_id}", "/forms/{form_id}"} <= set(paths)
    assert "application/x-www-form-urlencoded" in paths["/forms/{form_id}"]["post"]["requestBody"]["content"]
    assert api_schema.raw_schema["components"]["securitySchemes"]["HTTPBearer"]["scheme"] == "bearer"


def test_no_server_errors(api_schema: Any) -> None:
    operations = [r.ok() for r in api_schema.include(path_regex="^/(api/v1|forms)/").get_all_operations()]
    assert len(operations) >= 4
    headers = {"Authorization": f"Bearer {KEY['value']}"}
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(max_examples=25, deadline=None, phases=[Phase.explicit, Phase.generate],
                  suppress_health_check=list(HealthCheck))
        def check(case: Any) -> None:
            response = case.call(headers=headers)
            assert response.status_code < 500, (
                f"{case.method} {case.formatted_path}: {response.status_code} {response.text[:300]}")

        check()
