"""The built-in qualification: bars per product line, kinds that always qualify, nurture told once,
and a nurtured lead that crosses its bar later qualifies and is routed, through a real hub."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from connectors.file import import_file
from hub.cli.main import app
from hub.config import load_config
from hub.decisions import QualifyDecision
from hub.errors import ConfigError
from hub.runtime import Hub, build_hub
from hub.schema import Account, Activity, Lead, LeadStatus
from hub.store import tables as t
from plugins.qualify import QualifyPlugin, QualifySettings

ROOT = Path(__file__).resolve().parents[2]
ACME = Account(name="Acme")
HEADER = "Email,First Name,Last Name,Title,Company,Website,Country,Employees,Industry,Product,Activity,Date"


def plugin(threshold: int = 30, **settings: Any) -> QualifyPlugin:
    made = QualifyPlugin()
    made.settings = QualifySettings.model_validate(settings)
    made._threshold = threshold
    return made


def lead(product_line: str = "default", score: int = 0, fit: int = 0, kind: str = "webinar") -> Lead:
    return Lead(account_id="acct_1", product_line=product_line, score=score, fit_score=fit,
                activities=[Activity(kind=kind)])


BARS = {"default": {"engagement": 50}, "payments": {"engagement": 40, "fit": 30},
        "lending": {"engagement": 40, "fit": 30, "need": "either"}}


# -- the decision --------------------------------------------------------------------------------
def test_without_bars_the_pipeline_qualify_score_is_the_bar_in_its_old_words() -> None:
    assert plugin(30).hub_qualify(lead(score=30), ACME) == QualifyDecision(
        True, "qualified: score 30 reaches the bar of 30")
    assert plugin(30).hub_qualify(lead(score=29), ACME) == QualifyDecision(
        False, "nurture: score 29 is below the bar of 30")


@pytest.mark.parametrize(("line", "score", "fit", "qualified", "reason"), [
    ("default", 50, 0, True, "qualified: engagement 50 reaches the default bar of 50"),
    ("widgets", 49, 90, False, "nurture: engagement 49 is below the default bar of 50"),
    ("payments", 35, 40, False, "nurture: engagement 35 is below the payments bar of 40"),
    ("payments", 45, 20, False, "nurture: fit 20 is below the payments bar of 30"),
    ("payments", 45, 30, True, "qualified: engagement 45 reaches the payments bar of 40 and "
                               "fit 30 reaches the payments bar of 30"),
    ("lending", 10, 35, True, "qualified: fit 35 reaches the lending bar of 30"),
    ("lending", 10, 5, False, "nurture: engagement 10 is below the lending bar of 40 and "
                              "fit 5 is below the lending bar of 30 (either would do)"),
])
def test_a_bar_per_product_line_on_both_or_either_score(line: str, score: int, fit: int, qualified: bool,
                                                        reason: str) -> None:
    decision = plugin(bars=BARS).hub_qualify(lead(line, score, fit), ACME)
    assert decision == QualifyDecision(qualified, reason)


def test_kinds_that_always_qualify_are_configurable_and_count_when_newest() -> None:
    assert plugin(bars=BARS).hub_qualify(lead(kind="demo_request"), ACME) == QualifyDecision(
        True, "qualified: demo request always qualifies")
    assert plugin(bars=BARS).hub_qualify(lead(kind="referral"), ACME).qualified
    assert not plugin(bars=BARS, always=["referral"]).hub_qualify(lead(kind="contact_sales"), ACME).qualified
    old = lead(kind="demo_request")
    old.activities.append(Activity(kind="newsletter"))  # a demo request long ago is not a new one
    assert not plugin(bars=BARS).hub_qualify(old, ACME).qualified


@pytest.mark.parametrize(("qualify", "key"), [
    ({"bars": {"payments": {}}}, "plugins.qualify.bars.payments"),
    ({"bars": {"payments": {"engagement": 40, "need": "all"}}}, "plugins.qualify.bars.payments.need"),
    ({"bars": {"payments": {"engagment": 40}}}, "plugins.qualify.bars.payments.engagment"),
    ({"always": "demo_request"}, "plugins.qualify.always"),
])
def test_config_errors_name_the_key(qualify: dict[str, Any], key: str, sqlite_url: str,
                                    hub_factory: Callable[..., Hub]) -> None:
    with pytest.raises(ConfigError) as caught:
        hub_factory(sqlite_url, plugins={"qualify": qualify})
    assert f"  {key}" in str(caught.value)


def test_two_hubs_keep_their_own_bars(tmp_path: Path, hub_factory: Callable[..., Hub]) -> None:
    one = hub_factory(f"sqlite:///{tmp_path / 'one.db'}", plugins={"qualify": {"bars": BARS}})
    two = hub_factory(f"sqlite:///{tmp_path / 'two.db'}", pipeline={"qualify_score": 20})
    asked = [hub.plugins.qualify(lead("payments", 45, 30), ACME) for hub in (one, two)]
    assert [d.reason if d else None for d in asked] == [
        "qualified: engagement 45 reaches the payments bar of 40 and fit 30 reaches the payments bar of 30",
        "qualified: score 45 reaches the bar of 20"]
    asked = [hub.plugins.qualify(lead("default", 25), ACME) for hub in (one, two)]
    assert [d.qualified if d else None for d in asked] == [False, True]


# -- through a real hub ---------------------------------------------------------------------------
def rows(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def import_rows(hub: Hub, tmp_path: Path, name: str, *lines: str) -> None:
    path = tmp_path / f"{name}.csv"
    path.write_text("\n".join([HEADER, *lines]) + "\n", encoding="utf-8")
    import_file(path, hub.intake, source=name)
    hub.process_pending()


def test_nurtured_then_crossing_the_bar_qualifies_and_routes_and_the_source_hears_once(
        db_url: str, tmp_path: Path, hub_factory: Callable[..., Hub]) -> None:
    told = tmp_path / "told.jsonl"
    hub = hub_factory(db_url, connectors={"file": {"type": "file", "path": str(told)}},
                      plugins={"qualify": {"bars": {"widgets": {"engagement": 40}}}})
    import_rows(hub, tmp_path, "expo", "ann@acme.com,Ann,Lee,,Acme,acme.com,US,,,widgets,webinar,2026-03-01")
    with hub.store.engine.connect() as conn:
        (lead_id, status, score), = conn.execute(select(t.leads.c.id, t.leads.c.status, t.leads.c.score))
    assert (status, score) == ("nurture", 10)

    # More activity that stays below the bar: re-scored, still nurture, the source not told again.
    import_rows(hub, tmp_path, "webinar", "bob@acme.com,Bob,Ray,,Acme,acme.com,US,,,widgets,webinar,2026-03-02")
    with hub.store.engine.connect() as conn:
        got = hub.store.get_lead(conn, lead_id)
        outbox = [(r.destination, r.kind) for r in conn.execute(select(t.outbox))]
    assert got is not None and (got.status, got.score) == (LeadStatus.NURTURE, 25)  # 10 + 10 + 5 for Bob
    assert outbox == [("file", "outcome")]

    # It crosses the bar: qualified, routed, delivered; the source hears that too.
    import_rows(hub, tmp_path, "site", "ann@acme.com,Ann,Lee,,Acme,acme.com,US,,,widgets,pricing_page,2026-03-03")
    with hub.store.engine.connect() as conn:
        got = hub.store.get_lead(conn, lead_id)
        trail = [(e["action"], e["reason"]) for e in hub.store.audit_trail(conn, lead_id)]
    assert got is not None and got.status == LeadStatus.ROUTED and got.score == 45
    statuses = [reason for action, reason in trail if action == "status"]
    assert statuses == ["nurture: engagement 10 is below the widgets bar of 40",
                        "qualified: engagement 45 reaches the widgets bar of 40"]
    hub.deliverer.deliver_due()
    heard = [(r["status"], r["reason"]) for r in rows(told) if r["type"] == "outcome"]
    assert heard[0] == ("nurture", "nurture: engagement 10 is below the widgets bar of 40")
    assert [s for s, _ in heard] == ["nurture", "routed"]
    assert [r["lead_id"] for r in rows(tmp_path / "delivered.jsonl") if r["type"] == "lead"] == [lead_id]


def test_fit_and_grade_are_stored_and_shown_by_leads_show(tmp_path: Path) -> None:
    cfg = tmp_path / "hub.toml"
    cfg.write_text(f'''
[hub]
database_url = "sqlite:///{tmp_path / 'fit.db'}"
mappings_dir = "{ROOT / 'mappings'}"

[routing]
strategy = "round_robin"
default_owner = "jane"

[[owners]]
id = "jane"
name = "Jane Doe"

[plugins.scoring.fit]
countries = {{ US = 10 }}

[plugins.qualify]
bars = {{ default = {{ engagement = 30, fit = 50 }} }}
always = []
''', encoding="utf-8")
    hub = build_hub(load_config(cfg))
    try:
        import_rows(hub, tmp_path, "expo",
                    "ann@acme.com,Ann,Lee,Chief Revenue Officer,Acme,acme.com,US,1200,Software,,webinar,2026-03-01",
                    "raj@acme.com,Raj,Iyer,intern,Acme,acme.com,US,,,,demo_request,2026-03-01")
        with hub.store.engine.connect() as conn:
            (lead_id,), = conn.execute(select(t.leads.c.id))
            got = hub.store.get_lead(conn, lead_id)
    finally:
        hub.close()
    assert got is not None
    # Fit: 1,200 employees 30, software 15, US 10, a C-level contact 25; engagement 10 + 40 + 5.
    assert (got.score, got.fit_score, got.grade, got.status) == (55, 80, "A", LeadStatus.ROUTED)

    shown = CliRunner().invoke(app, ["leads", "show", lead_id, "-c", str(cfg)])
    assert shown.exit_code == 0, shown.output
    assert "score 55, fit 80 (grade A)" in shown.stdout
    why = shown.stdout.split("why", 1)[1]
    assert "fit 80, grade A: 1,200 employees (band 1,000+) (+30)" in why.replace("\n", " ")
    assert "Ann Lee is C-level (Chief Revenue Officer) (+25)" in why.replace("\n", " ")
    assert "qualified: engagement 55 reaches the default bar of 30 and fit 80 reaches the default bar of 50" \
        in why.replace("\n", " ")
