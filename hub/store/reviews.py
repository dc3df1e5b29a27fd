"""The store's side of what people decide about leads and accounts (:mod:`hub.review.leads`).

Match reviews (the matcher's uncertain calls), folding a provisional account into the account a
person confirmed, and moving one activity to a new lead (``leads split``). Each function runs on
the caller's connection, inside its transaction; what to do and how to say it is the review's.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, delete, func, insert, select, update

from hub.schema import Contact, SourceRecord, utcnow
from hub.store import tables as t
from hub.store.sql import aware_utc

_r, _l, _a = t.match_reviews.c, t.leads.c, t.activities.c

# -- match reviews ---------------------------------------------------------------------------


def open_match_reviews(conn: Connection, limit: int = 100) -> list[dict[str, Any]]:
    """Open match reviews, oldest first, with both accounts' names and domains."""
    a, c = t.accounts.alias("a"), t.accounts.alias("c")
    stmt = (
        select(t.match_reviews, a.c.name.label("account_name"), a.c.domain.label("account_domain"),
               c.c.name.label("candidate_name"), c.c.domain.label("candidate_domain"))
        .join(a, a.c.id == _r.account_id)
        .join(c, c.c.id == _r.candidate_id)
        .where(_r.status == "open")
        .order_by(_r.id)
        .limit(limit)
    )
    return [dict(r) for r in conn.execute(stmt).mappings()]


def match_reviews(conn: Connection, statuses: list[str]) -> list[dict[str, Any]]:
    """Every match review in one of ``statuses``, oldest first."""
    return [dict(r) for r in conn.execute(select(t.match_reviews).where(_r.status.in_(statuses)).order_by(_r.id))
            .mappings()]


def match_review(conn: Connection, review_id: int) -> dict[str, Any] | None:
    row = conn.execute(select(t.match_reviews).where(_r.id == review_id)).mappings().first()
    return dict(row) if row else None


def close_match_review(conn: Connection, review_id: int, status: str, by: str) -> None:
    """Record the decision (``accepted`` / ``rejected``) and who made it."""
    conn.execute(update(t.match_reviews).where(_r.id == review_id).values(
        status=status, decided_at=utcnow(), decided_by=by))


def settle_match_reviews(conn: Connection, account_id: str, candidate_id: str, status: str, by: str,
                         *, but: int) -> None:
    """Close the other open reviews of the same pair (all but review ``but``) the same way."""
    conn.execute(update(t.match_reviews).where(
        _r.account_id == account_id, _r.candidate_id == candidate_id, _r.status == "open", _r.id != but,
    ).values(status=status, decided_at=utcnow(), decided_by=by))


def account_names(conn: Connection, ids: list[str]) -> dict[str, str]:
    return {r[0]: r[1] for r in conn.execute(select(t.accounts.c.id, t.accounts.c.name)
                                             .where(t.accounts.c.id.in_(ids)))}


def add_audit(conn: Connection, lead_id: str | None, account_id: str | None, action: str, reason: str,
              actor: str, **details: Any) -> None:
    """One audit entry, written now (a person's decision, outside any batch)."""
    conn.execute(insert(t.audit).values(lead_id=lead_id, account_id=account_id, at=utcnow(), action=action,
                                        actor=actor, reason=reason, details=details))


# -- folding one account into another --------------------------------------------------------


def fold_contacts(conn: Connection, account_id: str, into: str) -> None:
    """Move the contacts of ``account_id`` to ``into``; one whose match key ``into`` has already is
    dropped and its links, activities and merged contacts go to that contact."""
    _c = t.contacts.c
    existing = {r[0]: r[1] for r in conn.execute(
        select(_c.match_key, _c.id).where(_c.account_id == into, _c.match_key.is_not(None)))}
    for contact_id, key in conn.execute(select(_c.id, _c.match_key).where(_c.account_id == account_id)).all():
        same = existing.get(key) if key is not None else None
        if same is not None:
            conn.execute(update(t.lead_contacts).where(t.lead_contacts.c.contact_id == contact_id)
                         .values(contact_id=same))
            conn.execute(update(t.activities).where(_a.contact_id == contact_id).values(contact_id=same))
            conn.execute(update(t.contacts).where(_c.merged_into == contact_id).values(merged_into=same))
            conn.execute(delete(t.contacts).where(_c.id == contact_id))
        else:
            conn.execute(update(t.contacts).where(_c.id == contact_id).values(account_id=into))


def move_account_keys(conn: Connection, account_id: str, into: str) -> list[tuple[str, str]]:
    """Index ``into`` under the match keys of ``account_id`` (which loses them); returns the keys
    ``into`` did not have, as ``(kind, value)``."""
    _k = t.account_keys.c
    keys = [(r[0], r[1]) for r in conn.execute(select(_k.kind, _k.value).where(_k.account_id == account_id))]
    have = {(r[0], r[1]) for r in conn.execute(select(_k.kind, _k.value).where(_k.account_id == into))}
    new_keys = [k for k in keys if k not in have]
    if new_keys:
        conn.execute(insert(t.account_keys), [{"kind": kind, "value": value, "account_id": into}
                                              for kind, value in new_keys])
    conn.execute(delete(t.account_keys).where(_k.account_id == account_id))
    return new_keys


def move_account_xrefs(conn: Connection, account_id: str, into: str) -> None:
    conn.execute(update(t.xrefs).where(t.xrefs.c.entity == "account", t.xrefs.c.hub_id == account_id)
                 .values(hub_id=into))


def account_leads(conn: Connection, account_id: str) -> list[dict[str, Any]]:
    """``id``, ``product_line`` and ``is_open`` of each lead of the account."""
    return [dict(r) for r in conn.execute(select(_l.id, _l.product_line, _l.is_open)
                                          .where(_l.account_id == account_id)).mappings()]


def open_lead_of(conn: Connection, account_id: str, product_line: str) -> str | None:
    row = conn.execute(select(_l.id).where(_l.account_id == account_id, _l.product_line == product_line,
                                           _l.is_open.is_(True))).first()
    return row[0] if row else None


def was_delivered(conn: Connection, lead_id: str) -> bool:
    """Whether any system holds the lead (it has a cross-reference)."""
    return bool(conn.execute(select(func.count()).select_from(t.xrefs).where(
        t.xrefs.c.entity == "lead", t.xrefs.c.hub_id == lead_id)).scalar_one())


def fold_lead(conn: Connection, lead_id: str, into: str, note: str) -> None:
    """Move everything of ``lead_id`` (activities, people, audit, inbox rows, reviews) onto lead
    ``into`` and delete it; its pending deliveries are closed with ``note``."""
    _lc = t.lead_contacts.c
    conn.execute(update(t.activities).where(_a.lead_id == lead_id).values(lead_id=into))
    position = conn.execute(select(func.count()).select_from(t.lead_contacts).where(_lc.lead_id == into)).scalar_one()
    on_target = set(conn.execute(select(_lc.contact_id).where(_lc.lead_id == into)).scalars())
    for contact_id in conn.execute(select(_lc.contact_id).where(_lc.lead_id == lead_id)
                                   .order_by(_lc.position)).scalars().all():
        if contact_id not in on_target:
            conn.execute(insert(t.lead_contacts).values(lead_id=into, contact_id=contact_id, position=position))
            on_target.add(contact_id)
            position += 1
    conn.execute(delete(t.lead_contacts).where(_lc.lead_id == lead_id))
    conn.execute(update(t.audit).where(t.audit.c.lead_id == lead_id).values(lead_id=into))
    conn.execute(update(t.inbox).where(t.inbox.c.lead_id == lead_id).values(lead_id=into))
    conn.execute(update(t.outbox).where(t.outbox.c.lead_id == lead_id, t.outbox.c.status == "pending")
                 .values(status="done", last_error=note))
    conn.execute(update(t.match_reviews).where(_r.lead_id == lead_id).values(lead_id=into))
    conn.execute(delete(t.leads).where(_l.id == lead_id))
    touch_leads(conn, [into])


def move_lead(conn: Connection, lead_id: str, account_id: str) -> None:
    conn.execute(update(t.leads).where(_l.id == lead_id).values(account_id=account_id))


def delete_account(conn: Connection, account_id: str) -> None:
    conn.execute(delete(t.accounts).where(t.accounts.c.id == account_id))


def touch_leads(conn: Connection, lead_ids: list[str]) -> None:
    """A new version tells the engine's cache of lead histories that these leads changed."""
    if lead_ids:
        conn.execute(update(t.leads).where(_l.id.in_(lead_ids)).values(version=_l.version + 1))


def touch_account_leads(conn: Connection, account_id: str) -> None:
    conn.execute(update(t.leads).where(_l.account_id == account_id).values(version=_l.version + 1))


# -- moving one activity (leads split) -------------------------------------------------------


def activity(conn: Connection, activity_id: int) -> dict[str, Any] | None:
    """The activity row: ``lead_id``, ``contact_id``, ``inbox_id``, ``kind``, ``at``, ``source``..."""
    row = conn.execute(select(t.activities).where(_a.id == activity_id)).mappings().first()
    if row is None:
        return None
    return {**row, "at": aware_utc(row["at"])}


def activity_ids(conn: Connection, lead_id: str) -> list[int]:
    """The ids of a lead's activities, oldest first (what ``leads split`` names)."""
    return [r[0] for r in conn.execute(select(_a.id).where(_a.lead_id == lead_id).order_by(_a.id))]


def count_activities(conn: Connection, lead_id: str, contact_id: str | None = None) -> int:
    """How many activities the lead has (by ``contact_id`` only, if given)."""
    where = [_a.lead_id == lead_id] + ([_a.contact_id == contact_id] if contact_id is not None else [])
    return int(conn.execute(select(func.count()).select_from(t.activities).where(*where)).scalar_one())


def inbox_record(conn: Connection, inbox_id: int) -> SourceRecord | None:
    """The record an inbox row holds, as its connector handed it in."""
    row = conn.execute(select(t.inbox).where(t.inbox.c.id == inbox_id)).mappings().first()
    if row is None:
        return None
    return SourceRecord(connector=row["connector"], stream=row["stream"], external_id=row["external_id"],
                        version=row["version"], payload=row["payload"], updated_at=aware_utc(row["updated_at"]),
                        received_at=aware_utc(row["received_at"]), deleted=row["deleted"])


def move_activity(conn: Connection, activity_id: int, inbox_id: int | None, lead_id: str) -> None:
    """Put the activity (and the inbox row it came from) on lead ``lead_id``."""
    conn.execute(update(t.activities).where(_a.id == activity_id).values(lead_id=lead_id))
    if inbox_id is not None:
        conn.execute(update(t.inbox).where(t.inbox.c.id == inbox_id).values(lead_id=lead_id))


def move_contact(conn: Connection, contact_id: str, from_lead: str, account_id: str) -> Contact | None:
    """Take the contact off ``from_lead`` and give it to account ``account_id``; returns it."""
    _c = t.contacts.c
    person = conn.execute(select(_c.email, _c.first_name, _c.last_name, _c.phone, _c.title, _c.country)
                          .where(_c.id == contact_id)).mappings().first()
    conn.execute(delete(t.lead_contacts).where(t.lead_contacts.c.lead_id == from_lead,
                                               t.lead_contacts.c.contact_id == contact_id))
    conn.execute(update(t.contacts).where(_c.id == contact_id).values(account_id=account_id))
    return Contact.model_construct(**person) if person is not None else None
