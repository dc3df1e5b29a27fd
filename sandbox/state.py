"""In-memory tables of the sandbox CRMs, with the indexes that keep upserts and queries fast.

A :class:`Table` holds one object type's records as plain dicts keyed by id. It keeps a lookup
index per declared field (external ids, e-mail: the keys upserts and searches hit) and a sorted
index of the modification stamp, so "changed since X" reads a slice instead of scanning every
record. The sandbox serves one asyncio event loop and mutates state only between awaits, so no
locks are needed.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Iterator
from typing import Any

Record = dict[str, Any]


def index_key(value: Any) -> Any:
    """Lookup keys are case-insensitive, as Salesforce external ids and HubSpot e-mails are."""
    return value.casefold() if isinstance(value, str) else value


class Table:
    """One object type: records by id, lookup indexes, and a sorted modification-stamp index."""

    def __init__(self, name: str, lookup_fields: Iterable[str], modstamp_field: str) -> None:
        self.name = name
        self.modstamp_field = modstamp_field
        self.records: dict[str, Record] = {}
        self._lookup: dict[str, dict[Any, set[str]]] = {f: {} for f in lookup_fields}
        self._stamps: list[tuple[str, str]] = []  # (modstamp, id), sorted
        self._hidden: set[str] = set()  # deleted/archived: kept for queryAll, not for lookups

    # -- reads ---------------------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self.records)

    def get(self, record_id: str) -> Record | None:
        return self.records.get(record_id)

    def is_hidden(self, record_id: str) -> bool:
        return record_id in self._hidden

    def indexed(self, field: str) -> bool:
        return field in self._lookup

    def find(self, field: str, value: Any) -> list[str]:
        """Ids of live records whose ``field`` equals ``value`` (case-insensitive)."""
        ids = self._lookup[field].get(index_key(value))
        return sorted(ids) if ids else []

    def modified_between(
        self, low: str | None, high: str | None, *, low_inclusive: bool = True
    ) -> Iterator[str]:
        """Ids whose modstamp is in (low, high]; ``low_inclusive`` makes it [low, high]."""
        stamps = self._stamps
        if low is None:
            start = 0
        elif low_inclusive:
            start = bisect.bisect_left(stamps, (low, ""))
        else:
            start = bisect.bisect_right(stamps, (low, "\U0010ffff"))
        stop = len(stamps) if high is None else bisect.bisect_right(stamps, (high, "\U0010ffff"))
        for _, record_id in stamps[start:stop]:
            yield record_id

    # -- writes --------------------------------------------------------------------------------
    def insert(self, record_id: str, record: Record) -> None:
        self.records[record_id] = record
        for field, index in self._lookup.items():
            value = record.get(field)
            if value is not None and value != "":
                index.setdefault(index_key(value), set()).add(record_id)
        self._add_stamp(record_id, record.get(self.modstamp_field))

    def update(self, record_id: str, changes: Record) -> Record:
        """Apply ``changes`` (which may include a new modstamp) and keep every index right."""
        record = self.records[record_id]
        live = record_id not in self._hidden
        for field, value in changes.items():
            old = record.get(field)
            if field in self._lookup and old != value and live:
                self._unindex(field, old, record_id)
                if value is not None and value != "":
                    self._lookup[field].setdefault(index_key(value), set()).add(record_id)
            if field == self.modstamp_field and old != value:
                self._remove_stamp(record_id, old)
                self._add_stamp(record_id, value)
            record[field] = value
        return record

    def hide(self, record_id: str, changes: Record) -> None:
        """Soft-delete: drop from lookups (no upsert matches it) but keep it for queryAll."""
        record = self.records[record_id]
        for field in self._lookup:
            self._unindex(field, record.get(field), record_id)
        self.update(record_id, changes)
        self._hidden.add(record_id)

    def restore(self, record_id: str, changes: Record) -> None:
        """Undo :meth:`hide` (HubSpot restores an archived object when it is written again)."""
        self._hidden.discard(record_id)
        record = self.records[record_id]
        for field, index in self._lookup.items():
            value = record.get(field)
            if value is not None and value != "":
                index.setdefault(index_key(value), set()).add(record_id)
        self.update(record_id, changes)

    def clear(self) -> None:
        self.records.clear()
        self._hidden.clear()
        self._stamps.clear()
        for index in self._lookup.values():
            index.clear()

    def add_lookup(self, field: str) -> None:
        if field in self._lookup:
            return
        index: dict[Any, set[str]] = {}
        for record_id, record in self.records.items():
            value = record.get(field)
            if record_id not in self._hidden and value is not None and value != "":
                index.setdefault(index_key(value), set()).add(record_id)
        self._lookup[field] = index

    # -- snapshot (persistence) ------------------------------------------------------------------
    def dump(self) -> dict[str, Any]:
        return {"records": self.records, "hidden": sorted(self._hidden)}

    def load(self, data: dict[str, Any]) -> None:
        self.clear()
        hidden = set(data.get("hidden", []))
        for record_id, record in data["records"].items():
            self.insert(record_id, record)
        for record_id in hidden:
            record = self.records[record_id]
            for field in self._lookup:
                self._unindex(field, record.get(field), record_id)
        self._hidden = hidden

    # -- internals -------------------------------------------------------------------------------
    def _unindex(self, field: str, value: Any, record_id: str) -> None:
        if value is None or value == "":
            return
        ids = self._lookup[field].get(index_key(value))
        if ids is not None:
            ids.discard(record_id)
            if not ids:
                del self._lookup[field][index_key(value)]

    def _add_stamp(self, record_id: str, stamp: Any) -> None:
        if not stamp:
            return
        entry = (stamp, record_id)
        # Stamps mostly grow, so appending is the common case.
        if not self._stamps or self._stamps[-1] <= entry:
            self._stamps.append(entry)
        else:
            bisect.insort(self._stamps, entry)

    def _remove_stamp(self, record_id: str, stamp: Any) -> None:
        if not stamp:
            return
        position = bisect.bisect_left(self._stamps, (stamp, record_id))
        if position < len(self._stamps) and self._stamps[position] == (stamp, record_id):
            del self._stamps[position]
