"""Reading HubSpot incrementally through the search API, completely, past its 10,000-result cap.

A stream's cursor is ``{"ts": <epoch ms>, "id": <object id or "">}``: the last-modified time of
the last record handed over and, only when records were read in id order (see below), its id.
Every pull reads the window ``[ts - lookback, now]``:

* sorted by the last-modified property, ascending, 200 per page; properties travel in the POST
  body (a URL with hundreds of property names answers 414);
* the lookback re-reads recent changes because search results lag behind writes; re-read records
  are harmless (the inbox is idempotent on id and version);
* a query can only page through 10,000 results. When a window holds more, the scan restarts at
  the last timestamp it saw (``GTE``), skipping the ids already read at that timestamp: the
  window is sliced by time until it is read completely;
* if more than 10,000 records share one millisecond (a bulk import), that millisecond is read by
  ``hs_object_id`` order with ``id GT last`` filters: the compound cursor (timestamp, id) is then
  exact, and a crash resumes inside the millisecond;
* the upper bound is the pull's start time: a bookmark never passes the moment the sync began.

Archived (deleted) objects do not appear in search; they are listed separately (``archived=true``)
and handed in as ``deleted`` records of the ``<object>:archived`` stream.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from types import MappingProxyType
from typing import Any

from connectors.hubspot.client import HubSpotClient

SEARCH_CAP = 10_000  # results one search query can page through
MODIFIED = MappingProxyType({"contacts": "lastmodifieddate", "companies": "hs_lastmodifieddate",
                             "deals": "hs_lastmodifieddate"})


def to_ms(value: str | None) -> int | None:
    """A HubSpot timestamp (ISO 8601 or epoch ms) as epoch milliseconds."""
    if not value:
        return None
    text = str(value).strip()
    if text.isdigit():
        return int(text)
    try:
        moment = datetime.fromisoformat(text)  # 3.11 reads the trailing Z
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp() * 1000)


def now_ms() -> int:
    return int(time.time() * 1000)


@dataclass
class Batch:
    """Results of one search page and the cursor to store once they are committed."""

    results: list[dict[str, Any]]
    cursor: dict[str, Any]


class SearchScan:
    """Reads every object of one type modified in ``[low, high]``, in pages, past the search cap."""

    def __init__(self, client: HubSpotClient, object_type: str, properties: list[str], page_size: int,
                 filters: list[dict[str, Any]] | None = None, cap: int = SEARCH_CAP) -> None:
        self.client = client
        self.cap = cap  # results one query may page through (HubSpot: 10,000)
        self.object_type = object_type
        self.modified = MODIFIED[object_type]
        self.properties = sorted(set(properties) | {self.modified, "hs_object_id"})
        self.page_size = page_size
        self.extra_filters = filters or []  # e.g. "not written by the hub"

    def pages(self, low: int, high: int, resume_id: str = "") -> Iterator[Batch]:
        """Pages of results with ``low <= modified <= high``; ``resume_id``: resume inside ``low``."""
        start, inclusive = low, True
        if resume_id:
            yield from self._by_id(low, resume_id)
            inclusive = False
        seen_at_start: set[str] = set()
        while True:
            last_ts, last_ids, exhausted, progressed = start, set(seen_at_start), True, False
            after = 0
            while True:
                op = "GTE" if inclusive else "GT"
                body = self._body([{"propertyName": self.modified, "operator": op, "value": str(start)},
                                   {"propertyName": self.modified, "operator": "LTE", "value": str(high)}],
                                  self.modified, after)
                answer = self.client.search(self.object_type, body)
                fresh: list[dict[str, Any]] = []
                for result in answer.get("results") or []:
                    ts = self.stamp(result)
                    if ts == start and inclusive and str(result.get("id")) in seen_at_start:
                        continue  # read before this restart
                    if ts != last_ts:
                        last_ts, last_ids = ts, set()
                    last_ids.add(str(result.get("id")))
                    fresh.append(result)
                if fresh:
                    progressed = True
                    yield Batch(fresh, {"ts": last_ts, "id": ""})
                following = ((answer.get("paging") or {}).get("next") or {}).get("after")
                if not following:
                    break
                after = int(following)
                if after + self.page_size > self.cap:
                    exhausted = False
                    break
            if exhausted:
                return
            if len(last_ids) >= self.cap - self.page_size or (last_ts == start and not progressed):
                # A whole query's worth of records in one millisecond: read it in id order.
                yield from self._by_id(last_ts, "", skip=last_ids)
                start, inclusive, seen_at_start = last_ts, False, set()
                continue
            # Slice: the next query starts at the last timestamp seen, skipping what was read there.
            start, inclusive, seen_at_start = last_ts, True, last_ids

    def _by_id(self, ts: int, after_id: str, skip: set[str] | None = None) -> Iterator[Batch]:
        """Every record modified at exactly ``ts`` with an id above ``after_id``, in id order
        (``skip``: ids already handed over)."""
        last_id = after_id
        while True:
            filters = [{"propertyName": self.modified, "operator": "EQ", "value": str(ts)}]
            if last_id:
                filters.append({"propertyName": "hs_object_id", "operator": "GT", "value": last_id})
            after = 0
            done = True
            while True:
                answer = self.client.search(self.object_type, self._body(filters, "hs_object_id", after))
                results = answer.get("results") or []
                if results:
                    last_id = str(results[-1].get("id"))
                    fresh = [r for r in results if not skip or str(r.get("id")) not in skip]
                    yield Batch(fresh, {"ts": ts, "id": last_id})
                following = ((answer.get("paging") or {}).get("next") or {}).get("after")
                if not following:
                    break
                after = int(following)
                if after + self.page_size > self.cap:
                    done = False
                    break
            if done:
                return

    def _body(self, filters: list[dict[str, Any]], sort: str, after: int) -> dict[str, Any]:
        return {
            "filterGroups": [{"filters": filters + self.extra_filters}],
            "sorts": [{"propertyName": sort, "direction": "ASCENDING"}],
            "properties": self.properties,
            "limit": self.page_size,
            "after": str(after),
        }

    def stamp(self, result: dict[str, Any]) -> int:
        props = result.get("properties") or {}
        return to_ms(props.get(self.modified)) or to_ms(result.get("updatedAt")) or 0


def window(cursor: dict[str, Any] | None, lookback_seconds: float, backfill_from_ms: int) -> tuple[int, str]:
    """Where a pull starts: (low timestamp, id to resume after inside it)."""
    if not cursor or "ts" not in cursor:
        return backfill_from_ms, ""
    ts = int(cursor["ts"])
    if lookback_seconds > 0:
        return max(0, ts - int(lookback_seconds * 1000)), ""
    return ts, str(cursor.get("id") or "")


def archived(client: HubSpotClient, object_type: str, since_ms: int,
             properties: list[str]) -> Iterator[dict[str, Any]]:
    """Archived objects whose ``archivedAt`` is at or after ``since_ms``.

    HubSpot cannot filter archived objects by time, so every pull lists them all (100 per call);
    keep ``pull_archived`` off for portals with very many deletions if that is too costly.
    """
    after: str | None = None
    while True:
        answer = client.list_archived(object_type, after, properties)
        for result in answer.get("results") or []:
            if (to_ms(result.get("archivedAt")) or 0) >= since_ms:
                yield result
        after = ((answer.get("paging") or {}).get("next") or {}).get("after")
        if not after:
            return


def associated(client: HubSpotClient, from_type: str, to_type: str, ids: list[str]) -> dict[str, list[str]]:
    """``from id -> [to ids]`` through the v4 batch read (100 ids per call)."""
    found: dict[str, list[str]] = {}
    for chunk in chunks(ids, 100):
        answer = client.read_associations(from_type, to_type, chunk).body
        for result in answer.get("results") or []:
            source = str((result.get("from") or {}).get("id", ""))
            found[source] = [str(t.get("toObjectId")) for t in result.get("to") or [] if t.get("toObjectId")]
    return found


def read_objects(client: HubSpotClient, object_type: str, ids: list[str],
                 properties: list[str]) -> dict[str, dict[str, Any]]:
    """``id -> properties`` of existing objects (missing ones are left out)."""
    found: dict[str, dict[str, Any]] = {}
    for chunk in chunks(sorted(set(ids)), 100):
        answer = client.batch_read(object_type, chunk, properties).body
        for result in answer.get("results") or []:
            found[str(result.get("id"))] = dict(result.get("properties") or {})
    return found


def chunks(items: list[Any], size: int) -> Iterator[list[Any]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]
