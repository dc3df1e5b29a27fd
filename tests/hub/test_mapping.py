"""The mapping engine (hub/mapping.py): loading and validation, inbound, outbound, the lead view."""

from __future__ import annotations

import textwrap
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from hub.connector import DeliveryItem
from hub.decisions import Owner
from hub.errors import ConfigError, InvalidRecord
from hub.mapping import VIEW_PATHS, MappingSet, lead_view
from hub.schema import (
    Account,
    Contact,
    Inquiry,
    Lead,
    LeadStatus,
    Outcome,
    OutcomeReport,
    SourceRecord,
)

SHIPPED = Path(__file__).resolve().parents[2] / "mappings"


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / f"{name}.toml"
    path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return path


def load(folder: Path, text: str, name: str = "acme") -> MappingSet:
    return MappingSet.from_files([write(folder, name, text)])


def record(connector: str, stream: str, payload: dict[str, Any], **extra: Any) -> SourceRecord:
    return SourceRecord(
        connector=connector,
        stream=stream,
        external_id=extra.pop("external_id", "ext-1"),
        payload=payload,
        **extra,
    )


@pytest.fixture(scope="module")
def shipped() -> MappingSet:
    return MappingSet.load(SHIPPED)


# -- the shipped mappings ------------------------------------------------------------------------


def test_shipped_mappings_all_load(shipped: MappingSet) -> None:
    assert shipped.connectors() == ["file", "hubspot", "partner", "salesforce", "webform"]
    for connector, streams in {
        "file": ["csv", "jsonl", "lead"],
        "salesforce": ["Lead", "Lead:outcome", "Contact", "Account", "Opportunity"],
        "hubspot": ["contacts", "contacts:outcome", "companies", "deals"],
        "partner": ["referral"],
        "webform": ["form:*"],
    }.items():
        assert {s.name for s in shipped.streams(connector)} == set(streams)


def test_shipped_file_csv_row(shipped: MappingSet) -> None:
    row = {
        "Email": " Ada.King@Example.co.uk ",
        "Full Name": "Dr. Ada King",
        "Phone": "020 7946 0958",
        "Country": "United Kingdom",
        "Company": "Example Ltd",
        "Website": "https://www.example.co.uk",
        "Product": "Analytics",
        "Activity": "Trade Show",
        "Date": "2026-03-01 09:30",
        "Notes": "booth B12",
        "Row Colour": "green",
    }
    inquiry = shipped.normalize(record("file", "csv", row))
    assert isinstance(inquiry, Inquiry)
    assert inquiry.contact == Contact(
        email="ada.king@example.co.uk",
        first_name="Ada",
        last_name="King",
        phone="+442079460958",
        country="GB",
    )
    assert (inquiry.company.name, inquiry.company.domain, inquiry.company.country) == (
        "Example Ltd",
        "example.co.uk",
        "GB",
    )
    assert inquiry.activity.kind == "trade show"
    assert inquiry.activity.at == datetime(2026, 3, 1, 9, 30, tzinfo=UTC)
    assert inquiry.activity.details == {"notes": "booth B12", "Row Colour": "green"}  # keep_unmapped
    assert inquiry.product_line == "analytics"


def test_shipped_webform_prefers_separate_name_boxes_and_drops_a_bad_phone(shipped: MappingSet) -> None:
    form = {"email": "jo@acme.io", "first_name": "Joanna", "name": "Jo Smith", "phone": "call me after 5"}
    inquiry = shipped.normalize(record("webform", "form:demo", form))
    assert isinstance(inquiry, Inquiry)
    assert (inquiry.contact.first_name, inquiry.contact.last_name) == ("Joanna", "Smith")
    assert inquiry.contact.phone is None  # invalid = "drop": the lead is kept, the junk is not
    assert inquiry.company.domain == "acme.io"  # no website: from the e-mail address
    assert inquiry.activity.kind == "form_fill"


def test_shipped_partner_referral_is_strict(shipped: MappingSet) -> None:
    referral = {
        "company_name": "Globex",
        "company_domain": "globex.com",
        "contact_email": "hank@globex.com",
        "partner_id": "p-7",
        "expected_deal_size": "25,000",
        "product_line": "Platform",
    }
    inquiry = shipped.normalize(record("partner", "referral", referral, external_id="ref-9"))
    assert isinstance(inquiry, Inquiry)
    assert (inquiry.partner_id, inquiry.source_ref, inquiry.product_line) == ("p-7", "ref-9", "platform")
    assert inquiry.activity.details["expected_deal_size"] == 25000.0
    with pytest.raises(
        InvalidRecord, match=r"unknown fields 'budget', 'urgency' in strict stream 'referral'"
    ):
        shipped.normalize(record("partner", "referral", {**referral, "urgency": "high", "budget": 1}))


def test_shipped_salesforce_streams(shipped: MappingSet) -> None:
    lead = {
        "attributes": {"type": "Lead"},
        "Id": "00Q000000000001AAA",
        "LastName": "[not provided]",
        "Company": "Initech",
        "Email": "peter@initech.com",
        "NumberOfEmployees": 120,
        "CreatedDate": "2026-03-01T09:30:00.000+0000",
    }
    inquiry = shipped.normalize(record("salesforce", "Lead", lead))
    assert isinstance(inquiry, Inquiry)
    assert inquiry.contact.last_name is None  # our own placeholder read back means blank
    assert (inquiry.company.employees, inquiry.source_ref) == (120, "00Q000000000001AAA")
    contact = {"Id": "003x", "LastName": "Lumbergh", "Account": {"Name": "Initech", "Website": "initech.com"}}
    inquiry = shipped.normalize(record("salesforce", "Contact", contact))
    assert (
        isinstance(inquiry, Inquiry)
        and inquiry.company.name == "Initech"
        and inquiry.company.domain == "initech.com"
    )
    for stage, status in [
        ("Closed Won", LeadStatus.WON),
        ("Closed Lost", LeadStatus.LOST),
        ("Negotiation", LeadStatus.CONVERTED),
    ]:
        report = shipped.normalize(
            record("salesforce", "Opportunity", {"Id": "006x", "StageName": stage, "Amount": "50000"})
        )
        assert isinstance(report, OutcomeReport)
        assert (report.status, report.lead_ref, report.amount) == (status, "006x", 50000.0)
    report = shipped.normalize(
        record(
            "salesforce",
            "Opportunity",
            {"LeadHub_Id__c": "lead_1", "Id": "006x", "StageName": "Closed Lost", "Loss_Reason__c": "Price"},
        )
    )
    assert isinstance(report, OutcomeReport) and (report.lead_ref, report.reason) == ("lead_1", "Price")


def test_shipped_hubspot_streams(shipped: MappingSet) -> None:
    contact = {
        "id": "501",
        "email": "a@b.io",
        "firstname": "A",
        "createdate": "2026-03-01T09:30:00Z",
        "lifecyclestage": "lead",
    }
    inquiry = shipped.normalize(record("hubspot", "contacts", contact))
    assert isinstance(inquiry, Inquiry) and inquiry.source_ref == "501"
    assert inquiry.activity.details == {"lifecyclestage": "lead"}
    report = shipped.normalize(
        record("hubspot", "deals", {"hs_object_id": "9", "dealstage": "closedwon", "amount": "1200.5"})
    )
    assert isinstance(report, OutcomeReport) and report.status == LeadStatus.WON and report.amount == 1200.5


# -- validation at start-up ----------------------------------------------------------------------

GOOD_HEAD = """
[streams.Lead]
activity_kind = "crm_lead"

[streams.Lead.inbound]
"contact.last_name" = { from = "LastName" }
"""


@pytest.mark.parametrize(
    ("body", "line", "expected"),
    [
        (
            '"contact.email" = { from = "Email", transform = ["strip", "emial"] }',
            6,
            "stream 'Lead', field 'contact.email': unknown transform 'emial'; known transforms: bool, country",
        ),
        ('"contact.emial" = { from = "Email" }', 6, "field 'contact.emial': unknown schema path"),
        ('"contact.email" = { transform = ["email"] }', 6, "field 'contact.email': missing `from`"),
        ('"contact.email" = { from = "Email", transfrom = ["email"] }', 6, "unknown key 'transfrom'"),
        ('"contact.email" = { from = "Email", transform = ["split_name"] }', 6, "needs one of: first, last"),
        ('"contact.email" = { from = "@nope" }', 6, "unknown record attribute '@nope'"),
        ('"contact.email" = { from = "Email", map_default = "x" }', 6, "need a map"),
        ('"contact.email" = { from = "Email", invalid = "ignore" }', 6, 'invalid must be "reject"'),
    ],
)
def test_inbound_field_errors_name_file_line_stream_and_field(
    tmp_path: Path, body: str, line: int, expected: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        load(tmp_path, GOOD_HEAD + body + "\n")
    message = str(caught.value)
    assert message.startswith(f"{tmp_path / 'acme.toml'} line {line}: ")
    assert expected in message


@pytest.mark.parametrize(
    ("text", "line", "expected"),
    [
        (
            """
         [streams.Lead]
         activity_kind = "crm_lead"

         [streams.Lead.outbound]
         LastName = { from = "contact.last_name", rule = "hub_rules" }
         """,
            5,
            "stream 'Lead', field 'LastName': unknown conflict rule 'hub_rules'; use one of hub_wins",
        ),
        (
            """
         [streams.Lead.outbound]
         Email = { from = "contact.email" }
         Owner = { from = "owner.crm", rule = "never" }
         """,
            3,
            "field 'Owner': unknown view path 'owner.crm'",
        ),
        (
            """
         [streams.Lead.outbound]
         Id__c = { from = "lead.id", key = true }
         Other__c = { from = "account.id", key = true }
         """,
            3,
            "field 'Other__c': only one field can be the upsert key",
        ),
        (
            """
         [streams.Lead.outbound]
         Id__c = { from = "lead.id", key = true, rule = "never" }
         """,
            2,
            "the upsert key (key = true) is always sent: remove its `rule`",
        ),
        (
            """
         [streams.Lead]
         kind = "inquiry"
         strict = "yes"
         [streams.Lead.inbound]
         "contact.email" = { from = "Email" }
         """,
            3,
            "stream 'Lead', key 'strict': must be a bool",
        ),
        (
            """
         [streams.Lead]
         kind = "opportunity"
         """,
            2,
            "key 'kind': kind must be one of inquiry, outcome",
        ),
        (
            """
         [streams.Lead]
         stirct = true
         """,
            2,
            "key 'stirct': unknown key",
        ),
        (
            """
         # a comment
         [streams.Deal]
         kind = "outcome"

         [streams.Deal.inbound]
         "status" = { from = "stage", map = { won = "won", open = "working" } }
         "lead_ref" = { from = "id" }
         """,
            6,
            "field 'status': 'working' is not a lead status",
        ),
        (
            """
         [streams.Deal]
         kind = "outcome"
         [streams.Deal.inbound]
         "status" = { from = "stage" }
         """,
            2,
            "an outcome stream must map 'lead_ref' and 'status'",
        ),
        (
            """
         [streams.Lead.inbound]
         "contact.email" = { from = "Email" }
         """,
            1,
            "an inquiry stream needs activity_kind",
        ),
        (
            """
         [streams."form:*:x"]
         activity_kind = "form_fill"
         [streams."form:*:x".inbound]
         "contact.email" = { from = "Email" }
         """,
            1,
            "'*' may only end a stream name",
        ),
        (
            """
         connector = "sf"
         """,
            1,
            "unknown top-level key 'connector'",
        ),
        (
            """
         [streams.Lead]
         activity_kind = "x"
         """,
            1,
            "the stream maps nothing",
        ),
        (
            """
         [streams.Lead]
         activity_kind = "x"
         [streams.Lead.inbound]
         "contact.email" = { from = "Email", transform = ["email"]
         """,
            4,
            "TOML syntax error",
        ),
    ],
)
def test_stream_errors_name_file_line_and_stream(tmp_path: Path, text: str, line: int, expected: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load(tmp_path, text)
    message = str(caught.value)
    assert message.startswith(f"{tmp_path / 'acme.toml'} line {line}: "), message
    assert expected in message


def test_alternatives_and_multi_line_arrays_are_located(tmp_path: Path) -> None:
    text = (
        GOOD_HEAD
        + '"contact.first_name" = [\n  { from = "First" },\n  { from = "Full", transform = ["split_name"] },\n]\n'
    )
    with pytest.raises(ConfigError, match=r"acme.toml line 6: stream 'Lead', field 'contact.first_name'"):
        load(tmp_path, text)


def test_one_file_per_connector_and_a_missing_folder(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    first = write(tmp_path / "a", "sf", GOOD_HEAD)
    second = write(tmp_path / "b", "sf", GOOD_HEAD)
    with pytest.raises(ConfigError, match=f"connector 'sf' is already mapped by {first}"):
        MappingSet.from_files([first, second])
    with pytest.raises(ConfigError, match=r"mapping folder .* does not exist"):
        MappingSet.load(tmp_path / "nope")


# -- inbound -------------------------------------------------------------------------------------

INQUIRY = """
[streams.Lead]
activity_kind = "crm_lead"
product_line = "core"

[streams.Lead.inbound]
"contact.email" = { from = "Email", transform = ["email"] }
"contact.first_name" = [{ from = "First" }, { from = "Full", transform = ["split_name:first"] }]
"contact.phone" = { from = "Phone", transform = ["phone"], invalid = "drop" }
"contact.country" = { from = "Country", transform = ["country"] }
"company.name" = { from = ["Company", "Account"], transform = ["strip"], required = true }
"company.employees" = { from = "Employees" }
"activity.details.channel" = { value = "crm" }
"activity.details.email" = { from = "properties.email" }
"source_ref" = { from = "@external_id" }
"""


def test_inbound_fields_alternatives_constants_and_record_attributes(tmp_path: Path) -> None:
    mappings = load(tmp_path, INQUIRY)
    updated = datetime(2026, 2, 1, tzinfo=UTC)
    got = mappings.normalize(
        record(
            "acme",
            "Lead",
            {
                "Email": "X@Y.COM",
                "Full": "Ada King",
                "Phone": "030 1234567",
                "Country": "Germany",
                "Company": "   ",
                "Account": " Acme GmbH ",
                "properties": {"email": "nested@y.com"},
                "Extra": 1,
            },
            external_id="00Q1",
            updated_at=updated,
        )
    )
    assert isinstance(got, Inquiry)
    assert got.contact == Contact(email="x@y.com", first_name="Ada", phone="+49301234567", country="DE")
    assert got.company.name == "Acme GmbH"  # "Company" is blank, so the next source is read
    assert got.activity.details == {"channel": "crm", "email": "nested@y.com"}  # no keep_unmapped: no "Extra"
    assert (got.source_ref, got.product_line, got.activity.kind) == ("00Q1", "core", "crm_lead")
    assert got.activity.at == updated  # no activity.at mapped: the record's own time
    assert got.activity.source == "acme:Lead"


@pytest.mark.parametrize(
    ("payload", "field", "reason"),
    [
        (
            {"Email": "bob@@x", "Company": "A"},
            "contact.email",
            "field 'contact.email' (column Email): 'bob@@x' is not a valid e-mail address",
        ),
        (
            {"Email": "bob@x.com"},
            "company.name",
            "required field 'company.name' (column Company or Account) is missing",
        ),
        (
            {"Company": "A", "Country": "Atlantis"},
            "contact.country",
            "field 'contact.country' (column Country): 'Atlantis'",
        ),
        (
            {"Company": "A", "Employees": "lots"},
            "company.employees",
            "field 'company.employees' (column Employees): 'lots' is invalid",
        ),
        ({"Company": "A" * 10_001}, "Company", "column Company holds 10001 characters; the limit is 10000"),
    ],
)
def test_inbound_invalid_records_say_why(
    tmp_path: Path, payload: dict[str, Any], field: str, reason: str
) -> None:
    mappings = load(tmp_path, INQUIRY)
    with pytest.raises(InvalidRecord) as caught:
        mappings.normalize(record("acme", "Lead", payload))
    assert caught.value.field == field
    assert reason in caught.value.reason


def test_strict_stream_lists_unknown_fields_and_honours_ignore(tmp_path: Path) -> None:
    mappings = load(
        tmp_path,
        """
        [streams.r]
        activity_kind = "referral"
        strict = true
        ignore = ["attributes"]
        [streams.r.inbound]
        "company.name" = { from = "name" }
        "activity.details.x" = { from = "props.x" }
        """,
    )
    ok = mappings.normalize(record("acme", "r", {"name": "A", "attributes": {}, "props": {"x": 1}}))
    assert isinstance(ok, Inquiry) and ok.activity.details == {"x": 1}
    with pytest.raises(
        InvalidRecord, match=r"unknown fields 'colour', 'size' in strict stream 'r'.*ignore = \[\.\.\.\]"
    ):
        mappings.normalize(record("acme", "r", {"name": "A", "size": 1, "colour": "red"}))


def test_keep_unmapped_puts_raw_fields_in_details(tmp_path: Path) -> None:
    mappings = load(
        tmp_path,
        """
        [streams.form]
        activity_kind = "form_fill"
        keep_unmapped = true
        [streams.form.inbound]
        "contact.email" = { from = "email", transform = ["email"] }
        """,
    )
    got = mappings.normalize(record("acme", "form", {"email": "a@b.io", "utm_source": "ads", "blank": " "}))
    assert isinstance(got, Inquiry) and got.activity.details == {"utm_source": "ads"}


def test_outcome_stream_and_unknown_picklist_value(tmp_path: Path) -> None:
    mappings = load(
        tmp_path,
        """
        [streams.deals]
        kind = "outcome"
        [streams.deals.inbound]
        "lead_ref" = { from = "lead" }
        "status" = { from = "stage", map = { "Closed Won" = "won", "Closed Lost" = "lost" } }
        "amount" = { from = "amount", transform = ["float"] }
        "reason" = { from = "why" }
        """,
    )
    got = mappings.normalize(
        record("acme", "deals", {"lead": "lead_1", "stage": "closed won", "amount": "9,500"})
    )
    assert got == OutcomeReport(source=got.source, lead_ref="lead_1", status=LeadStatus.WON, amount=9500.0)
    with pytest.raises(
        InvalidRecord,
        match=r"field 'status' \(column stage\): 'Pending' is not one of 'Closed Won', 'Closed Lost'",
    ):
        mappings.normalize(record("acme", "deals", {"lead": "lead_1", "stage": "Pending"}))
    with pytest.raises(InvalidRecord, match=r"required field 'lead_ref' \(column lead\) is missing"):
        mappings.normalize(record("acme", "deals", {"stage": "Closed Won"}))


def test_stream_patterns_and_missing_mappings(tmp_path: Path) -> None:
    mappings = load(
        tmp_path,
        """
        [streams."form:*"]
        activity_kind = "form_fill"
        [streams."form:*".inbound]
        "contact.email" = { from = "email" }

        [streams."form:demo*"]
        activity_kind = "demo_request"
        [streams."form:demo*".inbound]
        "contact.email" = { from = "email" }

        [streams."form:demo-eu"]
        activity_kind = "demo_request_eu"
        [streams."form:demo-eu".inbound]
        "contact.email" = { from = "email" }
        """,
    )
    kinds = {}
    for stream in ("form:contact", "form:demo-us", "form:demo-eu"):
        got = mappings.normalize(record("acme", stream, {"email": "a@b.io"}))
        assert isinstance(got, Inquiry)
        kinds[stream] = got.activity.kind
    assert kinds == {
        "form:contact": "form_fill",
        "form:demo-us": "demo_request",
        "form:demo-eu": "demo_request_eu",
    }
    assert mappings.stream("acme", "forms") is None and mappings.stream("other", "form:x") is None
    with pytest.raises(InvalidRecord) as caught:
        mappings.normalize(record("acme", "Lead", {}))
    assert (
        caught.value.reason
        == "no mapping for connector acme stream Lead: add [streams.Lead] to mappings/acme.toml"
    )
    assert MappingSet.empty().connectors() == []


def test_a_mapping_change_needs_no_code_change(tmp_path: Path) -> None:
    text = """
        [streams.csv]
        activity_kind = "import"
        [streams.csv.inbound]
        "contact.email" = { from = "Email", transform = ["email"] }
        "company.name" = { from = "Company" }
        """
    row = {"Email": "a@b.io", "Company": "acme", "Organisation": "  ACME Corp "}
    before = load(tmp_path, text).normalize(record("acme", "csv", row))
    changed = text.replace(
        '{ from = "Company" }', '{ from = "Organisation", transform = ["strip", "upper"] }'
    )
    after = load(tmp_path, changed).normalize(record("acme", "csv", row))
    assert isinstance(before, Inquiry) and isinstance(after, Inquiry)
    assert (before.company.name, after.company.name) == ("acme", "ACME CORP")


# -- outbound ------------------------------------------------------------------------------------

OUTBOUND = """
[streams.Lead.outbound]
Ext__c = { from = "lead.id", key = true }
Owner = { from = "owner.crm_id", rule = "hub_wins" }
Status = { from = "lead.status", map = { routed = "Open", accepted = "Working" }, rule = "crm_wins" }
Phone = { from = "contact.phone", rule = "crm_wins_unless_blank" }
Score = { from = "lead.score", rule = "never" }
Partner = { from = "lead.partner_id" }
Cleared = { from = "lead.partner_id", write_null = true }
LastName = { from = "contact.last_name", default = "[not provided]", rule = "crm_wins_unless_blank" }
"""

VIEW = {
    "lead.id": "lead_1",
    "owner.crm_id": "005A",
    "lead.status": "routed",
    "contact.phone": "+14155550100",
    "lead.score": 70,
    "lead.partner_id": None,
    "contact.last_name": None,
}


def test_outbound_when_creating_writes_everything_but_never(tmp_path: Path) -> None:
    mappings = load(tmp_path, OUTBOUND)
    assert mappings.outbound("acme", "Lead", VIEW) == {
        "Ext__c": "lead_1",
        "Owner": "005A",
        "Status": "Open",
        "Phone": "+14155550100",
        "Cleared": None,
        "LastName": "[not provided]",
    }


def test_outbound_conflict_rules_against_the_crms_values(tmp_path: Path) -> None:
    mappings = load(tmp_path, OUTBOUND)
    current = {
        "Ext__c": "lead_1",
        "Owner": "005B",
        "Status": "Working",
        "Phone": "+15550000000",
        "Score": 10,
        "LastName": "King",
    }
    # hub_wins overwrites; crm_wins and crm_wins_unless_blank keep the CRM's values; never is never sent;
    # the key is always sent.
    assert mappings.outbound("acme", "Lead", VIEW, current) == {
        "Ext__c": "lead_1",
        "Owner": "005A",
        "Cleared": None,
    }
    # With blank CRM values only crm_wins_unless_blank writes: crm_wins still never overwrites.
    blank = {**current, "Phone": "  ", "LastName": None, "Status": ""}
    assert mappings.outbound("acme", "Lead", VIEW, blank) == {
        "Ext__c": "lead_1",
        "Owner": "005A",
        "Cleared": None,
        "Phone": "+14155550100",
        "LastName": "[not provided]",
    }


def test_outbound_errors(tmp_path: Path) -> None:
    mappings = load(tmp_path, OUTBOUND + 'Company = { from = "company.name", required = true }\n')
    with pytest.raises(
        InvalidRecord, match=r"required outbound field 'Company' \(from company.name\) is missing"
    ):
        mappings.outbound("acme", "Lead", VIEW)
    with pytest.raises(
        InvalidRecord, match=r"outbound field 'Status' \(from lead.status\): 'won' is not one of"
    ):
        mappings.outbound("acme", "Lead", {**VIEW, "lead.status": "won", "company.name": "A"})
    with pytest.raises(ConfigError, match=r"no mapping for connector acme stream Contact"):
        mappings.outbound("acme", "Contact", VIEW)
    with pytest.raises(InvalidRecord, match="has no inbound mapping"):
        mappings.normalize(record("acme", "Lead", {}))


def _delivery() -> DeliveryItem:
    lead = Lead(
        account_id="acct_1",
        product_line="analytics",
        score=55,
        status=LeadStatus.ROUTED,
        owner_id="jane",
        source_connector="webform",
        partner_id="p-7",
        contacts=[
            Contact(email="ada@acme.io", first_name="Ada", last_name="King"),
            Contact(email="b@acme.io"),
        ],
    )
    account = Account(
        id="acct_1", name="Acme", domains=["acme.io", "acme.com"], country="DE", xrefs={"salesforce": "001A"}
    )
    owner = Owner(
        id="jane", name="Jane Doe", email="jane@us.io", crm_ids={"salesforce": "005J", "hubspot": "77"}
    )
    outcome = Outcome(lead_id=lead.id, status=LeadStatus.WON, reason="signed", amount=1000.0)
    return DeliveryItem(key=1, lead=lead, account=account, owner=owner, outcome=outcome, external_id="00Q9")


def test_lead_view_is_the_flat_view_outbound_mappings_read() -> None:
    item = _delivery()
    view = lead_view(item, "salesforce")
    assert set(view) == VIEW_PATHS  # every path a mapping may name exists, and nothing else
    assert view["lead.id"] == item.lead.id and view["lead.status"] == "routed"
    assert (view["contact.email"], view["contact.first_name"]) == (
        "ada@acme.io",
        "Ada",
    )  # the primary contact
    assert (view["account.domain"], view["company.name"], view["account.crm_id"]) == (
        "acme.io",
        "Acme",
        "001A",
    )
    assert (view["owner.crm_id"], view["owner.email"]) == ("005J", "jane@us.io")
    assert (view["outcome.status"], view["outcome.amount"], view["external_id"]) == ("won", 1000.0, "00Q9")
    assert lead_view(item, "hubspot")["owner.crm_id"] == "77"
    assert lead_view(item, "hubspot")["account.crm_id"] is None


def test_shipped_salesforce_and_hubspot_outbound(shipped: MappingSet) -> None:
    item = _delivery()
    item.lead.contacts[0].last_name = None
    created = shipped.outbound("salesforce", "Lead", lead_view(item, "salesforce"))
    assert created["LeadHub_Id__c"] == item.lead.id
    assert (created["LastName"], created["Company"], created["OwnerId"]) == ("[not provided]", "Acme", "005J")
    assert (created["Status"], created["LeadSource"], created["Email"]) == (
        "Open - Not Contacted",
        "Web",
        "ada@acme.io",
    )
    current = {
        "LastName": "King",
        "Company": "Acme Inc",
        "Status": "Working - Contacted",
        "Email": "ada@acme.io",
    }
    updated = shipped.outbound("salesforce", "Lead", lead_view(item, "salesforce"), current)
    assert "Status" not in updated and "LastName" not in updated and updated["OwnerId"] == "005J"
    assert shipped.stream("salesforce", "Lead").key_field == "LeadHub_Id__c"  # type: ignore[union-attr]
    contact = shipped.outbound("hubspot", "contacts", lead_view(item, "hubspot"))
    # The contact is keyed by e-mail; the connector sets leadhub_lead_id on the primary contact.
    assert (contact["email"], contact["hs_lead_status"], contact["lifecyclestage"]) == (
        "ada@acme.io",
        "OPEN",
        "salesqualifiedlead",
    )
    company = shipped.outbound("hubspot", "companies", lead_view(item, "hubspot"))
    assert company == {"leadhub_account_id": "acct_1", "name": "Acme", "domain": "acme.io", "country": "DE"}


def test_source_and_destination_fields_for_connectors(shipped: MappingSet) -> None:
    lead = shipped.stream("salesforce", "Lead")
    assert lead is not None
    assert {"Email", "LastName", "Company", "Id", "CreatedDate"} <= set(lead.source_fields())
    assert lead.destination_fields()[0] == "LeadHub_Id__c"
