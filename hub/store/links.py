"""Named accounts in the store: an account's owner and parent as the CRMs say them.

A CRM's account record names its owner and its parent company by the CRM's ids. The owner is
resolved to a hub owner at once; the parent is the hub account cross-referenced with the
parent's id. A parent the hub has not seen yet is remembered as a *waiting link*, a
cross-reference row of entity :data:`WAITING_PARENT` (``external_id`` the child's CRM id,
``hub_id`` the child's hub account, ``version`` the parent's CRM id), and linked when it arrives.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, bindparam, select, update

from hub.schema import utcnow
from hub.store import tables as t

#: The cross-reference entity of a child account waiting for its parent.
WAITING_PARENT = "account_parent"

_UPDATE_LINKS = (update(t.accounts).where(t.accounts.c.id == bindparam("b_id"))
                 .values(owner_id=bindparam("owner_id"), parent_id=bindparam("parent_id"),
                         updated_at=bindparam("updated_at")))


def update_account_links(conn: Connection, rows: list[dict[str, Any]]) -> None:
    """Set ``owner_id`` and ``parent_id`` of accounts (rows of ``id``, ``owner_id``, ``parent_id``)."""
    if rows:
        now = utcnow()
        conn.execute(_UPDATE_LINKS, [{"b_id": r["id"], "owner_id": r["owner_id"], "parent_id": r["parent_id"],
                                      "updated_at": now} for r in rows])


def waiting_children(conn: Connection, system: str, parent_ref: str) -> list[tuple[str, str]]:
    """``(child CRM id, child hub account id)`` of the accounts of ``system`` waiting for the
    parent ``parent_ref``."""
    x = t.xrefs.c
    rows = conn.execute(select(x.external_id, x.hub_id).where(
        x.entity == WAITING_PARENT, x.system == system, x.version == parent_ref))
    return [(str(r[0]), str(r[1])) for r in rows]
