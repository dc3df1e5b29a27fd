"""HubSpot objects, batches, search, associations and owners through hubspot-api-client."""

from __future__ import annotations

from typing import Any

import pytest
from hubspot.crm.associations.v4 import BatchInputPublicDefaultAssociationMultiPost
from hubspot.crm.companies import SimplePublicObjectInputForCreate as CompanyCreate
from hubspot.crm.contacts import (
    BatchInputSimplePublicObjectBatchInput,
    BatchInputSimplePublicObjectBatchInputForCreate,
    BatchInputSimplePublicObjectBatchInputUpsert,
    BatchInputSimplePublicObjectId,
    BatchReadInputSimplePublicObjectId,
    PublicObjectSearchRequest,
    SimplePublicObjectInput,
    SimplePublicObjectInputForCreate,
)
from hubspot.crm.contacts.exceptions import ApiException, NotFoundException, UnauthorizedException

from sandbox.testing import SandboxServer, hubspot_client


def test_basic_crud_and_409_on_duplicate_email(hs: Any) -> None:
    contacts = hs.crm.contacts.basic_api
    created = contacts.create(SimplePublicObjectInputForCreate(
        properties={"email": "Ada@Engines.example", "firstname": "Ada", "hs_lead_status": "NEW"}))
    assert created.properties["email"] == "ada@engines.example"
    assert created.properties["hs_object_id"] == created.id
    fetched = contacts.get_by_id(created.id, properties=["email", "hs_lead_status"])
    assert fetched.properties["hs_lead_status"] == "NEW"
    assert fetched.properties["lastmodifieddate"] == fetched.updated_at.strftime(
        "%Y-%m-%dT%H:%M:%S.") + f"{fetched.updated_at.microsecond // 1000:03d}Z"
    by_email = contacts.get_by_id("ada@engines.example", id_property="email")
    assert by_email.id == created.id

    updated = contacts.update(created.id, SimplePublicObjectInput(properties={"lastname": "L"}))
    assert updated.properties["lastname"] == "L"
    assert updated.updated_at >= fetched.updated_at

    with pytest.raises(ApiException) as excinfo:
        contacts.create(SimplePublicObjectInputForCreate(properties={"email": "ada@engines.example"}))
    assert excinfo.value.status == 409
    assert f"Existing ID: {created.id}" in excinfo.value.body

    with pytest.raises(ApiException) as excinfo:
        contacts.create(SimplePublicObjectInputForCreate(properties={"nope": "x"}))
    assert excinfo.value.status == 400 and "PROPERTY_DOESNT_EXIST" in excinfo.value.body
    with pytest.raises(ApiException) as excinfo:
        contacts.update(created.id, SimplePublicObjectInput(properties={"hs_lead_status": "HOT"}))
    assert excinfo.value.status == 400 and "INVALID_OPTION" in excinfo.value.body

    contacts.archive(created.id)
    with pytest.raises(NotFoundException):
        contacts.get_by_id(created.id)
    assert contacts.get_by_id(created.id, archived=True).archived is True


def test_get_page_paging(hs: Any) -> None:
    seen: list[str] = []
    after = None
    while True:
        page = hs.crm.contacts.basic_api.get_page(limit=3, after=after, properties=["email"])
        seen += [c.id for c in page.results]
        if page.paging is None:
            break
        after = page.paging.next.after
    assert len(seen) == 8 and seen == sorted(seen, key=int)  # the seeded contacts


def test_batch_create_read_update_upsert_archive(hs: Any) -> None:
    batch = hs.crm.contacts.batch_api
    created = batch.create(BatchInputSimplePublicObjectBatchInputForCreate(inputs=[
        {"properties": {"email": f"b{i}@batch.example", "firstname": f"B{i}"}} for i in range(3)]))
    assert created.status == "COMPLETE" and len(created.results) == 3
    ids = [c.id for c in created.results]

    read = batch.read(BatchReadInputSimplePublicObjectId(
        inputs=[{"id": ids[0]}, {"id": "999999999"}], properties=["firstname"],
        properties_with_history=[]))
    assert read.num_errors == 1 and read.errors[0].category == "OBJECT_NOT_FOUND"
    assert read.errors[0].context == {"ids": ["999999999"]}
    assert [r.properties["firstname"] for r in read.results] == ["B0"]

    updated = batch.update(BatchInputSimplePublicObjectBatchInput(inputs=[
        {"id": ids[1], "properties": {"lastname": "Updated"}}]))
    assert updated.results[0].properties["lastname"] == "Updated"

    upserted = batch.upsert(BatchInputSimplePublicObjectBatchInputUpsert(inputs=[
        {"id": "b2@batch.example", "idProperty": "email", "properties": {"jobtitle": "CTO"}},
        {"id": "new@batch.example", "idProperty": "email", "properties": {"firstname": "N"}}]))
    assert {(r.id == ids[2], r.new) for r in upserted.results} == {(True, False), (False, True)}

    with pytest.raises(ApiException) as excinfo:
        batch.create(BatchInputSimplePublicObjectBatchInputForCreate(inputs=[
            {"properties": {"firstname": "x"}}] * 101))
    assert excinfo.value.status == 400

    assert batch.archive(BatchInputSimplePublicObjectId(inputs=[{"id": i} for i in ids])) is None
    gone = batch.read(BatchReadInputSimplePublicObjectId(inputs=[{"id": ids[0]}],
                                                         properties=[], properties_with_history=[]))
    assert gone.num_errors == 1


def test_search_filters_sort_paging_and_caps(hs: Any, control: Any) -> None:
    control.set_limits(hubspot_search_per_second=100)  # this test searches in a burst
    search = hs.crm.contacts.search_api
    batch = hs.crm.contacts.batch_api
    batch.create(BatchInputSimplePublicObjectBatchInputForCreate(inputs=[
        {"properties": {"email": f"s{i}@search.example", "leadhub_score": str(i)}}
        for i in range(25)]))
    request = PublicObjectSearchRequest(
        filter_groups=[{"filters": [{"propertyName": "leadhub_score", "operator": "GTE",
                                     "value": "10"},
                                    {"propertyName": "email", "operator": "CONTAINS_TOKEN",
                                     "value": "*@search.example"}]}],
        sorts=[{"propertyName": "leadhub_score", "direction": "DESCENDING"}],
        properties=["email", "leadhub_score"], limit=10, after="0")
    first = search.do_search(request)
    assert first.total == 15
    assert [r.properties["leadhub_score"] for r in first.results][:3] == ["24", "23", "22"]
    assert first.paging.next.after == "10"
    request.after = first.paging.next.after
    second = search.do_search(request)
    assert len(second.results) == 5 and second.paging is None

    ored = search.do_search(PublicObjectSearchRequest(filter_groups=[
        {"filters": [{"propertyName": "email", "operator": "EQ", "value": "s1@search.example"}]},
        {"filters": [{"propertyName": "leadhub_score", "operator": "IN", "values": ["2", "3"]}]}],
        limit=10))
    assert ored.total == 3

    recent = search.do_search(PublicObjectSearchRequest(filter_groups=[{"filters": [
        {"propertyName": "lastmodifieddate", "operator": "GTE", "value": "1704067200000"}]}],
        sorts=[{"propertyName": "lastmodifieddate", "direction": "ASCENDING"}], limit=200))
    assert recent.total == 8 + 25

    for bad in (PublicObjectSearchRequest(limit=201),
                PublicObjectSearchRequest(limit=100, after="9950"),
                PublicObjectSearchRequest(filter_groups=[{"filters": [
                    {"propertyName": "email", "operator": "HAS_PROPERTY"}]}] * 6)):
        with pytest.raises(ApiException) as excinfo:
            search.do_search(bad)
        assert excinfo.value.status == 400


def test_associations_default_and_v3_read(hs: Any) -> None:
    company = hs.crm.companies.basic_api.create(CompanyCreate(properties={
        "name": "Assoc Co", "domain": "assoc.example", "leadhub_account_id": "A-1"}))
    contact = hs.crm.contacts.basic_api.create(SimplePublicObjectInputForCreate(
        properties={"email": "c@assoc.example"},
        associations=[{"to": {"id": company.id}, "types": [
            {"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": 279}]}]))
    other = hs.crm.contacts.basic_api.create(SimplePublicObjectInputForCreate(
        properties={"email": "d@assoc.example"}))
    result = hs.crm.associations.v4.basic_api.create_default("contacts", other.id, "companies",
                                                              company.id)
    assert result.status == "COMPLETE"
    assert result.results[0].association_spec.association_type_id == 279
    batch = hs.crm.associations.v4.batch_api.create_default(
        "deals", "companies", BatchInputPublicDefaultAssociationMultiPost(inputs=[]))
    assert batch.results == []

    read = hs.crm.contacts.basic_api.get_by_id(contact.id, associations=["companies"])
    types = {r.type for r in read.associations["companies"].results}
    assert {r.id for r in read.associations["companies"].results} == {company.id}
    assert "contact_to_company_unlabeled" in types
    page = hs.crm.associations.v4.basic_api.get_page("companies", company.id, "contacts")
    assert {r.to_object_id for r in page.results} == {contact.id, other.id}
    assert all(t.type_id == 280 or t.type_id == 2 for r in page.results
               for t in r.association_types)

    # Unique custom property: a second company with the same hub id is refused.
    from hubspot.crm.companies import ApiException as CompanyApiException
    with pytest.raises(CompanyApiException) as excinfo:
        hs.crm.companies.basic_api.create(CompanyCreate(properties={"leadhub_account_id": "a-1"}))
    assert excinfo.value.status == 409


def test_owners_match_salesforce_users(hs: Any, sf: Any) -> None:
    owners = hs.crm.owners.owners_api.get_page(limit=100).results
    users = sf.query("SELECT Email FROM User WHERE IsActive = true")["records"]
    assert {o.email for o in owners} == {u["Email"] for u in users}
    jane = hs.crm.owners.owners_api.get_page(email="jane.smith@leadhub.example").results[0]
    assert hs.crm.owners.owners_api.get_by_id(jane.id).last_name == "Smith"


def test_wrong_token_is_401(sandbox_reset: SandboxServer) -> None:
    bad = hubspot_client(sandbox_reset.port, "pat-wrong")
    with pytest.raises(UnauthorizedException) as excinfo:
        bad.crm.contacts.basic_api.get_page()
    assert excinfo.value.status == 401
    assert "INVALID_AUTHENTICATION" in excinfo.value.body and "pat-wrong" not in excinfo.value.body
