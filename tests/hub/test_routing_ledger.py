"""The engine's routing ledger on a real store: what it reads, what it records, what it undoes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import func, insert, select

from hub.pipeline.batch import BatchWork
from hub.pipeline.ledger import StoreLedger
from hub.store import open_store
from hub.store import routing as q
from hub.store import tables as t

NOW = datetime(2026, 3, 4, 15, 0, tzinfo=UTC)


def test_the_ledger_reads_away_partners_and_counts_and_undoes_a_failed_record(db_url: str) -> None:
    store = open_store(db_url)
    with store.engine.begin() as conn:
        q.add_away(conn, "ann", NOW - timedelta(days=1), NOW + timedelta(days=1), "vacation", "test")
        conn.execute(insert(t.partners).values(id="ptn_1", name="Reseller", email="r@x.com", key_hash="h",
                                               key_prefix="p", created_at=NOW, channel_manager_id="pam"))
        conn.execute(insert(t.routing_assignments), [
            {"lead_id": f"l{i}", "owner_id": "bob", "team": "t", "rule": "r", "at": NOW - timedelta(hours=i)}
            for i in range(3)])
    with store.engine.begin() as conn:
        work = BatchWork(store, conn)
        ledger = StoreLedger(work, NOW)
        assert ledger.away("ann", NOW) == "away until 2026-03-05 15:00 UTC (vacation)"
        assert ledger.away("ann", NOW + timedelta(days=2)) is None and ledger.away("bob", NOW) is None
        assert ledger.partner_manager("ptn_1") == "pam" and ledger.partner_manager("ptn_2") is None
        assert ledger.assigned_since("bob", NOW - timedelta(hours=1, minutes=30)) == 2
        work.begin_record()
        ledger.record("l9", "bob", "t", "r", NOW)
        ledger.set_counter("team:t:pass:bob", 7)
        assert ledger.assigned_since("bob", NOW - timedelta(minutes=1)) == 2 and ledger.open_leads("bob") == 1
        work.rollback_record()  # the record failed: its assignment and counter go with it
        assert ledger.assigned_since("bob", NOW - timedelta(minutes=1)) == 1 and ledger.open_leads("bob") == 0
        assert ledger.counter("team:t:pass:bob") == 0
        work.begin_record()
        ledger.record("l10", "bob", "t", "r", NOW)
        ledger.set_counter("team:t:pass:bob", 5)
        work.commit_record()
        work.flush()
    with store.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(t.routing_assignments)).scalar_one() == 4
        assert store.read_counter(conn, "team:t:pass:bob") == 5
        assert q.end_away(conn, "ann", NOW) == 1
        assert q.away_periods(conn, ["ann"], until=NOW) == []
    store.engine.dispose()
