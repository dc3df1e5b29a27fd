"""The callback pump: sends the partner channel's own queued callbacks while the daemon runs.

Most partner callbacks ride the hub's outbox (they are outcomes of a lead). A referral that ops
reject while it is held never becomes a lead, so its callback is queued in
:data:`connectors.partner.tables.referral_events` instead, and this thread sends it: it runs for
the life of the web app's workers (started from the connector's router lifespan), wakes every
``callback_poll_seconds`` or when :meth:`CallbackPump.wake` is called, and drains what is due.
Rows are leased while being sent, so several daemons on one PostgreSQL never send one twice.
"""

from __future__ import annotations

import logging
import threading
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from connectors.partner.connector import PartnerConnector

log = logging.getLogger(__name__)


class CallbackPump:
    def __init__(self, connector: PartnerConnector, poll_seconds: float) -> None:
        self.connector = connector
        self.poll_seconds = poll_seconds
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self._thread is not None and self._thread.is_alive():
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name=f"leadhub-callbacks-{self.connector.instance}",
                                        daemon=True)
        self._thread.start()

    def wake(self) -> None:
        """Send what is due now rather than at the next poll."""
        self._wake.set()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                # Drain: a full batch means more may be due.
                while not self._stop.is_set() and self.connector.deliver_events().claimed >= self.connector.batch_limit:
                    pass
            except Exception:
                log.exception("sending partner callbacks failed; retrying in %.1f s", self.poll_seconds)
            self._wake.wait(self.poll_seconds)
            self._wake.clear()
