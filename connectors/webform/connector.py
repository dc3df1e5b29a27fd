"""The web form connector: ``POST /forms/{form_id}`` for every form declared in hub.toml.

Each form is declared under the connector's ``forms`` table::

    [connectors.webform]
    type = "webform"
    rate_limit = "20/minute"              # per client IP, all forms together

    [connectors.webform.forms.demo]
    title = "Request a demo"
    fields = ["email", "name", "company", "phone", "message"]
    required = ["email"]
    activity_kind = "demo_request"
    product_line = "analytics"
    redirect_url = "https://www.example.com/thanks"
    allowed_origins = ["https://www.example.com"]
    # secret = set LEADHUB_CONNECTORS__WEBFORM__FORMS__DEMO__SECRET for server-side form tools

Records arrive as stream ``form:<id>`` and are normalised by ``mappings/webform.toml``.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator

from hub.api import Capability, Connector, ConnectorSettings, HealthReport

if TYPE_CHECKING:
    from fastapi import APIRouter

    from hub.api import Hub

FORM_ID = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")
DEFAULT_FIELDS = ("email", "name", "first_name", "last_name", "company", "website", "phone", "country",
                  "message", "product")


class FormSettings(BaseModel):
    """One form: what it accepts and what a submission means."""

    model_config = ConfigDict(extra="forbid")

    title: str = "Contact us"
    #: Fields accepted (others are dropped, so a form cannot be used to store arbitrary data).
    fields: list[str] = Field(default_factory=lambda: list(DEFAULT_FIELDS), max_length=60)
    required: list[str] = Field(default_factory=lambda: ["email"])
    #: The activity this form records (scored by [plugins.scoring]: demo_request, newsletter...).
    activity_kind: str = "form"
    #: Product line of the lead; None lets a "product" field (or the mapping default) decide.
    product_line: str | None = None
    #: Where a browser lands after a successful post (303); None shows a short thank-you page.
    redirect_url: str | None = None
    #: Origins allowed to post from a browser script (CORS); empty allows same-origin posts only.
    allowed_origins: list[str] = Field(default_factory=list)
    #: Shared secret for server-side form tools: sent as X-LeadHub-Form-Secret, or used to sign
    #: the body (X-LeadHub-Signature: sha256=<hex HMAC of the raw body>). When set, it is required.
    secret: SecretStr | None = None
    #: Hidden field real people leave empty; a value means a bot (counted, not stored).
    honeypot: str = "fax_number"
    #: Largest body this form accepts (the app-wide [server] max_body_bytes still applies).
    max_body_bytes: int = Field(16 * 1024, ge=512, le=1024 * 1024)
    #: Largest value of one field.
    max_field_length: int = Field(5000, ge=10, le=100_000)

    @field_validator("fields", "required")
    @classmethod
    def _names(cls, value: list[str]) -> list[str]:
        for name in value:
            if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]{0,63}", name):
                raise ValueError(f"field name {name!r} must be letters, digits and _ (max 64)")
        return value

    @field_validator("redirect_url")
    @classmethod
    def _redirect(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("https://", "http://", "/")):
            raise ValueError("redirect_url must be an http(s) URL or a path starting with /")
        return value


class WebformSettings(ConnectorSettings):
    schedule_seconds: float = 0
    forms: dict[str, FormSettings] = Field(default_factory=dict)
    #: Per client IP, over all forms ("limits" syntax: "20/minute", "5/second;100/hour").
    rate_limit: str = "20/minute"
    #: Take the client IP from X-Forwarded-For (only behind a proxy you trust).
    trust_forwarded_for: bool = False

    @field_validator("forms")
    @classmethod
    def _ids(cls, value: dict[str, FormSettings]) -> dict[str, FormSettings]:
        for form_id, form in value.items():
            if not FORM_ID.fullmatch(form_id):
                raise ValueError(f"form id {form_id!r} must be lower-case letters, digits, - or _ (max 63)")
            unknown = [r for r in form.required if r not in form.fields]
            if unknown:
                raise ValueError(f"form {form_id!r}: required {unknown} are not in its fields")
        return value

    @field_validator("rate_limit")
    @classmethod
    def _limit(cls, value: str) -> str:
        from limits import parse_many

        try:
            parse_many(value)
        except ValueError:
            raise ValueError(f"rate_limit {value!r} is not like '20/minute'") from None
        return value


class WebformConnector(Connector):
    name = "webform"
    settings_model = WebformSettings
    capabilities = frozenset({Capability.HTTP})
    streams = ()

    settings: WebformSettings

    def http_routes(self, hub: Hub) -> APIRouter:
        from connectors.webform.routes import form_router

        return form_router(hub, self)

    def check(self) -> HealthReport:
        if not self.settings.forms:
            return HealthReport(False, f"no forms: add [connectors.{self.instance}.forms.<id>] to hub.toml")
        return HealthReport(True, f"{len(self.settings.forms)} form(s): {', '.join(sorted(self.settings.forms))}")
