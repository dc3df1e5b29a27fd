"""The store's queues: quarantine, cursors, the outbox and dead letters, audit and outcomes.

A mixin of :class:`hub.store.repo.Store`; methods take the caller's connection, inside its
transaction. Claiming outbox rows uses ``FOR UPDATE SKIP LOCKED`` on PostgreSQL (``_locked``).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, bindparam, func, insert, select, update

from hub.schema import utcnow
from hub.store import tables as t
from hub.store.sql import _IDS, _chunks, _upsert

# Asked once per batch for all its leads (index ix_outbox_lead).
_DESTINATIONS = select(t.outbox.c.lead_id, t.outbox.c.destination).where(
    t.outbox.c.kind == "lead", t.outbox.c.lead_id.in_(bindparam(_IDS, expanding=True))).distinct()
_WAITING = select(t.outbox.c.destination, t.outbox.c.lead_id).where(
    t.outbox.c.status == "pending", t.outbox.c.kind == "lead", t.outbox.c.next_attempt_at <= bindparam("now"),
    t.outbox.c.lead_id.in_(bindparam(_IDS, expanding=True)))


class QueueOps:
    """Quarantine, cursors, outbox, dead letters, audit and outcomes (mixed into ``Store``)."""

    is_postgres: bool

    def _locked(self, stmt: Any) -> Any:
        return stmt.with_for_update(skip_locked=True) if self.is_postgres else stmt

    # -- quarantine --------------------------------------------------------------------------
    def quarantine(
        self,
        conn: Connection,
        *,
        connector: str,
        stream: str,
        raw: Any,
        reason: str,
        field: str | None = None,
        source_ref: str = "",
        inbox_id: int | None = None,
    ) -> int:
        result = conn.execute(
            insert(t.quarantine).values(
                inbox_id=inbox_id,
                connector=connector,
                stream=stream,
                source_ref=source_ref,
                raw=raw,
                reason=reason,
                field=field,
                created_at=utcnow(),
                status="open",
            )
        )
        return int(result.inserted_primary_key[0])  # type: ignore[index]

    def quarantined(self, conn: Connection, status: str = "open", limit: int = 100) -> list[dict[str, Any]]:
        stmt = select(t.quarantine).where(t.quarantine.c.status == status).order_by(t.quarantine.c.id).limit(limit)
        return [dict(r) for r in conn.execute(stmt).mappings()]

    def replay_quarantine(self, conn: Connection, ids: list[int] | None = None) -> tuple[int, list[int]]:
        """Put quarantined records back in the inbox to be processed again.

        :returns: how many were replayed, and the ids that cannot be (input that never became a
            record, e.g. a CSV row with the wrong number of columns: fix the file and import it).
        """
        stmt = select(t.quarantine).where(t.quarantine.c.status == "open")
        if ids is not None:
            stmt = stmt.where(t.quarantine.c.id.in_(ids))
        replayed, skipped = 0, []
        now = utcnow()
        for row in conn.execute(stmt).mappings().all():
            if row["inbox_id"] is None:
                skipped.append(row["id"])
                continue
            conn.execute(update(t.inbox).where(t.inbox.c.id == row["inbox_id"]).values(status="pending", lead_id=None))
            conn.execute(update(t.quarantine).where(t.quarantine.c.id == row["id"])
                         .values(status="replayed", resolved_at=now))
            replayed += 1
        return replayed, skipped

    # -- cursors -----------------------------------------------------------------------------
    def get_cursor(self, conn: Connection, connector: str, stream: str) -> dict[str, Any] | None:
        row = conn.execute(
            select(t.cursors.c.value).where(t.cursors.c.connector == connector, t.cursors.c.stream == stream)
        ).first()
        return dict(row[0]) if row else None

    def set_cursor(self, conn: Connection, connector: str, stream: str, value: dict[str, Any]) -> None:
        _upsert(conn, t.cursors, ["connector", "stream"],
                {"connector": connector, "stream": stream, "value": value, "updated_at": utcnow()})

    def all_cursors(self, conn: Connection) -> list[dict[str, Any]]:
        return [dict(r) for r in conn.execute(select(t.cursors).order_by(t.cursors.c.connector)).mappings()]

    # -- outbox ------------------------------------------------------------------------------
    def enqueue(
        self, conn: Connection, destination: str, kind: str, lead_id: str, payload: dict[str, Any] | None = None
    ) -> None:
        """Queue a delivery unless the same one is already waiting (coalesces repeated updates)."""
        if kind == "lead":
            waiting = conn.execute(
                select(t.outbox.c.id).where(
                    t.outbox.c.destination == destination, t.outbox.c.kind == kind,
                    t.outbox.c.lead_id == lead_id, t.outbox.c.status == "pending",
                ).limit(1)
            ).first()
            if waiting:
                return
        now = utcnow()
        conn.execute(
            insert(t.outbox).values(
                destination=destination, kind=kind, lead_id=lead_id, payload=payload or {},
                status="pending", attempts=0, next_attempt_at=now, created_at=now,
            )
        )

    def claim_due(
        self, conn: Connection, destination: str, kind: str, limit: int, now: datetime, lease: timedelta
    ) -> list[dict[str, Any]]:
        """Due outbox rows, leased for ``lease`` (a crash mid-delivery makes them due again)."""
        stmt = self._locked(
            select(t.outbox)
            .where(
                t.outbox.c.status == "pending", t.outbox.c.destination == destination,
                t.outbox.c.kind == kind, t.outbox.c.next_attempt_at <= now,
            )
            .order_by(t.outbox.c.next_attempt_at, t.outbox.c.id)
            .limit(limit)
        )
        rows = [dict(r) for r in conn.execute(stmt).mappings()]
        if rows:
            conn.execute(
                update(t.outbox).where(t.outbox.c.id.in_([r["id"] for r in rows])).values(next_attempt_at=now + lease)
            )
        return rows

    def delivered(self, conn: Connection, outbox_ids: list[int]) -> None:
        if outbox_ids:
            conn.execute(
                update(t.outbox).where(t.outbox.c.id.in_(outbox_ids))
                .values(status="done", delivered_at=utcnow(), last_error=None)
            )

    def retry_later(self, conn: Connection, outbox_id: int, attempts: int, when: datetime, error: str) -> None:
        conn.execute(
            update(t.outbox).where(t.outbox.c.id == outbox_id)
            .values(attempts=attempts, next_attempt_at=when, last_error=error)
        )

    def dead_letter(self, conn: Connection, row: dict[str, Any], attempts: int, error: str) -> None:
        conn.execute(update(t.outbox).where(t.outbox.c.id == row["id"])
                     .values(status="dead", attempts=attempts, last_error=error))
        conn.execute(
            insert(t.dead_letters).values(
                outbox_id=row["id"], destination=row["destination"], kind=row["kind"], lead_id=row["lead_id"],
                error=error, attempts=attempts, created_at=utcnow(), status="open",
            )
        )

    def dead_letters(self, conn: Connection, status: str = "open", limit: int = 100) -> list[dict[str, Any]]:
        stmt = (select(t.dead_letters).where(t.dead_letters.c.status == status)
                .order_by(t.dead_letters.c.id).limit(limit))
        return [dict(r) for r in conn.execute(stmt).mappings()]

    def replay_dead_letters(self, conn: Connection, ids: list[int] | None = None) -> int:
        """Put dead-lettered deliveries back in the outbox; ``None`` replays all open ones."""
        stmt = select(t.dead_letters).where(t.dead_letters.c.status == "open")
        if ids is not None:
            stmt = stmt.where(t.dead_letters.c.id.in_(ids))
        rows = list(conn.execute(stmt).mappings())
        now = utcnow()
        for r in rows:
            conn.execute(update(t.outbox).where(t.outbox.c.id == r["outbox_id"]).values(
                status="pending", attempts=0, next_attempt_at=now, last_error=None))
            conn.execute(update(t.dead_letters).where(t.dead_letters.c.id == r["id"])
                         .values(status="replayed", replayed_at=now))
        return len(rows)

    def outbox_counts(self, conn: Connection) -> dict[tuple[str, str], int]:
        stmt = (select(t.outbox.c.destination, t.outbox.c.status, func.count())
                .group_by(t.outbox.c.destination, t.outbox.c.status))
        return {(d, s): n for d, s, n in conn.execute(stmt)}

    def lead_destinations(self, conn: Connection, lead_id: str) -> list[str]:
        return sorted(self.destinations_of(conn, [lead_id]).get(lead_id, ()))

    def waiting_deliveries(self, conn: Connection, lead_ids: Iterable[str], now: datetime) -> set[tuple[str, str]]:
        """``(destination, lead_id)`` of lead deliveries due and not claimed by a deliverer yet.

        Locked for this transaction on PostgreSQL (rows a deliverer holds are skipped): a change
        coalesced into one of them is sent with it, since no deliverer can read the lead before
        this transaction commits.
        """
        out: set[tuple[str, str]] = set()
        stmt = self._locked(_WAITING)
        for chunk in _chunks(lead_ids):
            out.update((d, lead) for d, lead in conn.execute(stmt, {"now": now, _IDS: chunk}))
        return out

    def destinations_of(self, conn: Connection, lead_ids: Iterable[str]) -> dict[str, set[str]]:
        """Where each of these leads was ever queued for delivery (``kind = lead``)."""
        out: dict[str, set[str]] = {}
        for chunk in _chunks(lead_ids):
            for lead_id, destination in conn.execute(_DESTINATIONS, {_IDS: chunk}):
                out.setdefault(lead_id, set()).add(destination)
        return out

    # -- audit and outcomes ------------------------------------------------------------------
    def audit(self, conn: Connection, entries: list[dict[str, Any]]) -> None:
        if entries:
            now = utcnow()
            conn.execute(insert(t.audit), [{"at": now, "actor": "hub", "details": {}, **e} for e in entries])

    def audit_trail(self, conn: Connection, lead_id: str) -> list[dict[str, Any]]:
        stmt = select(t.audit).where(t.audit.c.lead_id == lead_id).order_by(t.audit.c.id)
        return [dict(r) for r in conn.execute(stmt).mappings()]

    def add_outcome(
        self, conn: Connection, lead_id: str, status: str, reason: str, amount: float | None, at: datetime,
        reported_by: str,
    ) -> None:
        conn.execute(insert(t.outcomes).values(lead_id=lead_id, status=status, reason=reason, amount=amount, at=at,
                                               reported_by=reported_by))

    def outcomes_of(self, conn: Connection, lead_id: str) -> list[dict[str, Any]]:
        stmt = select(t.outcomes).where(t.outcomes.c.lead_id == lead_id).order_by(t.outcomes.c.id)
        return [dict(r) for r in conn.execute(stmt).mappings()]
