"""Settings of the HubSpot connector (``[connectors.<instance>] type = "hubspot"`` in hub.toml).

Structure lives in hub.toml; the private-app access token comes from the environment, e.g.
``LEADHUB_CONNECTORS__HUBSPOT__ACCESS_TOKEN=pat-...`` (pydantic-settings, nested delimiter ``__``).
It is a :class:`~pydantic.SecretStr`, so it never shows up in a repr, a log line or an error.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, SecretStr, field_validator

from hub.api import ConnectorSettings

#: ``hs_lead_status`` values a rep sets while working a lead: only these are reported as outcomes.
#: The hub itself writes NEW and OPEN (see mappings/hubspot.toml), which are never outcomes.
DEFAULT_OUTCOME_LEAD_STATUSES = (
    "IN_PROGRESS", "ATTEMPTED_TO_CONTACT", "CONNECTED", "OPEN_DEAL", "UNQUALIFIED", "BAD_TIMING",
)


class HubSpotSettings(ConnectorSettings):
    """How to reach one HubSpot portal and how to read and write it."""

    #: Private-app access token (``pat-...``). Set it in the environment, never in hub.toml.
    access_token: SecretStr | None = None
    #: API base URL without a trailing slash; the sandbox is ``http://127.0.0.1:<port>``.
    host: str = "https://api.hubapi.com"
    #: Portal (hub) id, only used to name the portal in messages and to share its API budget.
    portal_id: str = ""

    # -- writing ---------------------------------------------------------------------------------
    #: Unique company property (create it in the portal) holding the hub's account id.
    company_id_property: str = "leadhub_account_id"
    #: Contact property holding the hub's lead id: marks contacts the hub wrote (not unique:
    #: two people of one lead share it).
    contact_lead_property: str = "leadhub_lead_id"
    #: ``domain``: before creating a company, look for an existing one with the account's domain
    #: (one search call per batch with unknown accounts). ``off``: trust the unique property only.
    company_lookup: Literal["domain", "off"] = "domain"
    #: When to read a contact's current values so crm_wins rules can be honoured: ``updates``
    #: (leads delivered before), ``always`` (also before the first delivery), ``never``.
    read_before_write: Literal["updates", "always", "never"] = "updates"

    # -- reading ---------------------------------------------------------------------------------
    #: Search results lag behind writes: every pull re-reads this many seconds before its cursor.
    lookback_seconds: float = Field(default=300.0, ge=0)
    #: Search page size (HubSpot's maximum is 200).
    page_size: int = Field(default=200, ge=1, le=200)
    #: Also read archived (deleted) records each pull, so deletions reach the hub.
    pull_archived: bool = True
    #: Pull only changes after this moment on the first run (epoch milliseconds; 0: everything).
    backfill_from_ms: int = Field(default=0, ge=0)
    #: ``hs_lead_status`` values of hub-written contacts that are reported back as outcomes.
    outcome_lead_statuses: tuple[str, ...] = DEFAULT_OUTCOME_LEAD_STATUSES

    # -- limits ----------------------------------------------------------------------------------
    #: Share of the portal's ten-second limit this hub may use (other apps need the rest).
    budget_share: float = Field(default=0.8, gt=0, le=1)
    #: Requests per second to the search endpoints (HubSpot allows 5 per portal).
    search_per_second: float = Field(default=4.0, gt=0)
    #: Stop calling when the portal's daily remaining calls fall to this reserve.
    daily_reserve: int = Field(default=1000, ge=0)
    #: Attempts per call on 429 / 5xx / dropped connections before giving up for this round.
    max_attempts: int = Field(default=6, ge=1, le=20)
    #: Seconds per HTTP request (connect and read).
    timeout_seconds: float = Field(default=30.0, gt=0)

    @field_validator("host")
    @classmethod
    def _host_without_slash(cls, value: str) -> str:
        value = value.strip().rstrip("/")
        if not value.startswith(("http://", "https://")):
            raise ValueError("host must start with https:// (or http:// for the local sandbox)")
        return value

    @field_validator("company_id_property", "contact_lead_property")
    @classmethod
    def _property_name(cls, value: str) -> str:
        if not value or not value.replace("_", "").isalnum() or value.lower() != value:
            raise ValueError("a HubSpot property name is lower-case letters, digits and _")
        return value
