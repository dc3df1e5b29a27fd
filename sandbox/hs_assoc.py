"""HubSpot associations (v3 ``associations`` on create/read, v4 ``/crm/v4/...``) and owners.

Associations are stored both ways with HubSpot-defined type ids: contact->company 279 (primary 1),
deal->company 341 (primary 5), deal<->contact 3/4, and each one's inverse. The first company
associated by default to a contact or a deal also becomes its primary company, as in HubSpot.
Companies link to companies only with a label: 13 (parent to child) and 14 (child to parent); a
company has one parent, kept in its read-only ``hs_parent_company_id`` property as HubSpot does.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from sandbox.errors import HsError
from sandbox.hs_portal import HubSpotPortal, ObjectType, hs_now
from sandbox.http import BodyError, empty_response, json_response, query_bool, read_json

DEFAULT_TYPES = {("contacts", "companies"): 279, ("companies", "contacts"): 280,
                 ("deals", "companies"): 341, ("companies", "deals"): 342,
                 ("deals", "contacts"): 3, ("contacts", "deals"): 4}
PRIMARY_TYPES = {("contacts", "companies"): 1, ("deals", "companies"): 5}
INVERSE = {1: 2, 2: 1, 279: 280, 280: 279, 5: 6, 6: 5, 341: 342, 342: 341, 3: 4, 4: 3, 13: 14, 14: 13}
NAMES = {1: "contact_to_company", 2: "company_to_contact", 279: "contact_to_company_unlabeled",
         280: "company_to_contact_unlabeled", 5: "deal_to_company", 6: "company_to_deal",
         341: "deal_to_company_unlabeled", 342: "company_to_deal_unlabeled",
         3: "deal_to_contact", 4: "contact_to_deal",
         13: "parent_to_child_company", 14: "child_to_parent_company"}
COMPANIES = ("companies", "companies")
PARENT_TO_CHILD, CHILD_TO_PARENT = 13, 14
LABELS = {1: "Primary", 5: "Primary"}
PAIR_TYPES: dict[tuple[str, str], set[int]] = {
    pair: {t} | ({PRIMARY_TYPES[pair]} if pair in PRIMARY_TYPES else set())
    for pair, t in DEFAULT_TYPES.items()}
for (_f, _t), _ids in list(PAIR_TYPES.items()):
    PAIR_TYPES[(_f, _t)] = _ids | {INVERSE[i] for i in PAIR_TYPES.get((_t, _f), set())}
PAIR_TYPES[COMPANIES] = {PARENT_TO_CHILD, CHILD_TO_PARENT}


def _bad(message: str, status: int = 400, category: str = "VALIDATION_ERROR") -> HsError:
    return HsError(status, category, message)


def associate(portal: HubSpotPortal, from_type: str, from_id: str, to_type: str, to_id: str,
              type_id: int | None = None) -> list[int]:
    """Link two objects (default type if none given); returns the type ids now set."""
    pair = (from_type, to_type)
    if pair not in PAIR_TYPES:
        raise _bad(f"{from_type} cannot be associated with {to_type} in the sandbox")
    if type_id is None and pair not in DEFAULT_TYPES:
        raise _bad(f"{from_type} to {to_type} has no default association: create it with a type, "
                   f"{PARENT_TO_CHILD} (parent to child) or {CHILD_TO_PARENT} (child to parent)")
    type_id = DEFAULT_TYPES[pair] if type_id is None else type_id
    if type_id not in PAIR_TYPES[pair]:
        raise _bad(f"associationTypeId {type_id} is not valid from {from_type} to {to_type}: use "
                   f"{sorted(PAIR_TYPES[pair])}")
    types = {type_id}
    primary = PRIMARY_TYPES.get(pair)
    if primary is not None and type_id == DEFAULT_TYPES[pair]:
        existing = portal.links.get((from_type, from_id), {}).get(to_type, {})
        if not any(primary in t for t in existing.values()):
            types.add(primary)
    for type_ in types:
        portal.links.setdefault((from_type, from_id), {}).setdefault(to_type, {}) \
            .setdefault(to_id, set()).add(type_)
        portal.links.setdefault((to_type, to_id), {}).setdefault(from_type, {}) \
            .setdefault(from_id, set()).add(INVERSE[type_])
    if pair == COMPANIES:
        child = from_id if type_id == CHILD_TO_PARENT else to_id
        parent = to_id if child == from_id else from_id
        for other, types in list(targets(portal, "companies", child, "companies").items()):
            if other != parent and CHILD_TO_PARENT in types:  # one parent: the new one replaces it
                dissociate(portal, "companies", child, "companies", other)
        _sync_parent(portal, child)
    return sorted(portal.links[(from_type, from_id)][to_type][to_id])


def dissociate(portal: HubSpotPortal, from_type: str, from_id: str, to_type: str, to_id: str) -> None:
    portal.links.get((from_type, from_id), {}).get(to_type, {}).pop(to_id, None)
    portal.links.get((to_type, to_id), {}).get(from_type, {}).pop(from_id, None)
    if (from_type, to_type) == COMPANIES:
        _sync_parent(portal, from_id)
        _sync_parent(portal, to_id)


def _sync_parent(portal: HubSpotPortal, company_id: str) -> None:
    """``hs_parent_company_id`` follows the company's child-to-parent association."""
    otype = portal.object_type("companies")
    record = portal.get(otype, company_id)
    if record is None:
        return
    parents = sorted(other for other, types in targets(portal, "companies", company_id, "companies").items()
                     if CHILD_TO_PARENT in types)
    value = parents[0] if parents else None
    if record.get("hs_parent_company_id") != value:
        portal.update(otype, record, {"hs_parent_company_id": value}, hs_now())


def targets(portal: HubSpotPortal, from_type: str, from_id: str, to_type: str) -> dict[str, set[int]]:
    return portal.links.get((from_type, from_id), {}).get(to_type, {})


def _require(portal: HubSpotPortal, otype: ObjectType, object_id: str) -> None:
    if portal.get(otype, object_id) is None:
        raise HsError(404, "OBJECT_NOT_FOUND", f"No {otype.singular.lower()} with id "
                      f"{object_id[:40]}: check the id")


def parse_create_associations(portal: HubSpotPortal, otype: ObjectType,
                              raw: Any) -> list[tuple[str, str, int]]:
    """``associations`` of a create input -> [(to_type, to_id, type_id)], checked up front."""
    if not raw:
        return []
    if not isinstance(raw, list):
        raise _bad("associations must be a list of {to: {id}, types: [...]}")
    found: list[tuple[str, str, int]] = []
    for item in raw:
        to_id = str((item.get("to") or {}).get("id", "")) if isinstance(item, dict) else ""
        types = item.get("types") if isinstance(item, dict) else None
        if not to_id or not isinstance(types, list) or not types:
            raise _bad("Each association needs to.id and types")
        for spec in types:
            type_id = int(spec.get("associationTypeId", 0))
            pair = next((p for p, ids in PAIR_TYPES.items() if p[0] == otype.name
                         and type_id in ids), None)
            if pair is None:
                raise _bad(f"associationTypeId {type_id} is not valid for {otype.name}")
            to_type = portal.object_type(pair[1])
            _require(portal, to_type, to_id)
            found.append((pair[1], to_id, type_id))
    return found


def apply_create_associations(portal: HubSpotPortal, otype: ObjectType, object_id: str,
                              found: list[tuple[str, str, int]]) -> None:
    for to_type, to_id, type_id in found:
        associate(portal, otype.name, object_id, to_type, to_id, type_id)


def v3_associations(portal: HubSpotPortal, otype: ObjectType, object_id: str,
                    wanted: list[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name in wanted:
        to_type = portal.object_type(name).name
        results = [{"id": to_id, "type": NAMES.get(t, str(t))}
                   for to_id, types in sorted(targets(portal, otype.name, object_id, to_type).items())
                   for t in sorted(types)]
        if results:
            out[to_type] = {"results": results}
    return out


def _spec_with_label(type_id: int) -> dict[str, Any]:
    return {"category": "HUBSPOT_DEFINED", "typeId": type_id, "label": LABELS.get(type_id)}


def _default_result(from_id: str, to_id: str, type_id: int) -> dict[str, Any]:
    return {"from": {"id": from_id}, "to": {"id": to_id},
            "associationSpec": {"associationCategory": "HUBSPOT_DEFINED",
                                "associationTypeId": type_id}}


async def _body(request: Request) -> Any:
    try:
        return await read_json(request)
    except BodyError as exc:
        raise HsError(413 if exc.too_large else 400, "VALIDATION_ERROR", exc.message) from None


def _types(request: Request) -> tuple[HubSpotPortal, ObjectType, ObjectType]:
    portal: HubSpotPortal = request.app.state.sandbox.hubspot
    params = request.path_params
    return (portal, portal.object_type(params["from_type"]), portal.object_type(params["to_type"]))


# -- v4 single -----------------------------------------------------------------------------------
async def create_default(request: Request) -> Response:
    portal, from_type, to_type = _types(request)
    from_id, to_id = request.path_params["from_id"], request.path_params["to_id"]
    _require(portal, from_type, from_id)
    _require(portal, to_type, to_id)
    started = hs_now()
    associate(portal, from_type.name, from_id, to_type.name, to_id)
    type_id = DEFAULT_TYPES[(from_type.name, to_type.name)]
    return json_response({"status": "COMPLETE", "startedAt": started, "completedAt": hs_now(),
                          "results": [_default_result(from_id, to_id, type_id),
                                      _default_result(to_id, from_id, INVERSE[type_id])]})


async def create_labelled(request: Request) -> Response:
    portal, from_type, to_type = _types(request)
    from_id, to_id = request.path_params["from_id"], request.path_params["to_id"]
    _require(portal, from_type, from_id)
    _require(portal, to_type, to_id)
    specs = await _body(request)
    if not isinstance(specs, list) or not specs:
        raise _bad("Send a list of {associationCategory, associationTypeId}")
    for spec in specs:
        associate(portal, from_type.name, from_id, to_type.name, to_id,
                  int(spec.get("associationTypeId", 0)))
    labels = [LABELS[t] for t in targets(portal, from_type.name, from_id, to_type.name)[to_id]
              if t in LABELS]
    return json_response({"fromObjectTypeId": from_type.type_id, "fromObjectId": from_id,
                          "toObjectTypeId": to_type.type_id, "toObjectId": to_id,
                          "labels": labels}, status=201)


async def remove(request: Request) -> Response:
    portal, from_type, to_type = _types(request)
    dissociate(portal, from_type.name, request.path_params["from_id"], to_type.name,
               request.path_params["to_id"])
    return empty_response(204)


async def list_page(request: Request) -> Response:
    portal, from_type, to_type = _types(request)
    from_id = request.path_params["from_id"]
    _require(portal, from_type, from_id)
    limit = min(500, int(request.query_params.get("limit") or 500))
    after = request.query_params.get("after")
    links = sorted(targets(portal, from_type.name, from_id, to_type.name).items(),
                   key=lambda item: int(item[0]))
    if after:
        links = [link for link in links if int(link[0]) > int(after)]
    page = links[:limit]
    body: dict[str, Any] = {"results": [
        {"toObjectId": to_id, "associationTypes": [_spec_with_label(t) for t in sorted(types)]}
        for to_id, types in page]}
    if len(links) > limit:
        body["paging"] = {"next": {"after": page[-1][0]}}
    return json_response(body)


# -- v4 batch --------------------------------------------------------------------------------------
def _inputs(body: Any) -> list[dict[str, Any]]:
    if not isinstance(body, dict) or not isinstance(body.get("inputs"), list):
        raise _bad("Send {\"inputs\": [...]}")
    if len(body["inputs"]) > 100:
        raise _bad("Batch input size exceeds the limit of 100: split the batch")
    return [i for i in body["inputs"] if isinstance(i, dict)]


def _id(value: Any) -> str:
    return str(value.get("id", "")) if isinstance(value, dict) else ""


async def batch_action(request: Request) -> Response:
    portal, from_type, to_type = _types(request)
    action = request.path_params["action"]
    inputs = _inputs(await _body(request))
    started = hs_now()
    results: list[dict[str, Any]] = []
    errors: list[dict[str, Any]] = []
    for item in inputs:
        from_id = _id(item.get("from")) or str(item.get("id", ""))
        if portal.get(from_type, from_id) is None:
            errors.append({"status": "error", "category": "OBJECT_NOT_FOUND",
                           "message": f"No {from_type.singular.lower()} with id {from_id[:40]}",
                           "context": {"ids": [from_id]}, "errors": [], "links": {}})
            continue
        if action == "read":
            results.append({"from": {"id": from_id}, "to": [
                {"toObjectId": to_id, "associationTypes": [_spec_with_label(t) for t in sorted(ts)]}
                for to_id, ts in sorted(targets(portal, from_type.name, from_id, to_type.name).items())]})
            continue
        if action == "archive":
            for target in item.get("to") or []:
                dissociate(portal, from_type.name, from_id, to_type.name, _id(target))
            continue
        to_id = _id(item.get("to"))
        if portal.get(to_type, to_id) is None:
            errors.append({"status": "error", "category": "OBJECT_NOT_FOUND",
                           "message": f"No {to_type.singular.lower()} with id {to_id[:40]}",
                           "context": {"ids": [to_id]}, "errors": [], "links": {}})
            continue
        if action == "associate/default":
            associate(portal, from_type.name, from_id, to_type.name, to_id)
            type_id = DEFAULT_TYPES[(from_type.name, to_type.name)]
            results.append(_default_result(from_id, to_id, type_id))
        else:  # create with explicit types
            for spec in item.get("types") or []:
                associate(portal, from_type.name, from_id, to_type.name, to_id,
                          int(spec.get("associationTypeId", 0)))
            results.append({"fromObjectTypeId": from_type.type_id, "fromObjectId": from_id,
                            "toObjectTypeId": to_type.type_id, "toObjectId": to_id, "labels": []})
    if action == "archive":
        return empty_response(204)
    body: dict[str, Any] = {"status": "COMPLETE", "results": results, "startedAt": started,
                            "completedAt": hs_now()}
    ok_status = 201 if action == "create" else 200
    if errors and action != "associate/default":
        body.update(numErrors=len(errors), errors=errors)
        return json_response(body, status=207)
    if errors:
        raise HsError(400, "VALIDATION_ERROR", errors[0]["message"])
    return json_response(body, status=ok_status)


# -- owners ------------------------------------------------------------------------------------------
async def owners_page(request: Request) -> Response:
    portal: HubSpotPortal = request.app.state.sandbox.hubspot
    email = (request.query_params.get("email") or "").lower()
    archived = query_bool(request.query_params.get("archived"))
    limit = min(500, int(request.query_params.get("limit") or 100))
    after = int(request.query_params.get("after") or 0)
    owners = [o for o in portal.owners.values() if o["archived"] == archived
              and (not email or o["email"].lower() == email)]
    owners.sort(key=lambda o: int(o["id"]))
    owners = [o for o in owners if int(o["id"]) > after]
    body: dict[str, Any] = {"results": owners[:limit]}
    if len(owners) > limit:
        body["paging"] = {"next": {"after": owners[limit - 1]["id"]}}
    return json_response(body)


async def owner_by_id(request: Request) -> Response:
    portal: HubSpotPortal = request.app.state.sandbox.hubspot
    owner_id = request.path_params["owner_id"]
    if request.query_params.get("idProperty") == "userId":
        owner = next((o for o in portal.owners.values() if str(o["userId"]) == owner_id), None)
    else:
        owner = portal.owners.get(owner_id)
    if owner is None:
        raise HsError(404, "OBJECT_NOT_FOUND", f"No owner with id {owner_id[:40]}")
    return json_response(owner)


V4 = "/crm/v4/objects/{from_type}/{from_id}/associations"
ROUTES: list[Route] = [
    Route(V4 + "/default/{to_type}/{to_id}", create_default, methods=["PUT"]),
    Route(V4 + "/{to_type}/{to_id}", create_labelled, methods=["PUT"]),
    Route(V4 + "/{to_type}/{to_id}", remove, methods=["DELETE"]),
    Route(V4 + "/{to_type}", list_page, methods=["GET"]),
    Route("/crm/v4/associations/{from_type}/{to_type}/batch/{action:path}", batch_action,
          methods=["POST"]),
    Route("/crm/v3/owners", owners_page, methods=["GET"]),
    Route("/crm/v3/owners/", owners_page, methods=["GET"]),
    Route("/crm/v3/owners/{owner_id}", owner_by_id, methods=["GET"]),
]
