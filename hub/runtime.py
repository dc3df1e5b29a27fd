"""Assembles a running hub from its configuration: plugins, mappings, store, connectors, engine.

:func:`build_hub` is what ``leadhub run``, ``leadhub sync`` and the tests call. Everything that
can be wrong with the configuration is found here, before any record moves, and reported as a
:class:`~hub.errors.ConfigError` naming the place.
"""

from __future__ import annotations

import gc
import logging
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from hub.config import HubConfig
from hub.connector import Capability, Connector
from hub.pipeline.delivery import Backoff, Deliverer, DeliveryResult
from hub.pipeline.engine import BatchResult, Pipeline, PipelineSettingsView
from hub.errors import ConfigError
from hub.pipeline.intake import Intake, PullResult
from hub.mapping import MappingSet
from hub.plugins import HubPlugins, load_plugins
from hub.store import Store, open_store

log = logging.getLogger(__name__)


@dataclass
class SyncReport:
    pulled: dict[str, PullResult] = field(default_factory=dict)
    processed: BatchResult = field(default_factory=BatchResult)
    delivered: DeliveryResult = field(default_factory=DeliveryResult)
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
        self.owners = config.owner_list()
        self.wakeup = threading.Event()
        self.intake = Intake(store, wake=self.wakeup.set)
        self.pipeline = Pipeline(
            store, plugins, mappings, connectors, self.owners,
            PipelineSettingsView(
                routing=config.routing.model_dump(),
                sla_minutes=config.routing.sla_minutes,
                extra_destinations=tuple(config.routing.destinations),
                recycle_window_days=config.pipeline.recycle_window_days,
            ),
        )
        self.deliverer = Deliverer(
            store, connectors, self.owners, max_attempts=config.delivery.max_attempts,
            backoff=Backoff(config.delivery.backoff_initial_seconds, config.delivery.backoff_max_seconds),
        )

    # -- work --------------------------------------------------------------------------------
    def process_pending(self, *, max_batches: int | None = None) -> BatchResult:
        """Process inbox records until none are pending (or ``max_batches`` ran)."""
        total = BatchResult()
        n = 0
        while max_batches is None or n < max_batches:
            got = self.pipeline.process_batch(self.config.pipeline.batch_size)
            total.add(got)
            n += 1
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
        report = SyncReport()
        try:
            report.pulled = self.pull_all()
        except Exception as exc:  # noqa: BLE001 - reported; processing still runs
            log.exception("pull failed")
            report.errors.append(f"pull: {exc}")
        report.processed = self.process_pending()
        report.delivered = self.deliverer.deliver_due()
        # Deliveries may report outcomes synchronously; process what they produced.
        report.processed.add(self.process_pending())
        return report

    def close(self) -> None:
        for connector in self.connectors.values():
            try:
                connector.close()
            except Exception:  # noqa: BLE001
                log.exception("closing %s", connector.instance)
        self.store.engine.dispose()


def build_connectors(config: HubConfig, plugins: HubPlugins, mappings: MappingSet) -> dict[str, Connector]:
    types = plugins.connector_types()
    out: dict[str, Connector] = {}
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
        if not settings.enabled:
            continue
        out[instance] = cls(instance, settings, mappings)
    return out


def build_hub(config: HubConfig, *, extra_plugins: tuple[Any, ...] = (), migrate: bool = True) -> Hub:
    """Load plugins and mappings, open (and migrate) the store, instantiate connectors."""
    plugins = load_plugins([config.resolve_path(d) for d in config.plugin_dirs], extra=extra_plugins)
    mappings_dir = config.resolve_path(config.mappings_dir)
    if not mappings_dir.is_dir():
        bundled = Path(__file__).resolve().parent.parent / "mappings"
        mappings_dir = bundled
    mappings = MappingSet.load(mappings_dir)
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
    connectors = build_connectors(config, plugins, mappings)
    store = open_store(config.database_url, run_migrations=migrate)
    return Hub(config, plugins, mappings, store, connectors)


def settle_start_up_memory() -> None:
    """Move what start-up built (suffix lists, compiled mappings, plugins) out of the collector's way.

    A long-running process (``run``, ``sync``, ``import``) calls this once after :func:`build_hub`:
    the cyclic garbage collector then no longer walks those objects on every full collection.
    """
    gc.collect()
    gc.freeze()
