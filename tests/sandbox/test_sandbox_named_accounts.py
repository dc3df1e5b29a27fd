"""What the sandbox adds for named accounts and owners, through the real clients: Account.ParentId,
HubSpot parent companies (types 13/14 and hs_parent_company_id), and an active lead assignment
rule that every API write obeys unless it sends ``Sforce-Auto-Assign: FALSE``."""

from __future__ import annotations

from typing import Any

import pytest

from sandbox.control import SandboxControl, SandboxControlError


def _team(control: SandboxControl) -> list[dict[str, Any]]:
    return [p for p in control.team() if "Integration" not in p["name"]]


def test_account_parent_is_a_checked_reference(sf: Any) -> None:
    from simple_salesforce.exceptions import SalesforceMalformedRequest

    parent = sf.Account.create({"Name": "Holding"})["id"]
    child = sf.Account.create({"Name": "Subsidiary", "ParentId": parent})["id"]
    assert sf.query(f"SELECT ParentId FROM Account WHERE Id = '{child}'")["records"][0]["ParentId"] == parent
    with pytest.raises(SalesforceMalformedRequest):
        sf.Account.create({"Name": "Orphan", "ParentId": "001000000000999AAA"})


def test_assignment_rule_applies_unless_the_write_opts_out(sf: Any, control: SandboxControl) -> None:
    jane, rule = (p["salesforce_user_id"] for p in _team(control)[:2])
    control.set_assignment_rule(rule)
    assigned = sf.Lead.create({"LastName": "A", "Company": "X", "OwnerId": jane})["id"]
    kept = sf.Lead.create({"LastName": "B", "Company": "X", "OwnerId": jane},
                          headers={"Sforce-Auto-Assign": "FALSE"})["id"]
    assert sf.Lead.get(assigned)["OwnerId"] == rule and sf.Lead.get(kept)["OwnerId"] == jane
    assert control.lead_auto_assign(assigned)["sforce_auto_assign"] is None
    assert control.lead_auto_assign(kept)["sforce_auto_assign"] == "FALSE"
    upsert = sf.restful("composite/sobjects/Lead/LeadHub_Id__c", method="PATCH", headers={"Sforce-Auto-Assign": "TRUE"},
                        json={"allOrNone": False, "records": [{"attributes": {"type": "Lead"}, "LeadHub_Id__c": "l1",
                                                               "LastName": "C", "Company": "X", "OwnerId": jane}]})
    assert sf.Lead.get(upsert[0]["id"])["OwnerId"] == rule
    control.set_assignment_rule(None)
    assert sf.Lead.get(sf.Lead.create({"LastName": "D", "Company": "X", "OwnerId": jane})["id"])["OwnerId"] == jane
    with pytest.raises(SandboxControlError):
        control.set_assignment_rule("005000000000999AAA")


def test_hubspot_parent_company_follows_the_association(hs: Any) -> None:
    from hubspot.crm.associations.v4 import AssociationSpec

    def company(name: str) -> str:
        return str(hs.crm.companies.basic_api.create({"properties": {"name": name}}).id)

    def parent_of(company_id: str) -> str | None:
        props = hs.crm.companies.basic_api.get_by_id(company_id, properties=["hs_parent_company_id"]).properties
        return props.get("hs_parent_company_id")

    first, second, child = company("First Parent"), company("Second Parent"), company("Child")
    hs.crm.associations.v4.basic_api.create("companies", child, "companies", first, [
        AssociationSpec(association_category="HUBSPOT_DEFINED", association_type_id=14)])
    assert parent_of(child) == first and parent_of(first) is None
    # parent -> child (13) from the other parent: one parent only, the new one replaces the old
    hs.crm.associations.v4.basic_api.create("companies", second, "companies", child, [
        AssociationSpec(association_category="HUBSPOT_DEFINED", association_type_id=13)])
    assert parent_of(child) == second
    hs.crm.associations.v4.basic_api.archive("companies", child, "companies", second)
    assert parent_of(child) is None
