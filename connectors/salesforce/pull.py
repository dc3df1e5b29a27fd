"""Incremental reads of one sObject with a compound (SystemModstamp, Id) cursor.

Salesforce stamps whole milliseconds and a bulk load gives thousands of records one stamp, so a
cursor of the stamp alone (``>``) loses records at a page boundary and ``>=`` re-reads them. The
cursor here is the pair (stamp, Id) of the last record handed to the hub, plus the ids seen in the
lookback window::

    {"stamp": "2024-01-02T03:04:05.000+0000", "id": "00Q...", "seen": {"00Q...": version}, "backfill": false}

A record's version is its SystemModstamp plus a short digest of its content
(``2024-01-02T03:04:05.000+0000~1a2b3c4d5e6f``): two edits inside one stamp (whole seconds in some
orgs' integrations and in the sandbox) are still two versions, and the same content read twice in
the overlap is one.

Each pull asks (via ``queryAll``, so deletions come too) for records with
``SystemModstamp >= stamp - lookback`` ordered by (SystemModstamp, Id). A record after the cursor
is new; a record at or before it is handed on only if the ``seen`` map does not already hold that
version (a late commit inside the lookback window), so no record is missed and none is handed in
twice. Pages are yielded as they arrive, each with the cursor after its last record, so the hub
commits records and cursor together. All SOQL is built with ``format_soql``.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from connectors.salesforce.client import SalesforceClient, format_soql
from hub.api import Page, SourceRecord

#: Fields every pulled record carries, whatever the mapping reads.
SYSTEM_FIELDS = ("Id", "SystemModstamp", "IsDeleted", "LastModifiedById")
MAX_SEEN = 20_000  # bounds the cursor's size; beyond it the inbox's idempotency still de-duplicates


def parse_stamp(text: str) -> datetime:
    """``2024-01-02T03:04:05.000+0000`` (or ISO with Z/+00:00) as an aware datetime."""
    value = text.strip().replace("Z", "+00:00")
    if len(value) > 5 and value[-5] in "+-" and value[-3] != ":":
        value = value[:-2] + ":" + value[-2:]
    moment = datetime.fromisoformat(value)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def record_version(record: dict[str, Any]) -> str:
    """SystemModstamp ~ digest of the record's content (see the module docstring)."""
    content = json.dumps(clean_payload(record), sort_keys=True, default=str, separators=(",", ":"))
    digest = hashlib.blake2b(content.encode(), digest_size=6).hexdigest()
    return f"{sf_stamp(parse_stamp(str(record['SystemModstamp'])))}~{digest}"


def version_stamp(version: str) -> datetime:
    """The SystemModstamp part of a version."""
    return parse_stamp(version.split("~", 1)[0])


def sf_stamp(moment: datetime) -> str:
    moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}+0000"


@dataclass
class ObjectQuery:
    """What to read of one object: its fields and an extra condition (already formatted SOQL)."""

    sobject: str
    fields: list[str]
    condition: str = ""


class Cursor:
    """The compound cursor of one stream (see the module docstring)."""

    def __init__(self, data: dict[str, Any] | None, lookback: timedelta) -> None:
        data = data or {}
        self.stamp: str | None = data.get("stamp")
        self.id: str = str(data.get("id") or "")
        self.seen: dict[str, str] = dict(data.get("seen") or {})
        self.backfill: bool = bool(data.get("backfill", True)) if data else True
        self.lookback = lookback
        self._high = parse_stamp(self.stamp) if self.stamp else None

    def since(self, start: datetime | None) -> datetime | None:
        if self._high is not None:
            return self._high - self.lookback
        return start

    def is_new(self, version: str, record_id: str) -> bool:
        """Hand this record on? False when this version was already handed on."""
        moment = version_stamp(version)
        if self._high is None or (moment, record_id) > (self._high, self.id):
            return True
        return self.seen.get(record_id) != version

    def advance(self, version: str, record_id: str) -> None:
        moment = version_stamp(version)
        if self._high is None or (moment, record_id) > (self._high, self.id):
            self._high, self.stamp, self.id = moment, sf_stamp(moment), record_id
        self.seen[record_id] = version

    def prune(self) -> None:
        if self._high is None:
            return
        floor = self._high - self.lookback
        kept = {i: v for i, v in self.seen.items() if version_stamp(v) >= floor}
        if len(kept) > MAX_SEEN:
            kept = dict(sorted(kept.items(), key=lambda kv: kv[1])[-MAX_SEEN:])
        self.seen = kept

    def dump(self) -> dict[str, Any]:
        return {"stamp": self.stamp, "id": self.id, "seen": dict(self.seen), "backfill": self.backfill}


def build_soql(query: ObjectQuery, since: datetime | None) -> str:
    fields = ", ".join(dict.fromkeys([*SYSTEM_FIELDS, *query.fields]))
    conditions = []
    if since is not None:
        conditions.append(format_soql("SystemModstamp >= {}", since.astimezone(UTC)))
    if query.condition:
        conditions.append(f"({query.condition})")
    where = f" WHERE {' AND '.join(conditions)}" if conditions else ""
    # Field and object names were checked against describe(); values went through format_soql.
    return format_soql("SELECT {:literal} FROM {:literal}{:literal} ORDER BY SystemModstamp ASC, Id ASC",
                       fields, query.sobject, where)


def clean_payload(record: dict[str, Any]) -> dict[str, Any]:
    """A REST record without its ``attributes`` blocks (nested relationship records too)."""
    out: dict[str, Any] = {}
    for key, value in record.items():
        if key == "attributes":
            continue
        out[key] = clean_payload(value) if isinstance(value, dict) else value
    return out


def to_source_record(connector: str, stream: str, record: dict[str, Any], keep: tuple[str, ...] = ()) -> SourceRecord:
    """A pulled record as the hub's SourceRecord; a deleted one keeps only its ids and stamps."""
    stamp = str(record["SystemModstamp"])
    version = record_version(record)
    payload = clean_payload(record)
    deleted = bool(record.get("IsDeleted"))
    if deleted:
        payload = {k: payload.get(k) for k in (*SYSTEM_FIELDS, *keep) if k in payload}
    return SourceRecord(connector=connector, stream=stream, external_id=str(record["Id"]), version=version,
                        updated_at=parse_stamp(stamp), payload=payload, deleted=deleted)


def pull_object(
    client: SalesforceClient,
    query: ObjectQuery,
    cursor_data: dict[str, Any] | None,
    *,
    lookback: timedelta,
    start: datetime | None,
    convert: Callable[[list[dict[str, Any]]], list[SourceRecord]],
    may_continue: Callable[[Cursor], bool] = lambda cursor: True,
) -> Iterator[tuple[list[SourceRecord], dict[str, Any]]]:
    """(records, cursor) per API page. ``convert`` turns new raw records into SourceRecords (it may
    drop some or enrich them); ``may_continue`` is asked before each further page (API budget)."""
    cursor = Cursor(cursor_data, lookback)
    soql = build_soql(query, cursor.since(start))
    pages = client.query_pages(soql, include_deleted=True)
    while True:
        if not may_continue(cursor):
            return
        try:
            raw, done = next(pages)
        except StopIteration:
            return
        versions = [record_version(r) for r in raw]
        fresh = [r for r, v in zip(raw, versions, strict=True) if cursor.is_new(v, str(r["Id"]))]
        for r, v in zip(raw, versions, strict=True):
            cursor.advance(v, str(r["Id"]))
        if done:
            cursor.backfill = False
        cursor.prune()
        yield (convert(fresh) if fresh else []), cursor.dump()
        if done:
            return


def as_pages(connector_pages: Iterator[tuple[list[SourceRecord], dict[str, Any]]]) -> Iterator[Page]:
    for records, cursor in connector_pages:
        yield Page(records, cursor)
