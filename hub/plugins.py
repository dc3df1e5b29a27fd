"""The plugin manager: loads built-in and third-party plugins, and a typed facade over the hooks.

Plugins come from three places, registered the same way:

1. ``DEFAULT_PLUGINS``: the built-in connectors and policies (ordinary plugins).
2. The ``leadhub`` entry-point group of installed packages.
3. ``*.py`` files in the ``plugin_dirs`` of hub.toml.

``LEADHUB_LOAD_PLUGINS`` (comma-separated names) limits which third-party plugins load; an empty
value loads none. A plugin that fails to import is reported by name and skipped; the rest load.

Core code never spells ``pm.hook.x(...)``: it calls the typed methods of :class:`HubPlugins`,
and every one of them calls ``pm.hook``, so ``@hookimpl(wrapper=True)`` plugins and
``pm.add_hookcall_monitoring`` see every call. pluggy hands back results without saying which
plugin returned which (pytest-dev/pluggy#235), and one raising implementation stops the others;
so :class:`HubPluginManager` guards each implementation of two kinds of hook when it registers:

- a *collected* hook (``COLLECTED_HOOKS``): the implementation's result comes back as
  :class:`Provided`, a list that names its plugin, so a score part is credited to its plugin and
  a duplicate name or a wrong type is reported naming the plugin;
- an *event* hook (``hookspecs.EVENT_HOOKS``): an exception is logged naming the plugin and the
  other handlers still run; the work that was committed before the event stays committed.
"""

from __future__ import annotations

import functools
import importlib
import importlib.metadata
import importlib.util
import logging
import os
import sys
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

import pluggy

from hub import hookspecs
from hub.connector import Connector
from hub.decisions import (
    SCORE_KINDS,
    AccountLookup,
    AccountMatch,
    ContactRecord,
    DuplicateScore,
    Owner,
    QualifyDecision,
    RouteDecision,
    RoutingContext,
    RoutingStrategy,
    ScorePart,
    SlaAction,
)
from hub.errors import PluginError
from hub.hookspecs import EVENT_HOOKS

if TYPE_CHECKING:
    import typer

    from hub.mapping import MappingSet
    from hub.schema import Account, Contact, Inquiry, Lead, Normalized, Outcome, SourceRecord

log = logging.getLogger(__name__)

hookimpl = pluggy.HookimplMarker(hookspecs.PROJECT)
ENTRY_POINT_GROUP = "leadhub"
LOAD_PLUGINS_ENV = "LEADHUB_LOAD_PLUGINS"

#: Hooks whose every implementation contributes: each result comes back as :class:`Provided`.
COLLECTED_HOOKS = frozenset({"hub_connector_types", "hub_routing_strategies", "hub_mappings", "hub_score"})

#: Built-in plugins, registered exactly like third-party ones: ``"module"`` registers the module,
#: ``"module:Factory"`` a fresh instance per hub (see :func:`load_default`).
DEFAULT_PLUGINS: tuple[str, ...] = (
    "plugins.normalize:NormalizePlugin",
    "plugins.matching:MatchingPlugin",
    "plugins.scoring:ScoringPlugin",
    "plugins.qualify:QualifyPlugin",
    "plugins.routing:RoutingPlugin",
    "plugins.sla:SlaPlugin",
    "connectors.file",
    "connectors.salesforce",
    "connectors.hubspot",
    "connectors.webform",
    "connectors.partner",
    "sandbox.plugin",
)


class Provided(list[Any]):
    """The results of one implementation of a collected hook, and the plugin that returned them.

    A list, so a wrapper around the hook sees lists of the records the hook promises.
    """

    __slots__ = ("plugin",)

    def __init__(self, plugin: str, items: Iterable[Any]) -> None:
        super().__init__(items)
        self.plugin = plugin


class HubPluginManager(pluggy.PluginManager):
    """A pluggy manager that guards the implementations of collected and event hooks.

    The guard wraps one implementation where pluggy calls it, so a hook call is still one
    ``pm.hook`` call that every wrapper and monitor sees.
    """

    def register(self, plugin: object, name: str | None = None) -> str | None:
        registered = super().register(plugin, name)
        if registered is None:
            return None
        for caller in self.get_hookcallers(plugin) or []:
            if caller.name not in COLLECTED_HOOKS and caller.name not in EVENT_HOOKS:
                continue
            for impl in caller.get_hookimpls():
                if impl.plugin is plugin and not (impl.wrapper or impl.hookwrapper):
                    # pluggy tells nobody which implementation returned what (pytest-dev/pluggy#235):
                    # wrap the function it calls, the one place between two implementations.
                    impl.function = _guarded(caller.name, impl.plugin_name, impl.function)  # type: ignore[misc]
        return registered


def _guarded(hook: str, plugin: str, function: Callable[..., Any]) -> Callable[..., Any]:
    """``function`` (one plugin's implementation of ``hook``), isolated or credited to ``plugin``."""
    if hook in EVENT_HOOKS:

        def call(*args: Any, **kwargs: Any) -> Any:
            try:
                return function(*args, **kwargs)
            except Exception:  # one handler's failure must not stop the others
                log.exception("plugin %s failed in %s; the other plugins were told and nothing was undone "
                              "(fix the plugin, or leave it out with LEADHUB_LOAD_PLUGINS)", plugin, hook)
                return None

    else:

        def call(*args: Any, **kwargs: Any) -> Any:
            got = function(*args, **kwargs)
            if got is None:
                return None
            return Provided(plugin, got if isinstance(got, list | tuple) else [got])

    return functools.wraps(function)(call)


def _collected(results: Iterable[Any]) -> Iterator[tuple[str | None, Any]]:
    """(plugin name, record) for every record of a collected hook's results, flattened.

    A group a hook wrapper added has no plugin name (``None``).
    """
    for group in results:
        plugin = group.plugin if isinstance(group, Provided) else None
        for item in group if isinstance(group, list | tuple) else [group]:
            yield plugin, item


def _name(plugin: str | None) -> str:
    return f"plugin {plugin!r}" if plugin else "a hook wrapper"


@dataclass
class PluginProblem:
    """A plugin that could not be loaded, and why."""

    name: str
    error: str


@dataclass
class HubPlugins:
    """A typed facade over the pluggy manager: one method per hook, each calling ``pm.hook``."""

    pm: pluggy.PluginManager
    problems: list[PluginProblem] = field(default_factory=list)
    #: Plugin name -> version of the distribution that provided it (entry points know theirs).
    versions: dict[str, str] = field(default_factory=dict)

    # -- start-up ----------------------------------------------------------------------------
    def configure(self, config: Any) -> None:
        """Hand the validated configuration to every plugin (``hub_configure``)."""
        self.pm.hook.hub_configure(config=config)

    def cli_commands(self, app: typer.Typer) -> None:
        """Let every plugin add its commands to the ``leadhub`` command line (``hub_cli_commands``)."""
        self.pm.hook.hub_cli_commands(app=app)

    # -- registration ------------------------------------------------------------------------
    def connector_types(self) -> dict[str, type[Connector]]:
        """All connector classes by name; a duplicate name raises naming both providers."""
        found: dict[str, tuple[type[Connector], str]] = {}
        for plugin, cls in _collected(self.pm.hook.hub_connector_types()):
            if not (isinstance(cls, type) and issubclass(cls, Connector)):
                raise PluginError(f"{_name(plugin)} returned {cls!r} from hub_connector_types; "
                                  "expected a Connector subclass")
            if cls.name in found and found[cls.name][0] is not cls:
                raise PluginError(
                    f"connector type {cls.name!r} is provided twice: by {_name(found[cls.name][1])} "
                    f"and by {_name(plugin)}; uninstall one or limit plugins with LEADHUB_LOAD_PLUGINS"
                )
            found.setdefault(cls.name, (cls, plugin or ""))
        return {name: cls for name, (cls, _) in found.items()}

    def routing_strategies(self) -> dict[str, RoutingStrategy]:
        """All routing strategies by name; a duplicate name raises naming both providers."""
        found: dict[str, tuple[RoutingStrategy, str]] = {}
        for plugin, strategy in _collected(self.pm.hook.hub_routing_strategies()):
            if not isinstance(strategy, RoutingStrategy):
                raise PluginError(f"{_name(plugin)} returned {strategy!r} from hub_routing_strategies; "
                                  "expected a RoutingStrategy")
            if strategy.name in found:
                raise PluginError(
                    f"routing strategy {strategy.name!r} is provided twice: by "
                    f"{_name(found[strategy.name][1])} and by {_name(plugin)}"
                )
            found[strategy.name] = (strategy, plugin or "")
        return {name: s for name, (s, _) in found.items()}

    def mappings(self) -> list[Path]:
        """The default mapping files plugins ship (``hub_mappings``), one per connector type.

        Each file's stem is the connector type it maps; two plugins shipping the same stem raise
        naming both.
        """
        found: dict[str, tuple[Path, str]] = {}
        for plugin, path in _collected(self.pm.hook.hub_mappings()):
            if not (isinstance(path, Path) and path.suffix == ".toml"):
                raise PluginError(f"{_name(plugin)} returned {path!r} from hub_mappings; "
                                  "expected the pathlib.Path of a .toml mapping file")
            if not path.is_file():
                raise PluginError(f"{_name(plugin)} ships the mapping {path}, which does not exist; "
                                  "reinstall the plugin")
            if path.stem in found and found[path.stem][0] != path:
                first, by = found[path.stem]
                raise PluginError(
                    f"mapping {path.stem!r} is shipped twice: by {_name(by)} ({first}) and by "
                    f"{_name(plugin)} ({path}); uninstall one, limit plugins with LEADHUB_LOAD_PLUGINS, "
                    f"or put your own {path.stem}.toml in hub.toml's mappings_dir"
                )
            found.setdefault(path.stem, (path, plugin or ""))
        return [path for path, _ in found.values()]

    # -- decisions ---------------------------------------------------------------------------
    def normalize(self, record: SourceRecord, mappings: MappingSet) -> Normalized | None:
        """The record as an inquiry, an outcome report or an account (``hub_normalize``)."""
        result: Normalized | None = self.pm.hook.hub_normalize(record=record, mappings=mappings)
        return result

    def match_account(self, inquiry: Inquiry, lookup: AccountLookup) -> AccountMatch | None:
        """The account ``inquiry`` belongs to (``hub_match_account``)."""
        result: AccountMatch | None = self.pm.hook.hub_match_account(inquiry=inquiry, lookup=lookup)
        return result

    def contact_key(self, contact: Contact) -> str | None:
        """The key under which ``contact`` is one person (``hub_contact_key``), at most 320 chars.

        No plugin deciding (the built-in matcher failed to load, say): the lower-cased e-mail, so
        contacts are never duplicated for want of a policy.
        """
        result: str | None = self.pm.hook.hub_contact_key(contact=contact)
        if result:
            return result[:320]
        return str(contact.email).strip().lower()[:320] if contact.email else None

    def contact_duplicate(self, contact: ContactRecord, other: ContactRecord) -> DuplicateScore | None:
        """How likely ``contact`` and ``other`` are one person (``hub_contact_duplicate``)."""
        result: DuplicateScore | None = self.pm.hook.hub_contact_duplicate(contact=contact, other=other)
        return result

    def score(self, lead: Lead, inquiry: Inquiry, account: Account) -> list[ScorePart]:
        """Every plugin's score parts (``hub_score``), flattened, each credited to its plugin."""
        parts: list[ScorePart] = []
        for plugin, part in _collected(self.pm.hook.hub_score(lead=lead, inquiry=inquiry, account=account)):
            if not isinstance(part, ScorePart):
                raise PluginError(f"{_name(plugin)} returned {part!r} from hub_score; "
                                  "expected a ScorePart, a list of them, or None")
            if part.kind not in SCORE_KINDS:
                raise PluginError(f"{_name(plugin)} returned a ScorePart of kind {part.kind!r} from hub_score; "
                                  f"expected one of {', '.join(sorted(SCORE_KINDS))}")
            parts.append(part if part.plugin or not plugin else replace(part, plugin=plugin))
        return parts

    def grade(self, lead: Lead, account: Account) -> str | None:
        """The letter the lead's fit earns (``hub_grade``); ``None``: nobody graded it."""
        result: str | None = self.pm.hook.hub_grade(lead=lead, account=account)
        if result is not None and (not isinstance(result, str) or not 0 < len(result) <= 2):
            raise PluginError(f"hub_grade returned {result!r}; expected a letter such as 'A', or None")
        return result

    def sandbox(self, port: int) -> AbstractContextManager[str] | None:
        """The sandbox CRMs a plugin serves on ``port`` (``hub_sandbox``); ``None``: none installed."""
        result: AbstractContextManager[str] | None = self.pm.hook.hub_sandbox(port=port)
        return result

    def qualify(self, lead: Lead, account: Account) -> QualifyDecision | None:
        """Whether the scored lead goes to sales (``hub_qualify``); ``None``: nobody decided."""
        result: QualifyDecision | None = self.pm.hook.hub_qualify(lead=lead, account=account)
        return result

    def route(self, context: RoutingContext) -> RouteDecision | None:
        """The owner of a qualified lead (``hub_route``); ``None``: nobody decided."""
        result: RouteDecision | None = self.pm.hook.hub_route(context=context)
        return result

    def sla_breached(self, lead: Lead, owners: list[Owner], now: datetime) -> SlaAction | None:
        """What to do with a lead its owner did not accept in time (``hub_sla_breached``)."""
        result: SlaAction | None = self.pm.hook.hub_sla_breached(lead=lead, owners=owners, now=now)
        return result

    # -- events: call them after the commit; a failing handler is logged, the others still run ----
    def lead_routed(self, lead: Lead, decision: RouteDecision) -> None:
        """Tell every plugin ``lead`` was routed (``hub_lead_routed``)."""
        self._notify(self.pm.hook.hub_lead_routed, lead=lead, decision=decision)

    def outcome(self, lead: Lead, outcome: Outcome) -> None:
        """Tell every plugin ``lead``'s outcome changed (``hub_outcome``)."""
        self._notify(self.pm.hook.hub_outcome, lead=lead, outcome=outcome)

    def record_quarantined(self, connector: str, stream: str, reason: str, details: dict[str, Any]) -> None:
        """Tell every plugin a record was quarantined (``hub_record_quarantined``)."""
        self._notify(self.pm.hook.hub_record_quarantined, connector=connector, stream=stream, reason=reason,
                     details=details)

    @staticmethod
    def _notify(hook: pluggy.HookCaller, **kwargs: Any) -> None:
        # Each handler is isolated where it is called (HubPluginManager); what is left to fail is a
        # hook wrapper, and that must not undo the committed work either.
        try:
            hook(**kwargs)
        except Exception:  # an event never undoes committed work
            log.exception("a hook wrapper failed in %s", hook.name)

    # -- introspection -----------------------------------------------------------------------
    def describe(self) -> list[dict[str, Any]]:
        """Name, version and hooks of every registered plugin (``leadhub plugins``)."""
        out = []
        owners = importlib.metadata.packages_distributions()  # one scan of installed packages
        for name, plugin in sorted(self.pm.list_name_plugin(), key=lambda p: str(p[0])):
            hooks = sorted(h.name for h in self.pm.get_hookcallers(plugin) or [])
            version = self.versions.get(name)
            if version is None:
                dist = _distribution_of(plugin, owners)
                version = dist[1] if dist else None
            out.append({"name": name, "version": version, "hooks": hooks})
        return out


def _distribution_of(plugin: object, owners: Mapping[str, list[str]]) -> tuple[str, str] | None:
    module = getattr(plugin, "__name__", "") or type(plugin).__module__
    top = module.split(".")[0]
    for dist_name in owners.get(top, []):
        try:
            return dist_name, importlib.metadata.version(dist_name)
        except importlib.metadata.PackageNotFoundError:
            continue
    return None


def _allowed_names() -> set[str] | None:
    raw = os.environ.get(LOAD_PLUGINS_ENV)
    if raw is None:
        return None
    return {n.strip() for n in raw.split(",") if n.strip()}


def new_manager() -> HubPluginManager:
    """A manager that knows the ``hub_*`` hooks and guards collected and event hooks."""
    pm = HubPluginManager(hookspecs.PROJECT)
    pm.add_hookspecs(hookspecs)
    return pm


def load_plugins(
    plugin_dirs: Iterable[str | Path] = (),
    *,
    defaults: Iterable[str] = DEFAULT_PLUGINS,
    entry_points: bool = True,
    extra: Iterable[object] = (),
) -> HubPlugins:
    """Build a manager with the built-ins, entry points, plugin folders and ``extra`` objects."""
    hub = HubPlugins(new_manager())
    for spec in defaults:
        _register_module(hub, spec.partition(":")[0], lambda s=spec: load_default(s))
    allowed = _allowed_names()
    if entry_points:
        for ep in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP):
            if allowed is not None and ep.name not in allowed:
                continue
            _register_module(hub, ep.name, ep.load)
            if ep.dist is not None and hub.pm.get_plugin(ep.name) is not None:
                hub.versions[ep.name] = ep.dist.version
    for folder in plugin_dirs:
        path = Path(folder)
        if not path.is_dir():
            hub.problems.append(PluginProblem(str(path), "plugin folder does not exist"))
            log.warning("plugin folder %s does not exist", path)
            continue
        for file in sorted(path.glob("*.py")):
            if allowed is not None and file.stem not in allowed:
                continue
            _register_module(hub, file.stem, lambda f=file: _import_file(f))
    for obj in extra:
        if not hub.pm.is_registered(obj):  # a built-in handed in again is already there
            hub.pm.register(obj)
    return hub


def load_default(spec: str) -> object:
    """A built-in plugin from ``"module"`` (the module is the plugin) or ``"module:Factory"``.

    A factory (usually the plugin class) is called with no arguments, once per hub: the instance
    holds the plugin's settings and caches, so two hubs in one process never share them. A
    built-in named by its module alone (``"plugins.scoring"``) is made by its ``DEFAULT_PLUGINS``
    factory: the name a built-in is registered under is its module's.
    """
    module_name, _, factory = spec.partition(":")
    if not factory:
        factory = next((f for m, _, f in (d.partition(":") for d in DEFAULT_PLUGINS) if m == module_name), "")
    module = importlib.import_module(module_name)
    if not factory:
        return module
    made: object = getattr(module, factory)()
    return made


def _register_module(hub: HubPlugins, name: str, load: Any) -> None:
    """Import and register one plugin; any failure is recorded under its name and it is skipped.

    Failures: the import raises, a hook's arguments do not match its spec (pluggy rejects it), or
    a ``hub_*`` function names no hook (a typo such as ``hub_scroe`` would otherwise never run).
    """
    try:
        plugin = load()
        hub.pm.register(plugin, name=name)
        unknown = sorted(c.name for c in hub.pm.get_hookcallers(plugin) or [] if not c.has_spec())
        if unknown:
            raise PluginError(f"{', '.join(unknown)}: no such hook (see docs/plugins.md for the hub_* hooks)")
    except Exception as exc:  # noqa: BLE001 - a broken plugin is skipped, the rest load
        if hub.pm.get_plugin(name) is not None:
            hub.pm.unregister(name=name)  # pluggy may have registered part of it before failing
        problem = f"{type(exc).__name__}: {exc}"
        hub.problems.append(PluginProblem(name, problem))
        log.warning("plugin %s could not be loaded and is skipped: %s", name, problem)


def _import_file(path: Path) -> ModuleType:
    module_name = f"leadhub_plugin_{path.stem}"
    spec = importlib.util.spec_from_file_location(module_name, path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot import {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    spec.loader.exec_module(module)
    return module
