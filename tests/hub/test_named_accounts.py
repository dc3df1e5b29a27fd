"""Named accounts through the engine: a CRM account record sets the hub account's owner (by the
owner's crm_ids) and parent (by cross-reference), a child that arrives before its parent is
linked when the parent comes, an owner change in the CRM moves the account, and a lead of a
subsidiary is routed to the parent's owner. Both ways of running a batch agree."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import select

from hub.runtime import Hub
from hub.schema import SourceRecord
from hub.store import tables as t

OWNERS = [
    {"id": "jane", "name": "Jane Doe", "email": "jane@example.com", "crm_ids": {"salesforce": "005JANE"}},
    {"id": "omar", "name": "Omar Haddad", "email": "omar@example.com", "crm_ids": {"salesforce": "005OMAR"}},
]


def _account(ref: str, name: str, domain: str, owner: str | None = None, parent: str | None = None,
             version: str = "1") -> SourceRecord:
    payload: dict[str, Any] = {"Id": ref, "Name": name, "Website": f"https://{domain}", "OwnerId": owner,
                               "ParentId": parent}
    return SourceRecord(connector="salesforce", stream="Account", external_id=ref, version=version, payload=payload)


def _lead(ref: str, email: str, company: str) -> SourceRecord:
    return SourceRecord(connector="salesforce", stream="Lead", external_id=ref, version="1",
                        payload={"Id": ref, "LastName": "Buyer", "Company": company, "Email": email})


def _hub(hub_factory: Callable[..., Hub], sqlite_url: str) -> Hub:
    # round robin would start with jane: every lead below is routed to omar only by naming
    return hub_factory(sqlite_url, owners=OWNERS, pipeline={"qualify_score": 0},
                       routing={"strategy": "default_owner", "default_owner": "jane"})


def _account_of(hub: Hub, ref: str) -> dict[str, Any]:
    with hub.store.engine.begin() as conn:
        hub_id = hub.store.find_xref(conn, "account", "salesforce", ref)
        assert hub_id is not None, f"{ref} has no hub account"
        row = conn.execute(select(t.accounts).where(t.accounts.c.id == hub_id[0])).mappings().one()
    return dict(row)


@pytest.mark.parametrize("plan", [True, False], ids=["planned", "one-pass"])
def test_owner_parent_and_a_child_that_arrives_first(hub_factory: Callable[..., Hub], db_url: str,
                                                     plan: bool) -> None:
    hub = _hub(hub_factory, db_url)
    # the subsidiary comes a batch before its parent; its own owner is no hub owner
    hub.intake.submit([
        _account("001CHILD", "Globex Logistics", "globexlogistics.example", owner="005NOBODY", parent="001PARENT"),
        _account("001ALONE", "Initech", "initech.example", owner="005JANE"),
    ])
    assert hub.pipeline.process_batch(100, plan=plan).quarantined == 0
    assert _account_of(hub, "001CHILD")["parent_id"] is None
    hub.intake.submit([_account("001PARENT", "Globex Holding", "globexholding.example", owner="005OMAR")])
    assert hub.pipeline.process_batch(100, plan=plan).quarantined == 0
    parent, child, alone = (_account_of(hub, r) for r in ("001PARENT", "001CHILD", "001ALONE"))
    assert parent["owner_id"] == "omar" and parent["parent_id"] is None
    assert child["owner_id"] is None and child["parent_id"] == parent["id"]
    assert alone["owner_id"] == "jane" and alone["parent_id"] is None
    with hub.store.engine.begin() as conn:
        waiting = conn.execute(select(t.xrefs).where(t.xrefs.c.entity == "account_parent")).all()
        reasons = [r[0] for r in conn.execute(select(t.audit.c.reason).where(t.audit.c.account_id == child["id"]))]
    assert waiting == []  # the waiting link is gone once linked
    assert any("not known yet" in r for r in reasons), reasons
    assert any("Globex Holding" in r and "arrived" in r for r in reasons), reasons
    assert any("005NOBODY" in r and "no hub owner" in r for r in reasons), reasons

    # A lead of the subsidiary goes to the parent's owner, in the same batch as a lead of Initech.
    hub.intake.submit([_lead("00QSUB", "ann@globexlogistics.example", "Globex Logistics"),
                       _lead("00QINI", "bob@initech.example", "Initech")])
    hub.pipeline.process_batch(100, plan=plan)
    with hub.store.engine.begin() as conn:
        owners = {r[0]: r[1] for r in conn.execute(select(t.leads.c.account_id, t.leads.c.owner_id))}
    assert owners[child["id"]] == "omar" and owners[alone["id"]] == "jane"

    # The rep hands the account over in Salesforce: the next version moves it.
    hub.intake.submit([_account("001ALONE", "Initech", "initech.example", owner="005OMAR", version="2")])
    hub.pipeline.process_batch(100, plan=plan)
    assert _account_of(hub, "001ALONE")["owner_id"] == "omar"


def test_lead_before_the_account_record_in_one_batch_is_routed_the_same_both_ways(
        hub_factory: Callable[..., Hub], tmp_path: Any) -> None:
    """Owners are set when an account record is finished, in order: a lead finished before it is
    routed without the owner, one after it with the owner, whichever way the batch runs."""
    got = []
    for plan in (True, False):
        hub = _hub(hub_factory, f"sqlite:///{tmp_path / f'{plan}.db'}")
        hub.intake.submit([
            _lead("00QZ", "zoe@zenith.example", "Zenith Optics"),
            _account("001Z", "Zenith Optics", "zenith.example", owner="005OMAR"),
            _account("001Y", "Yarrow Foods", "yarrow.example", owner="005OMAR"),
            _lead("00QY", "yan@yarrow.example", "Yarrow Foods"),
        ])
        hub.pipeline.process_batch(100, plan=plan)
        with hub.store.engine.begin() as conn:
            got.append({r[0]: r[1] for r in conn.execute(
                select(t.accounts.c.name, t.leads.c.owner_id).join(t.leads, t.leads.c.account_id == t.accounts.c.id))})
    assert got[0] == got[1] == {"Zenith Optics": "jane", "Yarrow Foods": "omar"}
