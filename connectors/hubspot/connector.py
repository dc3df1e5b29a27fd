"""The HubSpot connector: a source of contacts and companies, a destination for routed leads, and
a reporter of what became of them (lead status, deals).

Streams it hands in (mapped by ``mappings/hubspot.toml``):

==================  ========  ===========================================================
``contacts``        inquiry   contacts reps or forms created (not written by the hub), with
                              their associated company (``associated_company.*``)
``companies``       inquiry   companies not written by the hub
``contacts:outcome`` outcome  the rep's ``hs_lead_status`` on contacts the hub wrote
``deals``           outcome   deal stages of deals of the hub's contacts (won/lost/amount)
``<x>:archived``    deleted   archived contacts/companies (``SourceRecord.deleted``)
==================  ========  ===========================================================
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from typing import Any

from connectors.hubspot.client import SCOPES, HubSpotClient, new_budget, portal_key
from connectors.hubspot.outcomes import OutcomeReader, OutcomeWriter, record_of
from connectors.hubspot.pull import (
    SearchScan,
    archived,
    associated,
    now_ms,
    read_objects,
    to_ms,
    window,
)
from connectors.hubspot.push import TYPE_NAME, LeadWriter
from connectors.hubspot.settings import HubSpotSettings
from hub.api import (
    Capability,
    ConfigError,
    Connector,
    ConnectorError,
    ConnectorServices,
    DeliveryItem,
    HealthReport,
    MappingSet,
    Page,
    PushResult,
    SandboxSpec,
    SourceRecord,
)

COMPANY_FIELDS = ("name", "domain", "website", "country", "industry", "numberofemployees", "phone")


class HubSpotConnector(Connector):
    name = "hubspot"
    settings_model = HubSpotSettings
    capabilities = frozenset({Capability.PULL, Capability.PUSH_LEADS, Capability.PULL_OUTCOMES,
                              Capability.PUSH_OUTCOMES})
    batch_limit = 100
    streams = ("contacts", "companies")
    #: ``leadhub run --with-sandbox``: a loopback ``host`` without a token of its own gets the
    #: sandbox's token as ``access_token`` (sandbox/defaults.py holds the same default).
    sandbox = SandboxSpec(url_setting="host", secret_setting="access_token",  # noqa: S106 - a setting's name
                          token_env="LEADHUB_SANDBOX_HS_TOKEN", default_token="pat-sandbox-hs")  # noqa: S106 - the sandbox's published demo token

    settings: HubSpotSettings

    def __init__(self, instance: str, settings: Any, mappings: MappingSet | None = None,
                 *, services: ConnectorServices | None = None) -> None:
        super().__init__(instance, settings, mappings, services=services)
        self._client: HubSpotClient | None = None
        self._lock = threading.Lock()

    # -- plumbing ----------------------------------------------------------------------------------
    @property
    def client(self) -> HubSpotClient:
        """Built on first use, so a hub starts (and ``check`` explains) without a token."""
        with self._lock:
            if self._client is None:
                budget = self.services.shared(("hubspot portal budget", portal_key(self.settings)),
                                              lambda: new_budget(self.settings))
                self._client = HubSpotClient(self.settings, self.instance, budget)
            return self._client

    @property
    def _mappings(self) -> MappingSet:
        if self.mappings is None or self.mappings.stream(TYPE_NAME, "contacts") is None:
            raise ConfigError(f"connector {self.instance}: mappings/{TYPE_NAME}.toml is missing or has no "
                              "[streams.contacts]; restore it from the LeadHub distribution")
        return self.mappings

    def _fields(self, stream: str) -> list[str]:
        mapping = self._mappings.stream(TYPE_NAME, stream)
        return [f for f in (mapping.source_fields() if mapping else []) if f not in ("id", "associated_company")]

    # -- source ------------------------------------------------------------------------------------
    def pull(self, stream: str, cursor: dict[str, Any] | None) -> Iterator[Page]:
        if stream not in self.streams:
            raise ConfigError(f"connector {self.instance} has no stream {stream!r}; it reads "
                              f"{', '.join(self.streams)}")
        high = now_ms()
        state = dict(cursor or {})
        hub_prop = self.settings.contact_lead_property if stream == "contacts" else self.settings.company_id_property
        scan = SearchScan(self.client, stream, self._fields(stream), self.settings.page_size,
                          # What the hub wrote is not new activity (echo suppression by nature).
                          filters=[{"propertyName": hub_prop, "operator": "NOT_HAS_PROPERTY"}])
        low, resume = window(state.get("search"), self.settings.lookback_seconds, self.settings.backfill_from_ms)
        for batch in scan.pages(low, high, resume):
            extra = self._companies_of(batch.results) if stream == "contacts" else {}
            records = [record_of(self.instance, stream, scan.modified, r, extra.get(str(r.get("id"))))
                       for r in batch.results]
            state["search"] = batch.cursor
            yield Page(records, dict(state))
        if self.settings.pull_archived:
            yield from self._archived(stream, state, scan.modified)

    def _archived(self, stream: str, state: dict[str, Any], modified: str) -> Iterator[Page]:
        since = state.get("archived_ts")
        low = 0 if since is None else max(0, int(since) - int(self.settings.lookback_seconds * 1000))
        records: list[SourceRecord] = []
        newest = since
        for result in archived(self.client, stream, low, ["hs_object_id"]):
            records.append(record_of(self.instance, f"{stream}:archived", modified, result, deleted=True))
            stamp = to_ms(result.get("archivedAt"))
            if stamp is not None and (newest is None or stamp > int(newest)):
                newest = stamp
            if len(records) >= 500:
                state["archived_ts"] = newest
                yield Page(records, dict(state))
                records = []
        if records or newest != since:
            state["archived_ts"] = newest
            yield Page(records, dict(state))

    def _companies_of(self, contacts: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
        """``contact id -> {"associated_company": {...}}``: two calls per page, so matching sees it."""
        links = associated(self.client, "contacts", "companies", [str(c.get("id")) for c in contacts])
        first = {contact: ids[0] for contact, ids in links.items() if ids}
        companies = read_objects(self.client, "companies", sorted(set(first.values())), list(COMPANY_FIELDS))
        return {contact: {"associated_company": {"id": company, **companies[company]}}
                for contact, company in first.items() if company in companies}

    def pull_outcomes(self, cursor: dict[str, Any] | None) -> Iterator[Page]:
        reader = OutcomeReader(self.client, self.settings, self._mappings, self.instance)
        for records, state in reader.pages(cursor, now_ms()):
            yield Page(records, state)

    def is_echo(self, record: SourceRecord, known_version: str | None) -> bool:
        """Our own write comes back with a stamp no later than the one HubSpot gave that write."""
        if known_version is None or record.deleted:
            return False
        seen, ours = to_ms(record.version), to_ms(known_version)
        if seen is None or ours is None:
            return record.version == known_version
        return seen <= ours

    # -- destination -------------------------------------------------------------------------------
    def push_leads(self, batch: Sequence[DeliveryItem]) -> list[PushResult]:
        return LeadWriter(self.client, self.settings, self._mappings, self.instance).push(batch)

    def push_outcomes(self, batch: Sequence[DeliveryItem]) -> list[PushResult]:
        return OutcomeWriter(self.client, self.settings, self._mappings, self.instance).push(batch)

    # -- users -------------------------------------------------------------------------------------
    def list_users(self) -> list[tuple[str, str]]:
        """The portal's active owners (owner id, e-mail): ``hubspot_owner_id`` holds the owner id."""
        users: list[tuple[str, str]] = []
        after: str | None = None
        while True:
            page = self.client.owners_page(after)
            users += [(str(o["id"]), str(o["email"])) for o in page.get("results") or [] if o.get("email")]
            after = ((page.get("paging") or {}).get("next") or {}).get("after")
            if not after:
                return users

    # -- health ------------------------------------------------------------------------------------
    def check(self) -> HealthReport:
        try:
            client = self.client
            client.search("contacts", {"limit": 1, "after": "0", "properties": ["email"], "filterGroups": []})
        except ConnectorError as exc:
            return HealthReport(False, str(exc))
        budget = client.budget
        return HealthReport(True, f"HubSpot at {self.settings.host} answers; token accepted", details={
            "ten_second_limit": budget.limit, "daily_remaining": budget.daily_remaining,
            "scopes_needed": list(SCOPES)})

    def close(self) -> None:
        self._client = None
