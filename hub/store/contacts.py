"""The store's contact lookups: by match key, and candidate duplicates by blocking key.

The lookups are a mixin of :class:`hub.store.repo.Store`; the functions at the end are what
:mod:`hub.review.contacts` reads and writes when a person decides a candidate pair. Every lookup
goes through an index (``ix_contacts_match_key``, ``ix_contacts_name_key``,
``ix_contacts_phone_key``), never a scan of an account's contacts. A contact merged into another
(``merged_into``) is found by its key as its survivor, and is no candidate any more.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    bindparam,
    delete,
    func,
    insert,
    literal_column,
    or_,
    select,
    union_all,
    update,
)

from hub.decisions import ContactRecord
from hub.schema import utcnow
from hub.store import tables as t
from hub.store.sql import Compiled, _chunks, _compile, _insert_ignore, _run_compiled

_c = t.contacts.c
_BY_KEYS = select(_c.account_id, _c.match_key, _c.id, _c.merged_into).where(
    _c.match_key.in_(bindparam("keys", expanding=True))).order_by(_c.id)
_LEAD_PEOPLE = select(t.lead_contacts.c.contact_id).where(t.lead_contacts.c.lead_id == bindparam("lead_id"))
_BY_KEY = select(_c.id, _c.merged_into).where(
    _c.match_key == bindparam("key"), _c.account_id == bindparam("account_id")).order_by(_c.id)

#: Statement sizes (lookups glued per statement; SQLite allows 500 terms in a compound SELECT).
#: A batch's lookups are padded up to the next size with keys that match nothing, so a handful of
#: statements is built and compiled once per process instead of one per count.
_SIZES = (1, 5, 25, 100)
_PARTS = _SIZES[-1]
_LOOKUPS: dict[tuple[str, str, int, int], Compiled] = {}


def _padded(n: int) -> int:
    return next(size for size in _SIZES if size >= n)


def _lookup(conn: Connection, kind: str, n: int, per_key: int) -> Compiled:
    """``(i, contact columns...)`` for the first ``per_key`` live contacts under each of ``n`` keys.

    ``kind`` "name": binds ``a{i}`` (account) and ``k{i}`` (name key); "phone": ``k{i}``. One
    indexed, limited lookup per key, glued with UNION ALL; compiled once per shape and dialect,
    and only the SQL text is kept (the statement objects of 100 lookups weigh megabytes).
    """
    shape = (conn.dialect.name, kind, n, per_key)
    compiled = _LOOKUPS.get(shape)
    if compiled is None:
        parts = []
        for i in range(n):
            where: list[ColumnElement[bool]] = [_c.merged_into.is_(None)]
            if kind == "name":
                where += [_c.account_id == bindparam(f"a{i}"), _c.name_key == bindparam(f"k{i}")]
            else:
                where.append(_c.phone_key == bindparam(f"k{i}"))
            sub = (select(_c.id, _c.account_id, _c.email, _c.first_name, _c.last_name, _c.phone)
                   .where(*where).limit(literal_column(str(per_key))).subquery(f"s{i}"))
            parts.append(select(literal_column(str(i)).label("i"), *sub.c))
        compiled = _LOOKUPS[shape] = _compile(conn, union_all(*parts) if n > 1 else parts[0])
    return compiled


class ContactOps:
    """Contact reads by index (mixed into ``Store``)."""

    def find_contact(self, conn: Connection, account_id: str, key: str | None) -> str | None:
        """The contact of ``account_id`` with match key ``key`` (merged away: its survivor)."""
        if not key:
            return None
        row = conn.execute(_BY_KEY, {"key": key, "account_id": account_id}).first()
        return (row[1] or row[0]) if row else None

    def lead_contact_ids(self, conn: Connection, lead_id: str) -> set[str]:
        """The ids of the contacts on a lead (its ``lead_contacts`` rows, read by primary key)."""
        return set(conn.execute(_LEAD_PEOPLE, {"lead_id": lead_id}).scalars())

    def contacts_by_keys(self, conn: Connection, keys: Iterable[str]) -> dict[tuple[str, str], str]:
        """``(account_id, match key) -> contact id`` for every stored contact with one of ``keys``."""
        out: dict[tuple[str, str], str] = {}
        for chunk in _chunks(k for k in keys if k):
            for account_id, key, contact_id, merged_into in conn.execute(_BY_KEYS, {"keys": chunk}):
                out.setdefault((account_id, key), merged_into or contact_id)
        return out

    def contact_candidates(
        self, conn: Connection, names: Iterable[tuple[str, str]], phones: Iterable[str], per_key: int,
    ) -> tuple[dict[tuple[str, str], list[ContactRecord]], dict[str, list[ContactRecord]]]:
        """Live contacts under each (account, name key) and under each phone key, ``per_key`` at most."""
        by_name: dict[tuple[str, str], list[ContactRecord]] = {}
        by_phone: dict[str, list[ContactRecord]] = {}
        name_list, phone_list = sorted(set(names)), sorted(set(phones))
        for start in range(0, len(name_list), _PARTS):
            chunk = name_list[start:start + _PARTS]
            size = _padded(len(chunk))
            params = {}
            for i, (account_id, key) in enumerate(chunk + [("", "")] * (size - len(chunk))):
                params[f"a{i}"], params[f"k{i}"] = account_id, key
            for i, *row in _run_compiled(conn, _lookup(conn, "name", size, per_key), params):
                by_name.setdefault(chunk[i], []).append(ContactRecord(*row))
        for start in range(0, len(phone_list), _PARTS):
            chunk_p = phone_list[start:start + _PARTS]
            size = _padded(len(chunk_p))
            padded = chunk_p + [""] * (size - len(chunk_p))
            rows = _run_compiled(conn, _lookup(conn, "phone", size, per_key),
                                 {f"k{i}": k for i, k in enumerate(padded)})
            for i, *row in rows:
                by_phone.setdefault(chunk_p[i], []).append(ContactRecord(*row))
        return by_name, by_phone


# -- what people decide about candidate duplicates (hub.review.contacts) ---------------------
_d, _lc, _a = t.contact_duplicates.c, t.lead_contacts.c, t.activities.c


def contacts_with_accounts(conn: Connection, ids: Iterable[str]) -> dict[str, dict[str, Any]]:
    """Contact rows by id, each with its account's name (``account_name``)."""
    wanted = list(dict.fromkeys(ids))
    if not wanted:
        return {}
    rows = conn.execute(select(t.contacts, t.accounts.c.name.label("account_name"))
                        .join(t.accounts, t.accounts.c.id == _c.account_id, isouter=True)
                        .where(_c.id.in_(wanted))).mappings()
    return {r["id"]: dict(r) for r in rows}


def duplicate_candidates(conn: Connection, *, status: str | None = "open", limit: int = 100) -> list[dict[str, Any]]:
    """Candidate duplicate rows (``status`` None: every status), oldest first."""
    stmt = select(t.contact_duplicates).order_by(_d.id).limit(limit)
    if status:
        stmt = stmt.where(_d.status == status)
    return [dict(r) for r in conn.execute(stmt).mappings()]


def open_duplicates_of(conn: Connection, contact_ids: list[str]) -> list[dict[str, Any]]:
    """Open candidate rows involving any of these contacts, oldest first."""
    if not contact_ids:
        return []
    rows = conn.execute(select(t.contact_duplicates).where(
        _d.status == "open", or_(_d.contact_id.in_(contact_ids), _d.other_id.in_(contact_ids))).order_by(_d.id))
    return [dict(r) for r in rows.mappings()]


def duplicate_pair(conn: Connection, a: str, b: str) -> dict[str, Any] | None:
    """The latest candidate row of the pair, either way round."""
    row = conn.execute(select(t.contact_duplicates).where(or_(
        (_d.contact_id == a) & (_d.other_id == b), (_d.contact_id == b) & (_d.other_id == a))).order_by(_d.id.desc())
    ).mappings().first()
    return dict(row) if row else None


def merged_duplicates_of(conn: Connection, contact_id: str) -> list[dict[str, Any]]:
    """Merged candidate rows involving the contact, newest first."""
    return [dict(r) for r in conn.execute(select(t.contact_duplicates).where(
        _d.status == "merged", or_(_d.contact_id == contact_id, _d.other_id == contact_id)).order_by(_d.id.desc())
    ).mappings()]


def add_duplicate(conn: Connection, contact_id: str, other_id: str, confidence: float, reason: str) -> int:
    """Record an open candidate pair; returns its id."""
    return int(conn.execute(insert(t.contact_duplicates).values(
        contact_id=contact_id, other_id=other_id, confidence=confidence, status="open", created_at=utcnow(),
        reason=reason, details={}).returning(_d.id)).scalar_one())


def decide_duplicate(conn: Connection, row_id: int, status: str, by: str | None,
                     details: dict[str, Any] | None = None) -> None:
    """Set the candidate's status; ``by`` None reopens it (no decision, no details)."""
    values: dict[str, Any] = {"status": status, "decided_at": utcnow() if by else None, "decided_by": by}
    if details is not None or by is None:
        values["details"] = details or {}
    conn.execute(update(t.contact_duplicates).where(_d.id == row_id).values(**values))


def leads_with_contacts(conn: Connection, contact_ids: list[str]) -> list[str]:
    """The leads any of these contacts is on."""
    return [r[0] for r in conn.execute(select(_lc.lead_id).where(_lc.contact_id.in_(contact_ids)).distinct())]


def lead_links(conn: Connection, contact_id: str) -> list[tuple[str, int]]:
    """``(lead_id, position)`` of each lead the contact is on."""
    return [(r[0], r[1]) for r in conn.execute(select(_lc.lead_id, _lc.position).where(_lc.contact_id == contact_id))]


def relink(conn: Connection, contact_id: str, into: str, lead_ids: list[str]) -> None:
    """On these leads, the link of ``contact_id`` becomes a link of ``into``."""
    for lead_id in lead_ids:
        conn.execute(update(t.lead_contacts).where(_lc.lead_id == lead_id, _lc.contact_id == contact_id)
                     .values(contact_id=into))


def unlink(conn: Connection, contact_id: str, lead_ids: list[str]) -> None:
    """Take the contact off these leads."""
    if lead_ids:
        conn.execute(delete(t.lead_contacts).where(_lc.contact_id == contact_id, _lc.lead_id.in_(lead_ids)))


def link(conn: Connection, links: list[dict[str, Any]]) -> None:
    """Put contacts on leads (``lead_id``, ``contact_id``, ``position``); links that exist stay."""
    if links:
        conn.execute(_insert_ignore(conn, t.lead_contacts, ["lead_id", "contact_id"]), links)


def contact_activities(conn: Connection, contact_id: str) -> list[int]:
    return [r[0] for r in conn.execute(select(_a.id).where(_a.contact_id == contact_id))]


def set_activities_contact(conn: Connection, activity_ids: list[int], contact_id: str) -> None:
    if activity_ids:
        conn.execute(update(t.activities).where(_a.id.in_(activity_ids)).values(contact_id=contact_id))


def merged_into(conn: Connection, contact_id: str) -> list[str]:
    """The contacts merged into this one."""
    return [r[0] for r in conn.execute(select(_c.id).where(_c.merged_into == contact_id))]


def set_merged_into(conn: Connection, contact_ids: list[str], survivor: str | None) -> None:
    if contact_ids:
        conn.execute(update(t.contacts).where(_c.id.in_(contact_ids)).values(merged_into=survivor))


def count_contacts(conn: Connection) -> int:
    return int(conn.execute(select(func.count()).select_from(t.contacts)).scalar_one())


def contacts_after(conn: Connection, last: str, limit: int) -> list[dict[str, Any]]:
    """Up to ``limit`` contacts with ids after ``last``, in id order, with their stored keys."""
    return [dict(r) for r in conn.execute(
        select(_c.id, _c.email, _c.first_name, _c.last_name, _c.phone, _c.title, _c.country,
               _c.match_key, _c.name_key, _c.phone_key).where(_c.id > last).order_by(_c.id).limit(limit)).mappings()]


def set_contact_keys(conn: Connection, contact_id: str, keys: dict[str, str | None]) -> None:
    """Store a contact's ``match_key``, ``name_key`` and ``phone_key``."""
    conn.execute(update(t.contacts).where(_c.id == contact_id).values(**keys))


def shared_match_keys(conn: Connection) -> list[tuple[str, str]]:
    """``(account_id, match key)`` held by more than one live contact of the account."""
    return [(r[0], r[1]) for r in conn.execute(select(_c.account_id, _c.match_key).where(
        _c.match_key.is_not(None), _c.merged_into.is_(None)).group_by(_c.account_id, _c.match_key)
        .having(func.count() > 1))]


def live_contacts_with_key(conn: Connection, account_id: str, key: str) -> list[ContactRecord]:
    """The account's live contacts with this match key, oldest first."""
    return [ContactRecord(*r) for r in conn.execute(
        select(_c.id, _c.account_id, _c.email, _c.first_name, _c.last_name, _c.phone).where(
            _c.account_id == account_id, _c.match_key == key, _c.merged_into.is_(None)).order_by(_c.created_at, _c.id))]
