"""The store's operations, each on a connection the caller holds inside one transaction.

The engine decides *what* happens; this module only knows *how* rows are read and written, the
same way on SQLite and PostgreSQL. Methods that claim work (inbox, outbox) use
``FOR UPDATE SKIP LOCKED`` on PostgreSQL so several workers share it; on SQLite the file's single
writer serialises them.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Connection,
    Engine,
    Table,
    bindparam,
    func,
    insert,
    literal_column,
    select,
    union_all,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite

from hub.decisions import AccountCandidate, MatchKey
from hub.schema import Account, Activity, Contact, Lead, LeadStatus, SourceRecord, utcnow
from hub.store import tables as t
from hub.store.contacts import ContactOps
from hub.store.queues import QueueOps
from hub.store.sql import _IDS, _chunks, _driver_rows, _insert_ignore, _upsert, aware_utc


@dataclass(frozen=True)
class InboxRow:
    id: int
    record: SourceRecord


#: How many accounts one match key may bring in (see :meth:`Store.candidates`).
PER_KEY = 50
#: An account sharing under this fraction of the best candidate's key weight is noise beside it.
WEAK_SHARE = 0.1

_KEY_LOOKUPS: dict[int, Any] = {}


def _key_lookup(n: int) -> Any:
    """One statement for ``n`` keys: ``(i, account_id)`` for each key's first ``PER_KEY`` accounts.

    Built once per ``n`` and reused: building statements costs more than the lookups.
    """
    stmt = _KEY_LOOKUPS.get(n)
    if stmt is None:
        parts = []
        for i in range(n):
            sub = (select(t.account_keys.c.account_id)
                   .where(t.account_keys.c.kind == bindparam(f"k{i}"), t.account_keys.c.value == bindparam(f"v{i}"))
                   .limit(literal_column(str(PER_KEY))).subquery(f"s{i}"))
            parts.append(select(literal_column(str(i)).label("i"), sub.c.account_id))
        stmt = _KEY_LOOKUPS[n] = union_all(*parts) if n > 1 else parts[0]
    return stmt


_DETAILS: dict[int, Any] = {}


def _details_lookup(n: int) -> Any:
    """Candidate rows (name, parent, country, each key) of ``n`` accounts ``:a0 .. :a{n-1}``."""
    stmt = _DETAILS.get(n)
    if stmt is None:
        stmt = _DETAILS[n] = (
            select(t.accounts.c.id, t.accounts.c.name, t.accounts.c.parent_id, t.accounts.c.country,
                   t.account_keys.c.kind, t.account_keys.c.value)
            .join(t.account_keys, t.account_keys.c.account_id == t.accounts.c.id)
            .where(t.accounts.c.id.in_([bindparam(f"a{i}") for i in range(n)]))
        )
    return stmt


def rank_shared(postings: Iterable[Iterable[str]], limit: int, cap: int = PER_KEY) -> list[str]:
    """Account ids ranked by the keys they share, as the in-memory book ranks them.

    Each postings list (the accounts under one key) counts one over its length for each account
    in it, so a rare key ("kessler") says more than a common one ("tooling") and two rare keys
    more than one. A list at ``cap`` names an arbitrary few of its accounts: it counts only when
    no shorter list found any. Accounts weighing under a tenth of the best are left out; ties go
    by id, so the order is the same on every run.
    """
    lists = [ids if isinstance(ids, list) else list(ids) for ids in postings]
    used = [ids for ids in lists if ids and len(ids) < cap] or [ids for ids in lists if ids]
    weight: dict[str, float] = {}
    for ids in used:
        share = 1.0 / len(ids)
        for account_id in ids:
            weight[account_id] = weight.get(account_id, 0.0) + share
    best = sorted(weight, key=lambda i: (-weight[i], i))[:limit]
    if best:
        floor = weight[best[0]] * WEAK_SHARE
        best = [i for i in best if weight[i] >= floor]
    return best


# Hot-path reads, built once: building a select() costs as much as running it on SQLite.
_ACCOUNTS_BY_ID = select(t.accounts.c.id, t.accounts.c.name, t.accounts.c.domain, t.accounts.c.country,
                         t.accounts.c.parent_id, t.accounts.c.owner_id).where(
    t.accounts.c.id.in_(bindparam(_IDS, expanding=True)))
_XREFS_OF = select(t.xrefs.c.hub_id, t.xrefs.c.system, t.xrefs.c.external_id).where(
    t.xrefs.c.entity == bindparam("entity"), t.xrefs.c.hub_id.in_(bindparam(_IDS, expanding=True)))
_FIND_XREF = select(t.xrefs.c.hub_id, t.xrefs.c.version).where(
    t.xrefs.c.entity == bindparam("entity"), t.xrefs.c.system == bindparam("system"),
    t.xrefs.c.external_id == bindparam("external_id"))
_OPEN_LEAD = (
    select(t.leads.c.id)
    .where(t.leads.c.account_id == bindparam("account_id"), t.leads.c.product_line == bindparam("product_line"),
           t.leads.c.is_open.is_(True))
    .order_by(t.leads.c.created_at.desc())
    .limit(1)
)
_OPEN_LEADS = select(t.leads.c.account_id, t.leads.c.product_line, t.leads.c.id, t.leads.c.created_at).where(
    t.leads.c.account_id.in_(bindparam(_IDS, expanding=True)), t.leads.c.is_open.is_(True))
_LEADS_BY_ID = select(
    t.leads.c.id, t.leads.c.account_id, t.leads.c.product_line, t.leads.c.score, t.leads.c.fit_score,
    t.leads.c.grade, t.leads.c.status, t.leads.c.owner_id, t.leads.c.sla_due_at, t.leads.c.source_connector,
    t.leads.c.partner_id, t.leads.c.created_at, t.leads.c.updated_at, t.leads.c.recycled_at,
).where(t.leads.c.id.in_(bindparam(_IDS, expanding=True)))
_LEAD_FINGERPRINTS = select(
    t.leads.c.id, t.leads.c.version,
    select(func.count()).select_from(t.activities).where(t.activities.c.lead_id == t.leads.c.id).scalar_subquery(),
    select(func.count()).select_from(t.lead_contacts).where(t.lead_contacts.c.lead_id == t.leads.c.id)
    .scalar_subquery(),
).where(t.leads.c.id.in_(bindparam(_IDS, expanding=True)))
_LEAD_CONTACTS = (
    select(t.lead_contacts.c.lead_id, t.contacts.c.email, t.contacts.c.first_name, t.contacts.c.last_name,
           t.contacts.c.phone, t.contacts.c.title, t.contacts.c.country, t.lead_contacts.c.contact_id)
    .join(t.lead_contacts, t.lead_contacts.c.contact_id == t.contacts.c.id)
    .where(t.lead_contacts.c.lead_id.in_(bindparam(_IDS, expanding=True)))
    .order_by(t.lead_contacts.c.lead_id, t.lead_contacts.c.position)
)
_LEAD_ACTIVITIES = (
    select(t.activities.c.lead_id, t.activities.c.kind, t.activities.c.at, t.activities.c.source,
           t.activities.c.details)
    .where(t.activities.c.lead_id.in_(bindparam(_IDS, expanding=True)))
    .order_by(t.activities.c.id)
)
_LEAD_SOURCES = select(t.activities.c.source).where(t.activities.c.lead_id == bindparam("lead_id")).distinct()
class Store(QueueOps, ContactOps):
    """Row-level operations. Hold one per process; pass the transaction's connection in."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.is_postgres = engine.dialect.name == "postgresql"

    # -- inbox -------------------------------------------------------------------------------
    def add_records(self, conn: Connection, records: Sequence[SourceRecord]) -> int:
        """Insert records, ignoring ones already stored (same connector/stream/id/version).

        :returns: how many were new.
        """
        if not records:
            return 0
        rows = [
            {
                "connector": r.connector,
                "stream": r.stream,
                "external_id": r.external_id,
                "version": r.version,
                "payload": r.payload,
                "updated_at": r.updated_at,
                "received_at": r.received_at,
                "deleted": r.deleted,
                "status": "pending",
            }
            for r in records
        ]
        stmt = _insert_ignore(conn, t.inbox, ["connector", "stream", "external_id", "version"])
        # RETURNING counts what was really inserted (executemany rowcounts differ by driver).
        return len(conn.execute(stmt.returning(t.inbox.c.id), rows).all())

    def claim_pending(self, conn: Connection, limit: int) -> list[InboxRow]:
        """Pending inbox rows, oldest first, locked for this transaction."""
        stmt = self._locked(
            select(t.inbox).where(t.inbox.c.status == "pending").order_by(t.inbox.c.id).limit(limit)
        )
        out = []
        for row in conn.execute(stmt).mappings():
            out.append(
                InboxRow(
                    id=row["id"],
                    record=SourceRecord.model_construct(
                        connector=row["connector"],
                        stream=row["stream"],
                        external_id=row["external_id"],
                        version=row["version"],
                        updated_at=aware_utc(row["updated_at"]),
                        payload=row["payload"],
                        received_at=aware_utc(row["received_at"]),
                        deleted=row["deleted"],
                    ),
                )
            )
        return out

    def finish_records(self, conn: Connection, results: Iterable[tuple[int, str, str | None]]) -> None:
        """Mark inbox rows ``(id, status, lead_id)`` as processed."""
        now = utcnow()
        rows = [{"b_id": i, "b_status": s, "b_lead": lead, "b_now": now} for i, s, lead in results]
        if rows:
            from sqlalchemy import bindparam

            conn.execute(
                update(t.inbox)
                .where(t.inbox.c.id == bindparam("b_id"))
                .values(status=bindparam("b_status"), lead_id=bindparam("b_lead"), processed_at=bindparam("b_now")),
                rows,
            )

    def pending_count(self, conn: Connection) -> int:
        stmt = select(func.count()).select_from(t.inbox).where(t.inbox.c.status == "pending")
        return int(conn.execute(stmt).scalar_one())

    # -- bulk writes (a batch's unit of work flushes through these) --------------------------
    def insert_rows(self, conn: Connection, table: Table, rows: list[dict[str, Any]]) -> None:
        if rows:
            conn.execute(insert(table), rows)

    def insert_ignore_rows(self, conn: Connection, table: Table, keys: list[str], rows: list[dict[str, Any]]) -> None:
        if rows:
            conn.execute(_insert_ignore(conn, table, keys), rows)

    def save_leads(self, conn: Connection, leads: list[Lead], *, new: bool) -> None:
        if not leads:
            return
        now = utcnow()
        rows = [
            {
                "b_id": lead.id, "account_id": lead.account_id, "product_line": lead.product_line,
                "status": str(lead.status), "score": lead.score, "fit_score": lead.fit_score,
                "grade": lead.grade, "owner_id": lead.owner_id,
                "sla_due_at": lead.sla_due_at, "source_connector": lead.source_connector,
                "partner_id": lead.partner_id, "is_open": lead.is_open, "updated_at": now,
                "created_at": lead.created_at, "recycled_at": lead.recycled_at,
            }
            for lead in leads
        ]
        if new:
            conn.execute(insert(t.leads), [{**{k: v for k, v in r.items() if k != "b_id"},
                                            "id": r["b_id"], "version": 1}
                                           for r in rows])
            return
        from sqlalchemy import bindparam

        stmt = (
            update(t.leads)
            .where(t.leads.c.id == bindparam("b_id"))
            .values(version=t.leads.c.version + 1,
                    **{k: bindparam(k) for k in rows[0] if k not in ("b_id", "created_at")})
        )
        conn.execute(stmt, [{k: v for k, v in r.items() if k != "created_at"} for r in rows])

    def upsert_xrefs(self, conn: Connection, rows: list[dict[str, Any]]) -> None:
        if not rows:
            return
        stmt: Any = postgresql.insert(t.xrefs) if conn.dialect.name == "postgresql" else sqlite.insert(t.xrefs)
        stmt = stmt.on_conflict_do_update(
            index_elements=["entity", "system", "external_id"],
            set_={"hub_id": stmt.excluded.hub_id, "version": stmt.excluded.version,
                  "updated_at": stmt.excluded.updated_at},
        )
        conn.execute(stmt, rows)

    def delete_xref(self, conn: Connection, entity: str, system: str, external_id: str) -> None:
        from sqlalchemy import delete

        conn.execute(delete(t.xrefs).where(t.xrefs.c.entity == entity, t.xrefs.c.system == system,
                                           t.xrefs.c.external_id == external_id))

    def read_counter(self, conn: Connection, name: str) -> int:
        """A counter's value, locked for this transaction on PostgreSQL (workers take turns)."""
        conn.execute(_insert_ignore(conn, t.counters, ["name"]), [{"name": name, "value": 0}])
        stmt = select(t.counters.c.value).where(t.counters.c.name == name)
        if self.is_postgres:
            stmt = stmt.with_for_update()
        return int(conn.execute(stmt).scalar_one())

    def write_counter(self, conn: Connection, name: str, value: int) -> None:
        conn.execute(update(t.counters).where(t.counters.c.name == name).values(value=value))

    # -- accounts ----------------------------------------------------------------------------
    def candidates(self, conn: Connection, keys: list[MatchKey], limit: int = 50) -> list[AccountCandidate]:
        """Accounts sharing the most of ``keys`` first (each key read through the index).

        A very common key (a word in many names) brings in at most ``PER_KEY`` accounts, so it
        cannot crowd out the account that shares the domain and the name, and a lookup costs the
        same with a thousand accounts or a million.
        """
        postings = self.key_postings(conn, keys)
        ids = rank_shared(postings.values(), limit)
        found = self.candidate_details(conn, ids)
        return [found[i] for i in ids if i in found]

    def key_postings(self, conn: Connection, keys: Iterable[MatchKey]) -> dict[MatchKey, list[str]]:
        """The first ``PER_KEY`` account ids indexed under each key, in one statement."""
        unique = list(dict.fromkeys(keys))
        out: dict[MatchKey, list[str]] = {key: [] for key in unique}
        if not unique:
            return out
        params = {}
        for n, key in enumerate(unique):
            params[f"k{n}"], params[f"v{n}"] = key.kind, key.value[:500]
        for i, account_id in _driver_rows(conn, _key_lookup(len(unique)), params):
            out[unique[i]].append(account_id)
        return out

    def candidate_details(self, conn: Connection, ids: Iterable[str]) -> dict[str, AccountCandidate]:
        """Name, parent, country and every indexed key of these accounts (unknown ids left out)."""
        out: dict[str, AccountCandidate] = {}
        for chunk in _chunks(ids):
            rows: dict[str, tuple[str, str | None, str | None]] = {}
            all_keys: dict[str, list[MatchKey]] = {}
            found = _driver_rows(conn, _details_lookup(len(chunk)), {f"a{i}": v for i, v in enumerate(chunk)})
            for account_id, name, parent_id, country, kind, value in found:
                if account_id not in rows:
                    rows[account_id] = (name, parent_id, country)
                    all_keys[account_id] = []
                all_keys[account_id].append(MatchKey(kind, value))
            for account_id, (name, parent_id, country) in rows.items():
                out[account_id] = AccountCandidate(account_id=account_id, name=name, keys=tuple(all_keys[account_id]),
                                                   parent_id=parent_id, country=country)
        return out

    def create_account(self, conn: Connection, account: Account) -> None:
        now = utcnow()
        conn.execute(
            insert(t.accounts).values(
                id=account.id,
                name=account.name,
                domain=account.domains[0] if account.domains else None,
                country=account.country,
                parent_id=account.parent_id,
                owner_id=account.owner_id,
                created_at=now,
                updated_at=now,
            )
        )

    def add_account_keys(self, conn: Connection, account_id: str, keys: Iterable[MatchKey]) -> None:
        rows = [{"kind": k.kind, "value": k.value[:500], "account_id": account_id} for k in keys]
        if rows:
            conn.execute(_insert_ignore(conn, t.account_keys, ["kind", "value", "account_id"]), rows)

    def get_account(self, conn: Connection, account_id: str) -> Account | None:
        return self.accounts_by_ids(conn, [account_id]).get(account_id)

    def accounts_by_ids(self, conn: Connection, ids: Iterable[str]) -> dict[str, Account]:
        """The accounts with these ids (unknown ids are left out), with their cross-references."""
        out: dict[str, Account] = {}
        for chunk in _chunks(ids):
            refs: dict[str, dict[str, str]] = {}
            for hub_id, system, external_id in conn.execute(_XREFS_OF, {"entity": "account", _IDS: chunk}):
                refs.setdefault(hub_id, {})[system] = external_id
            for acct_id, name, domain, country, parent_id, owner_id in conn.execute(_ACCOUNTS_BY_ID, {_IDS: chunk}):
                # Rows were validated when written: no need to validate them again.
                out[acct_id] = Account.model_construct(
                    id=acct_id, name=name, domains=[domain] if domain else [], country=country,
                    parent_id=parent_id, owner_id=owner_id, xrefs=refs.get(acct_id, {}),
                )
        return out

    # -- leads -------------------------------------------------------------------------------
    def open_lead_id(self, conn: Connection, account_id: str, product_line: str) -> str | None:
        row = conn.execute(_OPEN_LEAD, {"account_id": account_id, "product_line": product_line}).first()
        return row[0] if row else None

    def open_leads_of(self, conn: Connection, account_ids: Iterable[str]) -> dict[tuple[str, str], str]:
        """``(account_id, product_line) -> id`` of the newest open lead, for these accounts."""
        newest: dict[tuple[str, str], tuple[datetime, str]] = {}
        for chunk in _chunks(account_ids):
            for account_id, product_line, lead_id, created_at in conn.execute(_OPEN_LEADS, {_IDS: chunk}):
                key = (account_id, product_line)
                seen = newest.get(key)
                if seen is None or created_at > seen[0]:
                    newest[key] = (created_at, lead_id)
        return {key: lead_id for key, (_, lead_id) in newest.items()}

    def get_lead(self, conn: Connection, lead_id: str, *, with_activities: bool = True) -> Lead | None:
        return self.leads_by_ids(conn, [lead_id], with_activities=with_activities).get(lead_id)

    def lead_fingerprints(self, conn: Connection, ids: Iterable[str]) -> dict[str, tuple[int, int, int]]:
        """``id -> (version, activities, contacts)``: whether a lead's history read earlier still holds."""
        out: dict[str, tuple[int, int, int]] = {}
        for chunk in _chunks(ids):
            for lead_id, version, n_activities, n_contacts in conn.execute(_LEAD_FINGERPRINTS, {_IDS: chunk}):
                out[lead_id] = (int(version), int(n_activities), int(n_contacts))
        return out

    def leads_by_ids(
        self, conn: Connection, ids: Iterable[str], *, with_activities: bool = True,
        known: dict[str, tuple[list[Contact], list[Activity]]] | None = None,
        people: dict[str, set[str]] | None = None,
    ) -> dict[str, Lead]:
        """The leads with these ids (unknown ids are left out): contacts, activities, xrefs.

        ``known`` holds contacts and activities the caller already has (a cache it checked with
        :meth:`lead_fingerprints`): those leads' histories are not read again. ``people``, if
        given, receives the contact ids of each lead whose history was read.
        """
        known = known or {}
        out: dict[str, Lead] = {}
        for chunk in _chunks(ids):
            rows = conn.execute(_LEADS_BY_ID, {_IDS: chunk}).all()
            if not rows:
                continue
            found = [r[0] for r in rows]
            unread = [i for i in found if i not in known]
            contacts: dict[str, list[Contact]] = {i: [] for i in unread}
            acts: dict[str, list[Activity]] = {i: [] for i in unread}
            for lead_id in found:
                if lead_id in known:
                    contacts[lead_id], acts[lead_id] = known[lead_id]
            if people is not None:
                people.update((i, set()) for i in unread)
            for lead_id, email, first, last, phone, title, country, contact_id in (
                    conn.execute(_LEAD_CONTACTS, {_IDS: unread}) if unread else ()):
                contacts[lead_id].append(Contact.model_construct(
                    email=email, first_name=first, last_name=last, phone=phone, title=title, country=country))
                if people is not None:
                    people[lead_id].add(contact_id)
            if with_activities and unread:
                for lead_id, kind, at, source, details in conn.execute(_LEAD_ACTIVITIES, {_IDS: unread}):
                    acts[lead_id].append(Activity.model_construct(kind=kind, at=aware_utc(at), source=source,
                                                                  details=details))
            refs: dict[str, dict[str, str]] = {i: {} for i in found}
            for hub_id, system, external_id in conn.execute(_XREFS_OF, {"entity": "lead", _IDS: found}):
                refs[hub_id][system] = external_id
            for (lead_id, account_id, product_line, score, fit_score, grade, status, owner_id, sla_due_at,
                 source_connector, partner_id, created_at, updated_at, recycled_at) in rows:
                out[lead_id] = Lead.model_construct(
                    id=lead_id, account_id=account_id, product_line=product_line, contacts=contacts[lead_id],
                    activities=acts[lead_id], score=score, fit_score=fit_score, grade=grade,
                    status=LeadStatus(status), owner_id=owner_id,
                    sla_due_at=aware_utc(sla_due_at), source_connector=source_connector, partner_id=partner_id,
                    xrefs=refs[lead_id], created_at=aware_utc(created_at), updated_at=aware_utc(updated_at),
                    recycled_at=aware_utc(recycled_at),
                )
        return out

    def save_lead(self, conn: Connection, lead: Lead, *, new: bool) -> None:
        values = {
            "account_id": lead.account_id,
            "product_line": lead.product_line,
            "status": str(lead.status),
            "score": lead.score,
            "fit_score": lead.fit_score,
            "grade": lead.grade,
            "owner_id": lead.owner_id,
            "sla_due_at": lead.sla_due_at,
            "source_connector": lead.source_connector,
            "partner_id": lead.partner_id,
            "is_open": lead.is_open,
            "updated_at": utcnow(),
            "recycled_at": lead.recycled_at,
        }
        if new:
            conn.execute(insert(t.leads).values(id=lead.id, created_at=lead.created_at, version=1, **values))
        else:
            conn.execute(
                update(t.leads).where(t.leads.c.id == lead.id).values(version=t.leads.c.version + 1, **values)
            )

    def link_contact(self, conn: Connection, lead_id: str, contact_id: str, position: int) -> None:
        conn.execute(
            _insert_ignore(conn, t.lead_contacts, ["lead_id", "contact_id"]),
            [{"lead_id": lead_id, "contact_id": contact_id, "position": position}],
        )

    def add_activity(
        self, conn: Connection, lead_id: str, contact_id: str | None, inbox_id: int | None, activity: Activity
    ) -> None:
        conn.execute(
            insert(t.activities).values(
                lead_id=lead_id,
                contact_id=contact_id,
                inbox_id=inbox_id,
                kind=activity.kind,
                at=activity.at,
                source=activity.source,
                details=activity.details,
            )
        )

    def leads_page(
        self, conn: Connection, *, status: str | None = None, partner_id: str | None = None,
        limit: int = 50, offset: int = 0,
    ) -> list[dict[str, Any]]:
        stmt = select(t.leads, t.accounts.c.name.label("account_name")).join(
            t.accounts, t.accounts.c.id == t.leads.c.account_id
        )
        if status:
            stmt = stmt.where(t.leads.c.status == status)
        if partner_id:
            stmt = stmt.where(t.leads.c.partner_id == partner_id)
        stmt = stmt.order_by(t.leads.c.created_at.desc(), t.leads.c.id).limit(limit).offset(offset)
        return [dict(r) for r in conn.execute(stmt).mappings()]

    def iter_lead_ids(self, conn: Connection, batch: int = 1000) -> Iterable[list[str]]:
        last = ""
        while True:
            ids = [r[0] for r in conn.execute(
                select(t.leads.c.id).where(t.leads.c.id > last).order_by(t.leads.c.id).limit(batch)
            )]
            if not ids:
                return
            yield ids
            last = ids[-1]

    def breached_leads(self, conn: Connection, now: datetime, limit: int = 100) -> list[str]:
        stmt = self._locked(
            select(t.leads.c.id)
            .where(t.leads.c.status.in_(["routed", "escalated"]), t.leads.c.sla_due_at < now)
            .order_by(t.leads.c.sla_due_at)
            .limit(limit)
        )
        return [r[0] for r in conn.execute(stmt)]

    def lead_sources(self, conn: Connection, lead_id: str) -> list[str]:
        return sorted(r[0] for r in conn.execute(_LEAD_SOURCES, {"lead_id": lead_id}) if r[0])

    # -- cross-references --------------------------------------------------------------------
    def set_xref(
        self, conn: Connection, entity: str, system: str, external_id: str, hub_id: str, version: str | None = None
    ) -> None:
        _upsert(
            conn,
            t.xrefs,
            ["entity", "system", "external_id"],
            {"entity": entity, "system": system, "external_id": external_id, "hub_id": hub_id,
             "version": version, "updated_at": utcnow()},
        )

    def find_xref(self, conn: Connection, entity: str, system: str, external_id: str) -> tuple[str, str | None] | None:
        row = conn.execute(_FIND_XREF, {"entity": entity, "system": system, "external_id": external_id}).first()
        return (row[0], row[1]) if row else None

    def xref_of(self, conn: Connection, entity: str, hub_id: str, system: str) -> str | None:
        row = conn.execute(
            select(t.xrefs.c.external_id).where(
                t.xrefs.c.entity == entity, t.xrefs.c.hub_id == hub_id, t.xrefs.c.system == system
            )
        ).first()
        return row[0] if row else None

    # -- counters and reviews ----------------------------------------------------------------
    def rotate(self, conn: Connection, name: str, n: int) -> int:
        """Next position 0..n-1 of a persisted round-robin counter."""
        if n <= 0:
            raise ValueError("cannot rotate over nothing")
        _insert = _insert_ignore(conn, t.counters, ["name"])
        conn.execute(_insert, [{"name": name, "value": 0}])
        conn.execute(update(t.counters).where(t.counters.c.name == name).values(value=t.counters.c.value + 1))
        value = conn.execute(select(t.counters.c.value).where(t.counters.c.name == name)).scalar_one()
        return int(value - 1) % n

    def add_match_review(
        self, conn: Connection, lead_id: str, account_id: str, candidate_id: str, score: float, reason: str
    ) -> None:
        conn.execute(insert(t.match_reviews).values(
            lead_id=lead_id, account_id=account_id, candidate_id=candidate_id, score=score,
            reason=reason, status="open", created_at=utcnow()))

    def counts(self, conn: Connection) -> dict[str, int]:
        def n(table: Table, *where: Any) -> int:
            return int(conn.execute(select(func.count()).select_from(table).where(*where)).scalar_one())

        return {
            "inbox_pending": n(t.inbox, t.inbox.c.status == "pending"),
            "inbox_total": n(t.inbox),
            "quarantine_open": n(t.quarantine, t.quarantine.c.status == "open"),
            "dead_letters_open": n(t.dead_letters, t.dead_letters.c.status == "open"),
            "outbox_pending": n(t.outbox, t.outbox.c.status == "pending"),
            "leads": n(t.leads),
            "accounts": n(t.accounts),
            "match_reviews_open": n(t.match_reviews, t.match_reviews.c.status == "open"),
        }
