"""The store on a real SQLite file and a real PostgreSQL database (the ``db_url`` fixture runs both).

Migrations apply from an empty database and survive a downgrade/upgrade round trip; the inbox is
idempotent on (connector, stream, external_id, version); on PostgreSQL two workers claiming
pending rows at the same time get disjoint sets (``FOR UPDATE SKIP LOCKED``).
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from hub.schema import SourceRecord
from hub.store import open_store
from hub.store import tables as t
from hub.store.db import alembic_config

#: Tables the pipeline cannot work without (issue 2's list).
CORE_TABLES = {"inbox", "quarantine", "accounts", "contacts", "leads", "activities", "xrefs", "cursors",
               "outbox", "dead_letters", "audit"}


def head_revision(url: str) -> str:
    head = ScriptDirectory.from_config(alembic_config(url)).get_current_head()
    assert head is not None
    return head


def state(url: str) -> tuple[str | None, set[str]]:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            revision = MigrationContext.configure(conn).get_current_revision()
            tables = set(sa.inspect(conn).get_table_names())
    finally:
        engine.dispose()
    return revision, tables


def record(external_id: str, version: str = "v1", **payload: str) -> SourceRecord:
    return SourceRecord(connector="webform", stream="form:demo", external_id=external_id, version=version,
                        updated_at=datetime(2026, 1, 1, tzinfo=UTC), payload=payload or {"email": "a@b.example"})


def test_migrations_apply_from_empty_and_round_trip(db_url: str) -> None:
    assert state(db_url) == (None, set())
    store = open_store(db_url)
    store.engine.dispose()
    revision, tables = state(db_url)
    assert revision == head_revision(db_url)
    assert tables >= CORE_TABLES
    assert set(t.metadata.tables) <= tables, "every table the code uses exists after migrating"

    command.downgrade(alembic_config(db_url), "base")
    revision, tables = state(db_url)
    assert revision is None and tables <= {"alembic_version"}

    command.upgrade(alembic_config(db_url), "head")
    assert state(db_url)[0] == head_revision(db_url)
    store = open_store(db_url)  # migrating an up-to-date database is a no-op
    try:
        with store.engine.begin() as conn:
            assert store.add_records(conn, [record("r1")]) == 1
    finally:
        store.engine.dispose()


def test_inbox_is_idempotent_on_connector_stream_id_version(db_url: str) -> None:
    store = open_store(db_url)
    try:
        with store.engine.begin() as conn:
            assert store.add_records(conn, [record("r1"), record("r2")]) == 2
        with store.engine.begin() as conn:
            assert store.add_records(conn, [record("r1"), record("r2")]) == 0, "a redelivery stores nothing"
            assert store.add_records(conn, [record("r1", version="v2")]) == 1, "a new version is new"
            other_stream = record("r1").model_copy(update={"stream": "form:other"})
            assert store.add_records(conn, [other_stream]) == 1
            assert store.add_records(conn, [record("r3"), record("r3")]) == 1, "duplicates within one call"
        with store.engine.connect() as conn:
            keys = conn.execute(sa.select(t.inbox.c.stream, t.inbox.c.external_id, t.inbox.c.version)).all()
            assert sorted(keys) == sorted([("form:demo", "r1", "v1"), ("form:demo", "r2", "v1"),
                                           ("form:demo", "r1", "v2"), ("form:other", "r1", "v1"),
                                           ("form:demo", "r3", "v1")])
            assert store.pending_count(conn) == 5
    finally:
        store.engine.dispose()


@pytest.mark.postgres
def test_concurrent_claims_on_postgres_get_disjoint_rows(pg_url: str) -> None:
    store = open_store(pg_url)
    try:
        with store.engine.begin() as conn:
            store.add_records(conn, [record(f"r{i}") for i in range(10)])
        with store.engine.connect() as first, store.engine.connect() as second:
            first.begin()
            second.begin()
            # Without SKIP LOCKED the second claim would wait for the first; fail fast instead.
            second.exec_driver_sql("SET LOCAL lock_timeout = '2s'")
            mine = {row.id for row in store.claim_pending(first, 6)}
            theirs = {row.id for row in store.claim_pending(second, 6)}
            assert len(mine) == 6 and len(theirs) == 4
            assert not mine & theirs, "a row claimed by one worker is skipped by the other"
            first.rollback()
            second.rollback()
        with store.engine.begin() as conn:
            assert len(store.claim_pending(conn, 20)) == 10, "rolled-back claims return to the pool"
    finally:
        store.engine.dispose()


def test_rank_shared_weighs_rare_keys_above_common_ones_and_ignores_capped_keys() -> None:
    from hub.store.repo import rank_shared

    common = [f"acct_{i:03}" for i in range(40)]  # a word in forty names
    rare = ["acct_zz"]  # the domain: one account
    assert rank_shared([common, rare], limit=5)[0] == "acct_zz"
    # Two rare keys beat one; the common key's accounts are noise beside them and left out.
    ranked = rank_shared([common, ["acct_b", "acct_zz"], rare], limit=50)
    assert ranked[:2] == ["acct_zz", "acct_b"] and "acct_000" not in ranked
    # A key at the cap names an arbitrary few of its accounts: counted only when nothing rarer found any.
    capped = [f"acct_{i:03}" for i in range(50)]
    assert rank_shared([capped, ["acct_x"]], limit=5, cap=50) == ["acct_x"]
    assert rank_shared([capped, []], limit=3, cap=50) == ["acct_000", "acct_001", "acct_002"]
