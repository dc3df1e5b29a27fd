"""The recycle window: a lead sales gave back absorbs new activity of its account and product line
only within ``pipeline.recycle_window_days`` of being recycled; after that a new lead opens, and
the audit says why. Won and lost leads never absorb. Real SQLite file and real PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from connectors.file import import_file
from hub.cli.main import app
from hub.runtime import Hub
from hub.schema import Lead, LeadStatus, Outcome, utcnow
from hub.store import tables as t

HEADER = "Email,First Name,Last Name,Company,Website,Country,Product,Activity\n"
ANN = "ann@acme.example,Ann,Lee,Acme,acme.example,US,widgets,demo_request"
BO = "bo@acme.example,Bo,Ek,Acme,acme.example,US,widgets,webinar"
_n = 0


def feed(hub: Hub, tmp_path: Path, row: str) -> Any:
    global _n
    _n += 1
    path = tmp_path / f"r{_n}.csv"
    path.write_text(HEADER + row + "\n", encoding="utf-8")
    import_file(path, hub.intake, source=f"s{_n}")
    return hub.process_pending()


def leads(hub: Hub) -> list[Lead]:
    with hub.store.engine.connect() as conn:
        ids = [r[0] for r in conn.execute(select(t.leads.c.id).order_by(t.leads.c.created_at))]
        found = hub.store.leads_by_ids(conn, ids)
    return [found[i] for i in ids]


def recycled_lead(hub: Hub, tmp_path: Path, days_ago: float) -> Lead:
    """Ann's demo request is routed; the rep rejects it ``days_ago`` days ago; it goes back to nurture."""
    feed(hub, tmp_path, ANN)
    (lead,) = leads(hub)
    assert lead.status == LeadStatus.ROUTED and lead.recycled_at is None
    when = utcnow() - timedelta(days=days_ago)
    hub.pipeline.record_outcome(Outcome(lead_id=lead.id, status=LeadStatus.REJECTED, reason="no budget",
                                      reported_by="salesforce", at=when))
    hub.pipeline.record_outcome(Outcome(lead_id=lead.id, status=LeadStatus.NURTURE, reported_by="hub"))
    (lead,) = leads(hub)
    assert lead.status == LeadStatus.NURTURE
    assert lead.recycled_at is not None and abs((lead.recycled_at - when).total_seconds()) < 1
    return lead


def test_recycled_within_the_window_joins(db_url: str, tmp_path: Path, hub_factory: Callable[..., Hub]) -> None:
    hub = hub_factory(db_url)
    old = recycled_lead(hub, tmp_path, days_ago=10)
    got = feed(hub, tmp_path, BO)
    assert (got.leads_created, got.leads_merged) == (0, 1)
    (lead,) = leads(hub)
    assert lead.id == old.id and [a.kind for a in lead.activities] == ["demo_request", "webinar"]
    # The demo request's points are still on it: it qualifies again and is with sales, no longer recycled.
    assert lead.status == LeadStatus.ROUTED and lead.recycled_at is None


def test_recycled_after_the_window_opens_a_new_lead(
        db_url: str, tmp_path: Path, hub_factory: Callable[..., Hub]) -> None:
    hub = hub_factory(db_url)
    old = recycled_lead(hub, tmp_path, days_ago=100)
    got = feed(hub, tmp_path, BO)
    assert (got.leads_created, got.leads_merged) == (1, 0)
    first, second = leads(hub)
    assert first.id == old.id and [a.kind for a in first.activities] == ["demo_request"]
    assert second.account_id == old.account_id and second.product_line == "widgets"
    assert [a.kind for a in second.activities] == ["webinar"] and second.recycled_at is None
    with hub.store.engine.connect() as conn:
        new_trail = hub.store.audit_trail(conn, second.id)
        old_trail = hub.store.audit_trail(conn, first.id)
    (why,) = [e for e in new_trail if e["action"] == "recycle"]
    assert old.id in why["reason"] and "90-day recycle window" in why["reason"] and "100 days" in why["reason"]
    assert any(e["action"] == "recycle" and second.id in e["reason"] for e in old_trail)
    # Later activity joins the new lead, not the expired one.
    again = feed(hub, tmp_path, "cy@acme.example,Cy,Ho,Acme,acme.example,US,widgets,newsletter")
    assert (again.leads_created, again.leads_merged) == (0, 1)
    assert [len(lead.activities) for lead in leads(hub)] == [1, 2]

    # `leads show` says why the new lead opened.
    cfg = tmp_path / "hub.toml"
    if db_url.startswith("sqlite"):
        cfg.write_text(f'[hub]\ndatabase_url = "{db_url}"\n'
                       f'mappings_dir = "{Path(__file__).resolve().parents[2] / "mappings"}"\n')
        shown = CliRunner().invoke(app, ["leads", "show", second.id, "--config", str(cfg)])
        assert shown.exit_code == 0 and "recycled: opened a new lead" in " ".join(shown.stdout.split())


def test_the_window_is_configurable(db_url: str, tmp_path: Path, hub_factory: Callable[..., Hub]) -> None:
    hub = hub_factory(db_url, pipeline={"recycle_window_days": 5})
    recycled_lead(hub, tmp_path, days_ago=6)
    got = feed(hub, tmp_path, BO)
    assert got.leads_created == 1
    (why,) = [e for lead in leads(hub)[1:] for e in _trail(hub, lead.id) if e["action"] == "recycle"]
    assert "5-day recycle window" in why["reason"]


def _trail(hub: Hub, lead_id: str) -> list[dict[str, Any]]:
    with hub.store.engine.connect() as conn:
        return hub.store.audit_trail(conn, lead_id)


@pytest.mark.parametrize("closed", [LeadStatus.WON, LeadStatus.LOST])
def test_won_and_lost_leads_never_absorb(
        closed: LeadStatus, db_url: str, tmp_path: Path, hub_factory: Callable[..., Hub]) -> None:
    hub = hub_factory(db_url)
    feed(hub, tmp_path, ANN)
    (lead,) = leads(hub)
    hub.pipeline.record_outcome(Outcome(lead_id=lead.id, status=closed, reported_by="salesforce"))
    got = feed(hub, tmp_path, BO)
    assert (got.leads_created, got.leads_merged) == (1, 0)
    first, second = leads(hub)
    assert first.status == closed and [a.kind for a in first.activities] == ["demo_request"]
    assert second.status == LeadStatus.NURTURE and [a.kind for a in second.activities] == ["webinar"]


def test_when_a_lead_counts_as_recycled() -> None:
    lead = Lead(account_id="acct_1")
    lead.move_to(LeadStatus.NURTURE)
    assert lead.recycled_at is None  # a new lead below the bar was never with sales
    for step in (LeadStatus.QUALIFIED, LeadStatus.ROUTED, LeadStatus.ESCALATED):
        lead.move_to(step)
    at = utcnow() - timedelta(days=3)
    lead.move_to(LeadStatus.NURTURE, at=at)  # clawed back after the SLA
    assert lead.recycled_at == at
    lead.move_to(LeadStatus.QUALIFIED)
    assert lead.recycled_at is None
    lead.move_to(LeadStatus.ROUTED)
    lead.move_to(LeadStatus.REJECTED, at=at)
    lead.move_to(LeadStatus.NURTURE)  # the second step of a rejection: the rejection dates it
    assert lead.recycled_at == at
