"""The daemon's background workers: processor, deliverer, puller and SLA watcher.

Each is a thread looping until ``stop`` is set. The processor sleeps on the hub's wake-up event,
so a committed inbound record is processed at once (no polling delay); the others run on
intervals. Stopping lets every worker finish the batch in hand: a batch is one transaction, so
stopping mid-way never loses or half-applies work.
"""

from __future__ import annotations

import functools
import logging
import threading
import time
from collections.abc import Callable

from hub.connector import Capability
from hub.runtime import Hub
from hub.server.metrics import observe_batch, observe_delivery

log = logging.getLogger(__name__)


class Workers:
    def __init__(self, hub: Hub, *, deliver_interval: float = 1.0, sla_interval: float = 30.0) -> None:
        self.hub = hub
        self.stop_event = threading.Event()
        self.deliver_wake = threading.Event()
        self.deliver_interval = deliver_interval
        self.sla_interval = sla_interval
        self.threads: list[threading.Thread] = []

    def start(self) -> None:
        self.stop_event.clear()
        self._spawn("processor", self._process_loop)
        self._spawn("deliverer", self._deliver_loop)
        self._spawn("sla", self._sla_loop)
        for name, connector in self.hub.connectors.items():
            if connector.settings.schedule_seconds > 0 and (
                connector.supports(Capability.PULL) or connector.supports(Capability.PULL_OUTCOMES)
            ):
                self._spawn(f"pull-{name}", functools.partial(self._pull_loop, name))

    def _spawn(self, name: str, target: Callable[[], None]) -> None:
        thread = threading.Thread(target=self._guard(name, target), name=f"leadhub-{name}", daemon=True)
        thread.start()
        self.threads.append(thread)

    def _guard(self, name: str, target: Callable[[], None]) -> Callable[[], None]:
        def run() -> None:
            while not self.stop_event.is_set():
                try:
                    target()
                    return
                except Exception:  # a worker restarts after an error
                    log.exception("worker %s failed; restarting in 1 s", name)
                    self.stop_event.wait(1.0)

        return run

    def stop(self, timeout: float = 30.0) -> None:
        self.stop_event.set()
        self.hub.wakeup.set()
        self.deliver_wake.set()
        deadline = time.monotonic() + timeout
        for thread in self.threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        self.threads.clear()

    def alive(self) -> bool:
        return bool(self.threads) and all(t.is_alive() for t in self.threads)

    # -- loops -------------------------------------------------------------------------------
    def _process_loop(self) -> None:
        hub = self.hub
        while not self.stop_event.is_set():
            hub.wakeup.wait(timeout=1.0)
            hub.wakeup.clear()
            while not self.stop_event.is_set():
                got = hub.pipeline.process_batch(hub.config.pipeline.batch_size)
                observe_batch(got)
                if got.routed or got.outcomes:
                    self.deliver_wake.set()
                if got.processed == 0:
                    break

    def _deliver_loop(self) -> None:
        while not self.stop_event.is_set():
            self.deliver_wake.wait(timeout=self.deliver_interval)
            self.deliver_wake.clear()
            if self.stop_event.is_set():
                return
            observe_delivery(self.hub.deliverer.deliver_due(max_batches=20))

    def _sla_loop(self) -> None:
        while not self.stop_event.wait(self.sla_interval):
            self.hub.pipeline.check_sla()

    def _pull_loop(self, name: str) -> None:
        connector = self.hub.connectors[name]
        while not self.stop_event.is_set():
            try:
                if connector.supports(Capability.PULL):
                    for stream in connector.streams:
                        self.hub.intake.pull(name, connector, stream, self.stop_event)
                if connector.supports(Capability.PULL_OUTCOMES):
                    self.hub.intake.pull_outcomes(name, connector, self.stop_event)
            except Exception:  # the next schedule tries again
                log.exception("pull from %s failed; next try in %.0f s", name, connector.settings.schedule_seconds)
            self.stop_event.wait(connector.settings.schedule_seconds)
