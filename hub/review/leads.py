"""What people decide about the matcher's uncertain calls: the review queue.

When the matcher is unsure whether an inquiry's company is an existing account, the engine opens a
provisional account (so the lead is routed without waiting) and queues a review naming the
candidate. ``leadhub matches review`` shows them; a person accepts (the provisional account *is*
the candidate: its leads, contacts, keys and cross-references move over, and a lead that was not
delivered anywhere yet folds into the candidate's open lead of the same product line) or rejects
(they are different companies). Decisions are remembered: a later review of the same pair is
closed with the earlier decision and says so. Nothing is learnt silently: accepting adds the
provisional account's match keys to the candidate, and the audit trail says which.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, delete, func, insert, select, update

from hub.schema import utcnow
from hub.store import Store
from hub.store import tables as t


@dataclass
class ReviewDecision:
    review_id: int
    accepted: bool
    message: str


def open_reviews(store: Store, limit: int = 100) -> list[dict[str, Any]]:
    """Open reviews with both accounts' names; pairs decided before are closed on the way."""
    with store.engine.begin() as conn:
        _apply_remembered(conn)
        a, c = t.accounts.alias("a"), t.accounts.alias("c")
        stmt = (
            select(t.match_reviews, a.c.name.label("account_name"), a.c.domain.label("account_domain"),
                   c.c.name.label("candidate_name"), c.c.domain.label("candidate_domain"))
            .join(a, a.c.id == t.match_reviews.c.account_id)
            .join(c, c.c.id == t.match_reviews.c.candidate_id)
            .where(t.match_reviews.c.status == "open")
            .order_by(t.match_reviews.c.id)
            .limit(limit)
        )
        return [dict(r) for r in conn.execute(stmt).mappings()]


def _apply_remembered(conn: Connection) -> None:
    decided = {
        (r["account_id"], r["candidate_id"]): r
        for r in conn.execute(
            select(t.match_reviews).where(t.match_reviews.c.status.in_(["accepted", "rejected"]))
        ).mappings()
    }
    for row in conn.execute(select(t.match_reviews).where(t.match_reviews.c.status == "open")).mappings().all():
        earlier = decided.get((row["account_id"], row["candidate_id"]))
        if earlier is None:
            continue
        conn.execute(update(t.match_reviews).where(t.match_reviews.c.id == row["id"]).values(
            status=earlier["status"], decided_at=utcnow(), decided_by=f"remembered from review {earlier['id']}"))
        _audit(conn, row["lead_id"], row["account_id"], "review",
               f"review {row['id']} closed as {earlier['status']}: {earlier['decided_by']} decided the same pair "
               f"in review {earlier['id']}", earlier["decided_by"] or "ops")


def decide(store: Store, review_id: int, *, accept: bool, by: str, note: str = "") -> ReviewDecision:
    """Accept or reject one open review; raises LookupError / ValueError with what to do."""
    with store.engine.begin() as conn:
        row = conn.execute(select(t.match_reviews).where(t.match_reviews.c.id == review_id)).mappings().first()
        if row is None:
            raise LookupError(f"no review {review_id}; see `leadhub matches review`")
        if row["status"] != "open":
            raise ValueError(f"review {review_id} was already {row['status']} by {row['decided_by']}")
        names = {r["id"]: r["name"] for r in conn.execute(
            select(t.accounts.c.id, t.accounts.c.name).where(t.accounts.c.id.in_([row["account_id"], row["candidate_id"]]))
        ).mappings()}
        provisional, candidate = row["account_id"], row["candidate_id"]
        why = f" ({note})" if note else ""
        if accept:
            message = _merge_accounts(conn, review_id, provisional, candidate, by)
            text = (f"{by} confirmed that {names.get(provisional, provisional)} is "
                    f"{names.get(candidate, candidate)}{why}: {message}")
        else:
            text = f"{by} decided that {names.get(provisional, provisional)} is not {names.get(candidate, candidate)}{why}"
            message = "kept apart"
        conn.execute(update(t.match_reviews).where(t.match_reviews.c.id == review_id).values(
            status="accepted" if accept else "rejected", decided_at=utcnow(), decided_by=by))
        lead_id = conn.execute(select(t.match_reviews.c.lead_id).where(t.match_reviews.c.id == review_id)).scalar_one()
        _audit(conn, lead_id, candidate if accept else provisional, "review", text, by)
    return ReviewDecision(review_id, accept, text)


def _merge_accounts(conn: Connection, review_id: int, provisional: str, candidate: str, by: str) -> str:
    """Move everything of ``provisional`` onto ``candidate``; return what happened, in words."""
    done: list[str] = []
    # Contacts: one per person (match key) per account; a duplicate re-links to the existing contact.
    existing = {r["match_key"]: r["id"] for r in conn.execute(
        select(t.contacts.c.match_key, t.contacts.c.id).where(t.contacts.c.account_id == candidate,
                                                              t.contacts.c.match_key.is_not(None))).mappings()}
    for c in conn.execute(select(t.contacts).where(t.contacts.c.account_id == provisional)).mappings().all():
        if c["match_key"] in existing:
            conn.execute(update(t.lead_contacts).where(t.lead_contacts.c.contact_id == c["id"])
                         .values(contact_id=existing[c["match_key"]]))
            conn.execute(update(t.activities).where(t.activities.c.contact_id == c["id"])
                         .values(contact_id=existing[c["match_key"]]))
            conn.execute(update(t.contacts).where(t.contacts.c.merged_into == c["id"])
                         .values(merged_into=existing[c["match_key"]]))
            conn.execute(delete(t.contacts).where(t.contacts.c.id == c["id"]))
        else:
            conn.execute(update(t.contacts).where(t.contacts.c.id == c["id"]).values(account_id=candidate))
    # Keys: the candidate is now found by the provisional account's keys too (said in the audit).
    keys = conn.execute(select(t.account_keys).where(t.account_keys.c.account_id == provisional)).mappings().all()
    have = {(k["kind"], k["value"]) for k in conn.execute(
        select(t.account_keys).where(t.account_keys.c.account_id == candidate)).mappings()}
    new_keys = [k for k in keys if (k["kind"], k["value"]) not in have]
    if new_keys:
        conn.execute(insert(t.account_keys), [{"kind": k["kind"], "value": k["value"], "account_id": candidate}
                                              for k in new_keys])
        done.append("the candidate is now also found by " + ", ".join(f"{k['kind']} '{k['value']}'" for k in new_keys[:6]))
    conn.execute(delete(t.account_keys).where(t.account_keys.c.account_id == provisional))
    conn.execute(update(t.xrefs).where(t.xrefs.c.entity == "account", t.xrefs.c.hub_id == provisional)
                 .values(hub_id=candidate))
    # Leads: fold an undelivered lead into the candidate's open lead of the same product line.
    for lead in conn.execute(select(t.leads).where(t.leads.c.account_id == provisional)).mappings().all():
        target = conn.execute(select(t.leads.c.id).where(
            t.leads.c.account_id == candidate, t.leads.c.product_line == lead["product_line"],
            t.leads.c.is_open.is_(True))).first()
        delivered = conn.execute(select(func.count()).select_from(t.xrefs).where(
            t.xrefs.c.entity == "lead", t.xrefs.c.hub_id == lead["id"])).scalar_one()
        if target is not None and lead["is_open"] and not delivered:
            into = target[0]
            conn.execute(update(t.activities).where(t.activities.c.lead_id == lead["id"]).values(lead_id=into))
            position = conn.execute(select(func.count()).select_from(t.lead_contacts)
                                    .where(t.lead_contacts.c.lead_id == into)).scalar_one()
            for link in conn.execute(select(t.lead_contacts).where(t.lead_contacts.c.lead_id == lead["id"])).mappings().all():
                dup = conn.execute(select(t.lead_contacts).where(t.lead_contacts.c.lead_id == into,
                                                                 t.lead_contacts.c.contact_id == link["contact_id"])).first()
                if dup is None:
                    conn.execute(insert(t.lead_contacts).values(lead_id=into, contact_id=link["contact_id"],
                                                                position=position))
                    position += 1
            conn.execute(delete(t.lead_contacts).where(t.lead_contacts.c.lead_id == lead["id"]))
            conn.execute(update(t.audit).where(t.audit.c.lead_id == lead["id"]).values(lead_id=into))
            conn.execute(update(t.inbox).where(t.inbox.c.lead_id == lead["id"]).values(lead_id=into))
            conn.execute(update(t.outbox).where(t.outbox.c.lead_id == lead["id"], t.outbox.c.status == "pending")
                         .values(status="done", last_error=f"folded into {into} after review"))
            conn.execute(update(t.match_reviews).where(t.match_reviews.c.lead_id == lead["id"]).values(lead_id=into))
            conn.execute(delete(t.leads).where(t.leads.c.id == lead["id"]))
            conn.execute(update(t.leads).where(t.leads.c.id == into).values(version=t.leads.c.version + 1))
            _audit(conn, into, candidate, "merge", f"lead {lead['id']} folded into this lead after review by {by}", by)
            done.append(f"lead {lead['id']} folded into open lead {into}")
        else:
            conn.execute(update(t.leads).where(t.leads.c.id == lead["id"]).values(account_id=candidate))
            if target is not None and lead["is_open"]:
                done.append(f"lead {lead['id']} moved; it was already delivered, so it stays beside open lead "
                            f"{target[0]} (merge them in the CRM)")
            else:
                done.append(f"lead {lead['id']} moved to the candidate")
    # Other open reviews of this same pair are settled by this decision.
    conn.execute(update(t.match_reviews).where(
        t.match_reviews.c.account_id == provisional, t.match_reviews.c.candidate_id == candidate,
        t.match_reviews.c.status == "open", t.match_reviews.c.id != review_id,
    ).values(status="accepted", decided_at=utcnow(), decided_by=f"remembered from review {review_id}"))
    conn.execute(delete(t.accounts).where(t.accounts.c.id == provisional))
    # Contacts and activities moved under these leads: a new version tells the engine's cache.
    conn.execute(update(t.leads).where(t.leads.c.account_id == candidate).values(version=t.leads.c.version + 1))
    return "; ".join(done) or "nothing else to move"


def _audit(conn: Connection, lead_id: str | None, account_id: str | None, action: str, reason: str, actor: str) -> None:
    conn.execute(insert(t.audit).values(lead_id=lead_id, account_id=account_id, at=utcnow(), action=action,
                                        actor=actor, reason=reason, details={}))


# -- undoing a merge ---------------------------------------------------------------------------


@dataclass
class SplitResult:
    lead_id: str
    account_id: str
    status: str
    message: str


def split_activity(hub: Any, lead_id: str, activity_id: int, *, by: str, account_name: str | None = None) -> SplitResult:
    """Undo a merge: move one activity (and its person) of ``lead_id`` to a new lead on a new account.

    For an inquiry that joined a lead it did not belong to (a reseller's address, a shared domain).
    The new lead is scored and, if it qualifies, routed like any other; both leads' audit trails
    say who split what. ``hub`` is a :class:`hub.runtime.Hub`.
    """
    from hub.pipeline.batch import BatchWork
    from hub.pipeline.lifecycle import LeadAudit
    from hub.schema import Account, Activity, Inquiry, Lead, LeadStatus

    engine = hub.pipeline
    with hub.store.engine.begin() as conn:
        act = conn.execute(select(t.activities).where(t.activities.c.id == activity_id)).mappings().first()
        if act is None or act["lead_id"] != lead_id:
            raise LookupError(f"lead {lead_id} has no activity {activity_id}; see `leadhub leads show {lead_id} --json`")
        total = conn.execute(select(func.count()).select_from(t.activities)
                             .where(t.activities.c.lead_id == lead_id)).scalar_one()
        if total < 2:
            raise ValueError(f"activity {activity_id} is the only one of lead {lead_id}: nothing to split from")
        work = BatchWork(hub.store, conn)
        before = hub.store.get_lead(conn, lead_id, with_activities=False)
        assert before is not None
        old_account = work.account(before.account_id)
        assert old_account is not None
        inquiry = None
        if act["inbox_id"] is not None:
            row = conn.execute(select(t.inbox).where(t.inbox.c.id == act["inbox_id"])).mappings().first()
            if row is not None:
                from hub.schema import SourceRecord

                record = SourceRecord.model_construct(
                    connector=row["connector"], stream=row["stream"], external_id=row["external_id"],
                    version=row["version"], payload=row["payload"], updated_at=row["updated_at"],
                    received_at=row["received_at"], deleted=row["deleted"])
                got = engine._normalize(record)
                inquiry = got if isinstance(got, Inquiry) else None
        name = account_name or (inquiry.company.name if inquiry else None)
        if not name:
            raise ValueError("cannot tell the company of that activity: name it with --account-name")
        domain = inquiry.company.domain if inquiry and inquiry.company.domain not in old_account.domains else None
        account = Account(name=name, domains=[domain] if domain else [],
                          country=(inquiry.company.country if inquiry else None) or old_account.country)
        work.create_account(account)
        activity = Activity.model_construct(kind=act["kind"], at=act["at"], source=act["source"], details=act["details"])
        new = Lead(account_id=account.id, product_line=before.product_line, source_connector=act["source"],
                   activities=[activity])
        # The person moves with the activity unless they did something else on the old lead too.
        contact_id = act["contact_id"]
        moves_contact = contact_id is not None and conn.execute(
            select(func.count()).select_from(t.activities).where(
                t.activities.c.lead_id == lead_id, t.activities.c.contact_id == contact_id)).scalar_one() == 1
        conn.execute(update(t.activities).where(t.activities.c.id == activity_id).values(lead_id=new.id))
        if act["inbox_id"] is not None:
            conn.execute(update(t.inbox).where(t.inbox.c.id == act["inbox_id"]).values(lead_id=new.id))
        if moves_contact:
            person = conn.execute(select(t.contacts).where(t.contacts.c.id == contact_id)).mappings().first()
            conn.execute(delete(t.lead_contacts).where(t.lead_contacts.c.lead_id == lead_id,
                                                       t.lead_contacts.c.contact_id == contact_id))
            conn.execute(update(t.contacts).where(t.contacts.c.id == contact_id).values(account_id=account.id))
            work.link_contact(new.id, contact_id, 0)
            if person is not None:
                from hub.schema import Contact

                new.contacts.append(Contact.model_construct(**{k: person[k] for k in (
                    "email", "first_name", "last_name", "phone", "title", "country")}))
        old = hub.store.get_lead(conn, lead_id)  # what is left of it, read back
        assert old is not None
        # Scoring plugins read the inquiry's activity and product line; no record is needed for that.
        probe = inquiry or Inquiry.model_construct(activity=activity, product_line=old.product_line)  # type: ignore[call-arg]
        for lead, acct in ((old, old_account), (new, account)):
            parts = hub.plugins.score(lead, probe, acct)
            lead.score = sum(p.points for p in parts)
        entry = LeadAudit(work, new.id, account.id, actor=by)
        entry("split", f"{by} split {act['kind']} of {act['at']:%Y-%m-%d} from lead {lead_id} of {old_account.name}: "
                       f"it belongs to {account.name}")
        threshold = engine.settings.qualify_score
        new.move_to(LeadStatus.QUALIFIED if new.score >= threshold else LeadStatus.NURTURE)
        entry("status", f"{new.status}: score {new.score} against the bar of {threshold}", status=str(new.status))
        work.put_lead(new, new=True)
        if new.status == LeadStatus.QUALIFIED:
            engine._route(work, new, account, entry)
        LeadAudit(work, old.id, old_account.id, actor=by)(
            "split", f"{by} moved {act['kind']} of {act['at']:%Y-%m-%d} to new lead {new.id} ({account.name}); "
                     f"score now {old.score}")
        work.put_lead(old, new=False)
        conn.execute(update(t.leads).where(t.leads.c.id == lead_id).values(version=t.leads.c.version + 1))
        work.flush()
    return SplitResult(new.id, account.id, str(new.status),
                       f"moved {act['kind']} to new lead {new.id} on new account {account.name} ({new.status})")
