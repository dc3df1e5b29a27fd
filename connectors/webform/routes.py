"""``POST /forms/{form_id}``: accept a form post, commit it to the inbox, answer.

One endpoint serves three callers:

* a plain HTML form (url-encoded or multipart): success is a 303 to the form's ``redirect_url``
  (or a short thank-you page); an error is a readable page listing the fields to fix;
* a script (JSON, or ``Accept: application/json``): 202 with a reference, or 422 with a
  per-field list in FastAPI's ``detail`` shape;
* a server-side form tool: the same, authenticated with the form's shared secret or HMAC.

Order of checks, cheapest first: known form -> origin -> rate limit -> size -> secret -> parse ->
honeypot -> fields. Spam (honeypot filled) gets the same answer as success, so bots learn
nothing, and is only counted. Invalid input from what looks like a person is kept in quarantine
with the reason (visible with ``leadhub quarantine list``), so a typo never loses a lead silently.
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl

from fastapi import APIRouter, Request
from fastapi import Path as PathParam
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from pydantic import EmailStr, TypeAdapter, ValidationError
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from connectors.webform.connector import FORM_ID, FormSettings
from connectors.webform.guard import SUBMISSIONS, RateLimiter, client_ip, cors_headers, secret_ok
from hub.api import SourceRecord

if TYPE_CHECKING:
    from connectors.webform.connector import WebformConnector
    from hub.api import Hub

templates = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))
_PERSON_FIELDS = ("email", "name", "first_name", "last_name", "phone", "company")
_MAX_FIELDS = 100

def _openapi_extra() -> dict[str, Any]:
    """The request body as OpenAPI shows it (a fresh dict per router: FastAPI may change it)."""
    body_schema = {
        "type": "object",
        "additionalProperties": {"type": "string", "maxLength": 5000},
        "properties": {"email": {"type": "string", "format": "email"}, "name": {"type": "string"},
                       "company": {"type": "string"}, "message": {"type": "string"}},
    }
    return {
        "requestBody": {
            "required": True,
            "content": {
                "application/x-www-form-urlencoded": {"schema": body_schema},
                "multipart/form-data": {"schema": body_schema},
                "application/json": {"schema": body_schema},
            },
        },
    }


def _responses() -> dict[int | str, dict[str, Any]]:
    return {
        202: {"description": "Received: committed to the inbox", "content": {"application/json": {"example": {
            "reference": "9b1c...", "status": "received"}}}},
        303: {"description": "Received (browser): redirect to the form's redirect_url"},
        401: {"description": "The form needs its shared secret or HMAC signature"},
        403: {"description": "The Origin is not allowed for this form"},
        404: {"description": "No such form"},
        413: {"description": "The body is larger than the form accepts"},
        415: {"description": "Not url-encoded, multipart or JSON"},
        422: {"description": "A field is missing or invalid: `detail` lists each"},
        429: {"description": "Too many posts from this address; see Retry-After"},
    }


class _Refused(Exception):
    def __init__(self, status: int, message: str, result: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status, self.message, self.result, self.headers = status, message, result, headers or {}


def form_router(hub: Hub, connector: WebformConnector) -> APIRouter:
    router = APIRouter(tags=["web forms"])
    settings = connector.settings
    limiter = RateLimiter(settings.rate_limit)  # this router's own: two hubs never share a count
    email = TypeAdapter(EmailStr)

    def wants_html(request: Request) -> bool:
        ctype = request.headers.get("content-type", "")
        accept = request.headers.get("accept", "")
        return "json" not in ctype and "text/html" in accept and "application/json" not in accept

    def error(request: Request, form_id: str, exc: _Refused, cors: dict[str, str]) -> Response:
        SUBMISSIONS.labels(form_id, exc.result).inc()
        headers = {**cors, **exc.headers}
        if wants_html(request):
            return templates.TemplateResponse(request, "result.html", {"title": "Not sent", "message": exc.message,
                                              "errors": []}, status_code=exc.status, headers=headers)
        return JSONResponse({"detail": exc.message}, status_code=exc.status, headers=headers)

    @router.options("/forms/{form_id}", include_in_schema=False)
    def preflight(request: Request, form_id: str) -> Response:
        form = settings.forms.get(form_id)
        cors = cors_headers(request.headers.get("origin"), form.allowed_origins if form else [])
        if not cors:
            return Response(status_code=403)
        return Response(status_code=204, headers={
            **cors, "Access-Control-Allow-Methods": "POST",
            "Access-Control-Allow-Headers": "Content-Type, X-LeadHub-Form-Secret, X-LeadHub-Signature",
            "Access-Control-Max-Age": "600"})

    @router.post("/forms/{form_id}", status_code=202, summary="Submit a web form", responses=_responses(),
                 openapi_extra=_openapi_extra(), response_model=None)
    async def submit(request: Request, form_id: str = PathParam(pattern=FORM_ID.pattern, max_length=63)) -> Response:
        form = settings.forms.get(form_id)
        origin = request.headers.get("origin")
        cors = cors_headers(origin, form.allowed_origins if form else [])
        try:
            if form is None:
                raise _Refused(404, f"there is no form {form_id!r}; list forms with `leadhub forms list`", "unknown")
            if origin and form.allowed_origins and origin not in form.allowed_origins:
                raise _Refused(403, "this form does not accept posts from your site's origin; add it to "
                                    "allowed_origins", "refused")
            wait = limiter.hit(client_ip(request, settings.trust_forwarded_for))
            if wait is not None:
                raise _Refused(429, f"too many posts from your address; try again in {wait:.0f} s", "throttled",
                               {"Retry-After": str(int(wait + 0.999))})
            body = await _read_body(request, form)
            if form.secret is not None and not secret_ok(form.secret.get_secret_value(), body, request):
                raise _Refused(401, "this form needs its shared secret (X-LeadHub-Form-Secret) or an HMAC "
                                    "signature (X-LeadHub-Signature: sha256=...)", "refused")
            raw = await _parse(request, body)
        except _Refused as exc:
            return error(request, form_id, exc, cors)
        assert form is not None
        if str(raw.get(form.honeypot, "")).strip():
            SUBMISSIONS.labels(form_id, "spam").inc()
            return _success(request, form, "spam-" + uuid.uuid4().hex, cors)
        fields, errors = _validate(form, raw, email)
        if errors:
            SUBMISSIONS.labels(form_id, "invalid").inc()
            if any(fields.get(name) for name in _PERSON_FIELDS):
                reason = "; ".join(f"{e['loc'][-1]}: {e['msg']}" for e in errors)
                # Off the event loop: a commit may wait for the SQLite write lock.
                await run_in_threadpool(
                    hub.intake.quarantine_raw, connector=connector.instance, stream=f"form:{form_id}", raw=fields,
                    reason=f"web form {form_id!r} refused: {reason}", field=str(errors[0]["loc"][-1]))
            if wants_html(request):
                return templates.TemplateResponse(
                    request, "result.html", {"title": "Please check the form", "errors": errors,
                                             "message": "Some fields need your attention. Go back and fix them:"},
                    status_code=422, headers=cors)
            return JSONResponse({"detail": errors}, status_code=422, headers=cors)
        payload = {**fields, "activity_kind": form.activity_kind}
        if form.product_line:
            payload["product"] = form.product_line
        reference = uuid.uuid4().hex
        await run_in_threadpool(hub.intake.submit, [SourceRecord(
            connector=connector.instance, stream=f"form:{form_id}", external_id=reference, payload=payload)])
        SUBMISSIONS.labels(form_id, "accepted").inc()
        return _success(request, form, reference, cors)

    def _success(request: Request, form: FormSettings, reference: str, cors: dict[str, str]) -> Response:
        if wants_html(request):
            if form.redirect_url:
                return RedirectResponse(form.redirect_url, status_code=303, headers=cors)
            return templates.TemplateResponse(request, "result.html", {
                "title": "Thank you", "message": "We received your message and will be in touch soon.",
                "errors": []}, status_code=202, headers=cors)
        return JSONResponse({"reference": reference, "status": "received"}, status_code=202, headers=cors)

    return router


async def _read_body(request: Request, form: FormSettings) -> bytes:
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > form.max_body_bytes:
        raise _Refused(413, f"the form is larger than {form.max_body_bytes} bytes", "refused")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > form.max_body_bytes:
            raise _Refused(413, f"the form is larger than {form.max_body_bytes} bytes", "refused")
        chunks.append(chunk)
    body = b"".join(chunks)
    request._body = body
    return body


async def _parse(request: Request, body: bytes) -> dict[str, Any]:
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if ctype == "application/json":
        try:
            data = json.loads(body or b"null")
        except (ValueError, UnicodeDecodeError):
            raise _Refused(400, "the body is not valid JSON", "invalid") from None
        if not isinstance(data, dict) or len(data) > _MAX_FIELDS:
            raise _Refused(422, f"send a JSON object of at most {_MAX_FIELDS} fields", "invalid")
        return data
    if ctype == "application/x-www-form-urlencoded":
        try:
            pairs = parse_qsl(body.decode("utf-8"), keep_blank_values=True, max_num_fields=_MAX_FIELDS)
        except (ValueError, UnicodeDecodeError):
            raise _Refused(400, "the form body could not be read (UTF-8 url-encoded expected)", "invalid") from None
        return dict(pairs)
    if ctype == "multipart/form-data":
        try:
            parsed = await request.form(max_files=_MAX_FIELDS, max_fields=_MAX_FIELDS)
        except Exception:  # noqa: BLE001 - any parser complaint is the client's malformed body
            raise _Refused(400, "the multipart body could not be read", "invalid") from None
        if any(isinstance(v, UploadFile) for v in parsed.values()):
            raise _Refused(422, "file uploads are not accepted by forms", "invalid")
        return {k: v for k, v in parsed.items()}
    raise _Refused(415, "send the form url-encoded, as multipart/form-data or as JSON", "invalid")


def _validate(form: FormSettings, raw: dict[str, Any],
              email: TypeAdapter[str]) -> tuple[dict[str, str], list[dict[str, Any]]]:
    fields: dict[str, str] = {}
    errors: list[dict[str, Any]] = []

    def fail(name: str, msg: str, kind: str) -> None:
        errors.append({"loc": ["body", name], "msg": msg, "type": kind})

    for name in form.fields:
        if name not in raw or raw[name] is None:
            continue
        value = raw[name]
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            fail(name, "must be text", "string_type")
            continue
        text = str(value).strip()
        if len(text) > form.max_field_length:
            fail(name, f"is longer than {form.max_field_length} characters", "string_too_long")
            continue
        if text:
            fields[name] = text
    for name in form.required:
        if name not in fields and not any(e["loc"][-1] == name for e in errors):
            fail(name, "is required", "missing")
    if "email" in fields:
        try:
            email.validate_python(fields["email"])
        except ValidationError:
            fail("email", "is not a valid e-mail address", "value_error")
    return fields, errors
