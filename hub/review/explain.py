"""What ``leadhub leads show`` shows: a lead, its account, its history, and why, in words."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from hub.review.contacts import duplicates_of
from hub.store.reviews import activity_ids

if TYPE_CHECKING:
    from hub.runtime import Hub


def lead_details(hub: Hub, lead_id: str) -> dict[str, Any] | None:
    """The lead, its account, audit trail, outcomes and open candidate duplicates (None: no lead)."""
    with hub.store.engine.connect() as conn:
        lead = hub.store.get_lead(conn, lead_id)
        if lead is None:
            return None
        account = hub.store.get_account(conn, lead.account_id)
        trail = hub.store.audit_trail(conn, lead_id)
        outcomes = hub.store.outcomes_of(conn, lead_id)
        # Activity ids name what `leads split` moves.
        ids = activity_ids(conn, lead_id)
        # Open candidate duplicates of its people: a person should decide them.
        duplicates = duplicates_of(conn, sorted(hub.store.lead_contact_ids(conn, lead_id)))
    data: dict[str, Any] = {"lead": lead.model_dump(mode="json"),
                            "account": account.model_dump(mode="json") if account else None,
                            "audit": trail, "outcomes": outcomes, "duplicates": duplicates}
    for activity, activity_id in zip(data["lead"]["activities"], ids, strict=False):
        activity["id"] = activity_id
    return data


#: Audit actions that explain a lead, in the order a person asks about them.
WHY_ACTIONS = (("match", "account"), ("merge", "merged"), ("recycle", "recycled"), ("score", "score"),
               ("status", "status"), ("route", "owner"))


def explain(audit: list[dict[str, Any]]) -> dict[str, str]:
    """The latest reason of each decision (match, merge, score, status, route), in words."""
    latest: dict[str, str] = {}
    for entry in audit:
        latest[str(entry["action"])] = str(entry["reason"])
    return {label: latest[action] for action, label in WHY_ACTIONS if action in latest}
