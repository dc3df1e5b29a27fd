"""The owners table: CRM user ids learnt by ``leadhub owners-sync``, per hub owner.

hub.toml's ``[[owners]]`` stay the list of owners; a row here only adds the ``crm_ids`` a sync
found by e-mail (hub.toml wins where both name one; :func:`hub.owners.merge_owners`).
"""

from __future__ import annotations

from collections.abc import Mapping

from sqlalchemy import Connection, insert, select, update

from hub.decisions import Owner
from hub.store import tables as t


def stored_crm_ids(conn: Connection) -> dict[str, dict[str, str]]:
    """Owner id -> connector instance -> CRM user id, as synced."""
    return {str(r[0]): {str(k): str(v) for k, v in (r[1] or {}).items()}
            for r in conn.execute(select(t.owners.c.id, t.owners.c.crm_ids))}


def save_crm_ids(conn: Connection, owner: Owner, crm_ids: Mapping[str, str]) -> None:
    """Keep ``crm_ids`` (the whole synced set) for ``owner``; its name and e-mail come along."""
    values = {"name": owner.name, "email": owner.email, "crm_ids": dict(crm_ids), "destination": owner.destination,
              "active": owner.active}
    done = conn.execute(update(t.owners).where(t.owners.c.id == owner.id).values(**values))
    if not done.rowcount:
        conn.execute(insert(t.owners).values(id=owner.id, **values))
