"""Routing through the engine on a real store: time away is stored, a lead nobody can take waits
qualified with the reason in words, and the SLA watch routes it when someone is back."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from connectors.file import import_file
from hub.review.explain import explain, lead_details
from hub.runtime import Hub
from hub.store import routing as q
from hub.store import tables as t

NOW = datetime(2026, 3, 4, 15, 0, tzinfo=UTC)  # a Wednesday
CSV = """Email,First Name,Last Name,Company,Website,Country,Product,Activity,Notes
ann@acme.com,Ann,Lee,Acme Inc,https://www.acme.com,US,widgets,demo_request,hot
dina@initech.io,Dina,Ng,Initech,initech.io,US,widgets,contact_sales,
"""
ROUTING = {"teams": [{"name": "us", "members": {"jane": 2, "omar": 1}, "working_hours": "08:00-18:00",
                      "timezone": "America/New_York"}],
           "rules": [{"name": "us", "country": ["US"], "team": "us"}]}


@pytest.fixture
def hub(db_url: str, hub_factory: Callable[..., Hub]) -> Hub:
    made = hub_factory(db_url, routing=ROUTING)
    made.pipeline.clock = lambda: NOW
    return made


def test_nobody_available_waits_then_is_routed_when_someone_returns(hub: Hub, tmp_path: Path) -> None:
    with hub.store.engine.begin() as conn:
        q.add_away(conn, "jane", NOW - timedelta(days=1), NOW + timedelta(hours=2), "vacation", "test")
        q.add_away(conn, "omar", NOW - timedelta(days=1), None, "parental leave", "test")
    (tmp_path / "in.csv").write_text(CSV)
    import_file(tmp_path / "in.csv", hub.intake, source="fair")
    hub.process_pending()
    with hub.store.engine.connect() as conn:
        leads = {r["account_name"]: r for r in hub.store.leads_page(conn, limit=10)}
        assert conn.execute(select(t.routing_assignments)).first() is None
    acme = leads["Acme Inc"]
    assert acme["status"] == "qualified" and acme["owner_id"] is None
    details = lead_details(hub, acme["id"])
    assert details is not None
    why = explain(details["audit"])["owner"]
    assert why.startswith("waits qualified: rule 'us' (country in US) sends it to team us, and nobody there")
    assert "Jane Doe away until 2026-03-04 17:00 UTC (vacation)" in why and "Omar Haddad away (parental leave)" in why

    assert hub.pipeline.check_sla(NOW + timedelta(hours=1)) == 0  # still away: nothing new is audited
    with hub.store.engine.connect() as conn:
        assert len([e for e in hub.store.audit_trail(conn, acme["id"]) if e["action"] == "route"]) == 1

    assert hub.pipeline.check_sla(NOW + timedelta(hours=3)) == 2  # jane is back
    with hub.store.engine.connect() as conn:
        leads = {r["account_name"]: r for r in hub.store.leads_page(conn, limit=10)}
        rows = conn.execute(select(t.routing_assignments).order_by(t.routing_assignments.c.id)).mappings().all()
    assert leads["Acme Inc"]["status"] == "routed" and leads["Acme Inc"]["owner_id"] == "jane"
    assert [(r["owner_id"], r["team"], r["rule"]) for r in rows] == [("jane", "us", "us")] * 2
    details = lead_details(hub, acme["id"])
    assert details is not None
    assert explain(details["audit"])["owner"].startswith(
        "routed to Jane Doe: rule 'us' (country in US) -> team us: Jane Doe, next in line: fewest leads for their "
        "weight")


def test_weights_hold_across_batches_on_the_store(hub: Hub, tmp_path: Path) -> None:
    lines = ["Email,First Name,Last Name,Company,Website,Country,Product,Activity,Notes"]
    lines += [f"p{i}@co{i}.com,P,L,Co {i},co{i}.com,US,widgets,demo_request," for i in range(30)]
    (tmp_path / "in.csv").write_text("\n".join(lines) + "\n")
    import_file(tmp_path / "in.csv", hub.intake, source="fair")
    hub.process_pending(max_batches=None)
    with hub.store.engine.connect() as conn:
        owners = [r["owner_id"] for r in hub.store.leads_page(conn, limit=100)]
    assert owners.count("jane") == 20 and owners.count("omar") == 10
