"""One processing batch's unit of work: read-through caches and buffered writes.

Processing a record reads a little (candidate accounts, the open lead, the contact) and writes a
lot (lead, contact, activity, audit, outbox, cross-references). Writing row by row costs a round
trip per statement; here every write is buffered and flushed with one ``executemany`` per table
at the end of the batch, inside the batch's transaction. Reads go through caches that also see
the batch's own buffered writes, so the second inquiry of a company in a batch finds the account
and lead the first one opened.

A record that fails is undone with :meth:`BatchWork.rollback_record`: buffered rows are truncated
to the record's start mark and cache entries restored from an undo log; leads are copy-on-write,
so a failed record never leaves a half-changed lead behind.

The ``prefetch_*`` methods fill the read caches for many records at once (a few ``IN (...)``
queries instead of several small ones per record); a read they did not cover falls back to the
store, so they change how fast the batch runs, never what it reads.
"""

from __future__ import annotations

import gc
import threading
from collections import OrderedDict, defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection

from hub.decisions import AccountCandidate, MatchKey, RouteDecision
from hub.pipeline.contacts import ContactCache
from hub.schema import Account, Activity, Contact, Lead, Outcome, utcnow
from hub.store import Store, links
from hub.store import tables as t
from hub.store.repo import rank_shared

if TYPE_CHECKING:
    from hub.pipeline.ledger import StoreLedger

_MISSING = object()

#: Tables whose buffered rows are plain inserts, in the order they are flushed.
INSERT_ORDER = ("accounts", "contacts", "contact_duplicates", "lead_contacts", "activities", "audit", "outbox",
                "outcomes", "match_reviews", "quarantine", "routing_assignments")


@contextmanager
def paused_gc() -> Iterator[None]:
    """Pause Python's cyclic garbage collector while a batch runs.

    A batch keeps some 10^5 objects alive until it ends; each full collection that runs meanwhile
    walks them all plus every long-lived object of the process (mapping tries, caches). Measured on
    bench/pipeline.py at N=20,000: 42 full collections took 7.9 s of a 20 s run. The batch's
    objects are freed by reference counting when it ends, and the collector runs again between
    batches for whatever cycles are left. A collector someone else switched off stays off.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


@dataclass
class Events:
    """Plugin events of one batch, fired after it commits (a failed record's are dropped)."""

    routed: list[tuple[Lead, RouteDecision]] = field(default_factory=list)
    outcomes: list[tuple[Lead, Outcome]] = field(default_factory=list)
    quarantined: list[tuple[str, str, str, dict[str, Any]]] = field(default_factory=list)

    def mark(self) -> tuple[int, int, int]:
        return len(self.routed), len(self.outcomes), len(self.quarantined)

    def reset(self, mark: tuple[int, int, int]) -> None:
        del self.routed[mark[0]:], self.outcomes[mark[1]:], self.quarantined[mark[2]:]


Fingerprint = tuple[int, int, int]  # a lead's version, number of activities, number of contacts
_History = tuple[list[Contact], list[Activity], set[str]]  # contacts, activities, contacts' ids


class LeadHistories:
    """Contacts and activities of leads processed lately, kept between batches (bounded).

    A large account's open lead gathers thousands of activities; reading them all again for each
    batch would make processing slower as the data grows. A kept history is used only while the
    lead's fingerprint in the store (version, activities, contacts) is the one it was kept with:
    any other writer changes one of them, and the history is read again. Only histories of at
    least ``min_items`` are kept (small ones are cheap to read), at most ``max_items`` contacts
    and activities in all. Room is made from histories the current batch did not use, least
    recently used first; one that does not fit then is not kept (evicting what every batch uses
    would read it all again each batch).
    """

    def __init__(self, max_items: int = 40_000, min_items: int = 16) -> None:
        self.max_items, self.min_items = max_items, min_items
        self._kept: OrderedDict[
            str, tuple[Fingerprint, tuple[Contact, ...], tuple[Activity, ...], frozenset[str]]] = OrderedDict()
        self._size = 0
        self._batch = 0
        self._used: dict[str, int] = {}  # lead id -> the batch that last used its history
        self._lock = threading.Lock()

    def next_batch(self) -> None:
        with self._lock:
            self._batch += 1

    def get(self, lead_id: str, fingerprint: Fingerprint | None) -> _History | None:
        with self._lock:
            kept = self._kept.get(lead_id)
            if kept is None or kept[0] != fingerprint:
                return None
            self._kept.move_to_end(lead_id)
            self._used[lead_id] = self._batch
            return list(kept[1]), list(kept[2]), set(kept[3])

    def put(self, lead_id: str, fingerprint: Fingerprint, contacts: list[Contact], activities: list[Activity],
            people: set[str]) -> None:
        size = len(contacts) + len(activities)
        with self._lock:
            self._drop(lead_id)
            if size < self.min_items:
                return
            while self._size + size > self.max_items and self._kept:
                oldest = next(iter(self._kept))
                if self._used.get(oldest) == self._batch:
                    break  # everything left is in use by this batch
                self._drop(oldest)
            if self._size + size > self.max_items:
                return
            self._kept[lead_id] = (fingerprint, tuple(contacts), tuple(activities), frozenset(people))
            self._size += size
            self._used[lead_id] = self._batch

    def _drop(self, lead_id: str) -> None:
        old = self._kept.pop(lead_id, None)
        self._used.pop(lead_id, None)
        if old is not None:
            self._size -= len(old[1]) + len(old[2])


class BatchWork:
    """Caches and buffers for one batch on one connection."""

    def __init__(self, store: Store, conn: Connection, histories: LeadHistories | None = None) -> None:
        self.store = store
        self.conn = conn
        self.histories = histories
        if histories is not None:
            histories.next_batch()
        self._versions: dict[str, int] = {}  # version of each lead read through prefetch_leads
        self.inserts: dict[str, list[dict[str, Any]]] = defaultdict(list)
        self.account_keys: list[dict[str, Any]] = []
        self.xrefs: dict[tuple[str, str, str], dict[str, Any]] = {}
        self.xref_deletes: list[tuple[str, str, str]] = []
        self.finished: list[tuple[int, str, str | None]] = []
        #: Leads changed in this batch (id -> latest state) and which of them are new.
        self.leads: dict[str, Lead] = {}
        self._loaded: dict[str, Lead] = {}
        self.new_leads: set[str] = set()
        self.accounts: dict[str, Account] = {}
        self.new_accounts: set[str] = set()
        #: Accounts whose owner or parent changed (id -> row), written after the new accounts.
        self.account_links: dict[str, dict[str, Any]] = {}
        self.open_leads: dict[tuple[str, str], str | None] = {}
        self.new_keys: dict[tuple[str, str], set[str]] = defaultdict(set)
        self.keys_of: dict[str, list[MatchKey]] = defaultdict(list)  # new keys by account
        self.queued: set[tuple[str, str, str]] = set()  # (destination, kind, lead) already waiting
        self.counters: dict[str, int] = {}
        self.dirty_counters: set[str] = set()
        self.sources: dict[str, set[str]] = defaultdict(set)
        self.destinations: dict[str, set[str]] = defaultdict(set)
        # Store state at the batch's start, read once (nothing is flushed before the end).
        self._stored_destinations: dict[str, set[str]] = {}
        self._stored_sources: dict[str, set[str]] = {}
        self._open_read: set[str] = set()  # accounts whose open leads were all read
        #: (destination, lead) deliveries waiting in the store, held for this transaction.
        self._waiting: set[tuple[str, str]] = set()
        self._postings: dict[MatchKey, list[str]] = {}  # store postings of each key looked up
        self._candidates: dict[str, AccountCandidate | None] = {}  # stored candidate rows by id
        self._undo: list[Callable[[], None]] = []
        self._marks: dict[str, int] = {}
        #: Plugin events to fire once the batch has committed (:meth:`Pipeline.fire`).
        self.events = Events()
        self._events_mark = (0, 0, 0)
        #: Leads whose waiting deliveries were read (so ``enqueue`` coalesces with them).
        self._waiting_read: set[str] = set()
        #: Contacts: by match key, candidate duplicates, each lead's people (hub/pipeline/contacts.py).
        self.people = ContactCache(store, conn, self.inserts, self._undo, self.new_accounts, self.new_leads)
        #: What routing reads of the store in this batch (the engine opens it on first use).
        self.routing_ledger: StoreLedger | None = None

    # -- record scope ------------------------------------------------------------------------
    def begin_record(self) -> None:
        self._undo.clear()
        self._marks = {name: len(rows) for name, rows in self.inserts.items()}
        self._marks["__keys__"] = len(self.account_keys)
        self._marks["__xdel__"] = len(self.xref_deletes)
        self._events_mark = self.events.mark()

    def commit_record(self) -> None:
        self._undo.clear()

    def rollback_record(self) -> None:
        for name, rows in self.inserts.items():
            del rows[self._marks.get(name, 0):]
        del self.account_keys[self._marks["__keys__"]:]
        del self.xref_deletes[self._marks["__xdel__"]:]
        for undo in reversed(self._undo):
            undo()
        self._undo.clear()
        self.events.reset(self._events_mark)

    def _set(self, mapping: dict[Any, Any], key: Any, value: Any) -> None:
        old = mapping.get(key, _MISSING)
        mapping[key] = value

        def undo() -> None:
            if old is _MISSING:
                mapping.pop(key, None)
            else:
                mapping[key] = old

        self._undo.append(undo)

    def _add(self, collection: set[Any], value: Any) -> None:
        if value not in collection:
            collection.add(value)
            self._undo.append(lambda: collection.discard(value))

    # -- accounts ----------------------------------------------------------------------------
    def candidates(self, keys: list[MatchKey], limit: int = 50) -> list[AccountCandidate]:
        """Accounts sharing the most keys, as if the batch's new accounts and keys were stored.

        The store's postings and candidate rows are read once per batch (a company that asks
        twice costs one lookup); keys this batch added count like stored ones.
        """
        unique = list(dict.fromkeys(keys))
        missing = [k for k in unique if k not in self._postings]
        if missing:
            self._postings.update(self.store.key_postings(self.conn, missing))
        lists: list[list[str]] = []
        for key in unique:
            stored = self._postings[key]
            added = self.new_keys.get((key.kind, key.value))
            lists.append(stored + [i for i in added if i not in stored] if added else stored)
        ranked = rank_shared(lists, limit)
        unread = [i for i in ranked if i not in self._candidates and i not in self.new_accounts]
        if unread:
            found = self.store.candidate_details(self.conn, unread)
            for account_id in unread:
                self._candidates[account_id] = found.get(account_id)
        out = []
        for account_id in ranked:
            if account_id in self.new_accounts:
                acct = self.accounts[account_id]
                out.append(AccountCandidate(account_id, acct.name, tuple(self.keys_of[account_id]), acct.parent_id,
                                            acct.country))
                continue
            stored_cand = self._candidates[account_id]
            if stored_cand is None:
                continue  # a key left behind by a deleted account
            added_keys = self.keys_of.get(account_id)
            if added_keys:
                have = set(stored_cand.keys)
                stored_cand = replace(stored_cand,
                                      keys=stored_cand.keys + tuple(k for k in added_keys if k not in have))
            out.append(stored_cand)
        return out

    def create_account(self, account: Account) -> None:
        now = utcnow()
        self.inserts["accounts"].append({
            "id": account.id, "name": account.name, "domain": account.domains[0] if account.domains else None,
            "country": account.country, "parent_id": account.parent_id, "owner_id": account.owner_id,
            "created_at": now, "updated_at": now,
        })
        self._set(self.accounts, account.id, account)
        self._add(self.new_accounts, account.id)

    def update_account(self, account: Account) -> None:
        """Keep ``account``'s new owner and parent (the only fields of an account that change)."""
        self._set(self.accounts, account.id, account)
        self._set(self.account_links, account.id,
                  {"id": account.id, "owner_id": account.owner_id, "parent_id": account.parent_id})

    def waiting_children(self, system: str, parent_ref: str) -> list[tuple[str, str]]:
        """``(child CRM id, child hub account)`` waiting for parent ``parent_ref`` of ``system``,
        stored or set in this batch (see :mod:`hub.store.links`)."""
        found = dict(links.waiting_children(self.conn, system, parent_ref))
        for (entity, sys, ref), row in self.xrefs.items():
            if entity != links.WAITING_PARENT or sys != system:
                continue
            if row is None or row["version"] != parent_ref:
                found.pop(ref, None)
            else:
                found[ref] = row["hub_id"]
        return sorted(found.items())

    def add_account_keys(self, account_id: str, keys: tuple[MatchKey, ...]) -> None:
        for key in keys:
            if account_id in self._postings.get(key, ()):
                continue  # stored already (the lookup just read it): no row to write
            ids = self.new_keys[(key.kind, key.value)]
            if account_id not in ids:
                ids.add(account_id)
                self.keys_of[account_id].append(key)
                self._undo.append(_forget(ids, self.keys_of[account_id], account_id))
                self.account_keys.append({"kind": key.kind, "value": key.value[:500], "account_id": account_id})

    def prefetch_accounts(self, account_ids: set[str]) -> None:
        """Read these stored accounts in one go (ids not found stay unknown)."""
        wanted = [i for i in account_ids if i not in self.accounts]
        if wanted:
            self.accounts.update(self.store.accounts_by_ids(self.conn, wanted))

    def account(self, account_id: str) -> Account | None:
        if account_id not in self.accounts:
            acct = self.store.get_account(self.conn, account_id)
            if acct is None:
                return None
            self.accounts[account_id] = acct  # a read cache: nothing to undo
        return self.accounts[account_id]

    # -- leads -------------------------------------------------------------------------------
    def prefetch_leads(self, account_ids: set[str]) -> None:
        """Read the open leads of these stored accounts, with their contacts, activities and
        delivery destinations, in a few queries for the whole batch."""
        stored = [i for i in account_ids if i not in self.new_accounts and i not in self._open_read]
        if not stored:
            return
        for key, lead_id in self.store.open_leads_of(self.conn, stored).items():
            self.open_leads.setdefault(key, lead_id)
        self._open_read.update(stored)
        wanted = [i for key, i in self.open_leads.items()
                  if i and key[0] in account_ids and i not in self._loaded and i not in self.leads]
        if wanted:
            known: dict[str, tuple[list[Contact], list[Activity]]] = {}
            if self.histories is not None:
                for lead_id, fingerprint in self.store.lead_fingerprints(self.conn, wanted).items():
                    self._versions[lead_id] = fingerprint[0]
                    kept = self.histories.get(lead_id, fingerprint)
                    if kept is not None:
                        known[lead_id] = kept[0], kept[1]
                        self.people.lead_people[lead_id] = kept[2]
            self._loaded.update(self.store.leads_by_ids(self.conn, wanted, known=known,
                                                        people=self.people.lead_people))
            found = self.store.destinations_of(self.conn, wanted)
            for lead_id in wanted:
                self._stored_destinations[lead_id] = found.get(lead_id, set())
            self._waiting |= self.store.waiting_deliveries(self.conn, wanted, utcnow())
            self._waiting_read.update(wanted)

    def open_lead_id(self, account_id: str, product_line: str) -> str | None:
        key = (account_id, product_line)
        if key not in self.open_leads:
            if account_id in self.new_accounts or account_id in self._open_read:
                return None
            self.open_leads[key] = self.store.open_lead_id(self.conn, account_id, product_line)
        return self.open_leads[key]

    def lead(self, lead_id: str) -> Lead | None:
        """A private copy of the lead to change; :meth:`put_lead` makes the change count."""
        cached = self.leads.get(lead_id) or self._loaded.get(lead_id)
        if cached is None:
            cached = self.store.get_lead(self.conn, lead_id)
            if cached is None:
                return None
            self._loaded[lead_id] = cached  # a read cache: nothing to undo
        return cached.model_copy(update={"contacts": list(cached.contacts), "activities": list(cached.activities),
                                         "xrefs": dict(cached.xrefs)})

    def put_lead(self, lead: Lead, *, new: bool) -> None:
        self._set(self.leads, lead.id, lead)
        if new:
            self._add(self.new_leads, lead.id)
        key = (lead.account_id, lead.product_line)
        if lead.is_open:
            self._set(self.open_leads, key, lead.id)
        elif self.open_leads.get(key) == lead.id:
            self._set(self.open_leads, key, None)

    # -- contacts (finding and creating them: self.people) ----------------------------------
    def link_contact(self, lead_id: str, contact_id: str, position: int) -> None:
        self.inserts["lead_contacts"].append({"lead_id": lead_id, "contact_id": contact_id, "position": position})

    def add_activity(self, lead_id: str, contact_id: str | None, inbox_id: int | None, row: dict[str, Any]) -> None:
        self.inserts["activities"].append({"lead_id": lead_id, "contact_id": contact_id, "inbox_id": inbox_id, **row})
        if row.get("source") and row["source"] not in self.sources[lead_id]:
            self.sources[lead_id].add(row["source"])
            self._undo.append(lambda: self.sources[lead_id].discard(row["source"]))

    def lead_sources(self, lead_id: str) -> set[str]:
        stored: set[str] = set()
        if lead_id not in self.new_leads:
            if lead_id not in self._stored_sources:
                loaded = self._loaded.get(lead_id)
                self._stored_sources[lead_id] = (
                    {a.source for a in loaded.activities if a.source} if loaded is not None
                    else set(self.store.lead_sources(self.conn, lead_id)))
            stored = self._stored_sources[lead_id]
        return stored | self.sources.get(lead_id, set())

    def lead_destinations(self, lead_id: str) -> set[str]:
        stored: set[str] = set()
        if lead_id not in self.new_leads:
            if lead_id not in self._stored_destinations:
                self._stored_destinations[lead_id] = set(self.store.lead_destinations(self.conn, lead_id))
            stored = self._stored_destinations[lead_id]
        return stored | self.destinations.get(lead_id, set())

    # -- outbox, audit, outcomes, reviews ----------------------------------------------------
    def enqueue(self, destination: str, kind: str, lead_id: str, payload: dict[str, Any] | None = None) -> None:
        if kind == "lead":
            key = (destination, kind, lead_id)
            if key in self.queued:
                return
            self._add(self.queued, key)
            if destination not in self.destinations[lead_id]:
                self.destinations[lead_id].add(destination)
                self._undo.append(lambda: self.destinations[lead_id].discard(destination))
            if self._is_waiting(destination, lead_id):
                return  # a waiting delivery of this lead carries the change (as Store.enqueue coalesces)
        now = utcnow()
        self.inserts["outbox"].append({
            "destination": destination, "kind": kind, "lead_id": lead_id, "payload": payload or {},
            "status": "pending", "attempts": 0, "next_attempt_at": now, "created_at": now,
        })

    def _is_waiting(self, destination: str, lead_id: str) -> bool:
        """Whether a stored delivery of the lead to ``destination`` waits (read once per lead, unless
        :meth:`prefetch_leads` read it with the lead)."""
        if lead_id not in self._waiting_read and lead_id not in self.new_leads:
            self._waiting |= self.store.waiting_deliveries(self.conn, [lead_id], utcnow())
            self._waiting_read.add(lead_id)
        return (destination, lead_id) in self._waiting

    def audit(self, entries: list[dict[str, Any]]) -> None:
        now = utcnow()
        self.inserts["audit"].extend({"at": now, "actor": "hub", "details": {}, "account_id": None, **e}
                                     for e in entries)

    def add_outcome(self, row: dict[str, Any]) -> None:
        self.inserts["outcomes"].append(row)

    def add_match_review(self, row: dict[str, Any]) -> None:
        self.inserts["match_reviews"].append({"status": "open", "created_at": utcnow(), **row})

    def quarantine(self, row: dict[str, Any]) -> None:
        self.inserts["quarantine"].append({"created_at": utcnow(), "status": "open", **row})

    # -- cross-references and counters ------------------------------------------------------
    def set_xref(self, entity: str, system: str, external_id: str, hub_id: str, version: str | None) -> None:
        self._set(self.xrefs, (entity, system, external_id),
                  {"entity": entity, "system": system, "external_id": external_id, "hub_id": hub_id,
                   "version": version, "updated_at": utcnow()})

    def find_xref(self, entity: str, system: str, external_id: str) -> tuple[str, str | None] | None:
        key = (entity, system, external_id)
        if key in self.xrefs:  # set or deleted in this batch
            row = self.xrefs[key]
            return None if row is None else (row["hub_id"], row["version"])
        return self.store.find_xref(self.conn, entity, system, external_id)

    def delete_xref(self, entity: str, system: str, external_id: str) -> None:
        """Forget a cross-reference; later reads in the batch see it gone (stored or not)."""
        self.xref_deletes.append((entity, system, external_id))
        self._set(self.xrefs, (entity, system, external_id), None)

    def rotate(self, name: str, n: int) -> int:
        if n <= 0:
            raise ValueError("cannot rotate over nothing")
        if name not in self.counters:
            self.counters[name] = self.store.read_counter(self.conn, name)
        value = self.counters[name]
        self._set(self.counters, name, value + 1)
        self._add(self.dirty_counters, name)
        return value % n

    def counter(self, name: str) -> int:
        """A named counter's value as this batch sees it (read from the store once)."""
        if name not in self.counters:
            self.counters[name] = self.store.read_counter(self.conn, name)
        return self.counters[name]

    def set_counter(self, name: str, value: int) -> None:
        """Change a named counter; written with the batch, undone with a failed record."""
        self.counter(name)
        self._set(self.counters, name, value)
        self._add(self.dirty_counters, name)

    def on_undo(self, undo: Callable[[], None]) -> None:
        """Run ``undo`` if the current record is rolled back."""
        self._undo.append(undo)

    def finish(self, inbox_id: int, status: str, lead_id: str | None) -> None:
        self.finished.append((inbox_id, status, lead_id))

    def remember_histories(self) -> None:
        """After the commit: keep the histories of the leads read or written, as now stored."""
        if self.histories is None:
            return
        for lead_id, lead in {**self._loaded, **self.leads}.items():
            if lead_id in self.new_leads:
                version = 1
            elif lead_id in self._versions:
                version = self._versions[lead_id] + (1 if lead_id in self.leads else 0)
            else:
                continue
            people = self.people.lead_people.get(lead_id)
            if people is None:
                continue  # its contacts' ids were never read: nothing trustworthy to keep
            self.histories.put(lead_id, (version, len(lead.activities), len(lead.contacts)), lead.contacts,
                               lead.activities, people)

    # -- flush -------------------------------------------------------------------------------
    def flush(self) -> None:
        """Write everything buffered, one statement per table."""
        s, c = self.store, self.conn
        for name in INSERT_ORDER[:1]:
            s.insert_rows(c, getattr(t, name), self.inserts.get(name, []))
        links.update_account_links(c, list(self.account_links.values()))
        if self.account_keys:
            s.insert_ignore_rows(c, t.account_keys, ["kind", "value", "account_id"], self.account_keys)
        for name in INSERT_ORDER[1:]:
            if name == "lead_contacts":
                s.insert_ignore_rows(c, t.lead_contacts, ["lead_id", "contact_id"], self.inserts.get(name, []))
            else:
                s.insert_rows(c, getattr(t, name), self.inserts.get(name, []))
        s.save_leads(c, [lead for i, lead in self.leads.items() if i in self.new_leads], new=True)
        s.save_leads(c, [lead for i, lead in self.leads.items() if i not in self.new_leads], new=False)
        for key in self.xref_deletes:
            s.delete_xref(c, *key)
        s.upsert_xrefs(c, [row for row in self.xrefs.values() if row is not None])
        for name in self.dirty_counters:
            s.write_counter(c, name, self.counters[name])
        s.finish_records(c, self.finished)


def _forget(ids: set[str], own: list[MatchKey], account_id: str) -> Callable[[], None]:
    """Undo of one new match key: the account leaves the key's postings and the key its list."""
    def undo() -> None:
        ids.discard(account_id)
        own.pop()
    return undo
