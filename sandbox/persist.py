"""Optional persistence of the sandbox's state to a SQLite file, so a demo survives a restart.

The state is small and lives in memory; a snapshot is one JSON document per CRM written in one
transaction (WAL journal), after changes at most every few seconds and at shutdown.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

_SCHEMA = "CREATE TABLE IF NOT EXISTS snapshot (name TEXT PRIMARY KEY, body TEXT NOT NULL)"


def save(path: Path, state: dict[str, Any]) -> None:
    rows = [(name, json.dumps(part, separators=(",", ":"))) for name, part in state.items()]
    path.parent.mkdir(parents=True, exist_ok=True)
    with sqlite3.connect(path) as connection:
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute(_SCHEMA)
        connection.executemany("INSERT OR REPLACE INTO snapshot (name, body) VALUES (?, ?)", rows)
    connection.close()


def load(path: Path) -> dict[str, Any] | None:
    """The saved state, or None if the file does not exist or holds no snapshot yet."""
    if not path.exists():
        return None
    with sqlite3.connect(path) as connection:
        connection.execute(_SCHEMA)
        rows = connection.execute("SELECT name, body FROM snapshot").fetchall()
    connection.close()
    if not rows:
        return None
    return {name: json.loads(body) for name, body in rows}
