"""HubSpot CRM v3 object routes: basic CRUD, list paging, batch create/read/update/upsert/archive
and search, for contacts, companies and deals (``/crm/v3/objects/{objectType}/...``).

Status codes are exact (hubspot-api-client decodes a body only for the status it expects: 201 for
create, 200 for update/upsert/read, 207 when a batch has per-input errors, 204 for archive).
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from sandbox import hs_assoc
from sandbox.errors import HsError
from sandbox.hs_portal import HubSpotPortal, ObjectType, hs_now
from sandbox.hs_search import run_search
from sandbox.http import (
    BodyError,
    empty_response,
    json_response,
    query_bool,
    query_list,
    read_json,
)
from sandbox.state import Record

BATCH_LIMIT = 100
PAGE_LIMIT = 100


def _portal(request: Request) -> HubSpotPortal:
    portal: HubSpotPortal = request.app.state.sandbox.hubspot
    return portal


async def _body(request: Request) -> Any:
    try:
        return await read_json(request)
    except BodyError as exc:
        if exc.too_large:
            raise HsError(413, "VALIDATION_ERROR", exc.message) from None
        raise HsError(400, "VALIDATION_ERROR", f"Invalid input JSON: {exc.message}") from None


def _not_found(object_id: str) -> HsError:
    return HsError(404, "OBJECT_NOT_FOUND", "Object not found.  objectId are usually numeric.",
                   context={"id": [object_id[:80]]})


def _inputs(body: Any) -> list[dict[str, Any]]:
    if not isinstance(body, dict) or not isinstance(body.get("inputs"), list):
        raise HsError(400, "VALIDATION_ERROR", "Invalid input JSON: send {\"inputs\": [...]}")
    inputs: list[Any] = body["inputs"]
    if len(inputs) > BATCH_LIMIT:
        raise HsError(400, "VALIDATION_ERROR", f"Batch input size {len(inputs)} exceeds the limit "
                      f"of {BATCH_LIMIT}: split the batch")
    if not all(isinstance(item, dict) for item in inputs):
        raise HsError(400, "VALIDATION_ERROR", "Every input must be a JSON object")
    return inputs


def batch_body(results: list[dict[str, Any]], errors: list[dict[str, Any]], started: str,
               ok_status: int) -> Response:
    body: dict[str, Any] = {"status": "COMPLETE", "results": results, "startedAt": started,
                            "completedAt": hs_now()}
    if errors:
        body.update(numErrors=len(errors), errors=errors)
        return json_response(body, status=207)
    return json_response(body, status=ok_status)


def batch_error(category: str, message: str, ids: list[str]) -> dict[str, Any]:
    return {"status": "error", "category": category, "message": message,
            "context": {"ids": ids}, "errors": [], "links": {}}


# -- basic ---------------------------------------------------------------------------------------
async def create_object(request: Request) -> Response:
    portal = _portal(request)
    otype = portal.object_type(request.path_params["object_type"])
    body = await _body(request)
    if not isinstance(body, dict):
        raise HsError(400, "VALIDATION_ERROR", "Send {\"properties\": {...}}")
    values = portal.clean(otype, body.get("properties"), creating=True)
    associations = hs_assoc.parse_create_associations(portal, otype, body.get("associations"))
    conflict = portal.conflict(otype, values, None)
    if conflict:
        raise conflict
    record = portal.insert(otype, values, hs_now())
    hs_assoc.apply_create_associations(portal, otype, record["hs_object_id"], associations)
    return json_response(portal.render(otype, record, list(values)), status=201)


async def get_object(request: Request) -> Response:
    portal = _portal(request)
    otype = portal.object_type(request.path_params["object_type"])
    object_id = request.path_params["object_id"]
    record = portal.lookup(otype, object_id, request.query_params.get("idProperty"),
                           query_bool(request.query_params.get("archived")))
    if record is None:
        raise _not_found(object_id)
    out = portal.render(otype, record, query_list(request, "properties"))
    wanted = query_list(request, "associations")
    if wanted:
        out["associations"] = hs_assoc.v3_associations(portal, otype, record["hs_object_id"], wanted)
    return json_response(out)


async def list_objects(request: Request) -> Response:
    portal = _portal(request)
    otype = portal.object_type(request.path_params["object_type"])
    limit = _int(request.query_params.get("limit"), 10, "limit")
    if not 1 <= limit <= PAGE_LIMIT:
        raise HsError(400, "VALIDATION_ERROR", f"limit must be between 1 and {PAGE_LIMIT}")
    after = _int(request.query_params.get("after"), 0, "after")
    archived = query_bool(request.query_params.get("archived"))
    properties = query_list(request, "properties")
    wanted = query_list(request, "associations")
    table = portal.tables[otype.name]
    # Ids are increasing integers, so `after` is the last id seen.
    ids = sorted((int(i) for i, r in table.records.items()
                  if int(i) > after and bool(r.get("_archived")) == archived))
    page = ids[:limit]
    results = []
    for object_id in page:
        out = portal.render(otype, table.records[str(object_id)], properties)
        if wanted:
            out["associations"] = hs_assoc.v3_associations(portal, otype, str(object_id), wanted)
        results.append(out)
    body: dict[str, Any] = {"results": results}
    if len(ids) > limit:
        next_after = str(page[-1])
        body["paging"] = {"next": {"after": next_after, "link": f"{request.url.path}?after={next_after}"}}
    return json_response(body)


def _int(raw: str | None, default: int, name: str) -> int:
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise HsError(400, "VALIDATION_ERROR", f"{name} must be an integer, got {raw[:20]}") from None


async def update_object(request: Request) -> Response:
    portal = _portal(request)
    otype = portal.object_type(request.path_params["object_type"])
    object_id = request.path_params["object_id"]
    body = await _body(request)
    record = portal.lookup(otype, object_id, request.query_params.get("idProperty"))
    if record is None:
        raise _not_found(object_id)
    values = portal.clean(otype, body.get("properties") if isinstance(body, dict) else None,
                          creating=False)
    conflict = portal.conflict(otype, values, record["hs_object_id"])
    if conflict:
        raise conflict
    portal.update(otype, record, values, hs_now())
    return json_response(portal.render(otype, record, list(values)))


async def archive_object(request: Request) -> Response:
    portal = _portal(request)
    otype = portal.object_type(request.path_params["object_type"])
    portal.archive(otype, request.path_params["object_id"], hs_now())
    return empty_response(204)


# -- batch -----------------------------------------------------------------------------------------
async def batch(request: Request) -> Response:
    portal = _portal(request)
    otype = portal.object_type(request.path_params["object_type"])
    action = request.path_params["action"]
    body = await _body(request)
    inputs = _inputs(body)
    started = hs_now()
    if action == "create":
        return _batch_create(portal, otype, inputs, started)
    if action == "read":
        return _batch_read(portal, otype, body, inputs, started,
                           query_bool(request.query_params.get("archived")))
    if action == "update":
        return _batch_update(portal, otype, inputs, started)
    if action == "upsert":
        return _batch_upsert(portal, otype, inputs, started)
    if action == "archive":
        for item in inputs:
            portal.archive(otype, str(item.get("id", "")), started)
        return empty_response(204)
    raise HsError(404, "OBJECT_NOT_FOUND", f"Unknown batch action {action[:20]}: use create, read, "
                  "update, upsert or archive")


def _batch_create(portal: HubSpotPortal, otype: ObjectType, inputs: list[dict[str, Any]],
                  started: str) -> Response:
    cleaned = [portal.clean(otype, item.get("properties"), creating=True) for item in inputs]
    links = [hs_assoc.parse_create_associations(portal, otype, item.get("associations"))
             for item in inputs]
    results, errors = [], []
    for values, associations in zip(cleaned, links, strict=True):
        conflict = portal.conflict(otype, values, None)
        if conflict:
            errors.append(batch_error("CONFLICT", conflict.message, []))
            continue
        record = portal.insert(otype, values, started)
        hs_assoc.apply_create_associations(portal, otype, record["hs_object_id"], associations)
        results.append(portal.render(otype, record, list(values)))
    return batch_body(results, errors, started, 201)


def _batch_read(portal: HubSpotPortal, otype: ObjectType, body: dict[str, Any],
                inputs: list[dict[str, Any]], started: str, archived: bool) -> Response:
    id_property = body.get("idProperty")
    properties = body.get("properties") or None
    results, missing = [], []
    for item in inputs:
        object_id = str(item.get("id", ""))
        record = portal.lookup(otype, object_id, id_property, archived)
        if record is None:
            missing.append(object_id)
        else:
            results.append(portal.render(otype, record, properties))
    errors = [batch_error("OBJECT_NOT_FOUND", f"Could not get some {otype.singular} objects, they "
                          "may be deleted or not exist. Check that ids are valid.", missing)] \
        if missing else []
    return batch_body(results, errors, started, 200)


def _batch_update(portal: HubSpotPortal, otype: ObjectType, inputs: list[dict[str, Any]],
                  started: str) -> Response:
    cleaned = [portal.clean(otype, item.get("properties"), creating=False) for item in inputs]
    results, missing, errors = [], [], []
    for item, values in zip(inputs, cleaned, strict=True):
        object_id = str(item.get("id", ""))
        record = portal.lookup(otype, object_id, item.get("idProperty"))
        if record is None:
            missing.append(object_id)
            continue
        conflict = portal.conflict(otype, values, record["hs_object_id"])
        if conflict:
            errors.append(batch_error("CONFLICT", conflict.message, [object_id]))
            continue
        portal.update(otype, record, values, started)
        results.append(portal.render(otype, record, list(values)))
    if missing:
        errors.append(batch_error("OBJECT_NOT_FOUND", f"Could not get some {otype.singular} "
                                  "objects, they may be deleted or not exist. Check that ids are "
                                  "valid.", missing))
    return batch_body(results, errors, started, 200)


def _batch_upsert(portal: HubSpotPortal, otype: ObjectType, inputs: list[dict[str, Any]],
                  started: str) -> Response:
    keys: list[tuple[str, str]] = []
    for item in inputs:
        id_property = item.get("idProperty")
        if not id_property or not item.get("id"):
            raise HsError(400, "VALIDATION_ERROR", "Every upsert input needs id and idProperty "
                          "(a unique property such as email)")
        portal.unique_prop(otype, str(id_property))
        keys.append((str(id_property), str(item["id"]).strip().lower()))
    duplicates = sorted({k[1] for k in keys if keys.count(k) > 1})
    if duplicates:
        raise HsError(400, "VALIDATION_ERROR", f"Duplicate IDs found in batch input: {duplicates}. "
                      "IDs must be unique")
    cleaned = []
    for item, (id_property, _key) in zip(inputs, keys, strict=True):
        values = portal.clean(otype, item.get("properties"), creating=False)
        if id_property != "hs_object_id":
            values[id_property] = portal.clean(otype, {id_property: item["id"]}, False)[id_property]
        cleaned.append(values)
    results, errors = [], []
    for item, (id_property, _), values in zip(inputs, keys, cleaned, strict=True):
        record: Record | None = portal.lookup(otype, str(item["id"]), id_property)
        if record is None and id_property == "hs_object_id":
            errors.append(batch_error("OBJECT_NOT_FOUND", "Object not found", [str(item["id"])]))
            continue
        conflict = portal.conflict(otype, values, record["hs_object_id"] if record else None)
        if conflict:
            errors.append(batch_error("CONFLICT", conflict.message, [str(item["id"])]))
            continue
        created = record is None
        if created:
            missing = [n for n in otype.required if not values.get(n)]
            if missing:
                errors.append(batch_error("VALIDATION_ERROR", f"{missing} required to create a "
                                          f"{otype.singular.lower()}", [str(item["id"])]))
                continue
            if otype.name == "deals":
                values.setdefault("pipeline", "default")
            record = portal.insert(otype, values, started)
        else:
            assert record is not None
            portal.update(otype, record, values, started)
        results.append({**portal.render(otype, record, list(values)), "new": created})
    return batch_body(results, errors, started, 200)


# -- search ------------------------------------------------------------------------------------------
async def search(request: Request) -> Response:
    portal = _portal(request)
    otype = portal.object_type(request.path_params["object_type"])
    body = await _body(request)
    if not isinstance(body, dict):
        raise HsError(400, "VALIDATION_ERROR", "Send a search request object")
    return json_response(run_search(portal, otype, body))


OBJECTS = "/crm/v3/objects/{object_type}"
ROUTES: list[Route] = [
    Route(OBJECTS, create_object, methods=["POST"]),
    Route(OBJECTS, list_objects, methods=["GET"]),
    Route(OBJECTS + "/search", search, methods=["POST"]),
    Route(OBJECTS + "/batch/{action}", batch, methods=["POST"]),
    Route(OBJECTS + "/{object_id}", get_object, methods=["GET"]),
    Route(OBJECTS + "/{object_id}", update_object, methods=["PATCH"]),
    Route(OBJECTS + "/{object_id}", archive_object, methods=["DELETE"]),
    *hs_assoc.ROUTES,
]
