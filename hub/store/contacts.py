"""The store's contact lookups: by match key, and candidate duplicates by blocking key.

A mixin of :class:`hub.store.repo.Store`. Every lookup goes through an index
(``ix_contacts_match_key``, ``ix_contacts_name_key``, ``ix_contacts_phone_key``), never a scan of
an account's contacts. A contact merged into another (``merged_into``) is found by its key as its
survivor, and is no candidate any more.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import ColumnElement, Connection, bindparam, literal_column, select, union_all

from hub.decisions import ContactRecord
from hub.store import tables as t
from hub.store.sql import Compiled, _chunks, _compile, _run_compiled

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
            rows = _run_compiled(conn, _lookup(conn, "phone", size, per_key), {f"k{i}": k for i, k in enumerate(padded)})
            for i, *row in rows:
                by_phone.setdefault(chunk_p[i], []).append(ContactRecord(*row))
        return by_name, by_phone
