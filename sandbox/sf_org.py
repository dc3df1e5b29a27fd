"""The sandbox Salesforce org: records, validation of writes, and what a sales rep does in the UI.

Writes go in two steps, :meth:`SalesforceOrg.prepare` (validate, may raise
:class:`~sandbox.errors.RecordError`, changes nothing) and :meth:`SalesforceOrg.apply`, so an
``allOrNone`` collection call can validate every record before it writes any. Datetimes are kept
as Salesforce renders them (``2024-01-02T03:04:05.000+0000``, UTC, whole seconds), which sorts
correctly as text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sandbox.errors import RecordError, SfError
from sandbox.ids import normalize_sf_id, sf_id
from sandbox.sf_schema import (
    NUMBER_TYPES,
    STAGE_PROBABILITY,
    FieldDef,
    ObjectDef,
    build_objects,
)
from sandbox.state import Record, Table, index_key

EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
API_USER_NUMBER = 1  # the integration user every API write is attributed to


def sf_datetime(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.000+0000")


def parse_datetime(text: str) -> datetime | None:
    """ISO 8601 with Z, +hh:mm or +hhmm; naive values are read as UTC (as Salesforce does)."""
    value = text.strip().replace("Z", "+00:00")
    match = re.match(r"^(.*[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?)([+-]\d{2})(\d{2})$", value)
    if match:
        value = f"{match.group(1)}{match.group(2)}:{match.group(3)}"
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _parser_error(kind: str, value: Any) -> RecordError:
    return RecordError("JSON_PARSER_ERROR", f"Cannot deserialize instance of {kind} from "
                       f"VALUE_STRING value {value!s:.60} or request may be missing a required field")


@dataclass
class WritePlan:
    """A validated write: ``record_id`` None means create."""

    obj: ObjectDef
    record_id: str | None
    values: Record


class SalesforceOrg:
    """All Salesforce state: object metadata, tables, id counters and deletion log."""

    def __init__(self) -> None:
        self.objects: dict[str, ObjectDef] = {}
        self.tables: dict[str, Table] = {}
        self.deleted: dict[str, dict[str, str]] = {}
        self.counters: dict[str, int] = {}
        self.created_at = sf_datetime(datetime.now(UTC))
        self.reset()

    def reset(self) -> None:
        self.objects = build_objects()
        self.tables = {}
        for obj in self.objects.values():
            lookups = ["Email", *obj.external_id_fields] if obj.field("Email") else obj.external_id_fields
            self.tables[obj.name] = Table(obj.name, lookups, "SystemModstamp")
        self.deleted = {name: {} for name in self.objects}
        self.counters = {obj.key_prefix: 0 for obj in self.objects.values()}
        self.api_user_id = sf_id("005", API_USER_NUMBER)
        #: The owner the org's active lead assignment rule gives every lead (None: no active rule).
        self.lead_assignment_owner: str | None = None
        #: Lead id -> the ``Sforce-Auto-Assign`` header of the last API write to it (None: absent).
        self.auto_assign: dict[str, str | None] = {}

    # -- lookups -------------------------------------------------------------------------------
    def object(self, name: str) -> ObjectDef:
        obj = self.object_or_none(name)
        if obj is not None:
            return obj
        raise SfError(404, "NOT_FOUND", "The requested resource does not exist")

    def object_or_none(self, name: str) -> ObjectDef | None:
        lowered = name.lower()
        return next((o for o in self.objects.values() if o.name.lower() == lowered), None)

    def live(self, obj: ObjectDef, record_id: str) -> Record | None:
        normalized = normalize_sf_id(record_id)
        if normalized is None:
            return None
        table = self.tables[obj.name]
        record = table.get(normalized)
        return None if record is None or table.is_hidden(normalized) else record

    def owner_of_id(self, record_id: str) -> ObjectDef | None:
        for obj in self.objects.values():
            if record_id.startswith(obj.key_prefix):
                return obj
        return None

    def new_id(self, obj: ObjectDef) -> str:
        self.counters[obj.key_prefix] += 1
        return sf_id(obj.key_prefix, self.counters[obj.key_prefix])

    @staticmethod
    def now() -> str:
        return sf_datetime(datetime.now(UTC))

    # -- validation ------------------------------------------------------------------------------
    def _coerce(self, obj: ObjectDef, fd: FieldDef, value: Any) -> Any:
        if value is None:
            return False if fd.type == "boolean" else None
        kind = fd.type
        if kind == "boolean":
            if isinstance(value, bool):
                return value
            if isinstance(value, str) and value.lower() in ("true", "false"):
                return value.lower() == "true"
            raise _parser_error("boolean", value)
        if kind in NUMBER_TYPES:
            if isinstance(value, bool):
                raise _parser_error("double", value)
            try:
                number = float(value)
            except (TypeError, ValueError):
                raise _parser_error("double", value) from None
            return int(number) if kind == "int" else number
        if kind == "date":
            text = str(value)[:10]
            try:
                return date.fromisoformat(text).isoformat()
            except ValueError:
                raise _parser_error("date", value) from None
        if kind == "datetime":
            moment = parse_datetime(str(value)) if isinstance(value, str) else None
            if moment is None:
                raise _parser_error("datetime", value)
            return sf_datetime(moment)
        if isinstance(value, (dict, list, bool)):
            raise _parser_error("string", value)
        text = value if isinstance(value, str) else str(value)
        if fd.length and len(text) > fd.length:
            raise RecordError("STRING_TOO_LONG", f"{fd.label}: data value too large: "
                              f"{text[:40]}... (max length={fd.length})", [fd.name])
        if kind == "email" and text and not EMAIL_RE.match(text):
            raise RecordError("INVALID_EMAIL_ADDRESS", f"{fd.label}: invalid email address: "
                              f"{text[:80]}", [fd.name])
        if kind == "picklist" and fd.restricted and text not in fd.picklist:
            raise RecordError("INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
                              f"{fd.label}: bad value for restricted picklist field: {text[:80]}",
                              [fd.name])
        if kind == "reference":
            if text == "":
                return None
            normalized = normalize_sf_id(text)
            if normalized is None:
                raise RecordError("MALFORMED_ID", f"{fd.label}: id value of incorrect type: "
                                  f"{text[:40]}", [fd.name])
            if not any(self.live(self.objects[target], normalized) for target in fd.reference_to):
                raise RecordError("INVALID_CROSS_REFERENCE_KEY", f"{fd.label}: invalid cross "
                                  f"reference id", [fd.name])
            return normalized
        return text

    def clean_values(self, obj: ObjectDef, data: dict[str, Any], creating: bool) -> Record:
        """Validated, canonical field values from a request body (``attributes`` ignored)."""
        if not isinstance(data, dict):
            raise RecordError("JSON_PARSER_ERROR", "The request body must be a JSON object")
        clean: Record = {}
        for key, value in data.items():
            if key == "attributes":
                continue
            fd = obj.field(key)
            if fd is None:
                raise RecordError("INVALID_FIELD", f"No such column '{key[:80]}' on sobject of "
                                  f"type {obj.name}", [key[:80]])
            if fd.name == "Id":
                raise RecordError("INVALID_FIELD",
                                  "The Id field should not be specified in the sobject data.")
            if not fd.writable or (not creating and not fd.updateable):
                raise RecordError("INVALID_FIELD_FOR_INSERT_UPDATE", "Unable to create/update "
                                  f"fields: {fd.name}. Please check the security settings of this "
                                  "field and verify that it is read/write for your profile or "
                                  "permission set.", [fd.name])
            clean[fd.name] = self._coerce(obj, fd, value)
        return clean

    def _check_required(self, obj: ObjectDef, merged: Record) -> None:
        missing = [fd.name for fd in obj.fields.values()
                   if fd.required and fd.writable and merged.get(fd.name) in (None, "")]
        if missing:
            raise RecordError("REQUIRED_FIELD_MISSING",
                              f"Required fields are missing: [{', '.join(missing)}]", missing)

    def _check_unique(self, obj: ObjectDef, values: Record, record_id: str | None,
                      claimed: dict[tuple[str, str, Any], str] | None) -> None:
        table = self.tables[obj.name]
        for name, value in values.items():
            fd = obj.fields[name]
            if not fd.unique or value in (None, ""):
                continue
            others = [other for other in table.find(name, value) if other != record_id]
            key = (obj.name, name, index_key(value))
            if claimed is not None and key in claimed and claimed[key] != (record_id or "new"):
                others.append(claimed[key])
            if others:
                raise RecordError("DUPLICATE_VALUE", f"duplicate value found: {name} duplicates "
                                  f"value on record with id: {others[0]}", [name])
            if claimed is not None:
                claimed[key] = record_id or "new"

    # -- writes ----------------------------------------------------------------------------------
    def prepare_create(self, obj: ObjectDef, data: dict[str, Any],
                       claimed: dict[tuple[str, str, Any], str] | None = None) -> WritePlan:
        if not obj.createable:
            raise RecordError("CANNOT_INSERT_UPDATE_ACTIVATE_ENTITY",
                              f"entity type cannot be inserted: {obj.name}")
        values = self.clean_values(obj, data, creating=True)
        merged = {fd.name: fd.default for fd in obj.fields.values() if fd.default is not None}
        merged.update(values)
        self._check_required(obj, merged)
        self._check_unique(obj, values, None, claimed)
        return WritePlan(obj, None, values)

    def prepare_update(self, obj: ObjectDef, record_id: str, data: dict[str, Any],
                       claimed: dict[tuple[str, str, Any], str] | None = None) -> WritePlan:
        record = self.live(obj, record_id)
        if record is None:
            deleted = normalize_sf_id(record_id) in self.deleted[obj.name]
            raise RecordError("ENTITY_IS_DELETED" if deleted else "INVALID_CROSS_REFERENCE_KEY",
                              "entity is deleted" if deleted else "invalid cross reference id")
        if record.get("IsConverted"):
            raise RecordError("CANNOT_UPDATE_CONVERTED_LEAD", "cannot reference converted lead")
        values = self.clean_values(obj, data, creating=False)
        self._check_required(obj, {**record, **values})
        self._check_unique(obj, values, record["Id"], claimed)
        return WritePlan(obj, record["Id"], values)

    def upsert_match(self, obj: ObjectDef, field_name: str, value: str) -> list[str]:
        """Ids of live records matching an external-id value (404 if not an external id)."""
        fd = obj.field(field_name)
        if fd is None or not (fd.external_id or fd.name == "Id"):
            raise SfError(404, "NOT_FOUND", "Provided external ID field does not exist or is not "
                          f"accessible: {field_name[:80]}")
        if fd.name == "Id":
            record = self.live(obj, value)
            return [record["Id"]] if record else []
        return self.tables[obj.name].find(fd.name, value)

    def apply(self, plan: WritePlan, stamp: str, user_id: str | None = None) -> str:
        """Write a validated plan as ``user_id`` (default: the integration user)."""
        obj, values = plan.obj, dict(plan.values)
        table = self.tables[obj.name]
        user_id = user_id or self.api_user_id
        audit = {"LastModifiedDate": stamp, "SystemModstamp": stamp, "LastModifiedById": user_id}
        if plan.record_id is None:
            record_id = self.new_id(obj)
            record: Record = {name: fd.default for name, fd in obj.fields.items()}
            record.update(values)
            record.update(audit, Id=record_id, CreatedDate=stamp, CreatedById=user_id)
            if "OwnerId" in obj.fields and not record.get("OwnerId"):
                record["OwnerId"] = user_id
            self._derive(obj, record, record)
            table.insert(record_id, record)
            return record_id
        current = table.records[plan.record_id]
        values.update(audit)
        self._derive(obj, {**current, **values}, values)
        table.update(plan.record_id, values)
        return plan.record_id

    def apply_api(self, plan: WritePlan, stamp: str, auto_assign: str | None) -> str:
        """Write a plan as the REST API does: a Lead created or updated without
        ``Sforce-Auto-Assign: FALSE`` gets the owner of the active assignment rule (the header
        defaults to TRUE), whatever OwnerId the request sent. The header is recorded per lead."""
        rule_applies = auto_assign is None or auto_assign.strip().lower() not in ("false", "0")
        if plan.obj.name == "Lead" and rule_applies and self.lead_assignment_owner:
            plan = WritePlan(plan.obj, plan.record_id, {**plan.values, "OwnerId": self.lead_assignment_owner})
        record_id = self.apply(plan, stamp)
        if plan.obj.name == "Lead":
            self.auto_assign[record_id] = auto_assign
        return record_id

    def set_assignment_rule(self, owner_id: str | None) -> str | None:
        """Activate a lead assignment rule giving every lead to ``owner_id`` (None: deactivate)."""
        if owner_id is None:
            self.lead_assignment_owner = None
            return None
        user_id = normalize_sf_id(owner_id)
        if user_id is None or self.tables["User"].get(user_id) is None:
            raise SfError(404, "NOT_FOUND", f"No User with id {owner_id[:20]}: GET /_sandbox/team "
                          "lists the seeded people")
        self.lead_assignment_owner = user_id
        return user_id

    @staticmethod
    def _derive(obj: ObjectDef, merged: Record, target: Record) -> None:
        """Fields Salesforce computes: compound Name, Opportunity closed/won/probability."""
        if obj.name_parts:
            target["Name"] = " ".join(p for p in (merged.get(n) for n in obj.name_parts) if p)
        if obj.name == "Opportunity" and "StageName" in target:
            stage = merged.get("StageName")
            target["IsClosed"] = stage in ("Closed Won", "Closed Lost")
            target["IsWon"] = stage == "Closed Won"
            if "Probability" not in target or target["Probability"] is None:
                target["Probability"] = float(STAGE_PROBABILITY.get(stage or "", 0))

    def delete(self, obj: ObjectDef, record_id: str, stamp: str) -> None:
        record = self.live(obj, record_id)
        if record is None:
            deleted = normalize_sf_id(record_id) in self.deleted[obj.name]
            raise RecordError("ENTITY_IS_DELETED" if deleted else "INVALID_CROSS_REFERENCE_KEY",
                              "entity is deleted" if deleted else "invalid cross reference id")
        self.tables[obj.name].hide(record["Id"], {"IsDeleted": True, "SystemModstamp": stamp,
                                                  "LastModifiedDate": stamp})
        self.deleted[obj.name][record["Id"]] = stamp

    # -- rendering ---------------------------------------------------------------------------------
    def render(self, obj: ObjectDef, record: Record, version: str,
               fields: list[str] | None = None) -> dict[str, Any]:
        out: dict[str, Any] = {"attributes": {
            "type": obj.name, "url": f"/services/data/v{version}/sobjects/{obj.name}/{record['Id']}"}}
        names = list(obj.fields) if fields is None else fields
        for name in names:
            fd = obj.field(name)
            if fd is None:
                raise SfError(400, "INVALID_FIELD", f"No such column '{name[:80]}' on entity "
                              f"'{obj.name}'. If you are attempting to use a custom field, be sure "
                              "to append the '__c' after the custom field name. Please reference "
                              "your WSDL or the describe call for the appropriate names.")
            out[fd.name] = record.get(fd.name)
        return out

    # -- what a sales rep does in the UI ------------------------------------------------------------
    # A rep's edit is recorded as the rep's (LastModifiedById), as a real org does: that is how a
    # connector with an integration user tells a rep's change from its own write.
    def rep_user(self, record: Record, acting_user_id: str | None = None) -> str:
        """Who acts: the given user, else the record's owner when that is a person other than
        the integration user, else the first seeded rep (the integration user in an empty org)."""
        users = self.tables["User"]
        if acting_user_id:
            user_id = normalize_sf_id(acting_user_id)
            if user_id is None or users.get(user_id) is None:
                raise SfError(404, "NOT_FOUND", f"No User with id {acting_user_id[:20]}: "
                              "GET /_sandbox/team lists the seeded people")
            return user_id
        owner = str(record.get("OwnerId") or "")
        if owner.startswith("005") and owner != self.api_user_id and users.get(owner):
            return owner
        reps = sorted(uid for uid in users.records if uid != self.api_user_id)
        return reps[0] if reps else self.api_user_id

    def _rep_update(self, obj: ObjectDef, record_id: str, values: Record, user_id: str) -> Record:
        stamp = self.now()
        values = {**values, "LastModifiedDate": stamp, "SystemModstamp": stamp,
                  "LastModifiedById": user_id}
        record = self.tables[obj.name].records[record_id]
        self._derive(obj, {**record, **values}, values)
        return self.tables[obj.name].update(record_id, values)

    def rep_record(self, object_name: str, record_id: str) -> tuple[ObjectDef, Record]:
        obj = self.object(object_name)
        record = self.live(obj, record_id)
        if record is None:
            raise SfError(404, "NOT_FOUND", f"No live {obj.name} with id {record_id[:20]}: check "
                          "the id (GET /_sandbox/summary lists counts)")
        return obj, record

    def set_lead_status(self, lead_id: str, status: str, owner_id: str | None = None,
                        acting_user_id: str | None = None) -> Record:
        obj, record = self.rep_record("Lead", lead_id)
        user_id = self.rep_user(record, acting_user_id)
        values: Record = {"Status": self._coerce(obj, obj.fields["Status"], status)}
        if owner_id:
            values["OwnerId"] = self._coerce(obj, obj.fields["OwnerId"], owner_id)
        if record.get("IsConverted"):
            raise SfError(400, "CANNOT_UPDATE_CONVERTED_LEAD", "cannot reference converted lead")
        return self._rep_update(obj, record["Id"], values, user_id)

    def convert_lead(self, lead_id: str, *, account_id: str | None = None,
                     create_opportunity: bool = True, opportunity_name: str | None = None,
                     converted_status: str = "Closed - Converted",
                     acting_user_id: str | None = None) -> dict[str, str | None]:
        """Convert a lead as the UI does: account (new or given), contact, optional opportunity."""
        lead_obj, lead = self.rep_record("Lead", lead_id)
        user_id = self.rep_user(lead, acting_user_id)
        if lead.get("IsConverted"):
            raise SfError(400, "CANNOT_UPDATE_CONVERTED_LEAD", "cannot reference converted lead: "
                          "it is already converted")
        stamp = self.now()
        owner = lead.get("OwnerId") or self.api_user_id
        if account_id:
            _, account = self.rep_record("Account", account_id)
            account_id = account["Id"]
        else:
            account_id = self.apply(WritePlan(self.objects["Account"], None, {
                "Name": lead["Company"], "Website": lead.get("Website"), "OwnerId": owner,
                "Industry": lead.get("Industry"), "NumberOfEmployees": lead.get("NumberOfEmployees"),
                "BillingCountry": lead.get("Country")}), stamp, user_id)
        contact_values: Record = {
            "AccountId": account_id, "FirstName": lead.get("FirstName"),
            "LastName": lead["LastName"], "Email": lead.get("Email"), "Phone": lead.get("Phone"),
            "Title": lead.get("Title"), "LeadSource": lead.get("LeadSource"), "OwnerId": owner,
            "MailingCountry": lead.get("Country")}
        contact_id = self.apply(WritePlan(self.objects["Contact"], None, contact_values), stamp,
                                user_id)
        opportunity_id = None
        if create_opportunity:
            close = (datetime.now(UTC) + timedelta(days=30)).date().isoformat()
            opportunity_id = self.apply(WritePlan(self.objects["Opportunity"], None, {
                "Name": opportunity_name or f"{lead['Company']}-", "StageName": "Prospecting",
                "CloseDate": close, "AccountId": account_id, "OwnerId": owner,
                "LeadSource": lead.get("LeadSource"),
                # Lead field mapping, as orgs configure it: the hub's id follows the lead.
                "LeadHub_Id__c": lead.get("LeadHub_Id__c")}), stamp, user_id)
        self._rep_update(lead_obj, lead["Id"], {
            "IsConverted": True, "Status": converted_status,
            "ConvertedDate": datetime.now(UTC).date().isoformat(),
            "ConvertedAccountId": account_id, "ConvertedContactId": contact_id,
            "ConvertedOpportunityId": opportunity_id}, user_id)
        return {"leadId": lead["Id"], "accountId": account_id, "contactId": contact_id,
                "opportunityId": opportunity_id}

    def close_opportunity(self, opportunity_id: str, won: bool, amount: float | None = None,
                          acting_user_id: str | None = None) -> Record:
        obj, record = self.rep_record("Opportunity", opportunity_id)
        user_id = self.rep_user(record, acting_user_id)
        values: Record = {"StageName": "Closed Won" if won else "Closed Lost", "Probability": None,
                          "CloseDate": datetime.now(UTC).date().isoformat()}
        if amount is not None:
            values["Amount"] = float(amount)
        return self._rep_update(obj, record["Id"], values, user_id)

    def add_user(self, number: int, first: str, last: str, email: str, title: str) -> str:
        user_id = sf_id("005", number)
        stamp = self.now()
        self.counters["005"] = max(self.counters["005"], number)
        self.tables["User"].insert(user_id, {
            "Id": user_id, "IsDeleted": False, "CreatedDate": stamp, "CreatedById": self.api_user_id,
            "LastModifiedDate": stamp, "LastModifiedById": self.api_user_id,
            "SystemModstamp": stamp, "Username": email, "FirstName": first, "LastName": last,
            "Name": f"{first} {last}", "Email": email, "Title": title, "IsActive": True})
        return user_id

    # -- persistence -----------------------------------------------------------------------------
    def dump(self) -> dict[str, Any]:
        return {"tables": {name: table.dump() for name, table in self.tables.items()},
                "deleted": self.deleted, "counters": self.counters,
                "assignment_owner": self.lead_assignment_owner, "auto_assign": self.auto_assign}

    def load(self, data: dict[str, Any]) -> None:
        self.reset()
        for name, table_data in data["tables"].items():
            if name in self.tables:
                self.tables[name].load(table_data)
        self.deleted.update(data.get("deleted", {}))
        self.counters.update(data.get("counters", {}))
        self.lead_assignment_owner = data.get("assignment_owner")
        self.auto_assign.update(data.get("auto_assign", {}))
