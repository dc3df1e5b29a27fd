"""The daemon's web app: health, readiness, Prometheus metrics, the body-size limit and OpenAPI.

The body limit is checked against a real uvicorn server on loopback as well, because only a real
server streams a chunked body (no Content-Length) the way an attacker would send one.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import create_engine

import connectors.webform
from hub import __version__
from hub.runtime import Hub
from hub.server.app import create_app
from sandbox.testing import free_port

LIMIT = 2048  # [server] max_body_bytes for these tests (the form's own limit is higher)


@pytest.fixture
def hub(hub_factory: Callable[..., Hub], sqlite_url: str) -> Hub:
    return hub_factory(sqlite_url, extra_plugins=(connectors.webform,), server={"max_body_bytes": LIMIT},
                       connectors={"webform": {"type": "webform", "rate_limit": "1000/minute",
                                               "forms": {"demo": {"activity_kind": "demo_request",
                                                                  "max_body_bytes": 65536}}}})


def wait_for(what: str, probe: Callable[[], Any], deadline: float = 20.0) -> Any:
    pause = threading.Event()
    end = time.monotonic() + deadline
    while not (got := probe()):
        if time.monotonic() > end:
            pytest.fail(f"timed out waiting for {what}")
        pause.wait(0.02)  # between polls of the condition
    return got


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Prometheus text -> {(sample name, labels): value}; fails if the text does not parse."""
    out = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


def test_health_readiness_and_metrics_follow_the_work(hub: Hub) -> None:
    app = create_app(hub)
    with TestClient(app) as client:
        assert client.get("/healthz").json() == {"status": "ok", "version": __version__}
        ready = client.get("/readyz")
        assert ready.status_code == 200 and ready.json()["status"] == "ready"
        assert ready.json()["backlog"]["inbox_pending"] == 0

        before = samples(client.get("/metrics").text)
        processed_key = ("leadhub_records_processed_total", (("result", "processed"),))
        routed_key = ("leadhub_leads_routed_total", ())
        r = client.post("/forms/demo", json={"email": "ana@acme-widgets.com", "company": "Acme Widgets"})
        assert r.status_code == 202

        def lead_routed() -> bool:
            with hub.store.engine.connect() as conn:
                return any(row["status"] == "routed" for row in hub.store.leads_page(conn, limit=10))
        wait_for("the workers to route the lead", lead_routed)

        metrics = client.get("/metrics")
        assert metrics.headers["content-type"].startswith("text/plain")
        after = samples(metrics.text)
        assert after[processed_key] - before.get(processed_key, 0) == 1
        assert after[routed_key] - before.get(routed_key, 0) == 1
        for queue in ("inbox_pending", "outbox_pending", "quarantine_open", "dead_letters_open"):
            assert ("leadhub_backlog", (("queue", queue),)) in after
        assert after[("leadhub_backlog", (("queue", "inbox_pending"),))] == 0
        assert all(name.startswith("leadhub_") for name, _ in after)

        app.state.workers.stop()
        stopped = client.get("/readyz")
        assert stopped.status_code == 503 and stopped.json()["status"] == "workers stopped"


def test_readyz_is_503_when_the_store_is_gone(hub: Hub, tmp_path: Path) -> None:
    with TestClient(create_app(hub, start_workers=False)) as client:
        assert client.get("/readyz").status_code == 200
        working = hub.store.engine
        # A real database that cannot be opened: its folder does not exist.
        hub.store.engine = create_engine(f"sqlite:///{tmp_path / 'gone' / 'leadhub.db'}")
        try:
            gone = client.get("/readyz")
        finally:
            hub.store.engine.dispose()
            hub.store.engine = working
        assert gone.status_code == 503
        assert gone.json() == {"status": "not ready", "reason": "store: OperationalError"}
        assert client.get("/healthz").status_code == 200, "liveness does not depend on the store"


def test_body_limit_with_content_length(hub: Hub) -> None:
    with TestClient(create_app(hub, start_workers=False)) as client:
        big = client.post("/forms/demo", content=b"email=a%40b.com&message=" + b"x" * LIMIT,
                          headers={"content-type": "application/x-www-form-urlencoded"})
        assert big.status_code == 413
        assert big.json() == {"detail": f"request body is larger than {LIMIT} bytes"}
        bogus = client.post("/forms/demo", content=b"{}", headers={"content-length": "lots"})
        assert bogus.status_code in (400, 413)
        fits = client.post("/forms/demo", json={"email": "ana@acme-widgets.com", "message": "x" * 500})
        assert fits.status_code == 202


@pytest.fixture
def served(hub: Hub) -> Iterator[str]:
    """The app on a real uvicorn server on loopback."""
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(hub, start_workers=False), host="127.0.0.1", port=port,
                                           log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    wait_for("uvicorn to start", lambda: server.started)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(10)


def test_body_limit_without_content_length_on_a_real_server(served: str) -> None:
    def chunks(total: int) -> Iterator[bytes]:
        yield b'{"email": "ana@acme-widgets.com", "message": "'
        for _ in range(total // 256):
            yield b"x" * 256
        yield b'"}'

    with httpx.Client(trust_env=False, timeout=10) as client:
        big = client.post(f"{served}/forms/demo", content=chunks(LIMIT * 4),
                          headers={"content-type": "application/json"})
        assert "content-length" not in {k.lower() for k in big.request.headers}
        assert big.request.headers.get("transfer-encoding") == "chunked"
        assert big.status_code == 413
        assert big.json()["detail"] == f"request body is larger than {LIMIT} bytes"
        small = client.post(f"{served}/forms/demo", content=chunks(512), headers={"content-type": "application/json"})
        assert small.status_code == 202, small.text


def test_openapi_describes_operations_and_forms(hub: Hub) -> None:
    with TestClient(create_app(hub, start_workers=False)) as client:
        schema = client.get("/openapi.json").json()
        assert schema["info"]["title"] == "LeadHub" and schema["info"]["version"] == __version__
        assert {"/healthz", "/readyz", "/forms/{form_id}"} <= set(schema["paths"])
        assert "/metrics" not in schema["paths"], "Prometheus text is not an API operation"
        assert client.get("/docs").status_code == 200
