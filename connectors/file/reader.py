"""Reading CSV and JSON Lines files into the inbox, streaming, with bad rows quarantined.

Each row becomes a :class:`SourceRecord` with ``external_id = "<source>:<line>"`` and a version
that is a hash of the row, so importing the same file twice stores nothing new, and a corrected
row imported again is a new version. A row that cannot even be read (wrong number of columns,
broken JSON, not an object) is quarantined with its line number and the reason; the rest of the
file is imported.
"""

from __future__ import annotations

import csv
import hashlib
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hub.api import Intake, SourceRecord, utcnow

CONNECTOR = "file"
CHUNK = 1000


@dataclass
class ImportReport:
    rows: int = 0
    new: int = 0
    quarantined: int = 0


@dataclass
class _Row:
    line: int
    payload: dict[str, Any] | None
    raw: Any
    error: str | None = None


def detect_stream(path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix in (".jsonl", ".ndjson", ".json"):
        return "jsonl"
    if suffix in (".csv", ".tsv", ".txt"):
        return "csv"
    raise ValueError(f"{path}: cannot tell the format from '{suffix}'; use --stream csv or --stream jsonl")


def _csv_rows(path: Path) -> Iterator[_Row]:
    with path.open(newline="", encoding="utf-8-sig") as fh:
        sample = fh.read(4096)
        fh.seek(0)
        try:
            dialect: Any = csv.Sniffer().sniff(sample, delimiters=",;\t|")
        except csv.Error:
            dialect = csv.excel
        reader = csv.reader(fh, dialect)
        header = next(reader, None)
        if header is None:
            return
        header = [h.strip() for h in header]
        for values in reader:
            line = reader.line_num
            if not any(v.strip() for v in values):
                continue  # blank line
            if len(values) != len(header):
                yield _Row(line, None, {"line": line, "values": values},
                           f"line {line}: {len(values)} fields but the header has {len(header)}; "
                           "check for an unquoted comma or a missing column")
                continue
            yield _Row(line, dict(zip(header, values, strict=True)), None)


def _jsonl_rows(path: Path) -> Iterator[_Row]:
    with path.open(encoding="utf-8") as fh:
        for line_no, text in enumerate(fh, start=1):
            if not text.strip():
                continue
            try:
                obj = json.loads(text)
            except json.JSONDecodeError as exc:
                yield _Row(line_no, None, {"line": line_no, "text": text[:10_000]},
                           f"line {line_no}: not valid JSON ({exc.msg} at column {exc.colno})")
                continue
            if not isinstance(obj, dict):
                yield _Row(line_no, None, {"line": line_no, "text": text[:10_000]},
                           f"line {line_no}: expected a JSON object, got {type(obj).__name__}")
                continue
            yield _Row(line_no, obj, None)


def _version(payload: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()[:16]


def import_file(
    path: Path, intake: Intake, *, source: str, stream: str | None = None,
    progress: Callable[[int], None] | None = None,
) -> ImportReport:
    """Import ``path`` into the inbox; ``progress(rows_read_so_far)`` is called after each chunk."""
    stream = stream or detect_stream(path)
    fmt = "jsonl" if stream == "jsonl" or path.suffix.lower() in (".jsonl", ".ndjson", ".json") else "csv"
    rows = _jsonl_rows(path) if fmt == "jsonl" else _csv_rows(path)
    report = ImportReport()
    chunk: list[SourceRecord] = []
    now = utcnow()

    def flush() -> None:
        report.new += intake.submit(chunk)
        chunk.clear()
        if progress:
            progress(report.rows)

    for row in rows:
        report.rows += 1
        if row.payload is None:
            intake.quarantine_raw(connector=CONNECTOR, stream=stream, raw=row.raw,
                                  reason=f"{path.name} {row.error}", source_ref=f"{path.name}:{row.line}")
            report.quarantined += 1
            continue
        payload = {**row.payload, "_source": source, "_line": row.line, "_file": path.name}
        chunk.append(SourceRecord(connector=CONNECTOR, stream=stream, external_id=f"{source}:{row.line}",
                                  version=_version(row.payload), payload=payload, received_at=now))
        if len(chunk) >= CHUNK:
            flush()
    if chunk:
        flush()
    return report
