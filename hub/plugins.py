"""The plugin manager: loads built-in and third-party plugins, and a typed facade over the hooks.

Plugins come from three places, registered the same way:

1. ``DEFAULT_PLUGINS``: the built-in connectors and policies (ordinary plugins).
2. The ``leadhub`` entry-point group of installed packages.
3. ``*.py`` files in the ``plugin_dirs`` of hub.toml.

``LEADHUB_LOAD_PLUGINS`` (comma-separated names) limits which third-party plugins load; an empty
value loads none. A plugin that fails to import is reported by name and skipped; the rest load.
Core code never spells ``pm.hook.x(...)``: it calls the typed methods of :class:`HubPlugins`.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import importlib.util
import logging
import os
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

import pluggy

from hub import hookspecs
from hub.connector import Connector
from hub.decisions import (
    AccountLookup,
    AccountMatch,
    ContactRecord,
    DuplicateScore,
    Owner,
    RouteDecision,
    RoutingContext,
    RoutingStrategy,
    ScorePart,
    SlaAction,
)
from hub.errors import PluginError

if TYPE_CHECKING:
    from hub.mapping import MappingSet
    from hub.schema import Account, Contact, Inquiry, Lead, Normalized, Outcome, SourceRecord

log = logging.getLogger(__name__)

hookimpl = pluggy.HookimplMarker(hookspecs.PROJECT)
ENTRY_POINT_GROUP = "leadhub"
LOAD_PLUGINS_ENV = "LEADHUB_LOAD_PLUGINS"

#: Built-in plugins, registered exactly like third-party ones: ``"module"`` registers the module,
#: ``"module:Factory"`` a fresh instance per hub (see :func:`load_default`).
DEFAULT_PLUGINS: tuple[str, ...] = (
    "plugins.normalize",
    "plugins.matching",
    "plugins.scoring",
    "plugins.routing",
    "plugins.sla",
    "connectors.file",
    "connectors.salesforce",
    "connectors.hubspot",
    "connectors.webform",
    "connectors.partner",
    "sandbox.plugin",
)


@dataclass
class PluginProblem:
    """A plugin that could not be loaded, and why."""

    name: str
    error: str


@dataclass
class HubPlugins:
    """A typed facade over the pluggy manager."""

    pm: pluggy.PluginManager
    problems: list[PluginProblem] = field(default_factory=list)
    #: Plugin name -> version of the distribution that provided it (entry points know theirs).
    versions: dict[str, str] = field(default_factory=dict)

    # -- start-up ----------------------------------------------------------------------------
    def configure(self, config: Any) -> None:
        """Hand the validated configuration to every plugin (``hub_configure``)."""
        self.pm.hook.hub_configure(config=config)

    # -- registration ------------------------------------------------------------------------
    def connector_types(self) -> dict[str, type[Connector]]:
        """All connector classes by name; a duplicate name raises naming both providers."""
        found: dict[str, tuple[type[Connector], str]] = {}
        for impl in self.pm.hook.hub_connector_types.get_hookimpls():
            provided: list[Any] = impl.function() or []  # type: ignore[assignment]
            for cls in provided:
                if not (isinstance(cls, type) and issubclass(cls, Connector)):
                    raise PluginError(
                        f"plugin {impl.plugin_name!r} returned {cls!r} from hub_connector_types; "
                        "expected a Connector subclass"
                    )
                if cls.name in found and found[cls.name][0] is not cls:
                    raise PluginError(
                        f"connector type {cls.name!r} is provided twice: by plugin "
                        f"{found[cls.name][1]!r} and by plugin {impl.plugin_name!r}; "
                        "uninstall one or limit plugins with LEADHUB_LOAD_PLUGINS"
                    )
                found[cls.name] = (cls, impl.plugin_name)
        return {name: cls for name, (cls, _) in found.items()}

    def routing_strategies(self) -> dict[str, RoutingStrategy]:
        """All routing strategies by name; a duplicate name raises naming both providers."""
        found: dict[str, tuple[RoutingStrategy, str]] = {}
        for impl in self.pm.hook.hub_routing_strategies.get_hookimpls():
            offered: list[Any] = impl.function() or []  # type: ignore[assignment]
            for strategy in offered:
                if not isinstance(strategy, RoutingStrategy):
                    raise PluginError(
                        f"plugin {impl.plugin_name!r} returned {strategy!r} from "
                        "hub_routing_strategies; expected a RoutingStrategy"
                    )
                if strategy.name in found:
                    raise PluginError(
                        f"routing strategy {strategy.name!r} is provided twice: by plugin "
                        f"{found[strategy.name][1]!r} and by plugin {impl.plugin_name!r}"
                    )
                found[strategy.name] = (strategy, impl.plugin_name)
        return {name: s for name, (s, _) in found.items()}

    # -- decisions ---------------------------------------------------------------------------
    def normalize(self, record: SourceRecord, mappings: MappingSet) -> Normalized | None:
        result: Normalized | None = self.pm.hook.hub_normalize(record=record, mappings=mappings)
        return result

    def match_account(self, inquiry: Inquiry, lookup: AccountLookup) -> AccountMatch | None:
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
        result: DuplicateScore | None = self.pm.hook.hub_contact_duplicate(contact=contact, other=other)
        return result

    def score(self, lead: Lead, inquiry: Inquiry, account: Account) -> list[ScorePart]:
        """Every plugin's score parts, flattened, each tagged with its plugin's name."""
        parts: list[ScorePart] = []
        for impl in reversed(self.pm.hook.hub_score.get_hookimpls()):
            got = impl.function(**_accepted(impl, lead=lead, inquiry=inquiry, account=account))
            for part in got if isinstance(got, list) else [got] if got is not None else []:
                if not isinstance(part, ScorePart):
                    raise PluginError(f"plugin {impl.plugin_name!r} returned {part!r} from hub_score")
                parts.append(part if part.plugin else ScorePart(part.points, part.reason, impl.plugin_name))
        return parts

    def route(self, context: RoutingContext) -> RouteDecision | None:
        result: RouteDecision | None = self.pm.hook.hub_route(context=context)
        return result

    def sla_breached(self, lead: Lead, owners: list[Owner], now: datetime) -> SlaAction | None:
        result: SlaAction | None = self.pm.hook.hub_sla_breached(lead=lead, owners=owners, now=now)
        return result

    # -- events ------------------------------------------------------------------------------
    def lead_routed(self, lead: Lead, decision: RouteDecision) -> None:
        self._notify("hub_lead_routed", lead=lead, decision=decision)

    def outcome(self, lead: Lead, outcome: Outcome) -> None:
        self._notify("hub_outcome", lead=lead, outcome=outcome)

    def record_quarantined(self, connector: str, stream: str, reason: str, details: dict[str, Any]) -> None:
        self._notify("hub_record_quarantined", connector=connector, stream=stream, reason=reason, details=details)

    def _notify(self, hook: str, **kwargs: Any) -> None:
        # An event handler's failure must never undo committed work: log it and go on.
        for impl in getattr(self.pm.hook, hook).get_hookimpls():
            try:
                impl.function(**_accepted(impl, **kwargs))
            except Exception:
                log.exception("plugin %s failed in %s", impl.plugin_name, hook)

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


def _accepted(impl: pluggy.HookImpl, **kwargs: Any) -> dict[str, Any]:
    return {k: v for k, v in kwargs.items() if k in impl.argnames}


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


def new_manager() -> pluggy.PluginManager:
    pm = pluggy.PluginManager(hookspecs.PROJECT)
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
    holds the plugin's settings and caches, so two hubs in one process never share them.
    """
    module_name, _, factory = spec.partition(":")
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
