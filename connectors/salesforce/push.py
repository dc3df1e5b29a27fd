"""Delivery of routed leads through sObject Collections: up to 200 records in one API call.

Every write sends ``Sforce-Auto-Assign: FALSE``, so an active lead assignment rule in the org does
not overwrite the owner the hub routed to. A lead Salesforce has never seen is upserted by the hub's
lead id in the external-id field (``PATCH composite/sobjects/Lead/LeadHub_Id__c``), so a retry never
creates a duplicate. A lead Salesforce already holds (a delivery before, or a rep created it) is
updated by its Id (``PATCH composite/sobjects``) after reading its current values in one query, so
the mapping's per-field conflict rules (``crm_wins``, ``crm_wins_unless_blank``) are honoured; the
update also writes the external-id field, which tags a rep's lead as the hub's. With
``known_account_mode = "contact"``, a lead whose account is already a Salesforce account becomes a
Contact on that Account instead (same two paths, stream ``Contact`` of the mapping).

Per-record errors (validation rules, bad picklist values...) fail only their item, with
Salesforce's message; the rest of the batch is delivered. Whole-call failures raise the hub's
errors from :mod:`connectors.salesforce.client`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from types import MappingProxyType
from typing import Any

from connectors.salesforce.client import SalesforceClient, format_soql
from connectors.salesforce.settings import SalesforceSettings
from hub.api import ConfigError, DeliveryItem, InvalidRecord, MappingSet, PushResult, lead_view, utcnow

COLLECTION_LIMIT = 200
#: Sent with every write: the owner the hub routed to stays, whatever assignment rule the org runs
#: (Salesforce's REST API applies the active lead assignment rule unless told not to).
NO_AUTO_ASSIGN = MappingProxyType({"Sforce-Auto-Assign": "FALSE"})
#: Record-level status codes worth another try; any other code is permanent for that record.
RETRYABLE_CODES = frozenset({"UNABLE_TO_LOCK_ROW", "ALL_OR_NONE_OPERATION_ROLLED_BACK", "REQUEST_RUNNING_TOO_LONG",
                             "SERVER_UNAVAILABLE", "QUERY_TIMEOUT", "TXN_SECURITY_METERING_ERROR"})
ID_PREFIX = MappingProxyType({"Lead": "00Q", "Contact": "003"})
#: Prefix of the version a delivery stamps on its cross-reference: the server time of the write.
WRITE_VERSION = "hubwrite:"


@dataclass
class _Planned:
    item: DeliveryItem
    sobject: str
    sf_id: str | None  # known Salesforce id: update by Id; None: upsert by external id
    body: dict[str, Any] = field(default_factory=dict)


class LeadWriter:
    """Turns a batch of delivery items into at most a few collection calls."""

    def __init__(self, client: SalesforceClient, settings: SalesforceSettings, mappings: MappingSet | None,
                 instance: str, type_name: str) -> None:
        self.client = client
        self.settings = settings
        self.mappings = mappings
        self.instance = instance
        self.type_name = type_name

    # -- the batch -----------------------------------------------------------------------------
    def push(self, items: Sequence[DeliveryItem]) -> list[PushResult]:
        results: list[PushResult] = []
        send: list[DeliveryItem] = list(items)
        if self.client.over_budget():
            send, deferred = self._split_fresh(items)
            usage = self.client.usage
            shown = f"{usage.used}/{usage.total}" if usage else "?"
            results += [PushResult(i.key, ok=False, retryable=True, deferred=True,
                                   error=f"deferred: Salesforce API usage {shown} is past budget_share "
                                         f"{self.settings.budget_share:.0%}; older leads wait for budget")
                        for i in deferred]
        plans: list[_Planned] = []
        for item in send:
            sobject = self._target(item)
            known = item.external_id if item.external_id and item.external_id.startswith(ID_PREFIX[sobject]) else None
            plans.append(_Planned(item, sobject, known))
        for sobject in ("Lead", "Contact"):
            group = [p for p in plans if p.sobject == sobject]
            if not group:
                continue
            current = self._current(sobject, [p.sf_id for p in group if p.sf_id])
            for plan in group:
                if plan.sf_id and plan.sf_id not in current:
                    plan.sf_id = None  # deleted in Salesforce since: create it again by upsert
            ready: list[_Planned] = []
            for plan in group:
                try:
                    plan.body = self._body(plan, current.get(plan.sf_id or ""))
                    ready.append(plan)
                except (InvalidRecord, ConfigError) as exc:
                    results.append(PushResult(plan.item.key, ok=False, retryable=False,
                                              error=f"cannot map lead {plan.item.lead.id} for Salesforce: {exc}"))
            results += self._send(sobject, [p for p in ready if p.sf_id], by_id=True)
            results += self._send(sobject, [p for p in ready if not p.sf_id], by_id=False)
        return results

    def _split_fresh(self, items: Sequence[DeliveryItem]) -> tuple[list[DeliveryItem], list[DeliveryItem]]:
        floor = utcnow() - timedelta(minutes=self.settings.fresh_lead_minutes)
        fresh = [i for i in items if i.lead.created_at >= floor]
        return fresh, [i for i in items if i.lead.created_at < floor]

    def _target(self, item: DeliveryItem) -> str:
        if self.settings.known_account_mode == "contact" and self._account_id(item):
            return "Contact"
        return "Lead"

    def _account_id(self, item: DeliveryItem) -> str | None:
        found = item.account.xrefs.get(self.instance) or item.xrefs.get("account")
        return found if found and found.startswith("001") else None

    # -- records -------------------------------------------------------------------------------
    def _body(self, plan: _Planned, current: dict[str, Any] | None) -> dict[str, Any]:
        if self.mappings is None:
            raise ConfigError("no mappings loaded: the hub must load mappings/salesforce.toml")
        view = lead_view(plan.item, self.instance)
        stream = self.mappings.stream(self.type_name, plan.sobject)
        if stream is None:
            raise ConfigError(f"add [streams.{plan.sobject}.outbound] to mappings/{self.type_name}.toml")
        values = self.mappings.outbound(self.type_name, plan.sobject, view, current)
        key = stream.key_field
        if key and key != self.settings.external_id_field:
            values.pop(key, None)
        values[self.settings.external_id_field] = plan.item.lead.id
        if plan.sobject == "Contact":
            values["AccountId"] = self._account_id(plan.item)
        return values

    def _current(self, sobject: str, ids: list[str]) -> dict[str, dict[str, Any]]:
        """Current values of records Salesforce holds (one query per 200), for conflict rules."""
        if not ids or self.mappings is None:
            return {}
        stream = self.mappings.stream(self.type_name, sobject)
        wanted = [f for f in (stream.destination_fields() if stream else []) if f != "Id"]
        fields = ", ".join(dict.fromkeys(["Id", *wanted]))
        out: dict[str, dict[str, Any]] = {}
        for start in range(0, len(ids), COLLECTION_LIMIT):
            chunk = ids[start:start + COLLECTION_LIMIT]
            soql = format_soql("SELECT {:literal} FROM {:literal} WHERE Id IN {}", fields, sobject, chunk)
            for page, _ in self.client.query_pages(soql):
                for record in page:
                    out[str(record["Id"])] = {k: v for k, v in record.items() if k != "attributes"}
        # Salesforce answers 18-character ids; callers may hold 15-character ones.
        for sf_id in ids:
            if sf_id not in out:
                match = next((v for k, v in out.items() if k[:15] == sf_id[:15]), None)
                if match is not None:
                    out[sf_id] = match
        return out

    # -- the calls -----------------------------------------------------------------------------
    def _send(self, sobject: str, plans: list[_Planned], *, by_id: bool) -> list[PushResult]:
        results: list[PushResult] = []
        for start in range(0, len(plans), COLLECTION_LIMIT):
            chunk = plans[start:start + COLLECTION_LIMIT]
            records = []
            for plan in chunk:
                record: dict[str, Any] = {"attributes": {"type": sobject}, **plan.body}
                if by_id:
                    record["id"] = plan.sf_id
                records.append(record)
            path = "composite/sobjects" if by_id else f"composite/sobjects/{sobject}/{self.settings.external_id_field}"
            body = {"allOrNone": False, "records": records}
            answer = self.client.restful(path, method="PATCH", json=body, headers=dict(NO_AUTO_ASSIGN))
            version = WRITE_VERSION + self.client.server_time().isoformat()
            if not isinstance(answer, list) or len(answer) != len(chunk):
                # Cannot tell which record fared how: retry them all (upserts are idempotent).
                results += [PushResult(p.item.key, ok=False, retryable=True,
                                       error="Salesforce answered the collection call with an unexpected body")
                            for p in chunk]
                continue
            for plan, outcome in zip(chunk, answer, strict=True):
                results.append(self._result(plan, outcome, version))
        return results

    def _result(self, plan: _Planned, outcome: Any, version: str) -> PushResult:
        key = plan.item.key
        if isinstance(outcome, dict) and outcome.get("success"):
            return PushResult(key, ok=True, external_id=str(outcome.get("id") or plan.sf_id), version=version)
        errors = outcome.get("errors") if isinstance(outcome, dict) else None
        errors = errors if isinstance(errors, list) else []
        codes = [str(e.get("statusCode") or e.get("errorCode") or "") for e in errors if isinstance(e, dict)]
        said = "; ".join(
            f"{c}: {str(e.get('message') or '')[:300]}" + (f" (fields: {', '.join(map(str, e['fields']))})"
                                                         if e.get("fields") else "")
            for c, e in zip(codes, errors, strict=False)) or "no error detail"
        retryable = bool(codes) and all(c in RETRYABLE_CODES for c in codes)
        return PushResult(key, ok=False, retryable=retryable,
                          error=f"Salesforce rejected {plan.sobject} for lead {plan.item.lead.id}: {said}")
