"""Delivery: send outbox rows to their destination connectors in batches, retry, dead-letter.

A batch is claimed with a lease (a crash mid-call makes it due again; destinations upsert by the
hub's lead id, so a second delivery never duplicates). Each item's :class:`PushResult` decides:
delivered (cross-reference stored), retry later (backoff with jitter from tenacity, honouring a
``Retry-After`` hint), or dead letter after ``max_attempts`` or on a permanent error.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from tenacity import RetryCallState, wait_exponential_jitter

from hub.connector import Capability, Connector, DeliveryItem, PushResult
from hub.decisions import Owner
from hub.errors import FatalAPIError, RateLimited, TransientError
from hub.pipeline.batch import paused_gc
from hub.schema import Outcome, utcnow
from hub.store import Store

log = logging.getLogger(__name__)

LEASE = timedelta(minutes=5)


@dataclass
class DeliveryResult:
    sent: int = 0
    retried: int = 0
    dead: int = 0
    calls: int = 0

    def add(self, other: DeliveryResult) -> None:
        self.sent += other.sent
        self.retried += other.retried
        self.dead += other.dead
        self.calls += other.calls


class Backoff:
    """When to try an outbox row again: exponential with jitter, via tenacity's wait strategy."""

    def __init__(self, initial: float, maximum: float) -> None:
        self._wait = wait_exponential_jitter(multiplier=initial, max=maximum, jitter=initial)

    def delay(self, attempt: int, retry_after: float | None = None) -> float:
        state = RetryCallState(retry_object=None, fn=None, args=(), kwargs={})  # type: ignore[arg-type]
        state.attempt_number = attempt
        computed = float(self._wait(state))
        return max(computed, retry_after or 0.0)


class Deliverer:
    """Delivers due outbox rows for every destination connector."""

    def __init__(
        self, store: Store, connectors: dict[str, Connector], owners: list[Owner], *,
        max_attempts: int, backoff: Backoff,
    ) -> None:
        self.store = store
        self.connectors = connectors
        self.owners = {o.id: o for o in owners}
        self.max_attempts = max_attempts
        self.backoff = backoff

    def deliver_due(self, now: datetime | None = None, *, max_batches: int = 50) -> DeliveryResult:
        """One pass over every destination; at most ``max_batches`` calls per destination."""
        total = DeliveryResult()
        for name, connector in self.connectors.items():
            for kind, cap in (("lead", Capability.PUSH_LEADS), ("outcome", Capability.PUSH_OUTCOMES)):
                if not connector.supports(cap):
                    continue
                for _ in range(max_batches):
                    got = self._deliver_batch(name, connector, kind, now or utcnow())
                    total.add(got)
                    if got.calls == 0:
                        break
        return total

    def _deliver_batch(self, name: str, connector: Connector, kind: str, now: datetime) -> DeliveryResult:
        with paused_gc():  # a batch of full leads is many objects alive at once (see paused_gc)
            return self._deliver_claimed(name, connector, kind, now)

    def _deliver_claimed(self, name: str, connector: Connector, kind: str, now: datetime) -> DeliveryResult:
        with self.store.engine.begin() as conn:
            rows = self.store.claim_due(conn, name, kind, connector.batch_limit, now, LEASE)
            items = self._items(conn, name, rows)
        if not rows:
            return DeliveryResult()
        by_key = {r["id"]: r for r in rows}
        # Several waiting rows of one lead (merges, re-routing) are one delivery: a CRM refuses a
        # batch that names the same external id twice. The copies share the first row's fate.
        copies: dict[int, list[int]] = {}
        if kind == "lead":
            first: dict[str, int] = {}
            kept = []
            for row, item in zip(rows, items, strict=True):
                if row["lead_id"] in first:
                    copies.setdefault(first[row["lead_id"]], []).append(row["id"])
                else:
                    first[row["lead_id"]] = row["id"]
                    kept.append(item)
            items = kept
        try:
            results = connector.push_leads(items) if kind == "lead" else connector.push_outcomes(items)
        except RateLimited as exc:
            results = [PushResult(r["id"], ok=False, error=str(exc), retryable=True) for r in rows]
            hint = exc.retry_after
            return self._settle(name, by_key, results, retry_after=hint)
        except TransientError as exc:
            results = [PushResult(r["id"], ok=False, error=str(exc), retryable=True) for r in rows]
            return self._settle(name, by_key, results)
        except FatalAPIError as exc:
            # A person must fix credentials/permissions; keep retrying slowly until max attempts.
            log.error("%s: %s", name, exc)
            results = [PushResult(r["id"], ok=False, error=str(exc), retryable=True) for r in rows]
        except Exception as exc:
            log.exception("%s: push failed", name)
            results = [PushResult(r["id"], ok=False, error=f"{type(exc).__name__}: {exc}", retryable=True)
                       for r in rows]
        return self._settle(name, by_key, _with_copies(results, copies))

    def _items(self, conn: Any, destination: str, rows: list[dict[str, Any]]) -> list[DeliveryItem]:
        """The claimed rows' leads and accounts, read for the whole batch in a few queries."""
        leads = self.store.leads_by_ids(conn, [row["lead_id"] for row in rows])
        accounts = self.store.accounts_by_ids(conn, {lead.account_id for lead in leads.values()})
        items = []
        for row in rows:
            lead = leads.get(row["lead_id"])
            if lead is None:
                raise LookupError(f"outbox row {row['id']} names unknown lead {row['lead_id']}")
            account = accounts[lead.account_id]
            outcome = Outcome(**row["payload"]) if row["kind"] == "outcome" and row["payload"] else None
            items.append(DeliveryItem(
                key=row["id"], lead=lead, account=account,
                owner=self.owners.get(lead.owner_id or ""), outcome=outcome,
                external_id=lead.xrefs.get(destination),
                xrefs={"account": account.xrefs[destination]} if destination in account.xrefs else {},
            ))
        return items

    def _settle(
        self, name: str, rows: dict[int, dict[str, Any]], results: list[PushResult], retry_after: float | None = None,
    ) -> DeliveryResult:
        out = DeliveryResult(calls=1)
        seen = set()
        now = utcnow()
        with self.store.engine.begin() as conn:
            ok_ids = []
            xref_rows: list[dict[str, Any]] = []
            for res in results:
                row = rows.get(res.key)
                if row is None or res.key in seen:
                    continue
                seen.add(res.key)
                if res.ok:
                    ok_ids.append(res.key)
                    if res.external_id:
                        xref_rows.append({"entity": "lead", "system": name, "external_id": res.external_id,
                                          "hub_id": row["lead_id"], "version": res.version, "updated_at": now})
                    for entity, ext in res.xrefs.items():
                        if entity == "account":
                            lead = self.store.get_lead(conn, row["lead_id"], with_activities=False)
                            if lead is not None:
                                self.store.set_xref(conn, "account", name, ext, lead.account_id)
                    out.sent += 1
                    continue
                if res.deferred:  # postponed on purpose: not an attempt
                    when = now + timedelta(seconds=self.backoff.delay(1, retry_after))
                    self.store.retry_later(conn, row["id"], row["attempts"], when, res.error)
                    out.retried += 1
                    continue
                attempts = row["attempts"] + 1
                if res.retryable and attempts < self.max_attempts:
                    when = now + timedelta(seconds=self.backoff.delay(attempts, retry_after))
                    self.store.retry_later(conn, row["id"], attempts, when, res.error)
                    out.retried += 1
                else:
                    self.store.dead_letter(conn, row, attempts, res.error or "failed")
                    self.store.audit(conn, [{
                        "lead_id": row["lead_id"], "action": "dead_letter",
                        "reason": f"delivery to {name} failed after {attempts} attempt(s): {res.error}",
                    }])
                    out.dead += 1
            # A connector that forgot an item: treat as retryable, never as delivered.
            for key, row in rows.items():
                if key not in seen:
                    attempts = row["attempts"] + 1
                    when = now + timedelta(seconds=self.backoff.delay(attempts))
                    self.store.retry_later(conn, key, attempts, when, "connector returned no result for this item")
                    out.retried += 1
            self.store.upsert_xrefs(conn, xref_rows)
            self.store.delivered(conn, ok_ids)
        return out


def _with_copies(results: list[PushResult], copies: dict[int, list[int]]) -> list[PushResult]:
    """The results again for rows that were the same lead as a delivered row."""
    if not copies:
        return results
    out = list(results)
    for res in results:
        for key in copies.get(res.key, ()):
            out.append(PushResult(key, ok=res.ok, external_id=res.external_id, error=res.error,
                                  retryable=res.retryable, xrefs=dict(res.xrefs), version=res.version,
                                  deferred=res.deferred))
    return out
