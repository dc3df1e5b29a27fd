"""Salesforce REST routes (``/services/data/vNN.N/...``): query, sObject CRUD and upsert,
getUpdated/getDeleted, sObject Collections, describe and limits.

Shapes, status codes and error bodies follow ``shared/reference/crm-wire-protocol.md`` section A,
so the unmodified simple-salesforce client maps each answer to the same result or exception it
gets from a real org.
"""

from __future__ import annotations

import re
from collections import OrderedDict
from datetime import timedelta
from typing import Any

from starlette.convertors import Convertor, register_url_convertor
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from sandbox import soql
from sandbox.errors import RecordError, SfError
from sandbox.http import BodyError, empty_response, json_response, read_json
from sandbox.ids import query_locator
from sandbox.sf_org import SalesforceOrg, WritePlan, parse_datetime, sf_datetime
from sandbox.sf_schema import ObjectDef

_ZONED = re.compile(r"T.*(Z|[+-]\d{2}:?\d{2})$")
COLLECTION_LIMIT = 200
MAX_OPEN_CURSORS = 500
VERSIONS = ("55.0", "56.0", "57.0", "58.0", "59.0", "60.0", "61.0", "62.0")
ROLLED_BACK = {"statusCode": "ALL_OR_NONE_OPERATION_ROLLED_BACK",
               "message": "Record rolled back because not all records were valid and the request "
                          "was using AllOrNone header", "fields": []}


class ReplicationKind(Convertor[str]):
    """Path segment ``updated`` or ``deleted`` (so it never shadows a record id)."""

    regex = "updated|deleted"

    def convert(self, value: str) -> str:
        return value

    def to_string(self, value: str) -> str:
        return value


register_url_convertor("updated_or_deleted", ReplicationKind())


class QueryCursors:
    """Open query results for ``nextRecordsUrl`` paging; the oldest are dropped past a cap."""

    def __init__(self) -> None:
        self._open: OrderedDict[str, tuple[list[dict[str, Any]], int]] = OrderedDict()

    def page(self, rows: list[dict[str, Any]], batch: int, version: str,
             locator: str | None = None, offset: int = 0) -> dict[str, Any]:
        end = offset + batch
        body: dict[str, Any] = {"totalSize": len(rows), "done": end >= len(rows),
                                "records": rows[offset:end]}
        if end < len(rows):
            locator = locator or query_locator()
            self._open[locator] = (rows, batch)
            self._open.move_to_end(locator)
            while len(self._open) > MAX_OPEN_CURSORS:
                self._open.popitem(last=False)
            body["nextRecordsUrl"] = f"/services/data/v{version}/query/{locator}-{end}"
        elif locator:
            self._open.pop(locator, None)
        return body

    def more(self, token: str, version: str) -> dict[str, Any]:
        locator, _, offset_text = token.rpartition("-")
        entry = self._open.get(locator)
        if entry is None or not offset_text.isdigit():
            raise SfError(400, "INVALID_QUERY_LOCATOR", "invalid query locator")
        rows, batch = entry
        return self.page(rows, batch, version, locator, int(offset_text))

    def clear(self) -> None:
        self._open.clear()


def _org(request: Request) -> SalesforceOrg:
    org: SalesforceOrg = request.app.state.sandbox.salesforce
    return org


def _version(request: Request) -> str:
    version: str = request.path_params.get("version", "59.0")
    return version


async def _body(request: Request) -> Any:
    try:
        return await read_json(request)
    except BodyError as exc:
        if exc.too_large:
            raise SfError(413, "REQUEST_TOO_LARGE", exc.message) from None
        raise SfError(400, "JSON_PARSER_ERROR", exc.message) from None


def _batch_size(header: str | None) -> int:
    """``Sforce-Query-Options: batchSize=N``: default 2000, clamped to [200, 2000]."""
    if header:
        for part in header.split(","):
            key, _, value = part.partition("=")
            if key.strip().lower() == "batchsize" and value.strip().isdigit():
                return max(200, min(2000, int(value.strip())))
    return 2000


# -- discovery ---------------------------------------------------------------------------------
async def versions(request: Request) -> Response:
    return json_response([{"label": f"v{v}", "url": f"/services/data/v{v}", "version": v}
                          for v in VERSIONS])


async def resources(request: Request) -> Response:
    base = f"/services/data/v{_version(request)}"
    return json_response({name: f"{base}/{name}" for name in
                          ("sobjects", "query", "queryAll", "limits", "composite")})


async def limits(request: Request) -> Response:
    used, total = request.app.state.sandbox.limits.salesforce_usage()
    return json_response({"DailyApiRequests": {"Max": total, "Remaining": max(0, total - used)}})


async def describe_global(request: Request) -> Response:
    version = _version(request)
    return json_response({"encoding": "UTF-8", "maxBatchSize": COLLECTION_LIMIT,
                          "sobjects": [o.summary(version) for o in _org(request).objects.values()]})


async def sobject_info(request: Request) -> Response:
    obj = _org(request).object(request.path_params["sobject"])
    return json_response({"objectDescribe": obj.summary(_version(request)), "recentItems": []})


async def describe(request: Request) -> Response:
    obj = _org(request).object(request.path_params["sobject"])
    return json_response(obj.describe(_version(request)))


# -- query ---------------------------------------------------------------------------------------
async def _run_query(request: Request, include_deleted: bool) -> Response:
    text = request.query_params.get("q")
    if not text:
        raise SfError(400, "MALFORMED_QUERY", "A query string has to be specified: pass q=<SOQL>")
    org, version = _org(request), _version(request)
    query = soql.parse(org, text)
    records = soql.execute(org, query, include_deleted)
    if query.count_only:
        return json_response({"totalSize": len(records), "done": True, "records": []})
    rows = [soql.project(org, query, record, version) for record in records]
    cursors: QueryCursors = request.app.state.sandbox.cursors
    batch = _batch_size(request.headers.get("sforce-query-options"))
    return json_response(cursors.page(rows, batch, version))


async def query(request: Request) -> Response:
    return await _run_query(request, include_deleted=False)


async def query_all(request: Request) -> Response:
    return await _run_query(request, include_deleted=True)


async def query_more(request: Request) -> Response:
    cursors: QueryCursors = request.app.state.sandbox.cursors
    return json_response(cursors.more(request.path_params["locator"], _version(request)))


# -- single records ------------------------------------------------------------------------------
def _fields_param(request: Request) -> list[str] | None:
    raw = request.query_params.get("fields")
    return [f.strip() for f in raw.split(",") if f.strip()] if raw else None


def _not_found() -> SfError:
    return SfError(404, "NOT_FOUND", "The requested resource does not exist")


def _auto_assign(request: Request) -> str | None:
    """The ``Sforce-Auto-Assign`` header (absent: the org's active assignment rule applies)."""
    return request.headers.get("sforce-auto-assign")


async def create(request: Request) -> Response:
    org = _org(request)
    obj = org.object(request.path_params["sobject"])
    body = await _body(request)
    try:
        record_id = org.apply_api(org.prepare_create(obj, body), org.now(), _auto_assign(request))
    except RecordError as exc:
        raise exc.as_sf_error() from None
    return json_response({"id": record_id, "success": True, "errors": []}, status=201)


async def get_record(request: Request) -> Response:
    org = _org(request)
    obj = org.object(request.path_params["sobject"])
    record = org.live(obj, request.path_params["record_id"])
    if record is None:
        raise _not_found()
    return json_response(org.render(obj, record, _version(request), _fields_param(request)))


async def update_record(request: Request) -> Response:
    org = _org(request)
    obj = org.object(request.path_params["sobject"])
    body = await _body(request)
    if org.live(obj, request.path_params["record_id"]) is None:
        raise _not_found()
    try:
        org.apply_api(org.prepare_update(obj, request.path_params["record_id"], body), org.now(),
                      _auto_assign(request))
    except RecordError as exc:
        raise exc.as_sf_error() from None
    return empty_response(204)


async def delete_record(request: Request) -> Response:
    org = _org(request)
    obj = org.object(request.path_params["sobject"])
    try:
        org.delete(obj, request.path_params["record_id"], org.now())
    except RecordError:
        raise _not_found() from None
    return empty_response(204)


def _several(request: Request, obj: ObjectDef, ids: list[str]) -> SfError:
    version = _version(request)
    error = SfError(300, "MULTIPLE_CHOICES", "several records match")
    error.body = [f"/services/data/v{version}/sobjects/{obj.name}/{i}" for i in ids]
    return error


async def by_external_id(request: Request) -> Response:
    """GET, PATCH (upsert) and DELETE on ``sobjects/{type}/{field}/{value}``."""
    org = _org(request)
    obj = org.object(request.path_params["sobject"])
    field, value = request.path_params["field"], request.path_params["value"]
    body = await _body(request) if request.method == "PATCH" else None
    matches = org.upsert_match(obj, field, value)
    if len(matches) > 1:
        raise _several(request, obj, matches)
    if request.method == "GET":
        if not matches:
            raise _not_found()
        record = org.tables[obj.name].records[matches[0]]
        return json_response(org.render(obj, record, _version(request), _fields_param(request)))
    if request.method == "DELETE":
        if not matches:
            raise _not_found()
        org.delete(obj, matches[0], org.now())
        return empty_response(204)
    assert body is not None
    try:
        plan = _upsert_plan(org, obj, field, value, matches, body, None)
        record_id = org.apply_api(plan, org.now(), _auto_assign(request))
    except RecordError as exc:
        raise exc.as_sf_error() from None
    created = plan.record_id is None
    if not created and float(_version(request)) < 46.0:
        return empty_response(204)
    return json_response({"id": record_id, "success": True, "errors": [], "created": created},
                         status=201 if created else 200)


def _upsert_plan(org: SalesforceOrg, obj: ObjectDef, field: str, value: str, matches: list[str],
                 body: Any, claimed: dict[tuple[str, str, Any], str] | None) -> WritePlan:
    if not isinstance(body, dict):
        raise RecordError("JSON_PARSER_ERROR", "Each record must be a JSON object")
    fd = obj.field(field)
    assert fd is not None
    data = {k: v for k, v in body.items() if k.lower() != fd.name.lower()}
    if matches:
        return org.prepare_update(obj, matches[0], data, claimed)
    if fd.name != "Id":
        data[fd.name] = value
    return org.prepare_create(obj, data, claimed)


async def replication(request: Request) -> Response:
    """getUpdated / getDeleted: ids changed in [start, end]; whole minutes, 30 days at most."""
    org = _org(request)
    obj = org.object(request.path_params["sobject"])
    start_text = request.query_params.get("start", "")
    end_text = request.query_params.get("end", "")
    start, end = parse_datetime(start_text), parse_datetime(end_text)
    zoned = all(_ZONED.search(text.strip()) for text in (start_text, end_text))
    if start is None or end is None or not zoned:
        raise SfError(400, "INVALID_REPLICATION_DATE", "start and end must be ISO 8601 datetimes "
                      "with a time zone, e.g. 2024-01-01T00:00:00+00:00: pass tz-aware datetimes")
    if end < start or end - start > timedelta(days=30):
        raise SfError(400, "INVALID_REPLICATION_DATE", "end must be after start and within 30 "
                      "days of it: ask for a shorter window")
    low, high = sf_datetime(start), sf_datetime(end)
    latest = sf_datetime(end.replace(second=0, microsecond=0))
    if request.path_params["kind"] == "updated":
        table = org.tables[obj.name]
        ids = [i for i in table.modified_between(low, high) if not table.is_hidden(i)]
        return json_response({"ids": ids, "latestDateCovered": latest})
    deleted = [{"id": i, "deletedDate": when} for i, when in org.deleted[obj.name].items()
               if low <= when <= high]
    return json_response({"deletedRecords": deleted, "earliestDateAvailable": org.created_at,
                          "latestDateCovered": latest})


# -- sObject Collections -----------------------------------------------------------------------------
def _collection(body: Any) -> tuple[bool, list[Any]]:
    if not isinstance(body, dict) or not isinstance(body.get("records"), list):
        raise SfError(400, "JSON_PARSER_ERROR", "Send {\"allOrNone\": bool, \"records\": [...]}")
    records: list[Any] = body["records"]
    if len(records) > COLLECTION_LIMIT:
        raise SfError(400, "EXCEEDED_ID_LIMIT", "record limit reached. cannot submit more than 200 "
                      "records into this call")
    return bool(body.get("allOrNone", False)), records


def _run_collection(org: SalesforceOrg, all_or_none: bool, items: list[Any],
                    prepare: Any, result_extra: Any, auto_assign: str | None) -> list[dict[str, Any]]:
    """Validate and write each item; with allOrNone nothing is written unless all validate.
    ``auto_assign`` is the request's ``Sforce-Auto-Assign`` header (it applies to every record)."""
    stamp = org.now()
    results: list[dict[str, Any]] = []
    if not all_or_none:
        for index, item in enumerate(items):
            try:
                plan = prepare(index, item, None)
                record_id = org.apply_api(plan, stamp, auto_assign)
                results.append({"id": record_id, "success": True, "errors": [],
                                **result_extra(plan)})
            except RecordError as exc:
                results.append(_failure(item, exc))
        return results
    claimed: dict[tuple[str, str, Any], str] = {}
    plans: list[WritePlan | RecordError] = []
    for index, item in enumerate(items):
        try:
            plans.append(prepare(index, item, claimed))
        except RecordError as exc:
            plans.append(exc)
    if any(isinstance(p, RecordError) for p in plans):
        for item, plan in zip(items, plans, strict=True):
            if isinstance(plan, RecordError):
                results.append(_failure(item, plan))
            else:
                results.append({"id": plan.record_id, "success": False, "errors": [ROLLED_BACK]}
                               if plan.record_id else {"success": False, "errors": [ROLLED_BACK]})
        return results
    for plan in plans:
        assert isinstance(plan, WritePlan)
        record_id = org.apply_api(plan, stamp, auto_assign)
        results.append({"id": record_id, "success": True, "errors": [], **result_extra(plan)})
    return results


def _failure(item: Any, exc: RecordError) -> dict[str, Any]:
    result: dict[str, Any] = {"success": False, "errors": [exc.as_collection_item()]}
    if isinstance(item, dict) and (item.get("id") or item.get("Id")):
        result = {"id": item.get("id") or item.get("Id"), **result}
    return result


def _item_type(org: SalesforceOrg, item: Any) -> ObjectDef:
    attributes = item.get("attributes") if isinstance(item, dict) else None
    name = attributes.get("type") if isinstance(attributes, dict) else None
    if not name:
        raise RecordError("INVALID_TYPE", "Must specify a type in attributes: "
                          "{\"attributes\": {\"type\": \"Lead\"}}")
    obj = org.object_or_none(str(name))
    if obj is None:
        raise RecordError("INVALID_TYPE", f"sObject type '{str(name)[:80]}' is not supported.")
    return obj


async def collection_create(request: Request) -> Response:
    org = _org(request)
    all_or_none, items = _collection(await _body(request))

    def prepare(index: int, item: Any, claimed: Any) -> WritePlan:
        return org.prepare_create(_item_type(org, item), item, claimed)

    return json_response(_run_collection(org, all_or_none, items, prepare, lambda plan: {},
                                         _auto_assign(request)))


async def collection_update(request: Request) -> Response:
    org = _org(request)
    all_or_none, items = _collection(await _body(request))

    def prepare(index: int, item: Any, claimed: Any) -> WritePlan:
        obj = _item_type(org, item)
        record_id = item.get("id") or item.get("Id")
        if not record_id:
            raise RecordError("MISSING_ARGUMENT", "Id not specified in an update call")
        data = {k: v for k, v in item.items() if k not in ("id", "Id")}
        return org.prepare_update(obj, str(record_id), data, claimed)

    return json_response(_run_collection(org, all_or_none, items, prepare, lambda plan: {},
                                         _auto_assign(request)))


async def collection_upsert(request: Request) -> Response:
    org = _org(request)
    obj = org.object(request.path_params["sobject"])
    field = request.path_params["field"]
    org.upsert_match(obj, field, "")  # 404 now if the field is not an external id
    fd = obj.field(field)
    assert fd is not None
    all_or_none, items = _collection(await _body(request))
    keys = [_external_value(item, fd.name) for item in items]
    counts: dict[str, int] = {}
    for key in keys:
        if key:
            counts[key.casefold()] = counts.get(key.casefold(), 0) + 1

    def prepare(index: int, item: Any, claimed: Any) -> WritePlan:
        if _item_type(org, item).name != obj.name:
            raise RecordError("INVALID_TYPE", f"every record must be of type {obj.name} here")
        value = keys[index]
        if not value:
            raise RecordError("MISSING_ARGUMENT", f"{fd.name} not specified", [fd.name])
        if counts[value.casefold()] > 1:
            raise RecordError("DUPLICATE_EXTERNAL_ID", f"Duplicate external id specified: "
                              f"{value[:80]}", [fd.name])
        matches = org.upsert_match(obj, fd.name, value)
        if len(matches) > 1:
            raise RecordError("DUPLICATE_EXTERNAL_ID", f"{fd.name}: more than one record found "
                              f"for external id field: {matches}", [fd.name])
        return _upsert_plan(org, obj, fd.name, value, matches, item, claimed)

    results = _run_collection(org, all_or_none, items, prepare,
                              lambda plan: {"created": plan.record_id is None}, _auto_assign(request))
    return json_response(results)


def _external_value(item: Any, field: str) -> str | None:
    if not isinstance(item, dict):
        return None
    for key, value in item.items():
        if key.lower() == field.lower() and value not in (None, ""):
            return str(value)
    return None


async def collection_delete(request: Request) -> Response:
    org = _org(request)
    ids = [i for i in request.query_params.get("ids", "").split(",") if i]
    if len(ids) > COLLECTION_LIMIT:
        raise SfError(400, "EXCEEDED_ID_LIMIT", "record limit reached. cannot submit more than 200 "
                      "records into this call")
    all_or_none = request.query_params.get("allOrNone", "false").lower() == "true"
    stamp = org.now()
    problems: dict[str, RecordError] = {}
    targets: list[tuple[str, ObjectDef | None]] = []
    for record_id in ids:
        obj = org.owner_of_id(record_id)
        if obj is None or org.live(obj, record_id) is None:
            deleted = obj is not None and org.live(obj, record_id) is None and any(
                record_id[:15] == d[:15] for d in org.deleted[obj.name])
            problems[record_id] = RecordError(
                "ENTITY_IS_DELETED" if deleted else "MALFORMED_ID" if obj is None
                else "INVALID_CROSS_REFERENCE_KEY",
                "entity is deleted" if deleted else f"malformed id {record_id[:20]}"
                if obj is None else "invalid cross reference id")
        targets.append((record_id, obj))
    results = []
    for record_id, obj in targets:
        if record_id in problems:
            results.append({"id": record_id, "success": False,
                            "errors": [problems[record_id].as_collection_item()]})
        elif all_or_none and problems:
            results.append({"id": record_id, "success": False, "errors": [ROLLED_BACK]})
        else:
            assert obj is not None
            org.delete(obj, record_id, stamp)
            results.append({"id": record_id, "success": True, "errors": []})
    return json_response(results)


async def collection_retrieve(request: Request) -> Response:
    org = _org(request)
    obj = org.object(request.path_params["sobject"])
    ids = [i for i in request.query_params.get("ids", "").split(",") if i]
    fields = _fields_param(request)
    if len(ids) > 2000:
        raise SfError(400, "EXCEEDED_ID_LIMIT", "cannot retrieve more than 2000 records at once")
    version = _version(request)
    out = []
    for record_id in ids:
        record = org.live(obj, record_id)
        out.append(None if record is None else org.render(obj, record, version, fields))
    return json_response(out)


def _both(path: str, endpoint: Any, methods: list[str]) -> list[Route]:
    """Clients add or omit trailing slashes; answer both without a redirect."""
    return [Route(path, endpoint, methods=methods), Route(path + "/", endpoint, methods=methods)]


BASE = "/services/data/v{version}"
ROUTES: list[Route] = [
    *_both("/services/data", versions, ["GET"]),
    *_both(BASE, resources, ["GET"]),
    *_both(BASE + "/limits", limits, ["GET"]),
    *_both(BASE + "/query", query, ["GET"]),
    *_both(BASE + "/queryAll", query_all, ["GET"]),
    *_both(BASE + "/query/{locator}", query_more, ["GET"]),
    *_both(BASE + "/queryAll/{locator}", query_more, ["GET"]),
    *_both(BASE + "/sobjects", describe_global, ["GET"]),
    *_both(BASE + "/sobjects/{sobject}", sobject_info, ["GET"]),
    *_both(BASE + "/sobjects/{sobject}", create, ["POST"]),
    *_both(BASE + "/sobjects/{sobject}/describe", describe, ["GET"]),
    *_both(BASE + "/sobjects/{sobject}/{kind:updated_or_deleted}", replication, ["GET"]),
    *_both(BASE + "/sobjects/{sobject}/{record_id}", get_record, ["GET"]),
    *_both(BASE + "/sobjects/{sobject}/{record_id}", update_record, ["PATCH"]),
    *_both(BASE + "/sobjects/{sobject}/{record_id}", delete_record, ["DELETE"]),
    *_both(BASE + "/sobjects/{sobject}/{field}/{value}", by_external_id,
           ["GET", "PATCH", "DELETE"]),
    *_both(BASE + "/composite/sobjects", collection_create, ["POST"]),
    *_both(BASE + "/composite/sobjects", collection_update, ["PATCH"]),
    *_both(BASE + "/composite/sobjects", collection_delete, ["DELETE"]),
    *_both(BASE + "/composite/sobjects/{sobject}", collection_retrieve, ["GET"]),
    *_both(BASE + "/composite/sobjects/{sobject}/{field}", collection_upsert, ["PATCH"]),
]
