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
from typing import TYPE_CHECKING, Any

from hub.pipeline.batch import BatchWork
from hub.pipeline.lifecycle import LeadAudit
from hub.schema import Account, Activity, Company, Inquiry, Lead, LeadStatus, SourceRecord
from hub.store import Store
from hub.store import reviews as rs

if TYPE_CHECKING:
    from sqlalchemy import Connection

    from hub.runtime import Hub


@dataclass
class ReviewDecision:
    review_id: int
    accepted: bool
    message: str


def open_reviews(store: Store, limit: int = 100) -> list[dict[str, Any]]:
    """Open reviews with both accounts' names; pairs decided before are closed on the way."""
    with store.engine.begin() as conn:
        _apply_remembered(conn)
        return rs.open_match_reviews(conn, limit)


def _apply_remembered(conn: Connection) -> None:
    decided = {(r["account_id"], r["candidate_id"]): r for r in rs.match_reviews(conn, ["accepted", "rejected"])}
    for row in rs.match_reviews(conn, ["open"]):
        earlier = decided.get((row["account_id"], row["candidate_id"]))
        if earlier is None:
            continue
        rs.close_match_review(conn, row["id"], earlier["status"], f"remembered from review {earlier['id']}")
        rs.add_audit(conn, row["lead_id"], row["account_id"], "review",
                     f"review {row['id']} closed as {earlier['status']}: {earlier['decided_by']} decided the same "
                     f"pair in review {earlier['id']}", earlier["decided_by"] or "ops")


def decide(store: Store, review_id: int, *, accept: bool, by: str, note: str = "") -> ReviewDecision:
    """Accept or reject one open review; raises LookupError / ValueError with what to do."""
    with store.engine.begin() as conn:
        row = rs.match_review(conn, review_id)
        if row is None:
            raise LookupError(f"no review {review_id}; see `leadhub matches review`")
        if row["status"] != "open":
            raise ValueError(f"review {review_id} was already {row['status']} by {row['decided_by']}")
        provisional, candidate = row["account_id"], row["candidate_id"]
        names = rs.account_names(conn, [provisional, candidate])
        why = f" ({note})" if note else ""
        if accept:
            message = _merge_accounts(conn, review_id, provisional, candidate, by)
            text = (f"{by} confirmed that {names.get(provisional, provisional)} is "
                    f"{names.get(candidate, candidate)}{why}: {message}")
        else:
            text = (f"{by} decided that {names.get(provisional, provisional)} "
                    f"is not {names.get(candidate, candidate)}{why}")
        rs.close_match_review(conn, review_id, "accepted" if accept else "rejected", by)
        after = rs.match_review(conn, review_id)  # an accepted review's lead may have been folded
        rs.add_audit(conn, after["lead_id"] if after else row["lead_id"], candidate if accept else provisional,
                     "review", text, by)
    return ReviewDecision(review_id, accept, text)


def _merge_accounts(conn: Connection, review_id: int, provisional: str, candidate: str, by: str) -> str:
    """Move everything of ``provisional`` onto ``candidate``; return what happened, in words."""
    done: list[str] = []
    # Contacts: one per person (match key) per account; a duplicate re-links to the existing contact.
    rs.fold_contacts(conn, provisional, candidate)
    # Keys: the candidate is now found by the provisional account's keys too (said in the audit).
    new_keys = rs.move_account_keys(conn, provisional, candidate)
    if new_keys:
        done.append("the candidate is now also found by "
                    + ", ".join(f"{kind} '{value}'" for kind, value in new_keys[:6]))
    rs.move_account_xrefs(conn, provisional, candidate)
    # Leads: fold an undelivered lead into the candidate's open lead of the same product line.
    for lead in rs.account_leads(conn, provisional):
        target = rs.open_lead_of(conn, candidate, lead["product_line"])
        if target is not None and lead["is_open"] and not rs.was_delivered(conn, lead["id"]):
            rs.fold_lead(conn, lead["id"], target, f"folded into {target} after review")
            rs.add_audit(conn, target, candidate, "merge",
                         f"lead {lead['id']} folded into this lead after review by {by}", by)
            done.append(f"lead {lead['id']} folded into open lead {target}")
        else:
            rs.move_lead(conn, lead["id"], candidate)
            if target is not None and lead["is_open"]:
                done.append(f"lead {lead['id']} moved; it was already delivered, so it stays beside open lead "
                            f"{target} (merge them in the CRM)")
            else:
                done.append(f"lead {lead['id']} moved to the candidate")
    # Other open reviews of this same pair are settled by this decision.
    rs.settle_match_reviews(conn, provisional, candidate, "accepted", f"remembered from review {review_id}",
                            but=review_id)
    rs.delete_account(conn, provisional)
    # Contacts and activities moved under these leads: a new version tells the engine's cache.
    rs.touch_account_leads(conn, candidate)
    return "; ".join(done) or "nothing else to move"


# -- undoing a merge ---------------------------------------------------------------------------


@dataclass
class SplitResult:
    lead_id: str
    account_id: str
    status: str
    message: str


def split_activity(
    hub: Hub, lead_id: str, activity_id: int, *, by: str, account_name: str | None = None
) -> SplitResult:
    """Undo a merge: move one activity (and its person) of ``lead_id`` to a new lead on a new account.

    For an inquiry that joined a lead it did not belong to (a reseller's address, a shared domain).
    The new lead goes through the pipeline's own steps: scored, qualified and, if it qualifies,
    routed like any other; the old lead is scored again without the activity. Both leads' audit
    trails say who split what.
    """
    pipeline, store = hub.pipeline, hub.store
    with store.engine.begin() as conn:
        act = rs.activity(conn, activity_id)
        if act is None or act["lead_id"] != lead_id:
            raise LookupError(f"lead {lead_id} has no activity {activity_id}; "
                              f"see `leadhub leads show {lead_id} --json`")
        if rs.count_activities(conn, lead_id) < 2:
            raise ValueError(f"activity {activity_id} is the only one of lead {lead_id}: nothing to split from")
        work = BatchWork(store, conn)
        before = store.get_lead(conn, lead_id, with_activities=False)
        assert before is not None
        old_account = work.account(before.account_id)
        assert old_account is not None
        record = rs.inbox_record(conn, act["inbox_id"]) if act["inbox_id"] is not None else None
        normalized = pipeline.normalize(record) if record is not None else None
        found = normalized if isinstance(normalized, Inquiry) else None
        name = account_name or (found.company.name if found else None)
        if not name:
            raise ValueError("cannot tell the company of that activity: name it with --account-name")
        domain = found.company.domain if found and found.company.domain not in old_account.domains else None
        account = Account(name=name, domains=[domain] if domain else [],
                          country=(found.company.country if found else None) or old_account.country)
        work.create_account(account)
        activity = Activity(kind=act["kind"], at=act["at"], source=act["source"] or "", details=act["details"] or {})
        inquiry = found or _inquiry_of(activity_id, activity, name, before.product_line)
        new = Lead(account_id=account.id, product_line=before.product_line, source_connector=act["source"],
                   activities=[activity])
        # The person moves with the activity unless they did something else on the old lead too.
        contact_id = act["contact_id"]
        moves_contact = contact_id is not None and rs.count_activities(conn, lead_id, contact_id) == 1
        rs.move_activity(conn, activity_id, act["inbox_id"], new.id)
        if moves_contact:
            person = rs.move_contact(conn, contact_id, lead_id, account.id)
            work.link_contact(new.id, contact_id, 0)
            if person is not None:
                new.contacts.append(person)
        old = store.get_lead(conn, lead_id)  # what is left of it, read back
        assert old is not None
        LeadAudit(work, new.id, account.id, actor=by)(
            "split", f"{by} split {act['kind']} of {act['at']:%Y-%m-%d} from lead {lead_id} of {old_account.name}: "
                     f"it belongs to {account.name}")
        work.put_lead(new, new=True)
        pipeline.score(work, new, inquiry, account, actor=by)
        pipeline.qualify(work, new, account, actor=by)
        if new.status == LeadStatus.QUALIFIED:
            pipeline.route(work, new, account, actor=by)
        pipeline.score(work, old, inquiry, old_account, actor=by)
        LeadAudit(work, old.id, old_account.id, actor=by)(
            "split", f"{by} moved {act['kind']} of {act['at']:%Y-%m-%d} to new lead {new.id} ({account.name}); "
                     f"score now {old.score}")
        work.put_lead(new, new=True)
        work.put_lead(old, new=False)
        rs.touch_leads(conn, [lead_id])
        work.flush()
    pipeline.fire(work.events)
    return SplitResult(new.id, account.id, str(new.status),
                       f"moved {act['kind']} to new lead {new.id} on new account {account.name} ({new.status})")


def _inquiry_of(activity_id: int, activity: Activity, company: str, product_line: str) -> Inquiry:
    """The inquiry an activity stands for when its inbox record is gone: what scoring is told."""
    record = SourceRecord(connector=activity.source or "hub", stream="split", external_id=str(activity_id),
                          payload={"activity_id": activity_id})
    return Inquiry(source=record, company=Company(name=company), activity=activity, product_line=product_line)
