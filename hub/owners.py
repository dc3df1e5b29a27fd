"""Owners' CRM ids learnt from the CRMs: ``leadhub owners-sync``.

hub.toml's ``[[owners]]`` say who the owners are and may name their ``crm_ids`` by hand. A sync
asks every connector that lists its CRM's users (:meth:`hub.connector.Connector.list_users`:
Salesforce Users, HubSpot owners) and fills the ids hub.toml leaves out, matching people by
e-mail (case-insensitive). What it finds is kept in the store's ``owners`` table and merged under
hub.toml's values when a hub starts (:func:`load_owners`): an id hub.toml sets is never replaced.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from hub.decisions import Owner
from hub.store import owners as owner_rows

if TYPE_CHECKING:
    from hub.config import HubConfig
    from hub.runtime import Hub
    from hub.store import Store


@dataclass
class OwnerSyncReport:
    """What a sync found, per connector instance."""

    #: (owner id, connector, CRM user id) filled from the CRM.
    filled: list[tuple[str, str, str]] = field(default_factory=list)
    #: (owner id, connector, hub.toml's id, the CRM's id): hub.toml names one already and keeps it.
    kept: list[tuple[str, str, str, str]] = field(default_factory=list)
    #: Connector -> e-mails of CRM users that are no hub owner.
    unknown: dict[str, list[str]] = field(default_factory=dict)
    #: Connector -> hub owners whose e-mail no user of that CRM has.
    missing: dict[str, list[str]] = field(default_factory=dict)
    #: Connectors asked.
    connectors: list[str] = field(default_factory=list)


def merge_owners(owners: list[Owner], synced: Mapping[str, Mapping[str, str]]) -> list[Owner]:
    """``owners`` with the synced ``crm_ids`` added; an id the owner already has wins."""
    return [dataclasses.replace(o, crm_ids={**synced.get(o.id, {}), **o.crm_ids}) if synced.get(o.id) else o
            for o in owners]


def load_owners(config: HubConfig, store: Store) -> list[Owner]:
    """hub.toml's owners with the CRM ids a sync stored (hub.toml wins)."""
    with store.engine.connect() as conn:
        synced = owner_rows.stored_crm_ids(conn)
    return merge_owners(config.owner_list(), synced)


def sync_owner_crm_ids(hub: Hub) -> OwnerSyncReport:
    """Ask each connector that lists users; store the ids hub.toml leaves out, by e-mail.

    A running daemon uses them from its next start.
    """
    report = OwnerSyncReport()
    configured = hub.config.owner_list()
    with hub.store.engine.connect() as conn:
        synced = owner_rows.stored_crm_ids(conn)
    found: dict[str, dict[str, str]] = {o.id: dict(synced.get(o.id, {})) for o in configured}
    for instance, connector in hub.connectors.items():
        users = connector.list_users()
        if users is None:
            continue
        report.connectors.append(instance)
        by_email: dict[str, str] = {}
        for crm_user, crm_email in users:
            by_email.setdefault(crm_email.strip().lower(), crm_user)
        owned = set()
        for owner in configured:
            email = owner.email.strip().lower()
            user_id = by_email.get(email) if email else None
            if user_id is None:
                report.missing.setdefault(instance, []).append(owner.id)
                found[owner.id].pop(instance, None)  # no longer in that CRM
                continue
            owned.add(email)
            if instance in owner.crm_ids:
                report.kept.append((owner.id, instance, owner.crm_ids[instance], user_id))
                found[owner.id].pop(instance, None)
            else:
                report.filled.append((owner.id, instance, user_id))
                found[owner.id][instance] = user_id
        report.unknown[instance] = sorted(e for e in by_email if e not in owned)
    with hub.store.engine.begin() as conn:
        for owner in configured:
            if found[owner.id] != synced.get(owner.id, {}):
                owner_rows.save_crm_ids(conn, owner, found[owner.id])
    return report
