"""Settings of the Salesforce connector: ``[connectors.<instance>]`` in hub.toml plus secrets.

Secrets (session id, password, security token, client secret) are ``SecretStr`` and come from the
environment, e.g. ``LEADHUB_CONNECTORS__SALESFORCE__SESSION_ID``. Three ways to authenticate, the
first that is complete wins:

* ``session_id`` + ``instance_url``: an access token you obtained elsewhere (the sandbox uses it);
* ``username`` + ``password`` (+ ``security_token``, + optional ``consumer_key``/``consumer_secret``);
* ``consumer_key`` + ``consumer_secret`` with a My Domain ``domain``: OAuth client credentials.

A session id together with login credentials starts with the session and logs in again when it
expires. ``instance_url`` may use ``http://`` only for a loopback host (the sandbox): tokens never
travel in clear text to anything else.
"""

from __future__ import annotations

import ipaddress
import re
from datetime import datetime
from typing import Literal
from urllib.parse import urlparse

from pydantic import Field, SecretStr, field_validator, model_validator

from hub.api import ConnectorSettings

#: An sObject field API name (standard or custom); checked because names go into SOQL verbatim.
FIELD_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,79}$")
InquiryStream = Literal["Lead", "Contact", "Account"]


def _all_inquiry_streams() -> list[InquiryStream]:
    return ["Lead", "Contact", "Account"]


def is_loopback(host: str | None) -> bool:
    if not host:
        return False
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _check_url(value: str | None, what: str) -> str | None:
    if not value:
        return None
    parsed = urlparse(value)
    if parsed.scheme not in ("http", "https") or not parsed.hostname:
        raise ValueError(f"{what} must be a URL such as https://yourorg.my.salesforce.com")
    if parsed.scheme == "http" and not is_loopback(parsed.hostname):
        raise ValueError(f"{what} may use http:// only for a loopback host (the sandbox); "
                         "use https:// for a real org")
    return value.rstrip("/")


class SalesforceSettings(ConnectorSettings):
    # -- where and who -------------------------------------------------------------------------
    #: The org's instance, e.g. https://yourorg.my.salesforce.com (http://127.0.0.1:PORT: sandbox).
    instance_url: str | None = None
    session_id: SecretStr | None = None
    username: str | None = None
    password: SecretStr | None = None
    security_token: SecretStr | None = None
    #: Connected app consumer key (client id) and secret, for OAuth flows.
    consumer_key: str | None = None
    consumer_secret: SecretStr | None = None
    #: "login", "test" or your My Domain prefix (e.g. "yourorg.my"; client credentials need it).
    domain: str = "login"
    #: Base URL of the OAuth token endpoint instead of https://<domain>.salesforce.com; only for
    #: the loopback sandbox (http://127.0.0.1:PORT).
    login_url: str | None = None
    api_version: str = "59.0"
    request_timeout_seconds: float = Field(30.0, gt=0, le=600)

    # -- what ----------------------------------------------------------------------------------
    #: Lead (and Contact) field holding the hub's lead id: the upsert key.
    external_id_field: str = "LeadHub_Id__c"
    #: Opportunity field the org copies the hub's lead id into on conversion (a lead field
    #: mapping); "" or None: find the converted lead by ConvertedOpportunityId instead.
    opportunity_external_id_field: str | None = "LeadHub_Id__c"
    #: Objects pulled as inquiries (records reps create in Salesforce).
    pull_streams: list[InquiryStream] = Field(default_factory=_all_inquiry_streams)
    #: Records per query page (Sforce-Query-Options batchSize, 200..2000).
    page_size: int = Field(2000, ge=200, le=2000)
    #: Re-read this many seconds before the cursor on every pull: catches records committed late
    #: with an earlier SystemModstamp; the overlap is de-duplicated by (Id, SystemModstamp).
    lookback_seconds: float = Field(60.0, ge=0, le=86_400)
    #: First run reads records modified since this instant (None: everything).
    start_date: datetime | None = None
    #: A lead whose account is already a Salesforce account becomes a "lead" or a "contact" on it.
    known_account_mode: Literal["lead", "contact"] = "lead"
    #: Lead statuses that report nothing (the lead is still open): not turned into outcomes.
    open_statuses: list[str] = Field(default_factory=lambda: ["Open - Not Contacted"])
    #: The integration user (005...): when set, only its writes count as the hub's echo.
    integration_user_id: str | None = None

    # -- limits --------------------------------------------------------------------------------
    #: Share of the daily API allocation after which backfills pause and only fresh leads go out.
    budget_share: float = Field(0.8, gt=0, le=1)
    #: A lead created less than this many minutes ago is "fresh" (sent even when over budget).
    fresh_lead_minutes: float = Field(60.0, ge=0)
    #: Retries of one call on 429/5xx/timeouts before the batch is handed back to the deliverer.
    max_retries: int = Field(4, ge=0, le=20)
    retry_initial_seconds: float = Field(0.5, ge=0)
    retry_max_seconds: float = Field(30.0, ge=0)
    #: A Retry-After longer than this is not waited out inline: the deliverer reschedules.
    max_inline_wait_seconds: float = Field(60.0, ge=0)
    #: When the daily allocation is exhausted (REQUEST_LIMIT_EXCEEDED), try again after this.
    exhausted_retry_seconds: float = Field(3600.0, gt=0)

    @field_validator("instance_url")
    @classmethod
    def _instance_url(cls, value: str | None) -> str | None:
        return _check_url(value, "instance_url")

    @field_validator("login_url")
    @classmethod
    def _login_url(cls, value: str | None) -> str | None:
        checked = _check_url(value, "login_url")
        if checked and not is_loopback(urlparse(checked).hostname):
            raise ValueError("login_url is only for the loopback sandbox; for a real org set domain")
        return checked

    @field_validator("integration_user_id")
    @classmethod
    def _user_id(cls, value: str | None) -> str | None:
        if value is not None and not re.fullmatch(r"005[A-Za-z0-9]{12}(?:[A-Za-z0-9]{3})?", value):
            raise ValueError("integration_user_id is a User id: 005 and 12 or 15 more letters/digits")
        return value

    @field_validator("external_id_field", "opportunity_external_id_field")
    @classmethod
    def _field_name(cls, value: str | None) -> str | None:
        if value == "":
            return None  # TOML has no null: "" switches an optional field off
        if value is not None and not FIELD_NAME.match(value):
            raise ValueError(f"{value!r} is not a Salesforce API name (letters, digits, _)")
        return value

    @field_validator("api_version")
    @classmethod
    def _version(cls, value: str) -> str:
        if not re.fullmatch(r"\d{2}\.\d", value):
            raise ValueError("api_version looks like 59.0")
        if float(value) < 46.0:
            raise ValueError("api_version must be 46.0 or later (sObject Collections upsert)")
        return value

    @field_validator("domain")
    @classmethod
    def _domain(cls, value: str) -> str:
        if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9.-]{0,120}", value):
            raise ValueError("domain is login, test or your My Domain prefix such as yourorg.my")
        return value

    @model_validator(mode="after")
    def _auth_complete(self) -> SalesforceSettings:
        if self.enabled and self.auth_mode() is None:
            raise ValueError(
                "no complete credentials: set session_id and instance_url, or username and password "
                "(+ security_token), or consumer_key and consumer_secret with a My Domain domain; "
                "secrets go in LEADHUB_CONNECTORS__<INSTANCE>__<SETTING> environment variables")
        return self

    # -- derived -------------------------------------------------------------------------------
    def auth_mode(self) -> str | None:
        """"session", "password", "client_credentials" or None (incomplete)."""
        if self.session_id is not None and self.instance_url:
            return "session"
        return self.login_mode()

    def login_mode(self) -> str | None:
        """How to log in again when a session expires; None when only a session id is given."""
        if self.username and self.password is not None:
            return "password"
        if self.consumer_key and self.consumer_secret is not None and self.domain not in ("login", "test"):
            return "client_credentials"
        return None
