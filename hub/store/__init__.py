"""Durable state: inbox, quarantine, accounts, leads, outbox, dead letters, audit.

``open_store(url)`` migrates the schema to the latest revision and returns a :class:`Store`.
"""

from __future__ import annotations

from hub.store.db import create_db_engine, migrate, normalize_url
from hub.store.repo import InboxRow, Store

__all__ = ["InboxRow", "Store", "create_db_engine", "migrate", "normalize_url", "open_store"]


def open_store(url: str, *, run_migrations: bool = True) -> Store:
    """Open (and by default migrate) the database at ``url``."""
    if run_migrations:
        migrate(url)
    return Store(create_db_engine(url))
