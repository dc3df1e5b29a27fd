"""The control API (``/_sandbox/...``): what tests and demos do to the sandbox from outside.

Reset and seed, act as a sales rep (lead status, convert a lead, close an opportunity or a deal),
list and expire Salesforce sessions, inject faults, read API-call counters, read and change limits,
save state. Bodies are validated with pydantic; errors are ``{"error": "..."}`` saying what to send
instead. No auth: the sandbox is a development tool meant to listen on loopback only.
"""

from __future__ import annotations

import re
from typing import Any, Literal, TypeVar

from pydantic import BaseModel, Field, ValidationError
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from sandbox import hs_assoc
from sandbox.core import Sandbox
from sandbox.errors import RecordError, SandboxHTTPError
from sandbox.hs_portal import OBJECT_TYPES, hs_now
from sandbox.http import BodyError, json_response, read_json

M = TypeVar("M", bound=BaseModel)


class ResetBody(BaseModel):
    seed: bool = True


class RepBody(BaseModel):
    #: The User who acts (LastModifiedById); default: the record's owner, else a seeded rep.
    acting_user_id: str | None = Field(default=None, max_length=18)


class LeadStatusBody(RepBody):
    status: str = Field(min_length=1, max_length=255)
    owner_id: str | None = Field(default=None, max_length=18)


class ConvertBody(RepBody):
    account_id: str | None = Field(default=None, max_length=18)
    create_opportunity: bool = True
    opportunity_name: str | None = Field(default=None, max_length=120)
    converted_status: str = Field(default="Closed - Converted", max_length=255)


class CloseBody(RepBody):
    won: bool
    amount: float | None = Field(default=None, ge=0, le=1e12)


class AssignmentRuleBody(BaseModel):
    #: The user the active lead assignment rule assigns every lead to; null deactivates it.
    owner_id: str | None = Field(default=None, max_length=18)


class ExpireBody(BaseModel):
    token: str | None = Field(default=None, min_length=1, max_length=512)
    all: bool = False


class ContactStatusBody(BaseModel):
    hs_lead_status: str | None = Field(default=None, max_length=64)
    lifecyclestage: str | None = Field(default=None, max_length=64)
    hubspot_owner_id: str | None = Field(default=None, max_length=32)


class DealBody(BaseModel):
    dealname: str = Field(min_length=1, max_length=255)
    amount: float | None = Field(default=None, ge=0, le=1e12)
    dealstage: str = Field(default="appointmentscheduled", max_length=64)
    contact_id: str | None = Field(default=None, max_length=32)
    company_id: str | None = Field(default=None, max_length=32)
    hubspot_owner_id: str | None = Field(default=None, max_length=32)
    leadhub_lead_id: str | None = Field(default=None, max_length=64)


class FaultBody(BaseModel):
    path: str = Field(min_length=1, max_length=500, description="regex searched in the path")
    kind: Literal["status", "timeout", "drop"] = "status"
    status: int = Field(default=503, ge=400, le=599)
    count: int = Field(default=1, ge=1, le=100_000)
    method: str | None = Field(default=None, max_length=10)
    delay: float = Field(default=30.0, ge=0, le=600)


class LimitsBody(BaseModel):
    hubspot_ten_second_max: int | None = Field(default=None, ge=0)
    hubspot_daily_max: int | None = Field(default=None, ge=0)
    hubspot_search_per_second: int | None = Field(default=None, ge=0)
    salesforce_daily_max: int | None = Field(default=None, ge=0)
    reset_usage: bool = False


def _sandbox(request: Request) -> Sandbox:
    sandbox: Sandbox = request.app.state.sandbox
    return sandbox


async def _parse(request: Request, model: type[M]) -> M:
    try:
        raw = await read_json(request, allow_empty=True)
    except BodyError as exc:
        raise SandboxHTTPError(413 if exc.too_large else 400, {"error": exc.message}) from None
    try:
        return model.model_validate(raw or {})
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        raise SandboxHTTPError(422, {"error": f"Invalid body: {problems}"}) from None


async def health(request: Request) -> Response:
    return json_response({"ok": True, **_sandbox(request).summary()})


async def summary(request: Request) -> Response:
    return json_response(_sandbox(request).summary())


async def reset(request: Request) -> Response:
    body = await _parse(request, ResetBody)
    sandbox = _sandbox(request)
    sandbox.reset(seed=body.seed)
    return json_response(sandbox.summary())


async def seed(request: Request) -> Response:
    from sandbox.seed import seed_org

    sandbox = _sandbox(request)
    if sandbox.salesforce.tables["User"].records:
        raise SandboxHTTPError(409, {"error": "The sandbox already holds seed data: POST "
                                              "/_sandbox/reset with {\"seed\": true} instead"})
    seed_org(sandbox)
    return json_response(sandbox.summary())


async def team(request: Request) -> Response:
    """The seeded sales team: Salesforce user ids beside HubSpot owner ids, person by person."""
    sandbox = _sandbox(request)
    users = sandbox.salesforce.tables["User"].records.values()
    owners = {o["email"]: o for o in sandbox.hubspot.owners.values()}
    return json_response([{"name": u["Name"], "email": u["Email"], "salesforce_user_id": u["Id"],
                           "hubspot_owner_id": owners.get(u["Email"], {}).get("id")}
                          for u in users])


async def lead_status(request: Request) -> Response:
    body = await _parse(request, LeadStatusBody)
    org = _sandbox(request).salesforce
    try:
        record = org.set_lead_status(request.path_params["lead_id"], body.status, body.owner_id,
                                     body.acting_user_id)
    except RecordError as exc:  # validation: the message says what is allowed
        raise SandboxHTTPError(422, {"error": exc.message}) from None
    return json_response(org.render(org.objects["Lead"], record, "59.0"))


async def convert_lead(request: Request) -> Response:
    body = await _parse(request, ConvertBody)
    org = _sandbox(request).salesforce
    return json_response(org.convert_lead(
        request.path_params["lead_id"], account_id=body.account_id,
        create_opportunity=body.create_opportunity, opportunity_name=body.opportunity_name,
        converted_status=body.converted_status, acting_user_id=body.acting_user_id))


async def close_opportunity(request: Request) -> Response:
    body = await _parse(request, CloseBody)
    org = _sandbox(request).salesforce
    record = org.close_opportunity(request.path_params["opportunity_id"], body.won, body.amount,
                                   body.acting_user_id)
    return json_response(org.render(org.objects["Opportunity"], record, "59.0"))


async def assignment_rule(request: Request) -> Response:
    """The org's active lead assignment rule: API writes without ``Sforce-Auto-Assign: FALSE``
    give the lead to its owner, as a real org's rule overwrites the owner the hub sent."""
    org = _sandbox(request).salesforce
    if request.method == "PUT":
        body = await _parse(request, AssignmentRuleBody)
        org.set_assignment_rule(body.owner_id)
    return json_response({"owner_id": org.lead_assignment_owner})


async def lead_auto_assign(request: Request) -> Response:
    """The ``Sforce-Auto-Assign`` header of the last API write to a lead."""
    org = _sandbox(request).salesforce
    _, record = org.rep_record("Lead", request.path_params["lead_id"])
    if record["Id"] not in org.auto_assign:
        raise SandboxHTTPError(404, {"error": "No API write to this lead was recorded (seeded or "
                                              "written by a rep): write it through the REST API"})
    return json_response({"lead_id": record["Id"], "sforce_auto_assign": org.auto_assign[record["Id"]],
                          "owner_id": record.get("OwnerId")})


async def sessions(request: Request) -> Response:
    """Salesforce sessions: the static token's state and the issued ones (never a token)."""
    return json_response(_sandbox(request).sessions.snapshot())


async def expire_sessions(request: Request) -> Response:
    """Expire one session token (``token``) or every session (``all``, the static token too):
    the next request with it gets 401 INVALID_SESSION_ID. A reset makes the static one valid."""
    body = await _parse(request, ExpireBody)
    store = _sandbox(request).sessions
    if body.all:
        return json_response({"expired": store.expire_all()})
    if body.token is None:
        raise SandboxHTTPError(422, {"error": "Send {\"token\": \"...\"} to expire one session "
                                              "or {\"all\": true} to expire every session"})
    if not store.expire(body.token):
        raise SandboxHTTPError(404, {"error": "That token is not a valid session (already "
                                              "expired, or never issued): nothing to expire"})
    return json_response({"expired": 1})


async def contact_status(request: Request) -> Response:
    body = await _parse(request, ContactStatusBody)
    portal = _sandbox(request).hubspot
    otype = OBJECT_TYPES["contacts"]
    record = portal.get(otype, request.path_params["contact_id"])
    if record is None:
        raise SandboxHTTPError(404, {"error": "No such contact: check the id"})
    values = portal.clean(otype, body.model_dump(exclude_none=True), creating=False)
    portal.update(otype, record, values, hs_now())
    return json_response(portal.render(otype, record, list(values)))


async def create_deal(request: Request) -> Response:
    body = await _parse(request, DealBody)
    portal = _sandbox(request).hubspot
    otype = OBJECT_TYPES["deals"]
    properties = body.model_dump(exclude_none=True, exclude={"contact_id", "company_id"})
    values = portal.clean(otype, {k: str(v) for k, v in properties.items()}, creating=True)
    for target_type, target_id in (("contacts", body.contact_id), ("companies", body.company_id)):
        if target_id and portal.get(OBJECT_TYPES[target_type], target_id) is None:
            raise SandboxHTTPError(404, {"error": f"No such {target_type[:-1]}: {target_id}"})
    conflict = portal.conflict(otype, values, None)
    if conflict:
        raise conflict
    record = portal.insert(otype, values, hs_now())
    for target_type, target_id in (("contacts", body.contact_id), ("companies", body.company_id)):
        if target_id:
            hs_assoc.associate(portal, "deals", record["hs_object_id"], target_type, target_id)
    return json_response(portal.render(otype, record, list(values)), status=201)


async def close_deal(request: Request) -> Response:
    body = await _parse(request, CloseBody)
    portal = _sandbox(request).hubspot
    otype = OBJECT_TYPES["deals"]
    record = portal.get(otype, request.path_params["deal_id"])
    if record is None:
        raise SandboxHTTPError(404, {"error": "No such deal: check the id"})
    values: dict[str, Any] = {"dealstage": "closedwon" if body.won else "closedlost",
                              "closedate": hs_now()}
    if body.amount is not None:
        values["amount"] = str(body.amount)
    portal.update(otype, record, portal.clean(otype, values, creating=False), hs_now())
    return json_response(portal.render(otype, record, ["dealstage", "amount", "closedate"]))


async def faults(request: Request) -> Response:
    sandbox = _sandbox(request)
    if request.method == "POST":
        body = await _parse(request, FaultBody)
        try:
            rule = sandbox.faults.add(body.path, body.kind, body.status, body.count, body.method,
                                      body.delay)
        except re.error as exc:
            raise SandboxHTTPError(422, {"error": f"path is not a valid regular expression: "
                                                  f"{exc}"}) from None
        return json_response(rule.as_dict(), status=201)
    if request.method == "DELETE":
        sandbox.faults.clear()
    return json_response({"faults": sandbox.faults.list(), "fired": sandbox.faults.fired_total})


async def counters(request: Request) -> Response:
    sandbox = _sandbox(request)
    if request.method == "DELETE":
        sandbox.counters.clear()
    return json_response(sandbox.counters.snapshot())


async def limits(request: Request) -> Response:
    sandbox = _sandbox(request)
    if request.method == "PUT":
        body = await _parse(request, LimitsBody)
        sandbox.limits.settings.update(body.model_dump(exclude={"reset_usage"}))
        if body.reset_usage:
            sandbox.limits.reset(keep_settings=True)
    return json_response(sandbox.limits.snapshot())


async def save(request: Request) -> Response:
    saver = request.app.state.saver
    if saver is None:
        raise SandboxHTTPError(409, {"error": "Persistence is off: start the sandbox with "
                                              "--persist PATH"})
    await saver.save_now()
    return json_response({"saved": str(saver.path)})


ROUTES = [
    Route("/_sandbox/health", health, methods=["GET"]),
    Route("/_sandbox/summary", summary, methods=["GET"]),
    Route("/_sandbox/team", team, methods=["GET"]),
    Route("/_sandbox/reset", reset, methods=["POST"]),
    Route("/_sandbox/seed", seed, methods=["POST"]),
    Route("/_sandbox/save", save, methods=["POST"]),
    Route("/_sandbox/faults", faults, methods=["GET", "POST", "DELETE"]),
    Route("/_sandbox/counters", counters, methods=["GET", "DELETE"]),
    Route("/_sandbox/limits", limits, methods=["GET", "PUT"]),
    Route("/_sandbox/salesforce/leads/{lead_id}/status", lead_status, methods=["POST"]),
    Route("/_sandbox/salesforce/leads/{lead_id}/convert", convert_lead, methods=["POST"]),
    Route("/_sandbox/salesforce/opportunities/{opportunity_id}/close", close_opportunity,
          methods=["POST"]),
    Route("/_sandbox/salesforce/assignment-rule", assignment_rule, methods=["GET", "PUT"]),
    Route("/_sandbox/salesforce/leads/{lead_id}/auto-assign", lead_auto_assign, methods=["GET"]),
    Route("/_sandbox/salesforce/sessions", sessions, methods=["GET"]),
    Route("/_sandbox/salesforce/sessions/expire", expire_sessions, methods=["POST"]),
    Route("/_sandbox/hubspot/contacts/{contact_id}/status", contact_status, methods=["POST"]),
    Route("/_sandbox/hubspot/deals", create_deal, methods=["POST"]),
    Route("/_sandbox/hubspot/deals/{deal_id}/close", close_deal, methods=["POST"]),
]
