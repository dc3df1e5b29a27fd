"""What routing knows of the store, as :class:`~hub.decisions.RoutingLedger` (no policy here).

:class:`MemoryLedger` holds everything in memory: ``leadhub routing replay`` and the benchmark
simulate history with it. :class:`StoreLedger` reads the store through a batch's unit of work,
lazily and once per batch, and counts the batch's own assignments on top; what it records is
flushed with the batch (``routing_assignments``) and undone with a failed record.
"""

from __future__ import annotations

from bisect import bisect_left, insort
from collections import defaultdict
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from hub.store import routing as q

if TYPE_CHECKING:
    from hub.pipeline.batch import BatchWork

#: How far back assignments are read for capacity per period (a week, plus a day of time zones).
WINDOW = timedelta(days=8)


class MemoryLedger:
    """Availability, assignments, open leads, partners and counters, all in memory."""

    def __init__(self) -> None:
        self.aways: dict[str, list[tuple[datetime, datetime | None, str]]] = defaultdict(list)
        self.times: dict[str, list[datetime]] = defaultdict(list)  # owner -> assignment times, sorted
        self.held: dict[str, int] = defaultdict(int)
        self.managers: dict[str, str] = {}
        self.counters: dict[str, int] = {}

    # -- RoutingLedger -------------------------------------------------------------------------
    def away(self, owner_id: str, at: datetime) -> str | None:
        for start, end, reason in self.aways.get(owner_id, ()):
            if start <= at and (end is None or at < end):
                until = f" until {end:%Y-%m-%d %H:%M} UTC" if end is not None else ""
                return f"away{until}" + (f" ({reason})" if reason else "")
        return None

    def assigned_since(self, owner_id: str, since: datetime) -> int:
        times = self._times(owner_id)
        return len(times) - bisect_left(times, since)

    def open_leads(self, owner_id: str) -> int:
        return self._held(owner_id)

    def partner_manager(self, partner_id: str) -> str | None:
        return self._managers().get(partner_id)

    def counter(self, name: str) -> int:
        return self.counters.get(name, 0)

    def set_counter(self, name: str, value: int) -> None:
        self.counters[name] = value

    # -- the engine's side ------------------------------------------------------------------------
    def record(self, lead_id: str, owner_id: str, team: str | None, rule: str | None, at: datetime) -> None:
        """``owner_id`` was assigned ``lead_id`` at ``at``."""
        insort(self._times(owner_id), at)
        self.held[owner_id] = self._held(owner_id) + 1

    def release(self, owner_id: str) -> None:
        """A lead ``owner_id`` held was closed or taken away (replay)."""
        self.held[owner_id] = max(0, self._held(owner_id) - 1)

    def _times(self, owner_id: str) -> list[datetime]:
        return self.times[owner_id]

    def _held(self, owner_id: str) -> int:
        return self.held[owner_id]

    def _managers(self) -> dict[str, str]:
        return self.managers


class StoreLedger(MemoryLedger):
    """The store as of the batch's start plus the batch's own assignments."""

    def __init__(self, work: BatchWork, now: datetime) -> None:
        super().__init__()
        self.work = work
        self.now = now
        self._aways_read = False
        self._times_read: set[str] = set()
        self._held_read: set[str] = set()
        self._managers_read = False

    def away(self, owner_id: str, at: datetime) -> str | None:
        if not self._aways_read:
            for row in q.away_periods(self.work.conn, until=self.now - WINDOW):
                self.aways[row["owner_id"]].append((row["starts_at"], row["ends_at"], row["reason"]))
            self._aways_read = True
        return super().away(owner_id, at)

    def counter(self, name: str) -> int:
        return self.work.counter(name)

    def set_counter(self, name: str, value: int) -> None:
        self.work.set_counter(name, value)

    def record(self, lead_id: str, owner_id: str, team: str | None, rule: str | None, at: datetime) -> None:
        times, held = self._times(owner_id), self._held(owner_id)
        self.work.inserts["routing_assignments"].append(
            {"lead_id": lead_id, "owner_id": owner_id, "team": team, "rule": rule, "at": at})
        super().record(lead_id, owner_id, team, rule, at)

        def undo() -> None:
            times.remove(at)
            self.held[owner_id] = held

        self.work.on_undo(undo)

    def _times(self, owner_id: str) -> list[datetime]:
        if owner_id not in self._times_read:
            self._times_read.add(owner_id)
            stored = q.assignment_counts(self.work.conn, [owner_id], self.now - WINDOW)[owner_id]
            self.times[owner_id] = sorted([*stored, *self.times.get(owner_id, [])])
        return self.times[owner_id]

    def _held(self, owner_id: str) -> int:
        if owner_id not in self._held_read:
            self._held_read.add(owner_id)
            self.held[owner_id] += q.open_lead_counts(self.work.conn, [owner_id])[owner_id]
        return self.held[owner_id]

    def _managers(self) -> dict[str, str]:
        if not self._managers_read:
            self.managers.update(q.channel_managers(self.work.conn))
            self._managers_read = True
        return self.managers


def load_aways(ledger: MemoryLedger, rows: list[dict[str, Any]]) -> None:
    """Put stored away periods (:func:`hub.store.routing.away_periods`) into ``ledger``."""
    for row in rows:
        ledger.aways[row["owner_id"]].append((row["starts_at"], row["ends_at"], row["reason"]))
