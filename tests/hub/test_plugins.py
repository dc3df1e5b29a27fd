"""Plugin loading: built-ins, entry points, plugin folders, LEADHUB_LOAD_PLUGINS, broken and duplicate plugins.

Third-party plugins are real: a package with a ``*.dist-info`` (metadata, ``entry_points.txt``)
on ``sys.path``, found by importlib.metadata exactly as an installed one is, and ``*.py`` files in
a plugin folder. Each test builds its own manager; nothing registers on a global.
"""

from __future__ import annotations

import importlib
import json
import logging
import os
import sys
from collections.abc import Callable, Generator, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from connectors.file import import_file
from hub.cli.main import app
from hub.decisions import QualifyDecision, RouteDecision, RoutingContext, ScorePart
from hub.errors import PluginError
from hub.hookspecs import EVENT_HOOKS
from hub.plugins import DEFAULT_PLUGINS, ENTRY_POINT_GROUP, hookimpl, load_plugins
from hub.runtime import Hub
from hub.schema import Account, Activity, Company, Inquiry, Lead, Outcome, SourceRecord

#: The names built-ins register under: their modules' ("plugins.scoring:ScoringPlugin" -> "plugins.scoring").
BUILTIN_NAMES = {spec.partition(":")[0] for spec in DEFAULT_PLUGINS}

SCORER = '''
from hub.decisions import ScorePart
from hub.plugins import hookimpl


@hookimpl
def hub_score(lead):
    return ScorePart(7, "{name} likes every lead")
'''

ECHO_CONNECTOR = '''
from hub.connector import Capability, Connector
from hub.plugins import hookimpl


class FileLookalike(Connector):
    name = "file"  # clashes with the built-in file connector
    capabilities = frozenset({{Capability.PUSH_LEADS}})


@hookimpl
def hub_connector_types():
    return [FileLookalike]
'''


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith("LEADHUB_"):
            monkeypatch.delenv(name)


def install(site: Path, dist: str, version: str, modules: dict[str, str], entry_points: dict[str, str]) -> None:
    """A minimal installed distribution: modules plus a dist-info with entry points."""
    site.mkdir(exist_ok=True)
    for module, source in modules.items():
        (site / f"{module}.py").write_text(source)
    info = site / f"{dist.replace('-', '_')}-{version}.dist-info"  # the normalised name, as pip writes it
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: {version}\n")
    (info / "top_level.txt").write_text("\n".join(modules) + "\n")
    lines = [f"[{ENTRY_POINT_GROUP}]"] + [f"{name} = {target}" for name, target in entry_points.items()]
    (info / "entry_points.txt").write_text("\n".join(lines) + "\n")


@pytest.fixture
def site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A site folder on sys.path holding two installed plugin distributions."""
    folder = tmp_path / "site"
    install(folder, "leadhub-generous", "1.2.3", {"leadhub_generous": SCORER.format(name="generous")},
            {"generous": "leadhub_generous"})
    install(folder, "leadhub-stingy", "0.9", {"leadhub_stingy": SCORER.format(name="stingy")},
            {"stingy": "leadhub_stingy"})
    monkeypatch.syspath_prepend(str(folder))
    importlib.invalidate_caches()
    yield folder
    for module in ("leadhub_generous", "leadhub_stingy", "leadhub_broken"):
        sys.modules.pop(module, None)


def test_default_plugins_register_by_module_name_like_any_plugin() -> None:
    plugins = load_plugins(entry_points=False)
    assert plugins.problems == []
    for spec in DEFAULT_PLUGINS:
        name, _, factory = spec.partition(":")
        module = importlib.import_module(name)
        plugin = plugins.pm.get_plugin(name)
        # "module:Factory": an instance of its own (the plugin's state is per hub); "module": the module.
        assert isinstance(plugin, getattr(module, factory)) if factory else plugin is module
    assert {"file", "salesforce", "hubspot", "webform", "partner"} <= set(plugins.connector_types())
    assert {"round_robin", "default_owner"} <= set(plugins.routing_strategies())
    # The built-in router is a trylast fallback: a third-party hub_route is asked first.
    route_impls = plugins.pm.hook.hub_route.get_hookimpls()
    assert route_impls[0].plugin_name == "plugins.routing" and route_impls[0].trylast


def test_a_builtin_named_by_its_module_is_made_by_its_factory_once_per_manager() -> None:
    from plugins.scoring import ScoringPlugin

    first, second = (load_plugins(defaults=("plugins.scoring",), entry_points=False) for _ in range(2))
    mine, theirs = first.pm.get_plugin("plugins.scoring"), second.pm.get_plugin("plugins.scoring")
    assert isinstance(mine, ScoringPlugin) and isinstance(theirs, ScoringPlugin) and mine is not theirs


def test_entry_points_load_with_their_distribution_version(site: Path) -> None:
    plugins = load_plugins()
    described = {p["name"]: p for p in plugins.describe()}
    assert described["generous"] == {"name": "generous", "version": "1.2.3", "hooks": ["hub_score"]}
    assert described["stingy"]["version"] == "0.9"
    assert set(described) >= BUILTIN_NAMES, "built-ins and entry points side by side"
    assert plugins.pm.get_plugin("generous") is sys.modules["leadhub_generous"]


def test_leadhub_load_plugins_limits_third_party_plugins(site: Path, tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    folder = tmp_path / "dropins"
    folder.mkdir()
    (folder / "local_scorer.py").write_text(SCORER.format(name="local"))
    monkeypatch.setenv("LEADHUB_LOAD_PLUGINS", "stingy, local_scorer")
    names = {p["name"] for p in load_plugins([folder]).describe()}
    assert {"stingy", "local_scorer"} <= names and "generous" not in names
    assert names >= BUILTIN_NAMES, "the limit applies to third-party plugins only"
    monkeypatch.setenv("LEADHUB_LOAD_PLUGINS", "")
    names = {p["name"] for p in load_plugins([folder]).describe()}
    assert names == BUILTIN_NAMES, "an empty value loads no third-party plugin"


def test_plugin_dirs_load_py_files(tmp_path: Path) -> None:
    folder = tmp_path / "dropins"
    folder.mkdir()
    (folder / "local_scorer.py").write_text(SCORER.format(name="local"))
    (folder / "notes.txt").write_text("not a plugin")
    plugins = load_plugins([folder, tmp_path / "missing"], entry_points=False)
    assert "local_scorer" in {p["name"] for p in plugins.describe()}
    assert [p.name for p in plugins.problems] == [str(tmp_path / "missing")]
    assert "does not exist" in plugins.problems[0].error


def test_a_broken_plugin_is_reported_by_name_and_skipped(site: Path, tmp_path: Path,
                                                         caplog: pytest.LogCaptureFixture) -> None:
    install(site, "leadhub-broken", "0.1", {"leadhub_broken": "raise RuntimeError('missing API key file')\n"},
            {"broken": "leadhub_broken"})
    folder = tmp_path / "dropins"
    folder.mkdir()
    (folder / "typo.py").write_text("from hub.plugins import hookimpl\n\n"
                                    "@hookimpl\ndef hub_scroe(lead):\n    return None\n")
    (folder / "badargs.py").write_text("from hub.plugins import hookimpl\n\n"
                                       "@hookimpl\ndef hub_route(lead, mood):\n    return None\n")
    (folder / "syntax.py").write_text("def oops(:\n")
    with caplog.at_level(logging.WARNING, logger="hub.plugins"):
        plugins = load_plugins([folder])
    problems = {p.name: p.error for p in plugins.problems}
    assert set(problems) == {"broken", "typo", "badargs", "syntax"}
    assert "RuntimeError: missing API key file" in problems["broken"]
    assert "hub_scroe: no such hook" in problems["typo"]
    assert "mood" in problems["badargs"]
    assert "SyntaxError" in problems["syntax"]
    loaded = {p["name"] for p in plugins.describe()}
    assert not loaded & set(problems), "broken plugins are not half-registered"
    assert {"generous", "stingy"} <= loaded, "the rest load"
    assert "plugin broken could not be loaded" in caplog.text


def test_a_duplicate_connector_type_names_both_providers(tmp_path: Path) -> None:
    folder = tmp_path / "dropins"
    folder.mkdir()
    (folder / "lookalike.py").write_text(ECHO_CONNECTOR.format())
    plugins = load_plugins([folder], entry_points=False)
    with pytest.raises(PluginError) as caught:
        plugins.connector_types()
    message = str(caught.value)
    assert "'file'" in message and "'connectors.file'" in message and "'lookalike'" in message
    assert "LEADHUB_LOAD_PLUGINS" in message


def test_leadhub_plugins_prints_json(site: Path, tmp_path: Path) -> None:
    install(site, "leadhub-broken", "0.1", {"leadhub_broken": "raise RuntimeError('boom')\n"},
            {"broken": "leadhub_broken"})
    cfg = tmp_path / "hub.toml"
    cfg.write_text(f'[hub]\ndatabase_url = "sqlite:///{tmp_path / "p.db"}"\n')
    result = CliRunner().invoke(app, ["plugins", "-c", str(cfg)])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    by_name = {p["name"]: p for p in data["plugins"]}
    assert by_name["generous"] == {"name": "generous", "version": "1.2.3", "hooks": ["hub_score"]}
    assert by_name["plugins.routing"]["hooks"] and by_name["plugins.routing"]["version"]
    assert data["problems"] == [{"name": "broken", "error": "RuntimeError: boom"}]


# -- the facade goes through pluggy -----------------------------------------------------------

LEADS_CSV = """Email,First Name,Last Name,Company,Website,Country,Product,Activity,Notes
ann@acme.com,Ann,Lee,Acme Inc,https://www.acme.com,US,widgets,demo_request,hot
bob@acme.com,Bob,Ray,Acme,acme.com,US,widgets,webinar,
bad@@x,Bad,Email,Foo,,US,widgets,form,
carl@globex.co.uk,Carl,Wu,Globex Ltd,globex.co.uk,GB,widgets,newsletter,
dina@initech.io,Dina,Ng,Initech,initech.io,US,widgets,contact_sales,
"""


class Watcher:
    """Wraps hub_score and hub_route and writes down every call and what it returned."""

    def __init__(self) -> None:
        self.scored: list[tuple[str, list[Any]]] = []  # lead id, the results every plugin gave
        self.routed: list[tuple[str, RouteDecision | None]] = []

    @hookimpl(wrapper=True)
    def hub_score(self, lead: Lead) -> Generator[None, list[Any], list[Any]]:
        results = yield
        self.scored.append((lead.id, list(results)))
        return results

    @hookimpl(wrapper=True)
    def hub_route(self, context: RoutingContext) -> Generator[None, RouteDecision | None, RouteDecision | None]:
        decision = yield
        self.routed.append((context.lead.id, decision))
        return decision


class Asked:
    """Plain implementations that count how often pluggy asks them."""

    def __init__(self) -> None:
        self.score_calls = 0
        self.route_calls = 0

    @hookimpl
    def hub_score(self) -> None:
        self.score_calls += 1

    @hookimpl(tryfirst=True)
    def hub_route(self) -> None:
        self.route_calls += 1  # no opinion: the built-in router decides


def _leads(hub: Hub) -> dict[str, dict[str, Any]]:
    with hub.store.engine.connect() as conn:
        return {r["account_name"]: r for r in hub.store.leads_page(conn, limit=10)}


def test_a_wrapper_sees_every_score_and_route_call_of_a_real_hub(
        sqlite_url: str, tmp_path: Path, hub_factory: Callable[..., Hub]) -> None:
    watcher, asked = Watcher(), Asked()
    hub = hub_factory(sqlite_url, extra_plugins=(watcher, asked))
    monitored: list[str] = []
    hub.plugins.pm.add_hookcall_monitoring(lambda name, impls, kwargs: monitored.append(name),
                                           lambda outcome, name, impls, kwargs: None)
    csv = tmp_path / "leads.csv"
    csv.write_text(LEADS_CSV)
    import_file(csv, hub.intake, source="fair")
    result = hub.process_pending()
    assert (result.processed, result.quarantined, result.routed) == (5, 1, 2)

    # Every call pluggy made reached the wrapper, the monitor and the plain implementation alike.
    assert len(watcher.scored) == asked.score_calls == monitored.count("hub_score") == 4
    assert len(watcher.routed) == asked.route_calls == monitored.count("hub_route") == 2
    # ... and the results are still right: the stored leads are what the wrapper saw.
    leads = _leads(hub)
    assert leads["Acme Inc"]["status"] == "routed" and leads["Initech"]["status"] == "routed"
    assert leads["Globex Ltd"]["status"] == "nurture"
    last_score = {lead_id: results for lead_id, results in watcher.scored}
    for row in leads.values():
        parts = [part for group in last_score[row["id"]] for part in group]
        assert row["score"] == sum(p.points for p in parts) > 0
    assert {lead_id: d.owner_id for lead_id, d in watcher.routed if d} == {
        leads[name]["id"]: leads[name]["owner_id"] for name in ("Acme Inc", "Initech")}
    # Each part is credited to the plugin that returned it, in the audit trail too.
    with hub.store.engine.connect() as conn:
        trail = hub.store.audit_trail(conn, leads["Acme Inc"]["id"])
    credited = {p["plugin"] for e in trail if e["action"] == "score" for p in e["details"]["parts"]}
    assert credited == {"plugins.scoring"}


def test_hookcall_monitoring_sees_the_facade_score(tmp_path: Path) -> None:
    folder = tmp_path / "dropins"
    folder.mkdir()
    (folder / "local_scorer.py").write_text(SCORER.format(name="local"))
    plugins = load_plugins([folder], entry_points=False)
    seen: list[tuple[str, object]] = []
    plugins.pm.add_hookcall_monitoring(lambda name, impls, kwargs: None,
                                       lambda outcome, name, impls, kwargs: seen.append((name, outcome.get_result())))
    lead, inquiry, account = _scoring_inputs()
    parts = plugins.score(lead, inquiry, account)
    assert [name for name, _ in seen] == ["hub_score"]
    assert ScorePart(7, "local likes every lead", "local_scorer") in parts
    assert all(p.plugin for p in parts), "every part is credited to a plugin"


def _scoring_inputs() -> tuple[Lead, Inquiry, Account]:
    source = SourceRecord(connector="webform", stream="form:demo", external_id="1",
                          updated_at=datetime(2026, 1, 1, tzinfo=UTC), payload={})
    inquiry = Inquiry(source=source, company=Company(name="Globex", employees=2300),
                      activity=Activity(kind="demo_request", at=datetime(2026, 1, 1, tzinfo=UTC), source="webform"))
    return Lead(account_id="acct_1", activities=[inquiry.activity]), inquiry, Account(name="Globex")


def test_a_score_wrapper_may_change_the_parts() -> None:
    class Penalty:
        @hookimpl(wrapper=True)
        def hub_score(self) -> Generator[None, list[Any], list[Any]]:
            results = yield
            return [*results, ScorePart(-100, "on the do-not-call list")]

    parts = load_plugins(entry_points=False, extra=(Penalty(),)).score(*_scoring_inputs())
    assert parts[-1] == ScorePart(-100, "on the do-not-call list"), "a part a wrapper adds is nobody's plugin's"
    assert parts[0].plugin == "plugins.scoring" and parts[0].points > 0


def test_a_score_that_is_not_a_score_part_names_its_plugin(tmp_path: Path) -> None:
    folder = tmp_path / "dropins"
    folder.mkdir()
    (folder / "sloppy.py").write_text("from hub.plugins import hookimpl\n\n@hookimpl\n"
                                      "def hub_score(lead):\n    return [7, 'points']\n")
    plugins = load_plugins([folder], entry_points=False)
    with pytest.raises(PluginError, match=r"plugin 'sloppy' returned 7 from hub_score; expected a ScorePart"):
        plugins.score(*_scoring_inputs())


class Failing:
    @hookimpl
    def hub_lead_routed(self, lead: Lead) -> None:
        raise RuntimeError(f"chat server down for {lead.id}")


class Listening:
    def __init__(self) -> None:
        self.routed: list[tuple[str, str]] = []
        self.quarantined: list[str] = []

    @hookimpl
    def hub_lead_routed(self, lead: Lead, decision: RouteDecision) -> None:
        self.routed.append((lead.id, decision.owner_id))

    @hookimpl
    def hub_record_quarantined(self, reason: str) -> None:
        self.quarantined.append(reason)


class EventWrapper:
    def __init__(self) -> None:
        self.calls: list[object] = []

    @hookimpl(wrapper=True)
    def hub_lead_routed(self) -> Generator[None, object, object]:
        self.calls.append((yield))
        return self.calls[-1]


@pytest.mark.parametrize("failing_first", [True, False], ids=["failing-registered-first", "failing-registered-last"])
def test_a_failing_event_handler_is_logged_and_the_others_still_run(
        failing_first: bool, sqlite_url: str, tmp_path: Path, hub_factory: Callable[..., Hub],
        caplog: pytest.LogCaptureFixture) -> None:
    listening, wrapper = Listening(), EventWrapper()
    handlers = (Failing(), listening) if failing_first else (listening, Failing())
    hub = hub_factory(sqlite_url, extra_plugins=(*handlers, wrapper))
    csv = tmp_path / "leads.csv"
    csv.write_text(LEADS_CSV)
    import_file(csv, hub.intake, source="fair")
    with caplog.at_level(logging.ERROR, logger="hub.plugins"):
        result = hub.process_pending()
    assert result.routed == 2
    leads = _leads(hub)
    assert sorted(listening.routed) == sorted((leads[n]["id"], leads[n]["owner_id"]) for n in ("Acme Inc", "Initech"))
    assert len(listening.quarantined) == 1 and "e-mail" in listening.quarantined[0]
    assert wrapper.calls == [[], []], "the wrapper saw both events complete"
    failures = [r for r in caplog.records if "failed in hub_lead_routed" in r.getMessage()]
    assert len(failures) == 2 and all(r.getMessage().startswith("plugin ") for r in failures)
    assert all(r.exc_info and "chat server down" in str(r.exc_info[1]) for r in failures)
    assert leads["Acme Inc"]["status"] == "routed", "the committed routing stays"


def test_an_event_handler_failure_names_the_plugin(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    folder = tmp_path / "dropins"
    folder.mkdir()
    (folder / "chatty.py").write_text("from hub.plugins import hookimpl\n\n@hookimpl\n"
                                      "def hub_outcome(lead, outcome):\n    raise ValueError('no webhook')\n")
    plugins = load_plugins([folder], entry_points=False)
    lead, _, _ = _scoring_inputs()
    with caplog.at_level(logging.ERROR, logger="hub.plugins"):
        plugins.outcome(lead, Outcome(lead_id=lead.id, status="won", at=datetime(2026, 1, 2, tzinfo=UTC),
                                      reported_by="crm"))
    assert "plugin chatty failed in hub_outcome" in caplog.text and "no webhook" in caplog.text

    class BrokenWrapper:
        @hookimpl(wrapper=True)
        def hub_outcome(self) -> Generator[None, object, object]:
            yield
            raise RuntimeError("metrics backend gone")

    plugins.pm.register(BrokenWrapper(), name="broken_wrapper")
    caplog.clear()
    with caplog.at_level(logging.ERROR, logger="hub.plugins"):
        plugins.outcome(lead, Outcome(lead_id=lead.id, status="won", at=datetime(2026, 1, 2, tzinfo=UTC),
                                      reported_by="crm"))
    assert "plugin chatty failed in hub_outcome" in caplog.text
    assert "a hook wrapper failed in hub_outcome" in caplog.text and "metrics backend gone" in caplog.text


def test_event_hooks_are_exactly_the_hooks_that_only_tell() -> None:
    """A hook that returns nothing and is not start-up is an event: its handlers are isolated."""
    import inspect

    from hub import hookspecs

    specs = {name: fn for name, fn in inspect.getmembers(hookspecs, inspect.isfunction) if name.startswith("hub_")}
    telling = {name for name, fn in specs.items() if inspect.signature(fn).return_annotation == "None"}
    assert telling - {"hub_configure", "hub_cli_commands"} == EVENT_HOOKS


# -- the facade of the registration and policy hooks -------------------------------------------

SHIPS_MAPPING = """
from pathlib import Path
from hub.plugins import hookimpl


@hookimpl
def hub_mappings():
    return [Path(__file__).parent / "{folder}" / "crm_x.toml"]
"""


def test_mappings_come_from_plugins_and_a_shipped_twice_stem_names_both(tmp_path: Path) -> None:
    folder = tmp_path / "dropins"
    for name in ("crm_x_connector", "crm_x_fork"):
        (folder / name).mkdir(parents=True)
        (folder / name / "crm_x.toml").write_text("# the mapping of connector type crm_x\n")
        (folder / f"{name}.py").write_text(SHIPS_MAPPING.format(folder=name))
    mine = load_plugins([folder], entry_points=False)
    with pytest.raises(PluginError) as caught:
        mine.mappings()
    message = str(caught.value)
    assert "mapping 'crm_x' is shipped twice" in message and "mappings_dir" in message
    assert "plugin 'crm_x_connector'" in message and "plugin 'crm_x_fork'" in message

    (folder / "crm_x_fork.py").unlink()
    shipped = load_plugins([folder], entry_points=False).mappings()
    assert folder / "crm_x_connector" / "crm_x.toml" in shipped


def test_mappings_must_be_toml_files_that_exist(tmp_path: Path) -> None:
    folder = tmp_path / "dropins"
    folder.mkdir()
    (folder / "lost.py").write_text("from pathlib import Path\nfrom hub.plugins import hookimpl\n\n@hookimpl\n"
                                    "def hub_mappings():\n    return [Path('/nowhere/crm_x.toml')]\n")
    with pytest.raises(PluginError, match=r"plugin 'lost' ships the mapping /nowhere/crm_x.toml, which does not exist"):
        load_plugins([folder], entry_points=False).mappings()
    assert all(p.is_file() and p.suffix == ".toml" for p in load_plugins(entry_points=False).mappings())


def test_qualify_asks_the_plugins_first_result(tmp_path: Path) -> None:
    class Strict:
        @hookimpl(tryfirst=True)
        def hub_qualify(self, lead: Lead) -> QualifyDecision:
            return QualifyDecision(False, f"score {lead.score}: we only take demo requests from Fortune 500")

    lead, _, account = _scoring_inputs()
    decision = load_plugins(entry_points=False, extra=(Strict(),)).qualify(lead, account)
    assert decision == QualifyDecision(False, "score 0: we only take demo requests from Fortune 500")


def test_cli_commands_come_from_plugins() -> None:
    import typer

    class Greeter:
        @hookimpl
        def hub_cli_commands(self, app: typer.Typer) -> None:
            @app.command()
            def hello() -> None:
                typer.echo("hello from a plugin")

    root = typer.Typer()

    @root.command()
    def version() -> None:
        typer.echo("0")

    load_plugins(entry_points=False, extra=(Greeter(),)).cli_commands(root)
    result = CliRunner().invoke(root, ["hello"])
    assert result.exit_code == 0 and "hello from a plugin" in result.output
