"""The sandbox HubSpot portal: contacts, companies and deals, their properties, owners and
associations.

Objects are stored as flat property dicts (every value a string or None, as HubSpot returns them)
in :class:`~sandbox.state.Table`\\ s indexed by their unique properties (``email``,
``leadhub_lead_id``, ``leadhub_account_id``) and by the last-modified property. Timestamps are ISO
8601 UTC with milliseconds (``2024-09-11T13:27:39.356Z``), which sorts correctly as text.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from sandbox.errors import HsError
from sandbox.state import Record, Table

EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
MAX_VALUE_CHARS = 65_536
INTERNAL = ("_archived", "_archivedAt")


def hs_now() -> str:
    return hs_datetime(datetime.now(UTC))


def hs_datetime(moment: datetime) -> str:
    moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def parse_hs_datetime(value: str) -> datetime | None:
    """Epoch milliseconds (what the API documents) or ISO 8601."""
    text = value.strip()
    if re.fullmatch(r"-?\d+", text):
        return datetime.fromtimestamp(int(text) / 1000, UTC)
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


@dataclass(frozen=True)
class PropDef:
    name: str
    type: str  # string | number | datetime | date | enumeration | bool
    label: str
    options: tuple[str, ...] = ()
    read_only: bool = False
    unique: bool = False


@dataclass(frozen=True)
class ObjectType:
    name: str
    type_id: str
    singular: str
    modified: str
    defaults: tuple[str, ...]
    searchable: tuple[str, ...]
    required: tuple[str, ...] = ()


LIFECYCLE = ("subscriber", "lead", "marketingqualifiedlead", "salesqualifiedlead", "opportunity",
             "customer", "evangelist", "other")
LEAD_STATUS = ("NEW", "OPEN", "IN_PROGRESS", "OPEN_DEAL", "UNQUALIFIED", "ATTEMPTED_TO_CONTACT",
               "CONNECTED", "BAD_TIMING")
DEAL_STAGES = ("appointmentscheduled", "qualifiedtobuy", "presentationscheduled",
               "decisionmakerboughtin", "contractsent", "closedwon", "closedlost")
OBJECT_TYPES: dict[str, ObjectType] = {
    "contacts": ObjectType("contacts", "0-1", "CONTACT", "lastmodifieddate",
                           ("createdate", "email", "firstname", "hs_object_id",
                            "lastmodifieddate", "lastname"),
                           ("email", "firstname", "lastname", "phone", "company")),
    "companies": ObjectType("companies", "0-2", "COMPANY", "hs_lastmodifieddate",
                            ("name", "domain", "createdate", "hs_lastmodifieddate", "hs_object_id"),
                            ("name", "domain", "website", "phone")),
    "deals": ObjectType("deals", "0-3", "DEAL", "hs_lastmodifieddate",
                        ("dealname", "amount", "closedate", "pipeline", "dealstage", "createdate",
                         "hs_lastmodifieddate", "hs_object_id"),
                        ("dealname",), required=("dealname", "dealstage")),
}
TYPE_ALIASES = {**{t.type_id: t.name for t in OBJECT_TYPES.values()},
                **{t.name: t.name for t in OBJECT_TYPES.values()},
                "contact": "contacts", "company": "companies", "deal": "deals"}


def _props(*defs: PropDef) -> dict[str, PropDef]:
    return {d.name: d for d in defs}


def build_properties() -> dict[str, dict[str, PropDef]]:
    common = (
        PropDef("hs_object_id", "number", "Record ID", read_only=True),
        PropDef("createdate", "datetime", "Create Date", read_only=True),
        PropDef("hubspot_owner_id", "enumeration", "Owner"),
    )
    return {
        "contacts": _props(*common,
            PropDef("lastmodifieddate", "datetime", "Last Modified Date", read_only=True),
            PropDef("email", "string", "Email", unique=True),
            PropDef("firstname", "string", "First Name"),
            PropDef("lastname", "string", "Last Name"),
            PropDef("phone", "string", "Phone Number"),
            PropDef("jobtitle", "string", "Job Title"),
            PropDef("company", "string", "Company Name"),
            PropDef("website", "string", "Website URL"),
            PropDef("country", "string", "Country/Region"),
            PropDef("lifecyclestage", "enumeration", "Lifecycle Stage", LIFECYCLE),
            PropDef("hs_lead_status", "enumeration", "Lead Status", LEAD_STATUS),
            PropDef("leadhub_lead_id", "string", "LeadHub lead id", unique=True),
            PropDef("leadhub_score", "number", "LeadHub score"),
            PropDef("leadhub_product_line", "string", "LeadHub product line"),
            PropDef("leadhub_partner_id", "string", "LeadHub partner id"),
            PropDef("leadhub_grade", "string", "LeadHub grade"),
            PropDef("leadhub_sla_due", "datetime", "LeadHub SLA due")),
        "companies": _props(*common,
            PropDef("hs_lastmodifieddate", "datetime", "Last Modified Date", read_only=True),
            PropDef("name", "string", "Company name"),
            PropDef("domain", "string", "Company Domain Name"),
            PropDef("website", "string", "Website URL"),
            PropDef("phone", "string", "Phone Number"),
            PropDef("industry", "string", "Industry"),
            PropDef("country", "string", "Country/Region"),
            PropDef("numberofemployees", "number", "Number of Employees"),
            PropDef("lifecyclestage", "enumeration", "Lifecycle Stage", LIFECYCLE),
            # Kept by HubSpot from the child-to-parent company association (type 14).
            PropDef("hs_parent_company_id", "number", "Parent Company", read_only=True),
            PropDef("leadhub_account_id", "string", "LeadHub account id", unique=True)),
        "deals": _props(*common,
            PropDef("hs_lastmodifieddate", "datetime", "Last Modified Date", read_only=True),
            PropDef("dealname", "string", "Deal Name"),
            PropDef("amount", "number", "Amount"),
            PropDef("dealstage", "enumeration", "Deal Stage", DEAL_STAGES),
            PropDef("pipeline", "enumeration", "Pipeline", ("default",)),
            PropDef("closedate", "datetime", "Close Date"),
            PropDef("closed_lost_reason", "string", "Closed Lost Reason"),
            PropDef("leadhub_lead_id", "string", "LeadHub lead id", unique=True)),
    }


def _invalid(name: str, code: str, message: str) -> dict[str, Any]:
    return {"isValid": False, "message": message, "error": code, "name": name,
            "localizedErrorMessage": message}


def validation_error(problems: list[dict[str, Any]]) -> HsError:
    return HsError(400, "VALIDATION_ERROR",
                   f"Property values were not valid: {json.dumps(problems)}",
                   errors=[{"message": p["message"], "code": p["error"],
                            "context": {"propertyName": [p["name"]]}} for p in problems])


class HubSpotPortal:
    """All HubSpot state. Ids are numeric strings from one counter (unique across types)."""

    def __init__(self) -> None:
        self.properties: dict[str, dict[str, PropDef]] = {}
        self.tables: dict[str, Table] = {}
        self.owners: dict[str, dict[str, Any]] = {}
        self.links: dict[tuple[str, str], dict[str, dict[str, set[int]]]] = {}
        self.next_id = 0
        self.reset()

    def reset(self) -> None:
        self.properties = build_properties()
        self.tables = {
            name: Table(name, [p.name for p in props.values() if p.unique],
                        OBJECT_TYPES[name].modified)
            for name, props in self.properties.items()}
        self.owners = {}
        self.links = {}
        self.next_id = 100_000

    # -- lookups -----------------------------------------------------------------------------------
    @staticmethod
    def object_type(name: str) -> ObjectType:
        canonical = TYPE_ALIASES.get(name.lower())
        if canonical is None:
            raise HsError(400, "VALIDATION_ERROR", f"Unable to infer object type from: {name[:60]}. "
                          "Use contacts, companies or deals.")
        return OBJECT_TYPES[canonical]

    def get(self, otype: ObjectType, object_id: str, archived: bool = False) -> Record | None:
        table = self.tables[otype.name]
        record = table.get(object_id)
        if record is None or bool(record.get("_archived")) != archived:
            return None
        return record

    def find_unique(self, otype: ObjectType, prop: str, value: str) -> Record | None:
        ids = self.tables[otype.name].find(prop, value)
        return self.tables[otype.name].records[ids[0]] if ids else None

    def unique_prop(self, otype: ObjectType, prop: str) -> PropDef:
        definition = self.properties[otype.name].get(prop)
        if definition is None or not (definition.unique or prop == "hs_object_id"):
            raise HsError(400, "VALIDATION_ERROR", f"{prop[:60]} is not a unique property of "
                          f"{otype.name}: use hs_object_id or one of "
                          f"{[p.name for p in self.properties[otype.name].values() if p.unique]}")
        return definition

    def lookup(self, otype: ObjectType, object_id: str, id_property: str | None,
               archived: bool = False) -> Record | None:
        if id_property and id_property != "hs_object_id":
            self.unique_prop(otype, id_property)
            record = self.find_unique(otype, id_property, object_id)
            return record if record is not None and not archived else None
        return self.get(otype, object_id, archived)

    # -- validation ----------------------------------------------------------------------------------
    def clean(self, otype: ObjectType, properties: Any, creating: bool) -> dict[str, str | None]:
        """Validated, canonical property values; raises one 400 listing every bad property."""
        if properties is None:
            properties = {}
        if not isinstance(properties, dict):
            raise HsError(400, "VALIDATION_ERROR", "properties must be an object of name: value")
        defs = self.properties[otype.name]
        clean: dict[str, str | None] = {}
        problems: list[dict[str, Any]] = []
        for name, raw in properties.items():
            definition = defs.get(name)
            if definition is None:
                problems.append(_invalid(name, "PROPERTY_DOESNT_EXIST",
                                         f'Property "{name[:80]}" does not exist'))
                continue
            if definition.read_only:
                problems.append(_invalid(name, "READ_ONLY_VALUE",
                                         f'"{name}" is a read only property; its value cannot be set.'))
                continue
            try:
                clean[name] = self._value(otype, definition, raw)
            except ValueError as exc:
                code, message = exc.args
                problems.append(_invalid(name, code, message))
        if creating:
            for name in otype.required:
                if not clean.get(name):
                    problems.append(_invalid(name, "REQUIRED_PROPERTY",
                                             f'"{name}" is required to create a {otype.singular.lower()}'))
            if otype.name == "deals" and not clean.get("pipeline"):
                clean["pipeline"] = "default"
        if problems:
            raise validation_error(problems)
        return clean

    def _value(self, otype: ObjectType, definition: PropDef, raw: Any) -> str | None:
        if raw is None or raw == "":
            return None
        if isinstance(raw, (dict, list)):
            raise ValueError("INVALID_VALUE", f"{definition.name} must be a string, not JSON")
        text = ("true" if raw else "false") if isinstance(raw, bool) else str(raw)
        if len(text) > MAX_VALUE_CHARS:
            raise ValueError("INVALID_LENGTH", f"{definition.name} is longer than "
                             f"{MAX_VALUE_CHARS} characters")
        kind = definition.type
        if definition.name == "email":
            if not EMAIL_RE.match(text):
                raise ValueError("INVALID_EMAIL", f"Email address {text[:80]} is invalid")
            return text.strip().lower()
        if kind == "number":
            try:
                number = float(text)
            except ValueError:
                raise ValueError("INVALID_INTEGER", f"{text[:40]} was not a valid number.") from None
            return str(int(number)) if number.is_integer() else repr(number)
        if kind == "datetime":
            moment = parse_hs_datetime(text)
            if moment is None:
                raise ValueError("INVALID_DATE", f"{text[:40]} was not a valid datetime: send "
                                 "epoch milliseconds or ISO 8601")
            return hs_datetime(moment)
        if kind == "date":
            try:
                return date.fromisoformat(text[:10]).isoformat()
            except ValueError:
                raise ValueError("INVALID_DATE", f"{text[:40]} was not a valid date") from None
        if kind == "bool":
            if text.lower() not in ("true", "false"):
                raise ValueError("INVALID_BOOLEAN", f"{text[:40]} was not a valid boolean")
            return text.lower()
        if kind == "enumeration":
            options = tuple(self.owners) if definition.name == "hubspot_owner_id" \
                else definition.options
            if text not in options:
                raise ValueError("INVALID_OPTION", f"{text[:80]} was not one of the allowed "
                                 f"options: {list(options)[:20]}")
        return text

    def conflict(self, otype: ObjectType, values: dict[str, str | None],
                 own_id: str | None) -> HsError | None:
        """A 409 if a unique property value is taken by another object, else None."""
        for name, value in values.items():
            if value is None or not self.properties[otype.name][name].unique:
                continue
            other = self.find_unique(otype, name, value)
            if other is not None and other["hs_object_id"] != own_id:
                if otype.name == "contacts" and name == "email":
                    message = f"Contact already exists. Existing ID: {other['hs_object_id']}"
                else:
                    message = (f"A {otype.singular.lower()} with {name}={value[:80]} already "
                               f"exists. Existing ID: {other['hs_object_id']}")
                return HsError(409, "CONFLICT", message)
        return None

    # -- writes --------------------------------------------------------------------------------------
    def insert(self, otype: ObjectType, values: dict[str, str | None], stamp: str) -> Record:
        self.next_id += 1
        object_id = str(self.next_id)
        record: Record = dict(values)
        record.update({"hs_object_id": object_id, "createdate": stamp, otype.modified: stamp})
        self.tables[otype.name].insert(object_id, record)
        return record

    def update(self, otype: ObjectType, record: Record, values: dict[str, str | None],
               stamp: str) -> Record:
        changes: Record = {**values, otype.modified: stamp}
        table = self.tables[otype.name]
        if record.get("_archived"):
            table.restore(record["hs_object_id"], {**changes, "_archived": False,
                                                   "_archivedAt": None})
        else:
            table.update(record["hs_object_id"], changes)
        return record

    def archive(self, otype: ObjectType, object_id: str, stamp: str) -> bool:
        record = self.get(otype, object_id)
        if record is None:
            return False
        self.tables[otype.name].hide(object_id, {"_archived": True, "_archivedAt": stamp})
        return True

    # -- rendering -------------------------------------------------------------------------------------
    def render(self, otype: ObjectType, record: Record,
               properties: list[str] | None = None) -> dict[str, Any]:
        if properties:
            names = [p for p in properties if p in self.properties[otype.name]]
            for always in ("createdate", "hs_object_id", otype.modified):
                if always not in names:
                    names.append(always)
        else:
            names = list(otype.defaults)
        out: dict[str, Any] = {
            "id": record["hs_object_id"],
            "properties": {name: record.get(name) for name in names},
            "createdAt": record["createdate"], "updatedAt": record[otype.modified],
            "archived": bool(record.get("_archived")),
        }
        if record.get("_archived"):
            out["archivedAt"] = record.get("_archivedAt")
        return out

    # -- owners ----------------------------------------------------------------------------------------
    def add_owner(self, owner_id: str, user_id: int, first: str, last: str, email: str) -> None:
        stamp = hs_now()
        self.owners[owner_id] = {
            "id": owner_id, "email": email, "type": "PERSON", "firstName": first,
            "lastName": last, "userId": user_id, "userIdIncludingInactive": user_id,
            "createdAt": stamp, "updatedAt": stamp, "archived": False, "teams": []}

    # -- persistence ----------------------------------------------------------------------------------
    def dump(self) -> dict[str, Any]:
        return {"tables": {n: t.dump() for n, t in self.tables.items()}, "owners": self.owners,
                "links": [[f, i, t, ti, sorted(types)] for (f, i), targets in self.links.items()
                          for t, by_id in targets.items() for ti, types in by_id.items()],
                "next_id": self.next_id}

    def load(self, data: dict[str, Any]) -> None:
        self.reset()
        for name, table_data in data["tables"].items():
            self.tables[name].load(table_data)
        self.owners = data.get("owners", {})
        for from_type, from_id, to_type, to_id, types in data.get("links", []):
            self.links.setdefault((from_type, from_id), {}).setdefault(to_type, {})[to_id] = set(types)
        self.next_id = data.get("next_id", self.next_id)
