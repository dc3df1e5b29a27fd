"""Every ``leadhub`` command of issue 2 through typer's CliRunner, on a real SQLite file.

The hub.toml of these tests also loads a small third-party plugin from a ``plugin_dirs`` folder:
a "picky" destination that refuses every lead for good until a file named ``accept`` exists, so
dead letters (and their replay once "the cause is fixed") happen for real, through the deliverer.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
import typer
from typer.testing import CliRunner, Result

from hub.cli.main import add_plugin_commands, app, cli_plugin_dirs
from hub.cli.starter import STARTER_TOML
from hub.config import load_config
from hub.plugins import DEFAULT_PLUGINS, hookimpl, load_plugins

ROOT = Path(__file__).resolve().parents[2]

PICKY_PLUGIN = '''
"""A destination that refuses leads for good until a file named ``accept`` sits beside it."""
from pathlib import Path

from hub.connector import Capability, Connector, ConnectorSettings, PushResult
from hub.plugins import hookimpl

ACCEPT = Path(__file__).with_name("accept")


class PickySettings(ConnectorSettings):
    schedule_seconds: float = 0


class Picky(Connector):
    name = "picky"
    settings_model = PickySettings
    capabilities = frozenset({Capability.PUSH_LEADS})

    def push_leads(self, batch):
        if ACCEPT.exists():
            return [PushResult(i.key, ok=True, external_id="picky-" + i.lead.id) for i in batch]
        return [PushResult(i.key, ok=False, error="picky refuses " + i.lead.id, retryable=False) for i in batch]


@hookimpl
def hub_connector_types():
    return [Picky]
'''

CSV = """Email,Full Name,Company,Website,Activity,Product
ana@acme.example,Ana Lopez,Acme,https://acme.example,demo_request,analytics
bob@acme.example,Bob Stone,Acme,https://acme.example,webinar,analytics
not-an-email,Carl Broken,Broken Inc,,webinar,
dana@initech.example,Dana Wu,Initech,,,
"""


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """The developer's own LEADHUB_* variables must not change what these tests see."""
    import os

    for name in list(os.environ):
        if name.startswith("LEADHUB_"):
            monkeypatch.delenv(name)


@pytest.fixture
def hub_toml(tmp_path: Path) -> Path:
    plugins = tmp_path / "plugins"
    plugins.mkdir()
    (plugins / "picky.py").write_text(PICKY_PLUGIN)
    shutil.copytree(ROOT / "mappings", tmp_path / "mappings")
    cfg = tmp_path / "hub.toml"
    cfg.write_text(f'''
[hub]
database_url = "sqlite:///{tmp_path / 'cli.db'}"
mappings_dir = "mappings"
plugin_dirs = ["plugins"]

[routing]
strategy = "round_robin"
default_owner = "jane"
destinations = ["delivered", "picky"]

[[owners]]
id = "jane"
name = "Jane Doe"
email = "jane@example.com"

[[owners]]
id = "omar"
name = "Omar Haddad"
email = "omar@example.com"

[connectors.delivered]
type = "file"
path = "{tmp_path / 'delivered.jsonl'}"

[connectors.picky]
type = "picky"
''')
    (tmp_path / "leads.csv").write_text(CSV)
    return cfg


def cli(*args: str, code: int = 0) -> Result:
    result = CliRunner().invoke(app, list(args))
    assert result.exit_code == code, f"exit {result.exit_code}: {result.output}\n{result.exception!r}"
    return result


def as_json(result: Result) -> Any:
    return json.loads(result.stdout)


def test_init_writes_the_starter_file_and_refuses_to_overwrite(tmp_path: Path) -> None:
    target = tmp_path / "hub.toml"
    cli("init", str(target))
    assert target.read_text() == STARTER_TOML == (ROOT / "hub.toml").read_text()
    assert load_config(target).routing.strategy == "round_robin"
    target.write_text("# mine\n")
    refused = cli("init", str(target), code=1)
    assert "--force" in refused.output and target.read_text() == "# mine\n"
    cli("init", str(target), "--force")
    assert target.read_text() == STARTER_TOML


def test_import_shows_progress_processes_and_quarantines_the_bad_row(hub_toml: Path) -> None:
    csv = str(hub_toml.parent / "leads.csv")
    shown = cli("import", csv, "--source", "expo", "--progress", "-c", str(hub_toml))
    assert "importing leads.csv" in shown.stderr and "4/4" in shown.stderr
    assert "4 row(s), 4 new" in shown.stdout
    assert "processed 4: 2 new lead(s), 1 merged" in shown.stdout
    assert "leadhub quarantine list" in shown.stdout

    again = as_json(cli("import", csv, "--source", "expo", "--json", "-c", str(hub_toml)))
    assert again["rows"] == 4 and again["new"] == 0, "the same file twice stores nothing new"

    entries = as_json(cli("quarantine", "list", "--json", "-c", str(hub_toml)))
    assert len(entries) == 1
    assert entries[0]["source_ref"] == "expo:4"
    assert "not-an-email" in entries[0]["reason"] and "e-mail" in entries[0]["reason"]


def test_quarantine_replay_after_the_mapping_is_fixed(hub_toml: Path) -> None:
    folder = hub_toml.parent
    (folder / "mail.csv").write_text("Mail,Company\nzoe@zeta.example,Zeta\n")
    got = as_json(cli("import", str(folder / "mail.csv"), "--source", "legacy", "--json", "-c", str(hub_toml)))
    assert got["processed"]["quarantined"] == 1
    [entry] = as_json(cli("quarantine", "list", "--json", "-c", str(hub_toml)))
    assert "contact.email" in entry["reason"]

    not_chosen = cli("quarantine", "replay", "-c", str(hub_toml), code=2)
    assert "--all" in not_chosen.output
    mapping = folder / "mappings" / "file.toml"
    text = mapping.read_text()
    fixed = text.replace('from = ["Email", "E-mail", "Email Address"]',
                         'from = ["Email", "E-mail", "Email Address", "Mail"]', 1)
    assert fixed != text
    mapping.write_text(fixed)
    replayed = as_json(cli("quarantine", "replay", str(entry["id"]), "--json", "-c", str(hub_toml)))
    assert replayed["replayed"] == 1 and replayed["processed"]["quarantined"] == 0
    assert replayed["processed"]["leads_created"] == 1
    assert as_json(cli("quarantine", "list", "--json", "-c", str(hub_toml))) == []
    accounts = {lead["account_name"] for lead in as_json(cli("leads", "list", "--json", "-c", str(hub_toml)))}
    assert "Zeta" in accounts


def test_sync_once_exit_codes_and_dead_letter_replay(hub_toml: Path) -> None:
    cfg = str(hub_toml)
    cli("import", str(hub_toml.parent / "leads.csv"), "--source", "expo", "--no-process", "-c", cfg)
    failed = cli("sync", "--once", "--json", "-c", cfg, code=1)
    report = as_json(failed)
    assert report["processed"]["processed"] == 4 and report["processed"]["routed"] == 1
    assert report["delivered"]["dead"] == 1, "the picky destination refused the routed lead for good"

    dead = as_json(cli("dead-letters", "list", "--json", "-c", cfg))
    assert [(d["destination"], d["kind"]) for d in dead] == [("picky", "lead")]
    assert dead[0]["error"] == f"picky refuses {dead[0]['lead_id']}"
    table = cli("dead-letters", "list", "-c", cfg).stdout
    assert "picky" in table and str(dead[0]["id"]) in table

    assert as_json(cli("sync", "--once", "--json", "-c", cfg))["delivered"]["dead"] == 0, "nothing new: exit 0"

    (hub_toml.parent / "plugins" / "accept").touch()  # the cause is fixed
    replay = as_json(cli("dead-letters", "replay", "--all", "--json", "-c", cfg))
    assert replay["replayed"] == 1 and replay["delivery"]["sent"] == 1
    assert as_json(cli("dead-letters", "list", "--json", "-c", cfg)) == []
    cli("dead-letters", "replay", "-c", cfg, code=2)


def test_leads_list_show_explains_match_score_and_route_in_words(hub_toml: Path) -> None:
    cfg = str(hub_toml)
    cli("import", str(hub_toml.parent / "leads.csv"), "--source", "expo", "-c", cfg)
    leads = as_json(cli("leads", "list", "--json", "-c", cfg))
    assert {lead["account_name"] for lead in leads} == {"Acme", "Initech"}
    acme = next(lead for lead in leads if lead["account_name"] == "Acme")
    assert acme["status"] == "routed" and acme["owner_id"] == "jane"
    assert [lead["id"] for lead in as_json(cli("leads", "list", "--status", "nurture", "--json", "-c", cfg))] == [
        lead["id"] for lead in leads if lead["status"] == "nurture"]

    shown = cli("leads", "show", acme["id"], "-c", cfg).stdout
    why = shown.split("why", 1)[1]
    assert "account:" in why and "'acme'" in why
    assert "score:" in why and "demo request (+40)" in why and "webinar (+10)" in why
    assert "owner:" in why and "routed to Jane Doe" in why and "round robin" in why
    assert "Ana Lopez <ana@acme.example>" in shown and "Bob Stone" in shown

    data = as_json(cli("leads", "show", acme["id"], "--json", "-c", cfg))
    assert data["lead"]["id"] == acme["id"] and data["account"]["name"] == "Acme"
    assert set(data["why"]) >= {"account", "score", "status", "owner"}
    assert {e["action"] for e in data["audit"]} >= {"match", "score", "route"}

    missing = cli("leads", "show", "lead_nope", "-c", cfg, code=1)
    assert "leadhub leads list" in missing.output


def test_leads_export_jsonl(hub_toml: Path, tmp_path: Path) -> None:
    cfg = str(hub_toml)
    cli("import", str(hub_toml.parent / "leads.csv"), "--source", "expo", "-c", cfg)
    listed = {lead["id"] for lead in as_json(cli("leads", "list", "--json", "-c", cfg))}
    lines = cli("leads", "export", "--format", "jsonl", "-c", cfg).stdout.splitlines()
    exported = [json.loads(line) for line in lines]
    assert {lead["id"] for lead in exported} == listed
    assert all(lead["contacts"] and lead["activities"] for lead in exported)
    out = tmp_path / "leads.jsonl"
    cli("leads", "export", "-o", str(out), "-c", cfg)
    assert out.read_text().splitlines() == lines
    cli("leads", "export", "--format", "csv", "-c", cfg, code=2)


def test_status_plugins_and_check_json(hub_toml: Path) -> None:
    cfg = str(hub_toml)
    cli("import", str(hub_toml.parent / "leads.csv"), "--source", "expo", "-c", cfg)
    status = as_json(cli("status", "--json", "-c", cfg))
    assert {c["name"]: c["type"] for c in status["connectors"]} == {"delivered": "file", "picky": "picky"}
    assert status["backlog"]["quarantine_open"] == 1 and status["backlog"]["leads"] == 2
    assert status["database"].startswith("sqlite:///")
    assert "backlog" in cli("status", "-c", cfg).stdout

    plugins = as_json(cli("plugins", "-c", cfg))
    by_name = {p["name"]: p for p in plugins["plugins"]}
    assert {spec.partition(":")[0] for spec in DEFAULT_PLUGINS} <= set(by_name)
    assert by_name["picky"]["hooks"] == ["hub_connector_types"]
    assert "hub_score" in by_name["plugins.scoring"]["hooks"]
    assert by_name["plugins.scoring"]["version"]
    assert plugins["problems"] == []

    checked = as_json(cli("check", "--json", "-c", cfg))
    assert checked["ok"] is True
    assert {r["connector"] for r in checked["connectors"]} == {"delivered", "picky"}
    assert "file" in checked["mappings"]


def test_check_fails_on_an_unreachable_destination_and_names_it(hub_toml: Path, tmp_path: Path) -> None:
    text = hub_toml.read_text().replace(str(tmp_path / "delivered.jsonl"), str(tmp_path / "gone" / "d.jsonl"))
    hub_toml.write_text(text)
    checked = as_json(cli("check", "--json", "-c", str(hub_toml), code=1))
    bad = [r for r in checked["connectors"] if not r["ok"]]
    assert [r["connector"] for r in bad] == ["delivered"] and "does not exist" in bad[0]["message"]


def test_a_broken_config_exits_2_naming_the_key(hub_toml: Path) -> None:
    hub_toml.write_text(hub_toml.read_text().replace("[hub]", "[hub]\nbatch = 1", 1)
                        + "\n[pipeline]\nbatch_size = \"many\"\n")
    for command in (["status"], ["leads", "list"], ["check"], ["sync", "--once"], ["run"]):
        result = cli(*command, "-c", str(hub_toml), code=2)
        assert "hub.batch: unknown key" in result.output
        assert "pipeline.batch_size:" in result.output and "integer" in result.output


# -- registration and start-up ---------------------------------------------------------------
#: The engine, the web stack and the sandbox server: neither --help nor `leads show` needs them.
HEAVY = ("fastapi", "uvicorn", "starlette", "hub.pipeline.engine", "hub.pipeline.batch", "hub.pipeline.delivery",
         "hub.pipeline.intake", "hub.pipeline.lifecycle", "hub.server", "sandbox.app", "sandbox.core")
#: The CRM client libraries: --help does not need them (`leads show` builds the connectors).
VENDOR = ("simple_salesforce", "hubspot")


def _loaded_after(code: str, cwd: Path, prefixes: tuple[str, ...]) -> list[str]:
    """Modules named ``prefixes`` (or below them) loaded after ``code`` ran in a fresh interpreter."""
    import os
    import subprocess
    import sys

    script = code + ("\nimport json, sys\n"
                     f"print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in {prefixes!r} "
                     f"or m in {prefixes!r} or m.startswith(tuple(p + '.' for p in {prefixes!r})))))")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-c", script], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    loaded: list[str] = json.loads(done.stdout.strip().splitlines()[-1])
    return loaded


def test_help_loads_no_engine_web_stack_or_sandbox_server(tmp_path: Path) -> None:
    (tmp_path / "hub.toml").write_text(STARTER_TOML)  # the demo config: sandbox URLs, every connector
    loaded = _loaded_after("from typer.testing import CliRunner\nfrom hub.cli.main import app\n"
                           "out = CliRunner().invoke(app, ['--help']).output\n"
                           "assert 'partners' in out and 'sandbox' in out and 'import' in out, out",
                           tmp_path, HEAVY + VENDOR)
    assert loaded == []


def test_leads_show_loads_no_engine_web_stack_or_sandbox_server(tmp_path: Path) -> None:
    (tmp_path / "hub.toml").write_text(STARTER_TOML.replace("sqlite:///leadhub.db", f"sqlite:///{tmp_path / 'x.db'}"))
    loaded = _loaded_after("from typer.testing import CliRunner\nfrom hub.cli.main import app\n"
                           "result = CliRunner().invoke(app, ['leads', 'show', 'lead_nope'])\n"
                           "assert result.exit_code == 1 and 'no lead lead_nope' in result.output, result.output",
                           tmp_path, HEAVY)
    assert loaded == []


class Hello:
    """A plugin that adds ``leadhub hello``."""

    @hookimpl
    def hub_cli_commands(self, app: typer.Typer) -> None:
        @app.command()
        def hello(name: str = "world") -> None:
            """Say hello."""
            typer.echo(f"hello {name}")


def test_plugins_add_commands_through_the_hook() -> None:
    root = typer.Typer()

    @root.command()
    def core() -> None:
        """A core command."""

    add_plugin_commands(root, load_plugins(defaults=(), entry_points=False, extra=[Hello()]))
    assert CliRunner().invoke(root, ["hello", "--name", "Ana"]).output == "hello Ana\n"
    # The built-ins register theirs the same way: the core names none of them.
    built_in = typer.Typer()
    add_plugin_commands(built_in, load_plugins(entry_points=False))
    groups = {g.name for g in built_in.registered_groups} | {c.name for c in built_in.registered_commands}
    assert {"sandbox", "partners", "referrals", "forms", "import"} <= groups


def test_a_plugin_folder_of_the_config_adds_commands(tmp_path: Path) -> None:
    import os
    import subprocess
    import sys

    (tmp_path / "plugins").mkdir()
    (tmp_path / "plugins" / "hello.py").write_text(
        "import typer\nfrom hub.plugins import hookimpl\n\n\n@hookimpl\ndef hub_cli_commands(app):\n"
        "    @app.command()\n    def hello(config: str = typer.Option(None, '--config', '-c')):\n"
        "        typer.echo('hello from a plugin folder')\n")
    cfg = tmp_path / "elsewhere.toml"
    cfg.write_text('[hub]\nplugin_dirs = ["plugins"]\n')
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-m", "hub", "hello", "--config", str(cfg)], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    assert "hello from a plugin folder" in done.stdout
    assert cli_plugin_dirs(["hello", "-c", str(cfg)]) == [tmp_path / "plugins"]
    assert cli_plugin_dirs(["--config=" + str(tmp_path / "missing.toml")]) == []
