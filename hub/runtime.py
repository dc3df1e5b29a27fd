"""Assembles a running hub from its configuration: plugins, mappings, store, connectors, engine.

:func:`build_hub` is what ``leadhub run``, ``leadhub sync`` and the tests call. Everything that
can be wrong with the configuration is found here, before any record moves, and reported as a
:class:`~hub.errors.ConfigError` naming the place.

Mappings: every plugin ships the default mapping of its connector types (``hub_mappings``); a
file of the same name in hub.toml's ``mappings_dir`` replaces the shipped one, and other files
there map further connectors. The engine (pipeline, deliverer, intake) is built on first use, so
a command that only reads the store (``leadhub leads show``) never loads it.
"""

from __future__ import annotations

import gc
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from hub.config import HubConfig
from hub.connector import Capability, Connector, ConnectorServices, ConnectorSettings
from hub.errors import ConfigError, PluginError
from hub.mapping import MappingSet
from hub.owners import load_owners
from hub.plugins import HubPlugins, load_plugins
from hub.store import Store, open_store

if TYPE_CHECKING:
    from hub.pipeline.delivery import Deliverer, DeliveryResult
    from hub.pipeline.engine import BatchResult, Pipeline
    from hub.pipeline.intake import Intake, PullResult

log = logging.getLogger(__name__)


@dataclass
class SyncReport:
    pulled: dict[str, PullResult]
    processed: BatchResult
    delivered: DeliveryResult
    errors: list[str] = field(default_factory=list)


class Hub:
    """A configured hub. Thread-safe for one processor, one deliverer and the web app at once."""

    def __init__(self, config: HubConfig, plugins: HubPlugins, mappings: MappingSet, store: Store,
                 connectors: dict[str, Connector]) -> None:
        self.config = config
        self.plugins = plugins
        self.mappings = mappings
        self.store = store
        self.connectors = connectors
        #: hub.toml's owners, with the CRM ids ``leadhub owners-sync`` stored (hub.toml wins).
        self.owners = load_owners(config, store)
        self.wakeup = threading.Event()
        self._engine_lock = threading.Lock()
        self._intake: Intake | None = None
        self._pipeline: Pipeline | None = None
        self._deliverer: Deliverer | None = None

    # -- the engine, built on first use ------------------------------------------------------
    @property
    def intake(self) -> Intake:
        """Commits inbound records to the inbox (and wakes the processor)."""
        with self._engine_lock:
            if self._intake is None:
                from hub.pipeline.intake import Intake

                self._intake = Intake(self.store, wake=self.wakeup.set)
            return self._intake

    @property
    def pipeline(self) -> Pipeline:
        """Processes inbox records: normalize, match, merge, score, qualify, route."""
        with self._engine_lock:
            if self._pipeline is None:
                from hub.pipeline.engine import Pipeline, PipelineSettingsView

                config = self.config
                self._pipeline = Pipeline(
                    self.store, self.plugins, self.mappings, self.connectors, self.owners,
                    PipelineSettingsView(
                        routing=config.routing.model_dump(),
                        sla_minutes=config.routing.sla_minutes,
                        extra_destinations=tuple(config.routing.destinations),
                        recycle_window_days=config.pipeline.recycle_window_days,
                    ),
                )
            return self._pipeline

    @property
    def deliverer(self) -> Deliverer:
        """Sends due outbox rows to their destinations, with retries and dead letters."""
        with self._engine_lock:
            if self._deliverer is None:
                from hub.pipeline.delivery import Backoff, Deliverer

                delivery = self.config.delivery
                self._deliverer = Deliverer(
                    self.store, self.connectors, self.owners, max_attempts=delivery.max_attempts,
                    backoff=Backoff(delivery.backoff_initial_seconds, delivery.backoff_max_seconds),
                )
            return self._deliverer

    # -- work --------------------------------------------------------------------------------
    def process_pending(self, *, max_batches: int | None = None,
                        progress: Callable[[int], None] | None = None) -> BatchResult:
        """Process inbox records until none are pending (or ``max_batches`` ran).

        ``progress`` is told the number of records processed so far after every batch.
        """
        from hub.pipeline.engine import BatchResult

        total = BatchResult()
        n = 0
        while max_batches is None or n < max_batches:
            got = self.pipeline.process_batch(self.config.pipeline.batch_size)
            total.add(got)
            n += 1
            if progress is not None and got.processed:
                progress(total.processed)
            if got.processed == 0:
                break
        return total

    def pull_all(self, stop: threading.Event | None = None) -> dict[str, PullResult]:
        out: dict[str, PullResult] = {}
        for name, connector in self.connectors.items():
            if connector.supports(Capability.PULL):
                for stream in connector.streams:
                    out[f"{name}/{stream}"] = self.intake.pull(name, connector, stream, stop)
            if connector.supports(Capability.PULL_OUTCOMES):
                out[f"{name}/outcomes"] = self.intake.pull_outcomes(name, connector, stop)
        return out

    def sync_once(self) -> SyncReport:
        """Pull everything, process everything, deliver everything due; then return."""
        errors: list[str] = []
        pulled: dict[str, PullResult] = {}
        try:
            pulled = self.pull_all()
        except Exception as exc:
            log.exception("pull failed")
            errors.append(f"pull: {exc}")
        report = SyncReport(pulled, self.process_pending(), self.deliverer.deliver_due(), errors)
        # Deliveries may report outcomes synchronously; process what they produced.
        report.processed.add(self.process_pending())
        return report

    def close(self) -> None:
        for connector in self.connectors.values():
            try:
                connector.close()
            except Exception:
                log.exception("closing %s", connector.instance)
        self.store.engine.dispose()


def build_connectors(config: HubConfig, plugins: HubPlugins, mappings: MappingSet, *,
                     services: ConnectorServices | None = None) -> dict[str, Connector]:
    """An instance of every enabled connector, each handed the hub's ``services`` (its store)."""
    services = services if services is not None else ConnectorServices()
    return {instance: cls(instance, settings, mappings, services=services)
            for instance, cls, settings in _connector_settings(config, plugins)}


def _connector_settings(config: HubConfig, plugins: HubPlugins
                        ) -> list[tuple[str, type[Connector], ConnectorSettings]]:
    """The class and validated settings of every enabled connector; a ConfigError names the key."""
    types = plugins.connector_types()
    out: list[tuple[str, type[Connector], ConnectorSettings]] = []
    for instance, spec in config.connectors.items():
        cls = types.get(spec.type)
        if cls is None:
            known = ", ".join(sorted(types)) or "none"
            raise ConfigError(
                f"connectors.{instance}.type: unknown connector type {spec.type!r} (installed: {known})"
            )
        try:
            settings = cls.settings_model(**spec.settings_dict())
        except ValidationError as exc:
            lines = [f"connectors.{instance} is invalid:"]
            for err in exc.errors():
                key = ".".join(str(p) for p in err["loc"])
                msg = "unknown setting" if err["type"] == "extra_forbidden" else err["msg"]
                lines.append(f"  connectors.{instance}.{key}: {msg}")
            raise ConfigError("\n".join(lines)) from None
        if settings.enabled:
            out.append((instance, cls, settings))
    return out


def shipped_mappings(plugins: HubPlugins) -> list[Path]:
    """The default mapping files every plugin ships (``hub_mappings``); one file per name."""
    try:
        return plugins.mappings()
    except PluginError as exc:  # a start-up problem of the installation: say it as configuration
        raise ConfigError(str(exc)) from exc


def load_mappings(config: HubConfig, plugins: HubPlugins) -> MappingSet:
    """The shipped mappings, each replaced by a file of the same name in ``mappings_dir``.

    Files of ``mappings_dir`` map further connectors (a plugin folder's, say); a missing folder
    means "no overrides". Errors name the file, the line and the field (:mod:`hub.mapping`).
    """
    files = {path.stem: path for path in shipped_mappings(plugins)}
    folder = config.resolve_path(config.mappings_dir)
    if folder.is_dir():
        files.update((path.stem, path) for path in sorted(folder.glob("*.toml")))
    return MappingSet.from_files(files[name] for name in sorted(files))


def build_hub(config: HubConfig, *, extra_plugins: tuple[Any, ...] = (), migrate: bool = True) -> Hub:
    """Load plugins and mappings, open (and migrate) the store, instantiate connectors."""
    plugins = load_plugins([config.resolve_path(d) for d in config.plugin_dirs], extra=extra_plugins)
    mappings = load_mappings(config, plugins)
    plugins.configure(config)
    strategies = plugins.routing_strategies()
    if config.routing.strategy not in strategies:
        raise ConfigError(
            f"routing.strategy: {config.routing.strategy!r} is not a registered strategy "
            f"(known: {', '.join(sorted(strategies))})"
        )
    owner_ids = {o.id for o in config.owners}
    if config.routing.default_owner and config.routing.default_owner not in owner_ids:
        raise ConfigError(f"routing.default_owner: {config.routing.default_owner!r} is not one of [[owners]]")
    enabled = _connector_settings(config, plugins)  # every configuration error before the store opens
    store = open_store(config.database_url, run_migrations=migrate)
    services = ConnectorServices(store)
    connectors: dict[str, Connector] = {
        instance: cls(instance, settings, mappings, services=services) for instance, cls, settings in enabled}
    return Hub(config, plugins, mappings, store, connectors)


def settle_start_up_memory() -> None:
    """Move what start-up built (suffix lists, compiled mappings, plugins) out of the collector's way.

    A long-running process (``run``, ``sync``, ``import``) calls this once after :func:`build_hub`:
    the cyclic garbage collector then no longer walks those objects on every full collection.
    """
    gc.collect()
    gc.freeze()
