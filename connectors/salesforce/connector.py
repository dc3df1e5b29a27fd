"""The Salesforce connector: leads, contacts and accounts in; routed leads out; outcomes back.

* ``pull(stream)`` reads ``Lead`` / ``Contact`` / ``Account`` records reps create, incrementally
  (:mod:`connectors.salesforce.pull`), deletions included;
* ``pull_outcomes`` reads the hub's own leads (status, conversion) and the opportunities
  converted from them (:mod:`connectors.salesforce.outcomes`);
* ``push_leads`` upserts routed leads 200 per call (:mod:`connectors.salesforce.push`);
* ``is_echo`` recognises the hub's own writes coming back;
* everything talks through one :class:`~connectors.salesforce.client.SalesforceClient`.

Which fields are read comes from ``mappings/salesforce.toml``, intersected with the org's
``describe`` (read once per object), so a mapping may name optional custom fields an org lacks.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from datetime import timedelta
from types import MappingProxyType
from typing import Any, ClassVar

from connectors.salesforce.client import SalesforceClient, format_soql
from connectors.salesforce.outcomes import (
    OPPORTUNITY_STREAM,
    OUTCOME_STREAM,
    converted_from_hub,
    reports_outcome,
)
from connectors.salesforce.pull import (
    ObjectQuery,
    parse_stamp,
    pull_object,
    to_source_record,
    version_stamp,
)
from connectors.salesforce.push import WRITE_VERSION, LeadWriter
from connectors.salesforce.settings import SalesforceSettings
from hub.api import (
    Capability,
    Connector,
    ConnectorError,
    ConnectorServices,
    DeliveryItem,
    FatalAPIError,
    HealthReport,
    MappingSet,
    Page,
    PushResult,
    SandboxSpec,
    SourceRecord,
)

#: The server's Date header has whole seconds and servers cache it for up to a second, so the
#: write's SystemModstamp can be up to ~2 s after the Date of the answer that confirmed it.
ECHO_MARGIN = timedelta(seconds=2)
#: The Lead field a conversion fills, per object a conversion creates.
CONVERTED_FIELD = MappingProxyType({"Contact": "ConvertedContactId", "Account": "ConvertedAccountId"})


class _Describe:
    """The field and relationship names of one object, as the org's describe() reports them."""

    def __init__(self, data: dict[str, Any]) -> None:
        self.fields = {str(f["name"]).lower(): str(f["name"]) for f in data.get("fields", [])}
        self.external = {str(f["name"]).lower() for f in data.get("fields", []) if f.get("externalId")}
        self.relationships = {str(f["relationshipName"]).lower(): str(f["relationshipName"])
                              for f in data.get("fields", []) if f.get("relationshipName")}

    def has(self, name: str) -> bool:
        return name.lower() in self.fields

    def resolve(self, path: str) -> str | None:
        """The canonical spelling of a field or a one-hop ``Relationship.Field``; None if absent."""
        head, _, tail = path.partition(".")
        if not tail:
            return self.fields.get(head.lower())
        rel = self.relationships.get(head.lower())
        return f"{rel}.{tail}" if rel and "." not in tail else None


class SalesforceConnector(Connector):
    name = "salesforce"
    settings_model = SalesforceSettings
    capabilities = frozenset({Capability.PULL, Capability.PUSH_LEADS, Capability.PULL_OUTCOMES})
    batch_limit = 200
    streams: ClassVar[tuple[str, ...]] = ("Lead", "Contact", "Account")
    #: ``leadhub run --with-sandbox``: a loopback ``instance_url`` without credentials of its own
    #: gets the sandbox's token as ``session_id`` (sandbox/defaults.py holds the same default).
    sandbox = SandboxSpec(url_setting="instance_url", secret_setting="session_id",  # noqa: S106 - a setting's name
                          token_env="LEADHUB_SANDBOX_SF_TOKEN", default_token="SANDBOX-SF",  # noqa: S106 - the sandbox's published demo token
                          credential_settings=("username", "password", "consumer_key", "consumer_secret"))

    settings: SalesforceSettings

    def __init__(self, instance: str, settings: SalesforceSettings, mappings: MappingSet | None = None,
                 *, services: ConnectorServices | None = None) -> None:
        super().__init__(instance, settings, mappings, services=services)
        self.streams = tuple(settings.pull_streams)  # type: ignore[misc]  # per instance, from settings
        self.client = SalesforceClient(settings, instance)
        self.writer = LeadWriter(self.client, settings, mappings, instance, self.name)
        self._describes: dict[str, _Describe] = {}
        self._describe_lock = threading.Lock()
        self._open_statuses = frozenset(settings.open_statuses)

    # -- metadata ------------------------------------------------------------------------------
    def describe(self, sobject: str) -> _Describe:
        with self._describe_lock:
            found = self._describes.get(sobject)
        if found is None:
            data = self.client.call(f"describe {sobject}", lambda sf: getattr(sf, sobject).describe())
            found = _Describe(data if isinstance(data, dict) else {})
            with self._describe_lock:
                self._describes[sobject] = found
        return found

    def _fields(self, sobject: str, stream: str, extra: Sequence[str] = ()) -> list[str]:
        """Fields to SELECT: what the stream's inbound mapping reads, as far as the org has them."""
        desc = self.describe(sobject)
        wanted: list[str] = list(extra)
        mapping = self.mappings.stream(self.name, stream) if self.mappings else None
        for rule in (mapping.inbound or ()) if mapping else ():
            for alt in rule.alternatives:
                wanted += [s for s in alt.sources if not s.startswith("@")]
        resolved = (desc.resolve(name) for name in wanted)
        return list(dict.fromkeys(name for name in resolved if name))

    def _ext_condition(self, sobject: str, field: str | None, present: bool) -> str | None:
        """``field = null`` / ``!= null`` when the object has the field; None when it has not."""
        if not field or not self.describe(sobject).has(field):
            return None
        return format_soql("{:literal} " + ("!=" if present else "=") + " null", field)

    # -- pull: inquiries -----------------------------------------------------------------------
    def pull(self, stream: str, cursor: dict[str, Any] | None) -> Iterator[Page]:
        if stream not in ("Lead", "Contact", "Account"):
            raise FatalAPIError(f"{self.instance}: unknown stream {stream!r}; "
                                "pull_streams takes Lead, Contact, Account")
        ext = self.settings.external_id_field
        condition = ""
        if stream == "Lead":
            condition = self._ext_condition("Lead", ext, present=False) or ""
        query = ObjectQuery(stream, self._fields(stream, stream))

        def convert(raw: list[dict[str, Any]]) -> list[SourceRecord]:
            if stream in CONVERTED_FIELD and self.describe("Lead").has(ext):
                hub_made = converted_from_hub(self.client, ext, CONVERTED_FIELD[stream], (str(r["Id"]) for r in raw))
                raw = [r for r in raw if str(r["Id"]) not in hub_made]
            return [to_source_record(self.instance, stream, r) for r in raw]

        query.condition = condition
        yield from self._pages(query, cursor, convert)

    def _pages(self, query: ObjectQuery, cursor: dict[str, Any] | None, convert: Any) -> Iterator[Page]:
        for records, new_cursor in pull_object(
            self.client, query, cursor, lookback=timedelta(seconds=self.settings.lookback_seconds),
            start=self.settings.start_date, convert=convert,
            # A backfill pauses when the API budget runs low; incremental pulls go on.
            may_continue=lambda c: not (c.backfill and self.client.over_budget()),
        ):
            yield Page(records, new_cursor)

    # -- pull: outcomes ------------------------------------------------------------------------
    def pull_outcomes(self, cursor: dict[str, Any] | None) -> Iterator[Page]:
        state: dict[str, Any] = dict(cursor or {})
        ext = self.settings.external_id_field
        hub_leads = self._ext_condition("Lead", ext, present=True)
        if hub_leads is None:
            raise FatalAPIError(f"{self.instance}: Lead has no field {ext}; create it as a unique external id "
                                "(see docs/connectors/salesforce.md) or set external_id_field")
        leads = ObjectQuery("Lead", self._fields("Lead", OUTCOME_STREAM, ["Status", "IsConverted", ext,
                                                                          "ConvertedOpportunityId"]), hub_leads)

        def convert_leads(raw: list[dict[str, Any]]) -> list[SourceRecord]:
            return [to_source_record(self.instance, OUTCOME_STREAM, r, keep=(ext,))
                    for r in raw if reports_outcome(r, self._open_statuses)]

        for page in self._pages(leads, state.get(OUTCOME_STREAM), convert_leads):
            state[OUTCOME_STREAM] = page.cursor
            yield Page(page.records, dict(state))

        opp_field = self.settings.opportunity_external_id_field
        own_field = self._ext_condition("Opportunity", opp_field, present=True)
        opps = ObjectQuery("Opportunity", self._fields("Opportunity", OPPORTUNITY_STREAM,
                                                       ["StageName", "Amount", "IsClosed", "IsWon"]), own_field or "")
        if own_field and opp_field:
            opps.fields.append(opp_field)

        def convert_opps(raw: list[dict[str, Any]]) -> list[SourceRecord]:
            if not own_field:  # no copied hub id: find the hub lead each opportunity came from
                found = converted_from_hub(self.client, ext, "ConvertedOpportunityId", (str(r["Id"]) for r in raw))
                raw = [{**r, ext: found[str(r["Id"])]} for r in raw if str(r["Id"]) in found]
            return [to_source_record(self.instance, OPPORTUNITY_STREAM, r, keep=(opp_field or ext,)) for r in raw]

        for page in self._pages(opps, state.get(OPPORTUNITY_STREAM), convert_opps):
            state[OPPORTUNITY_STREAM] = page.cursor
            yield Page(page.records, dict(state))

    # -- push ----------------------------------------------------------------------------------
    def push_leads(self, batch: Sequence[DeliveryItem]) -> list[PushResult]:
        return self.writer.push(batch)

    def is_echo(self, record: SourceRecord, known_version: str | None) -> bool:
        """The hub's own write coming back: same version, or last modified no later than the
        server time of the hub's write (by the integration user, when that is configured)."""
        if known_version is None:
            return False
        if record.version == known_version:
            return True
        if not known_version.startswith(WRITE_VERSION) or not record.version or record.deleted:
            return False
        user = self.settings.integration_user_id
        if user and str(record.payload.get("LastModifiedById") or "")[:15] != user[:15]:
            return False
        try:
            written = parse_stamp(known_version[len(WRITE_VERSION):])
            stamp = version_stamp(record.version)
        except ValueError:
            return False
        return stamp < written + ECHO_MARGIN

    # -- users -------------------------------------------------------------------------------
    def list_users(self) -> list[tuple[str, str]]:
        """The org's active Users (Id, Email)."""
        soql = format_soql("SELECT Id, Email FROM User WHERE IsActive = {}", True)
        return [(str(r["Id"]), str(r["Email"])) for page, _ in self.client.query_pages(soql) for r in page
                if r.get("Email")]

    # -- health --------------------------------------------------------------------------------
    def check(self) -> HealthReport:
        try:
            with self._describe_lock:
                self._describes.pop("Lead", None)
            lead = self.describe("Lead")
        except ConnectorError as exc:
            return HealthReport(False, str(exc))
        ext = self.settings.external_id_field
        if ext.lower() not in lead.external:
            return HealthReport(False, f"{self.instance}: Lead.{ext} is missing or not an external id; create it "
                                       "(Text, Unique, External ID) as docs/connectors/salesforce.md explains")
        usage = self.client.usage
        shown = f"; API usage {usage.used}/{usage.total}" if usage else ""
        return HealthReport(True, f"{self.instance}: connected, Lead.{ext} is an external id{shown}",
                            {"api_calls": self.client.calls,
                             "api_usage": {"used": usage.used, "total": usage.total} if usage else None})

    def close(self) -> None:
        self.client.close()
