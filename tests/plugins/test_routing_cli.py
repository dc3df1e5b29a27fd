"""``leadhub owners`` and ``leadhub routing test|replay`` through typer's CliRunner on a real SQLite file."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from connectors.file import import_file
from hub.cli.main import app
from hub.config import load_config
from hub.runtime import build_hub
from hub.store import tables as t

ROOT = Path(__file__).resolve().parents[2]
OWNERS = """
[[owners]]
id = "jane"
name = "Jane Doe"
timezone = "America/New_York"

[[owners]]
id = "omar"
name = "Omar Haddad"

[[owners]]
id = "kim"
name = "Kim Lee"
"""
ROUTING = """
[[routing.teams]]
name = "us"
members = {{ jane = {jane}, omar = 1 }}

[[routing.rules]]
name = "all"
{target}
"""


def write_config(folder: Path, name: str, *, jane: float = 1, target: str = 'team = "us"') -> Path:
    path = folder / name
    path.write_text(f'database_url = "sqlite:///{folder / "hub.db"}"\nmappings_dir = "{ROOT / "mappings"}"\n'
                    + OWNERS + ROUTING.format(jane=jane, target=target))
    return path


@pytest.fixture
def routed(tmp_path: Path) -> Path:
    """A store with 20 leads routed evenly to jane and omar; returns its hub.toml."""
    config = write_config(tmp_path, "hub.toml")
    hub = build_hub(load_config(config))
    lines = ["Email,First Name,Last Name,Company,Website,Country,Product,Activity,Notes"]
    lines += [f"p{i}@co{i}.com,P,L,Co {i},co{i}.com,US,widgets,demo_request," for i in range(20)]
    (tmp_path / "in.csv").write_text("\n".join(lines) + "\n")
    import_file(tmp_path / "in.csv", hub.intake, source="fair")
    hub.process_pending()
    hub.close()
    return config


def run(*args: str) -> str:
    result = CliRunner().invoke(app, list(args))
    assert result.exit_code == 0, result.output
    return result.output


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_owners_away_and_back_are_stored_audited_and_listed(routed: Path) -> None:
    out = run("owners", "away", "jane", "--until", "2099-01-10", "--reason", "vacation", "-c", str(routed))
    assert "Jane Doe is away from" in out and "until 2099-01-10 05:00 UTC (vacation)" in out  # NY midnight
    listed = json.loads(run("owners", "list", "-c", str(routed), "--json"))
    jane = next(o for o in listed if o["id"] == "jane")
    assert jane["away"].startswith("away until 2099-01-10 05:00 UTC (vacation)") and jane["teams"] == "us (1x)"
    assert jane["open_leads"] == 10
    preview = json.loads(run("routing", "test", "--lead-id", _a_lead(routed), "-c", str(routed), "--json"))
    assert preview["owner"] == "omar" and "Jane Doe away until 2099-01-10" in preview["reason"]
    assert "Jane Doe is back" in run("owners", "back", "jane", "-c", str(routed))
    hub = build_hub(load_config(routed))
    with hub.store.engine.connect() as conn:
        audit = [r["reason"] for r in conn.execute(select(t.audit).where(t.audit.c.action == "owner")).mappings()]
    hub.close()
    assert len(audit) == 2 and "vacation" in audit[0] and "back" in audit[1]


def _a_lead(config: Path) -> str:
    hub = build_hub(load_config(config))
    with hub.store.engine.connect() as conn:
        lead_id = str(conn.execute(select(t.leads.c.id).limit(1)).scalar_one())
    hub.close()
    return lead_id


def test_routing_test_of_a_file_explains_and_writes_nothing(routed: Path, tmp_path: Path) -> None:
    record = {"connector": "fair", "stream": "csv", "external_id": "x1",
              "payload": {"Email": "zed@newco.com", "First Name": "Zed", "Last Name": "Z", "Company": "NewCo",
                          "Website": "newco.com", "Country": "US", "Product": "widgets", "Activity": "demo_request"}}
    inquiry = {"source": record, "contact": {"email": "zed@newco.com"}, "company": {"name": "NewCo", "country": "US",
               "employees": 40}, "activity": {"kind": "demo_request"}, "product_line": "widgets"}
    (tmp_path / "lead.json").write_text(json.dumps(inquiry))
    before = digest(tmp_path / "hub.db")
    out = run("routing", "test", "--lead", str(tmp_path / "lead.json"), "-c", str(routed))
    assert "rule:      all" in out and "team:      us" in out
    assert "reason:    rule 'all' (every lead) -> team us:" in out
    assert digest(tmp_path / "hub.db") == before


def test_replay_shows_a_changed_weight_and_writes_nothing(routed: Path, tmp_path: Path) -> None:
    new = write_config(tmp_path, "new-hub.toml", jane=3)
    before = digest(tmp_path / "hub.db")
    data = json.loads(run("routing", "replay", "--since", "30d", "--config", str(new), "--json"))
    assert digest(tmp_path / "hub.db") == before
    assert data["leads"] == 20
    assert data["owners"] == {"jane": {"before": 10, "after": 15}, "omar": {"before": 10, "after": 5}}
    assert len(data["changed"]) >= 5 and all(c["after"] in {"jane", "omar"} for c in data["changed"])
    assert data["waited"] == []


def test_replay_shows_a_changed_rule(routed: Path, tmp_path: Path) -> None:
    new = write_config(tmp_path, "new-hub.toml", target='owner = "kim"')
    before = digest(tmp_path / "hub.db")
    out = run("routing", "replay", "--since", "30d", "--config", str(new))
    assert digest(tmp_path / "hub.db") == before
    assert "20 leads since" in out and "20 would go to another owner, 0 would wait" in out
    assert " -> kim" in out
    data = json.loads(run("routing", "replay", "--since", "30d", "--config", str(new), "--json"))
    assert data["owners"]["kim"] == {"before": 0, "after": 20}
    assert data["rules"]["all"] == {"before": 20, "after": 20}
