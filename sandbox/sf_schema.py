"""Salesforce object metadata: the fields of Lead, Contact, Account, Opportunity and User.

One table drives three things, so they cannot disagree: the ``describe`` answers, validation of
writes (required fields, restricted picklists, lengths, read-only fields) and SOQL type checks.
The hub's external-id fields (``Lead.LeadHub_Id__c``, ``Contact.LeadHub_Id__c``,
``Account.LeadHub_Account_Id__c``, ``Opportunity.LeadHub_Id__c``) are unique, case-insensitive
external ids; ``Legacy_Id__c`` on Lead and Contact is a non-unique external id, as orgs that
migrated from another system often have (the one way an upsert can match several records).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

TEXT_TYPES = frozenset({"string", "textarea", "phone", "url", "email", "picklist", "id", "reference"})
NUMBER_TYPES = frozenset({"double", "currency", "int", "percent"})
SOAP_TYPES = {
    "id": "tns:ID", "reference": "tns:ID", "boolean": "xsd:boolean", "datetime": "xsd:dateTime",
    "date": "xsd:date", "double": "xsd:double", "currency": "xsd:double", "int": "xsd:int",
    "percent": "xsd:double",
}


@dataclass(frozen=True)
class FieldDef:
    """One field as ``describe`` reports it; ``writable`` False means system-maintained."""

    name: str
    type: str
    label: str
    length: int = 0
    required: bool = False
    writable: bool = True
    updateable: bool = True
    external_id: bool = False
    unique: bool = False
    picklist: tuple[str, ...] = ()
    restricted: bool = False
    default: Any = None
    reference_to: tuple[str, ...] = ()
    relationship_name: str | None = None

    @property
    def custom(self) -> bool:
        return self.name.endswith("__c")

    def describe(self) -> dict[str, Any]:
        default = self.default
        return {
            "name": self.name,
            "label": self.label,
            "type": self.type,
            "soapType": SOAP_TYPES.get(self.type, "xsd:string"),
            "length": self.length,
            "byteLength": self.length * 3,
            "precision": 18 if self.type in NUMBER_TYPES else 0,
            "scale": 2 if self.type == "currency" else 0,
            "digits": 0,
            "nillable": not self.required and self.type != "boolean",
            "createable": self.writable,
            "updateable": self.writable and self.updateable,
            "defaultedOnCreate": default is not None or not self.writable,
            "defaultValue": default if self.type == "boolean" else None,
            "externalId": self.external_id,
            "unique": self.unique,
            "idLookup": self.name == "Id" or self.external_id or self.type == "email",
            "caseSensitive": False,
            "custom": self.custom,
            "calculated": False,
            "filterable": True,
            "sortable": self.type != "textarea",
            "groupable": self.type not in NUMBER_TYPES | {"textarea", "datetime"},
            "restrictedPicklist": self.restricted,
            "picklistValues": [
                {"active": True, "defaultValue": value == default, "label": value,
                 "validFor": None, "value": value}
                for value in self.picklist
            ],
            "referenceTo": list(self.reference_to),
            "relationshipName": self.relationship_name,
            "autoNumber": False,
            "deprecatedAndHidden": False,
        }


@dataclass
class ObjectDef:
    """One sObject type: its key prefix and its fields by name (API names, case as declared)."""

    name: str
    label: str
    label_plural: str
    key_prefix: str
    fields: dict[str, FieldDef]
    createable: bool = True
    name_parts: tuple[str, ...] = ()  # compound Name = these joined, maintained by the sandbox
    by_lower: dict[str, FieldDef] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.by_lower = {name.lower(): fd for name, fd in self.fields.items()}

    def field(self, name: str) -> FieldDef | None:
        """Field by name; SOQL and JSON bodies are case-insensitive about field names."""
        return self.by_lower.get(name.lower())

    def relationship(self, name: str) -> FieldDef | None:
        lowered = name.lower()
        for fd in self.fields.values():
            if fd.relationship_name and fd.relationship_name.lower() == lowered:
                return fd
        return None

    def add_field(self, fd: FieldDef) -> None:
        self.fields[fd.name] = fd
        self.by_lower[fd.name.lower()] = fd

    @property
    def external_id_fields(self) -> list[str]:
        return [fd.name for fd in self.fields.values() if fd.external_id]

    def describe(self, version: str) -> dict[str, Any]:
        base = f"/services/data/v{version}/sobjects/{self.name}"
        return {
            **self.summary(version),
            "fields": [fd.describe() for fd in self.fields.values()],
            "childRelationships": [],
            "recordTypeInfos": [],
            "supportedScopes": [{"label": "All " + self.label_plural.lower(), "name": "everything"}],
            "urls": {"sobject": base, "describe": base + "/describe",
                     "rowTemplate": base + "/{ID}"},
        }

    def summary(self, version: str) -> dict[str, Any]:
        base = f"/services/data/v{version}/sobjects/{self.name}"
        return {
            "name": self.name, "label": self.label, "labelPlural": self.label_plural,
            "keyPrefix": self.key_prefix, "custom": False, "createable": self.createable,
            "updateable": self.createable, "deletable": self.createable, "queryable": True,
            "retrieveable": True, "searchable": True, "layoutable": True, "replicateable": True,
            "triggerable": True, "undeletable": self.createable, "mergeable": False,
            "urls": {"sobject": base, "describe": base + "/describe", "rowTemplate": base + "/{ID}"},
        }


def _system_fields(with_owner: bool = True) -> list[FieldDef]:
    fields = [
        FieldDef("Id", "id", "Record ID", 18, writable=False),
        FieldDef("IsDeleted", "boolean", "Deleted", writable=False, default=False),
        FieldDef("CreatedDate", "datetime", "Created Date", writable=False),
        FieldDef("CreatedById", "reference", "Created By ID", 18, writable=False,
                 reference_to=("User",), relationship_name="CreatedBy"),
        FieldDef("LastModifiedDate", "datetime", "Last Modified Date", writable=False),
        FieldDef("LastModifiedById", "reference", "Last Modified By ID", 18, writable=False,
                 reference_to=("User",), relationship_name="LastModifiedBy"),
        FieldDef("SystemModstamp", "datetime", "System Modstamp", writable=False),
    ]
    if with_owner:
        fields.append(FieldDef("OwnerId", "reference", "Owner ID", 18, reference_to=("User",),
                               relationship_name="Owner"))
    return fields


LEAD_STATUSES = ("Open - Not Contacted", "Working - Contacted", "Closed - Converted",
                 "Closed - Not Converted")
LEAD_SOURCES = ("Web", "Phone Inquiry", "Partner Referral", "Purchased List", "Webinar", "Other")
INDUSTRIES = ("Agriculture", "Banking", "Biotechnology", "Consulting", "Education", "Electronics",
              "Energy", "Engineering", "Finance", "Healthcare", "Hospitality", "Insurance",
              "Manufacturing", "Media", "Retail", "Technology", "Telecommunications",
              "Transportation", "Other")
STAGES = ("Prospecting", "Qualification", "Needs Analysis", "Value Proposition",
          "Id. Decision Makers", "Perception Analysis", "Proposal/Price Quote",
          "Negotiation/Review", "Closed Won", "Closed Lost")
STAGE_PROBABILITY = dict(zip(STAGES, (10, 10, 20, 50, 60, 70, 75, 90, 100, 0), strict=True))


def _fields(*defs: FieldDef, owner: bool = True) -> dict[str, FieldDef]:
    return {fd.name: fd for fd in (*_system_fields(owner), *defs)}


def build_objects() -> dict[str, ObjectDef]:
    """Fresh metadata (fresh so custom fields added at run time vanish on reset)."""
    lead = ObjectDef("Lead", "Lead", "Leads", "00Q", _fields(
        FieldDef("FirstName", "string", "First Name", 40),
        FieldDef("LastName", "string", "Last Name", 80, required=True),
        FieldDef("Name", "string", "Full Name", 121, writable=False),
        FieldDef("Company", "string", "Company", 255, required=True),
        FieldDef("Title", "string", "Title", 128),
        FieldDef("Email", "email", "Email", 80),
        FieldDef("Phone", "phone", "Phone", 40),
        FieldDef("Website", "url", "Website", 255),
        FieldDef("Description", "textarea", "Description", 32000),
        FieldDef("LeadSource", "picklist", "Lead Source", 255, picklist=LEAD_SOURCES),
        FieldDef("Status", "picklist", "Status", 255, required=True, picklist=LEAD_STATUSES,
                 restricted=True, default="Open - Not Contacted"),
        FieldDef("Industry", "picklist", "Industry", 255, picklist=INDUSTRIES),
        FieldDef("Rating", "picklist", "Rating", 255, picklist=("Hot", "Warm", "Cold")),
        FieldDef("NumberOfEmployees", "int", "Employees"),
        FieldDef("Country", "string", "Country", 80),
        FieldDef("City", "string", "City", 40),
        FieldDef("IsConverted", "boolean", "Converted", writable=False, default=False),
        FieldDef("ConvertedDate", "date", "Converted Date", writable=False),
        FieldDef("ConvertedAccountId", "reference", "Converted Account ID", 18, writable=False,
                 reference_to=("Account",), relationship_name="ConvertedAccount"),
        FieldDef("ConvertedContactId", "reference", "Converted Contact ID", 18, writable=False,
                 reference_to=("Contact",), relationship_name="ConvertedContact"),
        FieldDef("ConvertedOpportunityId", "reference", "Converted Opportunity ID", 18,
                 writable=False, reference_to=("Opportunity",),
                 relationship_name="ConvertedOpportunity"),
        FieldDef("LeadHub_Id__c", "string", "LeadHub Id", 64, external_id=True, unique=True),
        FieldDef("Legacy_Id__c", "string", "Legacy Id", 64, external_id=True),
        FieldDef("LeadHub_Score__c", "double", "LeadHub Score"),
        FieldDef("LeadHub_Product_Line__c", "string", "Product Line", 80),
        FieldDef("LeadHub_Partner_Id__c", "string", "Partner Id", 64),
        FieldDef("LeadHub_SLA_Due__c", "datetime", "SLA Due"),
        FieldDef("LeadHub_Grade__c", "string", "LeadHub Grade", 16),
    ), name_parts=("FirstName", "LastName"))
    contact = ObjectDef("Contact", "Contact", "Contacts", "003", _fields(
        FieldDef("AccountId", "reference", "Account ID", 18, reference_to=("Account",),
                 relationship_name="Account"),
        FieldDef("FirstName", "string", "First Name", 40),
        FieldDef("LastName", "string", "Last Name", 80, required=True),
        FieldDef("Name", "string", "Full Name", 121, writable=False),
        FieldDef("Email", "email", "Email", 80),
        FieldDef("Phone", "phone", "Business Phone", 40),
        FieldDef("Title", "string", "Title", 128),
        FieldDef("LeadSource", "picklist", "Lead Source", 255, picklist=LEAD_SOURCES),
        FieldDef("MailingCountry", "string", "Mailing Country", 80),
        FieldDef("LeadHub_Id__c", "string", "LeadHub Id", 64, external_id=True, unique=True),
        FieldDef("Legacy_Id__c", "string", "Legacy Id", 64, external_id=True),
    ), name_parts=("FirstName", "LastName"))
    account = ObjectDef("Account", "Account", "Accounts", "001", _fields(
        FieldDef("Name", "string", "Account Name", 255, required=True),
        FieldDef("ParentId", "reference", "Parent Account ID", 18, reference_to=("Account",),
                 relationship_name="Parent"),
        FieldDef("Website", "url", "Website", 255),
        FieldDef("Phone", "phone", "Account Phone", 40),
        FieldDef("Industry", "picklist", "Industry", 255, picklist=INDUSTRIES),
        FieldDef("NumberOfEmployees", "int", "Employees"),
        FieldDef("BillingCountry", "string", "Billing Country", 80),
        FieldDef("Description", "textarea", "Account Description", 32000),
        FieldDef("LeadHub_Account_Id__c", "string", "LeadHub Account Id", 64, external_id=True,
                 unique=True),
    ))
    opportunity = ObjectDef("Opportunity", "Opportunity", "Opportunities", "006", _fields(
        FieldDef("AccountId", "reference", "Account ID", 18, reference_to=("Account",),
                 relationship_name="Account"),
        FieldDef("Name", "string", "Name", 120, required=True),
        FieldDef("StageName", "picklist", "Stage", 255, required=True, picklist=STAGES,
                 restricted=True),
        FieldDef("CloseDate", "date", "Close Date", required=True),
        FieldDef("Amount", "currency", "Amount"),
        FieldDef("Probability", "percent", "Probability (%)"),
        FieldDef("IsClosed", "boolean", "Closed", writable=False, default=False),
        FieldDef("IsWon", "boolean", "Won", writable=False, default=False),
        FieldDef("LeadSource", "picklist", "Lead Source", 255, picklist=LEAD_SOURCES),
        FieldDef("Description", "textarea", "Description", 32000),
        FieldDef("LeadHub_Id__c", "string", "LeadHub Id", 64, external_id=True, unique=True),
    ))
    user = ObjectDef("User", "User", "Users", "005", _fields(
        FieldDef("Username", "string", "Username", 80, writable=False),
        FieldDef("FirstName", "string", "First Name", 40, writable=False),
        FieldDef("LastName", "string", "Last Name", 80, writable=False),
        FieldDef("Name", "string", "Full Name", 121, writable=False),
        FieldDef("Email", "email", "Email", 128, writable=False),
        FieldDef("Title", "string", "Title", 80, writable=False),
        FieldDef("IsActive", "boolean", "Active", writable=False, default=True),
        owner=False,
    ), createable=False)
    return {o.name: o for o in (lead, contact, account, opportunity, user)}
