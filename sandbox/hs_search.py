"""HubSpot CRM search (``POST /crm/v3/objects/{type}/search``) over the in-memory portal.

Limits as documented: at most 200 results a page, 5 filter groups of at most 6 filters (18 in all),
one sort, and no paging past the 10,000th result. Filters in a group are ANDed, groups ORed. Date
values are epoch milliseconds (ISO 8601 is accepted too). A single ``EQ`` on a unique property or a
``GT``/``GTE`` on the last-modified property reads an index instead of every object.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Callable, Iterable
from typing import Any

from sandbox.errors import HsError
from sandbox.hs_portal import HubSpotPortal, ObjectType, PropDef, hs_datetime, parse_hs_datetime
from sandbox.state import Record

MAX_PAGE = 200
MAX_RESULTS = 10_000
MAX_GROUPS, MAX_FILTERS_PER_GROUP, MAX_FILTERS = 5, 6, 18
Predicate = Callable[[Record], bool]


def _bad(message: str) -> HsError:
    return HsError(400, "VALIDATION_ERROR", message)


def _converter(definition: PropDef) -> Callable[[Any], Any]:
    """Turns a filter value or a stored value into something comparable for this property."""
    if definition.type == "number":
        def number(value: Any) -> float | None:
            try:
                return None if value in (None, "") else float(value)
            except (TypeError, ValueError):
                raise _bad(f"{value!s:.40} is not a number (property {definition.name})") from None
        return number
    if definition.type == "datetime":
        def moment(value: Any) -> str | None:
            if value in (None, ""):
                return None
            parsed = parse_hs_datetime(str(value))
            if parsed is None:
                raise _bad(f"{value!s:.40} is not a date: send epoch milliseconds "
                           f"(property {definition.name})")
            return hs_datetime(parsed)
        return moment
    return lambda value: None if value in (None, "") else str(value).casefold()


def _filter(portal: HubSpotPortal, otype: ObjectType, spec: Any) -> tuple[Predicate, dict[str, Any]]:
    if not isinstance(spec, dict) or "propertyName" not in spec or "operator" not in spec:
        raise _bad("Each filter needs propertyName and operator")
    name, op = str(spec["propertyName"]), str(spec["operator"]).upper()
    definition = portal.properties[otype.name].get(name)
    if definition is None:
        raise _bad(f"There was a problem with the request: property {name[:60]} does not exist "
                   f"on {otype.name}")
    convert = _converter(definition)

    def read(record: Record) -> Any:
        stored = record.get(name)
        return None if stored is None else convert(stored)

    if op == "HAS_PROPERTY":
        return (lambda r: r.get(name) not in (None, "")), spec
    if op == "NOT_HAS_PROPERTY":
        return (lambda r: r.get(name) in (None, "")), spec
    if op in ("IN", "NOT_IN"):
        raw_values = spec.get("values")
        if not isinstance(raw_values, list):
            raise _bad(f"{op} needs values: [...]")
        values = {convert(v) for v in raw_values}
        if op == "IN":
            return (lambda r: read(r) in values), spec
        return (lambda r: read(r) not in values), spec
    if op in ("CONTAINS_TOKEN", "NOT_CONTAINS_TOKEN"):
        pattern = str(spec.get("value", "")).casefold()

        def contains(record: Record) -> bool:
            text = str(record.get(name) or "").casefold()
            if "*" in pattern:
                return fnmatch.fnmatchcase(text, pattern) or any(
                    fnmatch.fnmatchcase(t, pattern) for t in re.split(r"[\s@.,;]+", text))
            return pattern in re.split(r"[\s@.,;]+", text) or pattern == text
        if op == "CONTAINS_TOKEN":
            return contains, spec
        return (lambda r: not contains(r)), spec
    value = convert(spec.get("value"))
    if op == "BETWEEN":
        high = convert(spec.get("highValue"))
        return (lambda r: (v := read(r)) is not None and value <= v <= high), spec
    checks: dict[str, Callable[[Any], bool]] = {
        "EQ": lambda v: v == value, "NEQ": lambda v: v != value,
        "LT": lambda v: v is not None and v < value, "LTE": lambda v: v is not None and v <= value,
        "GT": lambda v: v is not None and v > value, "GTE": lambda v: v is not None and v >= value,
    }
    if op not in checks:
        raise _bad(f"Unknown operator {op[:30]}: use EQ, NEQ, LT, LTE, GT, GTE, BETWEEN, IN, NOT_IN, "
                   "HAS_PROPERTY, NOT_HAS_PROPERTY, CONTAINS_TOKEN or NOT_CONTAINS_TOKEN")
    if value is None:
        raise _bad(f"Filter on {name[:60]} with {op} needs a value")
    check = checks[op]
    return (lambda r: check(read(r))), {**spec, "_value": value}


def _candidates(portal: HubSpotPortal, otype: ObjectType,
                groups: list[list[dict[str, Any]]]) -> Iterable[str]:
    table = portal.tables[otype.name]
    if len(groups) == 1:
        for spec in groups[0]:
            name, op = spec["propertyName"], str(spec["operator"]).upper()
            if op == "EQ" and table.indexed(name):
                return table.find(name, spec.get("value"))
            if op in ("GT", "GTE") and name == otype.modified and "_value" in spec:
                return list(table.modified_between(spec["_value"], None,
                                                   low_inclusive=op == "GTE"))
    return list(table.records)


def _sort_key(portal: HubSpotPortal, otype: ObjectType, sort: Any) -> tuple[str, bool]:
    if isinstance(sort, str):
        return sort.lstrip("-"), sort.startswith("-")
    if isinstance(sort, dict) and "propertyName" in sort:
        return str(sort["propertyName"]), str(sort.get("direction", "ASCENDING")).upper() == "DESCENDING"
    raise _bad("A sort is {\"propertyName\": ..., \"direction\": \"ASCENDING\"|\"DESCENDING\"}")


def run_search(portal: HubSpotPortal, otype: ObjectType, body: dict[str, Any]) -> dict[str, Any]:
    try:
        limit = int(body.get("limit") or 10)
        after = int(body.get("after") or 0)
    except (TypeError, ValueError):
        raise _bad("limit and after must be integers") from None
    if not 1 <= limit <= MAX_PAGE:
        raise _bad(f"limit must be between 1 and {MAX_PAGE}")
    if after < 0 or after + limit > MAX_RESULTS:
        raise _bad(f"The search API returns at most {MAX_RESULTS} results per query: narrow the "
                   "filters (e.g. by lastmodifieddate) instead of paging further")
    raw_groups = body.get("filterGroups") or []
    if not isinstance(raw_groups, list) or len(raw_groups) > MAX_GROUPS:
        raise _bad(f"At most {MAX_GROUPS} filterGroups are allowed")
    groups: list[list[dict[str, Any]]] = []
    predicates: list[list[Predicate]] = []
    for group in raw_groups:
        filters = group.get("filters") if isinstance(group, dict) else None
        if not isinstance(filters, list) or len(filters) > MAX_FILTERS_PER_GROUP:
            raise _bad(f"Each filterGroup has a filters list of at most {MAX_FILTERS_PER_GROUP}")
        compiled = [_filter(portal, otype, spec) for spec in filters]
        predicates.append([c[0] for c in compiled])
        groups.append([c[1] for c in compiled])
    if sum(len(g) for g in groups) > MAX_FILTERS:
        raise _bad(f"At most {MAX_FILTERS} filters are allowed across all filterGroups")
    sorts = body.get("sorts") or []
    if not isinstance(sorts, list) or len(sorts) > 1:
        raise _bad("At most one sort is allowed")
    text = str(body.get("query") or "").strip().casefold()
    table = portal.tables[otype.name]
    matches: list[Record] = []
    for object_id in _candidates(portal, otype, groups):
        record = table.records[object_id]
        if record.get("_archived"):
            continue
        if predicates and not any(all(p(record) for p in group) for group in predicates):
            continue
        if text and not any(str(record.get(f) or "").casefold().startswith(text) or
                            text in str(record.get(f) or "").casefold().split()
                            for f in otype.searchable):
            continue
        matches.append(record)
    matches.sort(key=lambda r: int(r["hs_object_id"]))
    if sorts:
        name, descending = _sort_key(portal, otype, sorts[0])
        definition = portal.properties[otype.name].get(name)
        if definition is None:
            raise _bad(f"Cannot sort by unknown property {name[:60]}")
        convert = _converter(definition)
        present = [r for r in matches if r.get(name) not in (None, "")]
        absent = [r for r in matches if r.get(name) in (None, "")]
        present.sort(key=lambda r: convert(r.get(name)), reverse=descending)
        matches = present + absent
    page = matches[after:after + limit]
    properties = body.get("properties") or None
    out: dict[str, Any] = {"total": len(matches),
                           "results": [portal.render(otype, r, properties) for r in page]}
    if after + limit < len(matches):
        out["paging"] = {"next": {"after": str(after + limit)}}
    return out
