"""Intake: commit inbound records before anyone is told they were received.

HTTP endpoints answer 202 only after :meth:`Intake.submit` returns; a pulled page's cursor
advances in the same transaction as its rows, so a crash between pages re-reads at most one page
(and the inbox's unique key makes the re-read harmless).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from hub.connector import Connector, Page
from hub.schema import SourceRecord
from hub.store import Store

log = logging.getLogger(__name__)

#: The cursor key of a connector's outcome reads (beside its streams' cursors).
OUTCOMES_CURSOR = "__outcomes__"


@dataclass
class PullResult:
    pages: int = 0
    records: int = 0
    new: int = 0


class Intake:
    """Durable entry point for every inbound record."""

    def __init__(self, store: Store, wake: Callable[[], None] | None = None) -> None:
        self.store = store
        self._wake = wake or (lambda: None)

    def submit(self, records: Sequence[SourceRecord]) -> int:
        """Commit ``records`` (duplicates ignored) and wake the processor; returns how many were new."""
        with self.store.engine.begin() as conn:
            new = self.store.add_records(conn, records)
        if new:
            self._wake()
        return new

    def quarantine_raw(self, *, connector: str, stream: str, raw: Any, reason: str,
                       field: str | None = None, source_ref: str = "") -> int:
        """Keep input that never became a record (e.g. a malformed CSV row), with the reason."""
        with self.store.engine.begin() as conn:
            return self.store.quarantine(conn, connector=connector, stream=stream, raw=raw, reason=reason,
                                         field=field, source_ref=source_ref)

    def pull(self, instance: str, connector: Connector, stream: str, stop: threading.Event | None = None) -> PullResult:
        """Read ``stream`` from its cursor onwards, committing each page with its cursor."""
        return self._drain(instance, stream, lambda cursor: connector.pull(stream, cursor), stop)

    def pull_outcomes(self, instance: str, connector: Connector, stop: threading.Event | None = None) -> PullResult:
        """Read what became of leads (status changes, won/lost), with a cursor of its own."""
        return self._drain(instance, OUTCOMES_CURSOR, connector.pull_outcomes, stop)

    def _drain(self, instance: str, key: str, pages: Callable[[dict[str, Any] | None], Iterator[Page]],
               stop: threading.Event | None) -> PullResult:
        result = PullResult()
        with self.store.engine.begin() as conn:
            cursor = self.store.get_cursor(conn, instance, key)
        for page in pages(cursor):
            with self.store.engine.begin() as conn:
                result.new += self.store.add_records(conn, page.records)
                self.store.set_cursor(conn, instance, key, page.cursor)
            result.pages += 1
            result.records += len(page.records)
            if page.records:
                self._wake()
            if stop is not None and stop.is_set():
                break
        return result
