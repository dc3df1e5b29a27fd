"""Named accounts: what a CRM's account record says about the account's owner and parent.

A Salesforce Account or a HubSpot company names its owner and its parent by the CRM's ids (the
mapping's ``owner_ref`` and ``parent_ref``). :class:`AccountLinks` turns them into the hub
account's ``owner_id`` (the hub owner whose ``crm_ids.<connector>`` is that id) and ``parent_id``
(the hub account cross-referenced with the parent's id). A parent not known yet is remembered as a
waiting link (:mod:`hub.store.links`) and linked when its own record arrives, whatever the order
the CRM hands them in. Every change is audited on the account, in words.

The engine applies the links when it *finishes* an account record, in the batch's order, so a
lead finished before the record is routed without them and one after it with them, whichever
way the batch runs.
"""

from __future__ import annotations

from hub.decisions import Owner
from hub.pipeline.batch import BatchWork
from hub.schema import AccountRecord
from hub.store.links import WAITING_PARENT


class AccountLinks:
    """Sets accounts' owners and parents from CRM account records; one per pipeline."""

    def __init__(self, owners: list[Owner]) -> None:
        self._by_crm = {(system, crm_id): owner for owner in owners for system, crm_id in owner.crm_ids.items()
                        if crm_id}

    def owner_of(self, system: str, crm_user_id: str) -> Owner | None:
        """The hub owner whose ``crm_ids[system]`` is ``crm_user_id``."""
        return self._by_crm.get((system, crm_user_id))

    def apply(self, work: BatchWork, system: str, ref: str, account_id: str, record: AccountRecord) -> None:
        """Link account ``account_id`` (``ref`` in ``system``) as ``record`` says, and link the
        children that were waiting for it."""
        account = work.account(account_id)
        if account is None:
            return
        reasons: list[str] = []
        owner_id, parent_id = account.owner_id, account.parent_id
        if record.owner_ref:
            owner = self.owner_of(system, record.owner_ref)
            if owner is None:
                reasons.append(f"owner {record.owner_ref} in {system} is no hub owner: add it to crm_ids.{system} "
                               "of an [[owners]] entry in hub.toml (or run `leadhub owners-sync`)")
            elif owner.id != owner_id:
                owner_id = owner.id
                reasons.append(f"named account of {owner.name}: owner in {system} ({record.owner_ref})")
        waiting = work.find_xref(WAITING_PARENT, system, ref)
        if record.parent_ref and record.parent_ref != ref:
            parent = work.find_xref("account", system, record.parent_ref)
            if parent is not None and parent[0] != account_id:
                if parent[0] != parent_id:
                    parent_id = parent[0]
                    reasons.append(f"subsidiary of {_name(work, parent_id)} ({system} {record.parent_ref})")
                if waiting is not None:
                    work.delete_xref(WAITING_PARENT, system, ref)
            elif parent is None and (waiting is None or waiting[1] != record.parent_ref):
                work.set_xref(WAITING_PARENT, system, ref, account_id, record.parent_ref)
                reasons.append(f"parent {record.parent_ref} in {system} is not known yet: linked when it arrives")
        elif waiting is not None:
            work.delete_xref(WAITING_PARENT, system, ref)
        if (owner_id, parent_id) != (account.owner_id, account.parent_id):
            work.update_account(account.model_copy(update={"owner_id": owner_id, "parent_id": parent_id}))
        self._audit(work, account_id, reasons)
        for child_ref, child_id in work.waiting_children(system, ref):
            child = work.account(child_id)
            work.delete_xref(WAITING_PARENT, system, child_ref)
            if child is None or child_id == account_id:
                continue
            work.update_account(child.model_copy(update={"parent_id": account_id}))
            self._audit(work, child_id, [f"subsidiary of {account.name} ({system} {ref}), which arrived"])

    @staticmethod
    def _audit(work: BatchWork, account_id: str, reasons: list[str]) -> None:
        if reasons:
            work.audit([{"lead_id": None, "account_id": account_id, "action": "account", "reason": reason}
                        for reason in reasons])


def _name(work: BatchWork, account_id: str) -> str:
    account = work.account(account_id)
    return account.name if account is not None else f"account {account_id}"
