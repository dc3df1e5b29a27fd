"""SQL helpers shared by the store's modules: one code path for SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any, overload

from sqlalchemy import Connection, Table
from sqlalchemy.dialects import postgresql, sqlite

#: The name of the expanding ``IN (...)`` parameter of the bulk reads.
_IDS = "ids"


def _insert_ignore(conn: Connection, table: Table, index_elements: list[str]) -> Any:
    """``INSERT ... ON CONFLICT DO NOTHING`` in the connection's dialect."""
    if conn.dialect.name == "postgresql":
        return postgresql.insert(table).on_conflict_do_nothing(index_elements=index_elements)
    return sqlite.insert(table).on_conflict_do_nothing(index_elements=index_elements)


def _upsert(conn: Connection, table: Table, keys: list[str], values: dict[str, Any]) -> None:
    stmt: Any = postgresql.insert(table) if conn.dialect.name == "postgresql" else sqlite.insert(table)
    stmt = stmt.values(**values)
    stmt = stmt.on_conflict_do_update(
        index_elements=keys, set_={k: stmt.excluded[k] for k in values if k not in keys}
    )
    conn.execute(stmt)


@overload
def aware_utc(value: datetime) -> datetime: ...
@overload
def aware_utc(value: None) -> None: ...
def aware_utc(value: datetime | None) -> datetime | None:
    # SQLite hands datetimes back naive; everything the hub stores is UTC.
    if value is not None and value.tzinfo is None:
        from datetime import UTC

        return value.replace(tzinfo=UTC)
    return value


#: How many ids one ``IN (...)`` carries (well under every driver's parameter limit).
_CHUNK = 500


def _chunks(ids: Iterable[str]) -> Iterable[list[str]]:
    unique = list(dict.fromkeys(ids))
    for start in range(0, len(unique), _CHUNK):
        yield unique[start:start + _CHUNK]


#: A statement compiled for one dialect: SQL text, the order of positional binds, default values.
Compiled = tuple[str, tuple[str, ...] | None, dict[str, Any]]
_COMPILED: dict[tuple[str, int], Compiled] = {}


def _compile(conn: Connection, stmt: Any) -> Compiled:
    """``stmt`` compiled for the connection's dialect (not cached: see :func:`_driver_rows`)."""
    built = stmt.compile(dialect=conn.dialect)
    order = tuple(built.positiontup) if built.positional and built.positiontup else None
    # Binds the dialect adds itself (SQLite's "OFFSET ?" after a LIMIT) keep their values.
    return built.string, order, dict(built.params)


def _run_compiled(conn: Connection, compiled: Compiled, params: dict[str, Any]) -> list[Any]:
    """Rows of a compiled statement, on the driver's own cursor, in the transaction ``conn`` holds."""
    sql, order, defaults = compiled
    values = {**defaults, **params}
    cursor = conn.connection.cursor()
    try:
        cursor.execute(sql, tuple(values[name] for name in order) if order is not None else values)
        return list(cursor.fetchall())
    finally:
        cursor.close()


def _driver_rows(conn: Connection, stmt: Any, params: dict[str, Any]) -> list[Any]:
    """Rows of a prebuilt statement, run on the driver's own cursor.

    For the matcher's small indexed lookups (several per record, plain text columns that need no
    result processing) SQLAlchemy's per-execution work costs more than SQLite's; the SQL is still
    SQLAlchemy's, compiled once per dialect, in the transaction ``conn`` holds.
    """
    key = (conn.dialect.name, id(stmt))
    compiled = _COMPILED.get(key)
    if compiled is None:
        compiled = _COMPILED[key] = _compile(conn, stmt)
    return _run_compiled(conn, compiled, params)
