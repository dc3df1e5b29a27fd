"""The guides stay true: every hook and argument is documented, the hook reference of
docs/plugins.md is the rendering of the hookspec docstrings, the example plugin works, every
configuration key and LEADHUB_* variable the code reads is in the operations guide.
"""

from __future__ import annotations

import inspect
import os
import re
from pathlib import Path

import pytest
from pydantic import BaseModel

from hub import hookdocs, hookspecs
from hub.config import HubConfig, OwnerSettings
from hub.plugins import DEFAULT_PLUGINS, ENTRY_POINT_GROUP, LOAD_PLUGINS_ENV, load_plugins

ROOT = Path(__file__).resolve().parent.parent
PLUGINS_MD = ROOT / "docs" / "plugins.md"
OPERATIONS_MD = ROOT / "docs" / "operations.md"

HOOKS = {name: fn for name, fn in inspect.getmembers(hookspecs, inspect.isfunction) if name.startswith("hub_")}


def sections(markdown: str) -> dict[str, str]:
    """``### heading`` -> the text up to the next heading of level 1-3."""
    out: dict[str, str] = {}
    for match in re.finditer(r"^### (.+?)\n(.*?)(?=^#{1,3} |\Z)", markdown, re.MULTILINE | re.DOTALL):
        out[match.group(1)] = match.group(2)
    return out


@pytest.fixture(scope="module")
def hook_sections() -> dict[str, str]:
    found: dict[str, str] = {}
    for heading, body in sections(PLUGINS_MD.read_text()).items():
        name = re.match(r"`(hub_\w+)\(", heading)
        if name:
            found[name.group(1)] = heading + "\n" + body
    return found


def test_hookspecs_are_found() -> None:
    assert {"hub_score", "hub_route", "hub_connector_types", "hub_record_quarantined"} <= set(HOOKS)


@pytest.mark.parametrize("hook", sorted(HOOKS))
def test_every_hook_is_documented_with_its_arguments(hook: str, hook_sections: dict[str, str]) -> None:
    assert hook in hook_sections, f"docs/plugins.md has no '### `{hook}(...)`' section"
    text = hook_sections[hook]
    params = list(inspect.signature(HOOKS[hook]).parameters)
    heading = text.splitlines()[0]
    assert heading == f"`{hook}({', '.join(params)})`", f"heading of {hook} must list its arguments in order"
    for param in params:
        assert re.search(rf"^- `{param}`", text, re.MULTILINE), f"argument {param!r} of {hook} is not described"
    assert "Returns" in text or "return value is ignored" in text.lower() or hook in (
        "hub_lead_routed", "hub_outcome", "hub_record_quarantined"), f"{hook}: say what the return value means"


@pytest.mark.parametrize("hook", sorted(HOOKS))
def test_every_hookspec_docstring_is_complete(hook: str) -> None:
    doc = inspect.getdoc(HOOKS[hook]) or ""
    assert doc, f"{hook} has no docstring"
    for param in inspect.signature(HOOKS[hook]).parameters:
        assert re.search(rf"^:param {param}: \S", doc, re.MULTILINE), f"{hook}: document {param!r} with :param"
    assert re.search(r"^:returns: \S", doc, re.MULTILINE), f"{hook}: say what the return value means (:returns:)"
    documented = re.findall(r"^:param (\w+):", doc, re.MULTILINE)
    assert documented == list(inspect.signature(HOOKS[hook]).parameters), f"{hook}: :param lines in argument order"


def test_the_hook_reference_is_the_rendering_of_the_hookspec_docstrings() -> None:
    page = PLUGINS_MD.read_text()
    assert page.count(hookdocs.BEGIN) == 1 and page.count(hookdocs.END) == 1
    assert hookdocs.update(page, hookdocs.render()) == page, (
        "docs/plugins.md's hook reference differs from hub/hookspecs.py: run python -m hub.hookdocs")
    assert hookdocs.main(["--check"]) == 0


def test_the_reference_renders_fields_roles_and_code_blocks() -> None:
    doc = inspect.cleandoc("""
        Use ``x`` with :class:`~hub.schema.Lead` or :func:`hub.plugins.load_plugins`. For example::

            print("hi")

        Then go on.

        :param lead: the lead, over
            two lines.
        :raises hub.errors.InvalidRecord: when unreadable.
        :returns: nothing.
        """)
    assert hookdocs.markdown(doc) == (
        "Use `x` with `Lead` or `hub.plugins.load_plugins`. For example:\n\n"
        '```python\nprint("hi")\n```\n\n'
        "Then go on.\n\n"
        "- `lead`: the lead, over\n  two lines.\n"
        "- Raises `hub.errors.InvalidRecord`: when unreadable.\n"
        "- Returns: nothing.")
    assert hookdocs.heading(hookspecs.hub_record_quarantined) == (
        "### `hub_record_quarantined(connector, stream, reason, details)`")
    assert hookdocs.hook_functions() == sorted(HOOKS.values(), key=lambda fn: fn.__code__.co_firstlineno)


def test_no_documented_hook_is_stale(hook_sections: dict[str, str]) -> None:
    assert set(hook_sections) <= set(HOOKS), "docs/plugins.md documents hooks that do not exist"


def test_loading_rules_are_documented() -> None:
    text = PLUGINS_MD.read_text()
    for needle in ("DEFAULT_PLUGINS", f"[project.entry-points.{ENTRY_POINT_GROUP}]", "plugin_dirs",
                   LOAD_PLUGINS_ENV, "leadhub plugins"):
        assert needle in text, f"docs/plugins.md does not mention {needle}"
    for module in DEFAULT_PLUGINS:
        assert f"`{module}`" in text, f"built-in plugin {module} is not listed"


def test_the_ten_line_example_plugin_loads_and_scores(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(LOAD_PLUGINS_ENV, raising=False)
    text = PLUGINS_MD.read_text()
    example = re.search(r"## A plugin in ten lines.*?```python\n(.*?)```", text, re.DOTALL)
    assert example is not None
    code = example.group(1)
    assert len([line for line in code.splitlines() if line.strip()]) <= 10
    folder = tmp_path / "plugins.d"
    folder.mkdir()
    (folder / "big_companies.py").write_text(code)
    plugins = load_plugins([folder], entry_points=False)
    assert plugins.problems == []
    assert {"name": "big_companies", "version": None, "hooks": ["hub_score"]} in plugins.describe()

    from datetime import UTC, datetime

    from hub.schema import Account, Activity, Company, Inquiry, Lead, SourceRecord

    source = SourceRecord(connector="webform", stream="form:demo", external_id="1",
                          updated_at=datetime(2026, 1, 1, tzinfo=UTC), payload={})
    inquiry = Inquiry(source=source, company=Company(name="Globex", employees=2300),
                      activity=Activity(kind="webinar", at=datetime(2026, 1, 1, tzinfo=UTC), source="webform"))
    lead = Lead(account_id="acct_1", activities=[inquiry.activity])
    parts = plugins.score(lead, inquiry, Account(name="Globex"))
    assert any(p.plugin == "big_companies" and p.points == 15 and "2300 employees" in p.reason for p in parts)


def _config_keys(model: type[BaseModel], prefix: str = "") -> list[str]:
    """Every key of hub.toml: ``[section]`` for tables, ``section.key`` for values."""
    keys = []
    for name, field in model.model_fields.items():
        if field.exclude or name == "source_path":
            continue
        annotation = field.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            keys.append(f"[{name}]")
            keys.extend(_config_keys(annotation, f"{name}."))
        else:
            keys.append(prefix + name)
    return keys


@pytest.mark.parametrize("key", _config_keys(HubConfig) + ["[[owners]]"] + [
    f"owners.{name}" for name in OwnerSettings.model_fields])
def test_operations_guide_documents_every_config_key(key: str) -> None:
    text = OPERATIONS_MD.read_text()
    leaf = key if key.startswith("[") else key.rsplit(".", 1)[-1]
    # A table may be documented as `[name]`, `[[name]]` or `[name.NAME]`.
    pattern = re.escape(f"`{leaf}`") if key.startswith("[") else rf"`(\[\[?)?{re.escape(leaf)}(`|\]|\.NAME\])"
    assert re.search(pattern, text), f"docs/operations.md does not document {key}"


def test_operations_guide_documents_every_leadhub_variable_the_code_reads() -> None:
    text = OPERATIONS_MD.read_text()
    used: set[str] = set()
    for folder in ("hub", "connectors", "plugins"):
        for path in (ROOT / folder).rglob("*.py"):
            used |= set(re.findall(r"\"(LEADHUB_[A-Z_]+)\"", path.read_text()))
    used -= {"LEADHUB_"}
    assert used, "found no LEADHUB_ variables at all: the scan is broken"
    missing = sorted(v for v in used if v not in text)
    assert not missing, f"docs/operations.md does not mention {missing}"
    for needle in ("LEADHUB_DATABASE_URL", "LEADHUB_CONNECTORS__", "/healthz", "/readyz", "/metrics",
                   "quarantine replay", "dead-letters replay", "SKIP LOCKED", "SIGTERM"):
        assert needle in text, f"docs/operations.md does not mention {needle}"
    assert os.path.exists(ROOT / "hub.toml")


ARCHITECTURE_MD = ROOT / "docs" / "architecture.md"


def architecture_paths(markdown: str) -> set[str]:
    """Every file or folder docs/architecture.md names: backticked paths and the package tree."""
    found = {m for m in re.findall(r"`([\w./-]+)`", markdown)
             if "/" in m and re.search(r"(\.(py|md|toml)|/)$", m) and not m.startswith(("/", "http"))}
    tree = re.search(r"^```\n(hub/.*?)^```", markdown, re.MULTILINE | re.DOTALL)
    assert tree, "docs/architecture.md lost its package tree"
    parent = ""
    for line in tree.group(1).splitlines():
        name = line.split()[0] if line.strip() else ""
        if not name:
            continue
        if line.startswith(" "):
            found.add(parent + name)
        else:
            parent = name if name.endswith("/") else ""
            found.add(name)
    return found


def test_architecture_names_only_files_that_exist() -> None:
    text = ARCHITECTURE_MD.read_text()
    paths = architecture_paths(text)
    assert {"hub/pipeline/engine.py", "hub/api.py", "plugins/routing/", "sandbox/"} <= paths
    missing = sorted(p for p in paths if not (ROOT / p).exists())
    assert not missing, f"docs/architecture.md names files that do not exist: {missing}"


def test_architecture_is_linked_from_the_readme() -> None:
    assert "docs/architecture.md" in (ROOT / "README.md").read_text()
