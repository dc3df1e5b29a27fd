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
from pathlib import Path

import pytest
from typer.testing import CliRunner

from hub.cli.main import app
from hub.errors import PluginError
from hub.plugins import DEFAULT_PLUGINS, ENTRY_POINT_GROUP, load_plugins

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
def site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
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
    assert BUILTIN_NAMES <= set(described), "built-ins and entry points side by side"
    assert plugins.pm.get_plugin("generous") is sys.modules["leadhub_generous"]


def test_leadhub_load_plugins_limits_third_party_plugins(site: Path, tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    folder = tmp_path / "dropins"
    folder.mkdir()
    (folder / "local_scorer.py").write_text(SCORER.format(name="local"))
    monkeypatch.setenv("LEADHUB_LOAD_PLUGINS", "stingy, local_scorer")
    names = {p["name"] for p in load_plugins([folder]).describe()}
    assert {"stingy", "local_scorer"} <= names and "generous" not in names
    assert BUILTIN_NAMES <= names, "the limit applies to third-party plugins only"
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
    (folder / "typo.py").write_text("from hub.plugins import hookimpl\n\n@hookimpl\ndef hub_scroe(lead):\n    return None\n")
    (folder / "badargs.py").write_text("from hub.plugins import hookimpl\n\n@hookimpl\ndef hub_route(lead, mood):\n    return None\n")
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
