"""What people decide about candidate duplicate contacts: ``leadhub contacts``.

The engine records a pair of contacts that may be one person (:mod:`hub.pipeline.contacts`) and never
merges it on its own. Here a person:

- **merges** them (``merge KEEP DUPLICATE``): the duplicate's lead links and activities move to
  the contact that stays; the duplicate is kept, marked ``merged_into``, so it is still found by
  its match key (as the survivor) and the merge can be undone;
- **keeps them apart** (``keep-apart A B``): the candidate is closed, nothing moves;
- **unmerges** (``unmerge DUPLICATE``): puts back exactly what the merge moved (recorded in the
  candidate's ``details``) and reopens the candidate for a new decision.

Every decision is audited on each lead it touches, with who made it.
:func:`rekey` recomputes stored keys after a plugin changed the key policy.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, delete, func, insert, or_, select, update

from hub.pipeline.contacts import name_key, phone_key
from hub.decisions import ContactRecord
from hub.plugins import HubPlugins
from hub.schema import Contact, utcnow
from hub.store import Store
from hub.store import tables as t
from hub.store.sql import _insert_ignore

_c, _d = t.contacts.c, t.contact_duplicates.c


@dataclass
class ContactDecision:
    candidate_id: int
    status: str
    message: str


# -- reading ---------------------------------------------------------------------------------


def _people(conn: Connection, ids: Iterable[str]) -> dict[str, dict[str, Any]]:
    """Contacts by id, with their account's name and a display string."""
    wanted = list(dict.fromkeys(ids))
    if not wanted:
        return {}
    rows = conn.execute(select(t.contacts, t.accounts.c.name.label("account_name"))
                        .join(t.accounts, t.accounts.c.id == _c.account_id, isouter=True)
                        .where(_c.id.in_(wanted))).mappings()
    out = {}
    for r in rows:
        person = dict(r)
        person["display"] = ContactRecord(r["id"], r["account_id"], r["email"], r["first_name"], r["last_name"]).display
        out[r["id"]] = person
    return out


def _with_people(conn: Connection, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each candidate with both people (``contact``, ``other``) and one line about each (``who``,
    ``may_be``: name, address, id and account, for a table)."""
    people = _people(conn, [r["contact_id"] for r in rows] + [r["other_id"] for r in rows])
    for r in rows:
        for side, key, line in (("contact", "contact_id", "who"), ("other", "other_id", "may_be")):
            p = people.get(r[key], {})
            r[side] = {"id": r[key], "name": p.get("display", "(gone)"), "email": p.get("email"),
                       "account_id": p.get("account_id"), "account": p.get("account_name"),
                       "merged_into": p.get("merged_into")}
            r[line] = f"{r[side]['name']} [{r[key]}] at {r[side]['account'] or '?'}"
    return rows


def duplicates(conn: Connection, *, status: str | None = "open", limit: int = 100) -> list[dict[str, Any]]:
    """Candidate duplicates (``status`` None: every status), oldest first, with both people."""
    stmt = select(t.contact_duplicates).order_by(_d.id).limit(limit)
    if status:
        stmt = stmt.where(_d.status == status)
    return _with_people(conn, [dict(r) for r in conn.execute(stmt).mappings()])


def duplicates_of(conn: Connection, contact_ids: list[str]) -> list[dict[str, Any]]:
    """Open candidates involving any of these contacts (``leads show`` mentions them)."""
    if not contact_ids:
        return []
    rows = conn.execute(select(t.contact_duplicates).where(
        _d.status == "open", or_(_d.contact_id.in_(contact_ids), _d.other_id.in_(contact_ids))).order_by(_d.id))
    return _with_people(conn, [dict(r) for r in rows.mappings()])


def _pair(conn: Connection, a: str, b: str) -> dict[str, Any] | None:
    row = conn.execute(select(t.contact_duplicates).where(or_(
        (_d.contact_id == a) & (_d.other_id == b), (_d.contact_id == b) & (_d.other_id == a))).order_by(_d.id.desc())
    ).mappings().first()
    return dict(row) if row else None


def _audit(conn: Connection, lead_ids: Iterable[str], account_id: str | None, reason: str, by: str,
           **details: Any) -> None:
    targets: list[str | None] = [*dict.fromkeys(lead_ids)] or [None]  # no lead: on the account only
    rows = [{"lead_id": lead_id, "account_id": account_id, "at": utcnow(), "action": "contact", "actor": by,
             "reason": reason, "details": details} for lead_id in targets]
    conn.execute(insert(t.audit), rows)


def _touch(conn: Connection, lead_ids: Iterable[str]) -> None:
    """A new version tells the engine's cache of lead histories that these leads' people changed."""
    ids = list(set(lead_ids))
    if ids:
        conn.execute(update(t.leads).where(t.leads.c.id.in_(ids)).values(version=t.leads.c.version + 1))


def _leads_of(conn: Connection, contact_ids: list[str]) -> list[str]:
    return [r[0] for r in conn.execute(select(t.lead_contacts.c.lead_id).where(
        t.lead_contacts.c.contact_id.in_(contact_ids)).distinct())]


# -- deciding --------------------------------------------------------------------------------


def merge(store: Store, keep: str, duplicate: str, *, by: str, note: str = "") -> ContactDecision:
    """Merge ``duplicate`` into ``keep``; raises LookupError / ValueError saying what to do."""
    why = f" ({note})" if note else ""
    with store.engine.begin() as conn:
        people = _people(conn, [keep, duplicate])
        for cid in (keep, duplicate):
            if cid not in people:
                raise LookupError(f"no contact {cid}; see `leadhub contacts duplicates`")
        if keep == duplicate:
            raise ValueError("a contact cannot be merged into itself")
        for cid in (keep, duplicate):
            if people[cid]["merged_into"]:
                raise ValueError(f"contact {cid} was merged into {people[cid]['merged_into']} already; "
                                 f"name that one, or undo with `leadhub contacts unmerge {cid}`")
        row = _pair(conn, keep, duplicate)
        if row is None:  # a person may merge a pair the engine never proposed
            row_id = conn.execute(insert(t.contact_duplicates).values(
                contact_id=duplicate, other_id=keep, confidence=0.0, status="open", created_at=utcnow(),
                reason=f"no candidate was recorded: {by} merged them", details={}).returning(_d.id)).scalar_one()
        else:
            row_id = row["id"]
        # Lead links: moved to the survivor, or dropped where the survivor is on the lead already.
        links = conn.execute(select(t.lead_contacts).where(t.lead_contacts.c.contact_id == duplicate)).mappings().all()
        have = set(_leads_of(conn, [keep]))
        moved = [[r["lead_id"], r["position"]] for r in links if r["lead_id"] not in have]
        dropped = [[r["lead_id"], r["position"]] for r in links if r["lead_id"] in have]
        for lead_id, _ in moved:
            conn.execute(update(t.lead_contacts).where(t.lead_contacts.c.lead_id == lead_id,
                                                       t.lead_contacts.c.contact_id == duplicate).values(contact_id=keep))
        if dropped:
            conn.execute(delete(t.lead_contacts).where(t.lead_contacts.c.contact_id == duplicate,
                                                       t.lead_contacts.c.lead_id.in_([d[0] for d in dropped])))
        activities = [r[0] for r in conn.execute(select(t.activities.c.id).where(t.activities.c.contact_id == duplicate))]
        if activities:
            conn.execute(update(t.activities).where(t.activities.c.id.in_(activities)).values(contact_id=keep))
        # Contacts merged into the duplicate earlier now point at the survivor (one hop, always).
        chained = [r[0] for r in conn.execute(select(_c.id).where(_c.merged_into == duplicate))]
        if chained:
            conn.execute(update(t.contacts).where(_c.id.in_(chained)).values(merged_into=keep))
        conn.execute(update(t.contacts).where(_c.id == duplicate).values(merged_into=keep))
        details = {"keep": keep, "duplicate": duplicate, "moved": moved, "dropped": dropped,
                   "activities": activities, "chained": chained, "note": note}
        conn.execute(update(t.contact_duplicates).where(_d.id == row_id).values(
            status="merged", decided_at=utcnow(), decided_by=by, details=details))
        leads = [m[0] for m in moved] + [d[0] for d in dropped]
        _touch(conn, leads)
        text = (f"{by} merged contact {people[duplicate]['display']} ({duplicate}) into {people[keep]['display']} "
                f"({keep}){why}: {len(moved) + len(dropped)} lead link(s) and {len(activities)} activit(ies) moved; "
                f"undo with `leadhub contacts unmerge {duplicate}`")
        _audit(conn, leads, people[keep]["account_id"], text, by, candidate=row_id, keep=keep, duplicate=duplicate)
    return ContactDecision(row_id, "merged", text)


def keep_apart(store: Store, a: str, b: str, *, by: str, note: str = "") -> ContactDecision:
    """Close the open candidate of ``a`` and ``b``: different people, nothing moves."""
    why = f" ({note})" if note else ""
    with store.engine.begin() as conn:
        row = _pair(conn, a, b)
        if row is None:
            raise LookupError(f"no candidate pairs {a} and {b}; see `leadhub contacts duplicates`")
        if row["status"] != "open":
            raise ValueError(f"the candidate of {a} and {b} was already {row['status']} by {row['decided_by']}")
        conn.execute(update(t.contact_duplicates).where(_d.id == row["id"]).values(
            status="kept_apart", decided_at=utcnow(), decided_by=by))
        people = _people(conn, [a, b])
        text = (f"{by} decided that contact {people.get(a, {}).get('display', a)} ({a}) and "
                f"{people.get(b, {}).get('display', b)} ({b}) are different people{why}")
        _audit(conn, _leads_of(conn, [a, b]), people.get(a, {}).get("account_id"), text, by, candidate=row["id"])
    return ContactDecision(row["id"], "kept_apart", text)


def unmerge(store: Store, duplicate: str, *, by: str, note: str = "") -> ContactDecision:
    """Undo the merge of ``duplicate``: put back what moved; the candidate is open again."""
    why = f" ({note})" if note else ""
    with store.engine.begin() as conn:
        rows = conn.execute(select(t.contact_duplicates).where(
            _d.status == "merged", or_(_d.contact_id == duplicate, _d.other_id == duplicate)).order_by(_d.id.desc())
        ).mappings().all()
        row = next((r for r in rows if r["details"].get("duplicate") == duplicate), None)
        if row is None:
            raise LookupError(f"contact {duplicate} was not merged into another; see `leadhub contacts duplicates --all`")
        d = row["details"]
        keep = d["keep"]
        if d["activities"]:
            conn.execute(update(t.activities).where(t.activities.c.id.in_(d["activities"]))
                         .values(contact_id=duplicate))
        links = [{"lead_id": lead_id, "contact_id": duplicate, "position": pos} for lead_id, pos in d["moved"] + d["dropped"]]
        if links:
            conn.execute(_insert_ignore(conn, t.lead_contacts, ["lead_id", "contact_id"]), links)
        for lead_id, _ in d["moved"]:
            # The survivor leaves a lead it joined through the merge, unless it did something there since.
            still = conn.execute(select(func.count()).select_from(t.activities).where(
                t.activities.c.lead_id == lead_id, t.activities.c.contact_id == keep)).scalar_one()
            if not still:
                conn.execute(delete(t.lead_contacts).where(t.lead_contacts.c.lead_id == lead_id,
                                                           t.lead_contacts.c.contact_id == keep))
        if d["chained"]:
            conn.execute(update(t.contacts).where(_c.id.in_(d["chained"])).values(merged_into=duplicate))
        conn.execute(update(t.contacts).where(_c.id == duplicate).values(merged_into=None))
        conn.execute(update(t.contact_duplicates).where(_d.id == row["id"]).values(
            status="open", decided_at=None, decided_by=None, details={}))
        leads = [link["lead_id"] for link in links]
        _touch(conn, leads)
        people = _people(conn, [keep, duplicate])
        text = (f"{by} undid the merge of contact {people[duplicate]['display']} ({duplicate}) into "
                f"{people[keep]['display']} ({keep}){why}: links and activities are back; the candidate is open again")
        _audit(conn, leads, people[duplicate]["account_id"], text, by, candidate=row["id"])
    return ContactDecision(row["id"], "open", text)


# -- rekeying --------------------------------------------------------------------------------


@dataclass
class RekeyReport:
    scanned: int = 0
    changed: int = 0
    candidates: int = 0


def rekey(store: Store, plugins: HubPlugins, *, batch: int = 1000,
          progress: Callable[[int, int], None] | None = None) -> RekeyReport:
    """Recompute every contact's match, name and phone keys with the plugins in force.

    One transaction per ``batch`` contacts (the engine can run meanwhile). Afterwards, live
    contacts of one account that now share a match key are recorded as candidates (a person
    merges them: the key says they are one person, but merging is a person's call).
    """
    report = RekeyReport()
    with store.engine.connect() as conn:
        total = int(conn.execute(select(func.count()).select_from(t.contacts)).scalar_one())
    last = ""
    while True:
        with store.engine.begin() as conn:
            rows = conn.execute(select(_c.id, _c.email, _c.first_name, _c.last_name, _c.phone, _c.title, _c.country,
                                       _c.match_key, _c.name_key, _c.phone_key)
                                .where(_c.id > last).order_by(_c.id).limit(batch)).mappings().all()
            if not rows:
                break
            for r in rows:
                contact = Contact.model_construct(email=r["email"], first_name=r["first_name"],
                                                  last_name=r["last_name"], phone=r["phone"], title=r["title"],
                                                  country=r["country"])
                keys = {"match_key": plugins.contact_key(contact), "name_key": name_key(r["first_name"], r["last_name"]),
                        "phone_key": phone_key(r["phone"])}
                if any(keys[k] != r[k] for k in keys):
                    conn.execute(update(t.contacts).where(_c.id == r["id"]).values(**keys))
                    report.changed += 1
            report.scanned += len(rows)
            last = rows[-1]["id"]
        if progress is not None:
            progress(report.scanned, total)
    report.candidates = _record_shared_keys(store, plugins)
    return report


def _record_shared_keys(store: Store, plugins: HubPlugins) -> int:
    added = 0
    with store.engine.begin() as conn:
        groups = conn.execute(select(_c.account_id, _c.match_key).where(
            _c.match_key.is_not(None), _c.merged_into.is_(None)).group_by(_c.account_id, _c.match_key)
            .having(func.count() > 1)).all()
        for account_id, key in groups:
            members = [ContactRecord(*r) for r in conn.execute(
                select(_c.id, _c.account_id, _c.email, _c.first_name, _c.last_name, _c.phone).where(
                    _c.account_id == account_id, _c.match_key == key, _c.merged_into.is_(None)).order_by(_c.created_at, _c.id))]
            first = members[0]
            for other in members[1:]:
                if _pair(conn, first.id, other.id) is not None:
                    continue
                score = plugins.contact_duplicate(other, first)
                reason = f"same match key {key} after rekeying" + (f"; {score.reason}" if score else "")
                conn.execute(insert(t.contact_duplicates).values(
                    contact_id=other.id, other_id=first.id, confidence=score.confidence if score else 1.0,
                    reason=reason, status="open", created_at=utcnow(), details={}))
                _audit(conn, _leads_of(conn, [other.id]), account_id, f"possible duplicate: contact {other.display} "
                       f"({other.id}) may be {first.display} ({first.id}): {reason}", "hub")
                added += 1
    return added
