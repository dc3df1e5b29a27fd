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

from sqlalchemy import Connection

from hub.decisions import ContactRecord
from hub.pipeline.contacts import name_key, phone_key
from hub.plugins import HubPlugins
from hub.schema import Contact
from hub.store import Store
from hub.store import contacts as cs
from hub.store.reviews import add_audit, count_activities, touch_leads


@dataclass
class ContactDecision:
    candidate_id: int
    status: str
    message: str


# -- reading ---------------------------------------------------------------------------------


def _people(conn: Connection, ids: Iterable[str]) -> dict[str, dict[str, Any]]:
    """Contacts by id, with their account's name and a display string."""
    people = cs.contacts_with_accounts(conn, ids)
    for r in people.values():
        r["display"] = ContactRecord(r["id"], r["account_id"], r["email"], r["first_name"], r["last_name"]).display
    return people


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
    return _with_people(conn, cs.duplicate_candidates(conn, status=status, limit=limit))


def duplicates_of(conn: Connection, contact_ids: list[str]) -> list[dict[str, Any]]:
    """Open candidates involving any of these contacts (``leads show`` mentions them)."""
    return _with_people(conn, cs.open_duplicates_of(conn, contact_ids))


def _audit(conn: Connection, lead_ids: Iterable[str], account_id: str | None, reason: str, by: str,
           **details: Any) -> None:
    targets: list[str | None] = [*dict.fromkeys(lead_ids)] or [None]  # no lead: on the account only
    for lead_id in targets:
        add_audit(conn, lead_id, account_id, "contact", reason, by, **details)


def _touch(conn: Connection, lead_ids: Iterable[str]) -> None:
    """A new version tells the engine's cache of lead histories that these leads' people changed."""
    touch_leads(conn, list(set(lead_ids)))


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
        row = cs.duplicate_pair(conn, keep, duplicate)
        if row is None:  # a person may merge a pair the engine never proposed
            row_id = cs.add_duplicate(conn, duplicate, keep, 0.0, f"no candidate was recorded: {by} merged them")
        else:
            row_id = row["id"]
        # Lead links: moved to the survivor, or dropped where the survivor is on the lead already.
        links = cs.lead_links(conn, duplicate)
        have = set(cs.leads_with_contacts(conn, [keep]))
        moved: list[list[Any]] = [[lead_id, position] for lead_id, position in links if lead_id not in have]
        dropped: list[list[Any]] = [[lead_id, position] for lead_id, position in links if lead_id in have]
        cs.relink(conn, duplicate, keep, [m[0] for m in moved])
        cs.unlink(conn, duplicate, [d[0] for d in dropped])
        activities = cs.contact_activities(conn, duplicate)
        cs.set_activities_contact(conn, activities, keep)
        # Contacts merged into the duplicate earlier now point at the survivor (one hop, always).
        chained = cs.merged_into(conn, duplicate)
        cs.set_merged_into(conn, chained, keep)
        cs.set_merged_into(conn, [duplicate], keep)
        details = {"keep": keep, "duplicate": duplicate, "moved": moved, "dropped": dropped,
                   "activities": activities, "chained": chained, "note": note}
        cs.decide_duplicate(conn, row_id, "merged", by, details)
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
        row = cs.duplicate_pair(conn, a, b)
        if row is None:
            raise LookupError(f"no candidate pairs {a} and {b}; see `leadhub contacts duplicates`")
        if row["status"] != "open":
            raise ValueError(f"the candidate of {a} and {b} was already {row['status']} by {row['decided_by']}")
        cs.decide_duplicate(conn, row["id"], "kept_apart", by)
        people = _people(conn, [a, b])
        text = (f"{by} decided that contact {people.get(a, {}).get('display', a)} ({a}) and "
                f"{people.get(b, {}).get('display', b)} ({b}) are different people{why}")
        _audit(conn, cs.leads_with_contacts(conn, [a, b]), people.get(a, {}).get("account_id"), text, by,
               candidate=row["id"])
    return ContactDecision(row["id"], "kept_apart", text)


def unmerge(store: Store, duplicate: str, *, by: str, note: str = "") -> ContactDecision:
    """Undo the merge of ``duplicate``: put back what moved; the candidate is open again."""
    why = f" ({note})" if note else ""
    with store.engine.begin() as conn:
        rows = cs.merged_duplicates_of(conn, duplicate)
        row = next((r for r in rows if r["details"].get("duplicate") == duplicate), None)
        if row is None:
            raise LookupError(f"contact {duplicate} was not merged into another; "
                              "see `leadhub contacts duplicates --all`")
        d = row["details"]
        keep = d["keep"]
        cs.set_activities_contact(conn, d["activities"], duplicate)
        links = [{"lead_id": lead_id, "contact_id": duplicate, "position": pos}
                 for lead_id, pos in d["moved"] + d["dropped"]]
        cs.link(conn, links)
        # The survivor leaves a lead it joined through the merge, unless it did something there since.
        gone = [lead_id for lead_id, _ in d["moved"] if not count_activities(conn, lead_id, keep)]
        cs.unlink(conn, keep, gone)
        cs.set_merged_into(conn, d["chained"], duplicate)
        cs.set_merged_into(conn, [duplicate], None)
        cs.decide_duplicate(conn, row["id"], "open", None)
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
        total = cs.count_contacts(conn)
    last = ""
    while True:
        with store.engine.begin() as conn:
            rows = cs.contacts_after(conn, last, batch)
            if not rows:
                break
            for r in rows:
                contact = Contact.model_construct(email=r["email"], first_name=r["first_name"],
                                                  last_name=r["last_name"], phone=r["phone"], title=r["title"],
                                                  country=r["country"])
                keys = {"match_key": plugins.contact_key(contact),
                        "name_key": name_key(r["first_name"], r["last_name"]), "phone_key": phone_key(r["phone"])}
                if any(keys[k] != r[k] for k in keys):
                    cs.set_contact_keys(conn, r["id"], keys)
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
        for account_id, key in cs.shared_match_keys(conn):
            first, *others = cs.live_contacts_with_key(conn, account_id, key)
            for other in others:
                if cs.duplicate_pair(conn, first.id, other.id) is not None:
                    continue
                score = plugins.contact_duplicate(other, first)
                reason = f"same match key {key} after rekeying" + (f"; {score.reason}" if score else "")
                cs.add_duplicate(conn, other.id, first.id, score.confidence if score else 1.0, reason)
                _audit(conn, cs.leads_with_contacts(conn, [other.id]), account_id, f"possible duplicate: contact "
                       f"{other.display} ({other.id}) may be {first.display} ({first.id}): {reason}", "hub")
                added += 1
    return added
