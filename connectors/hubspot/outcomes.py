"""What became of the leads: read from HubSpot (rep's lead status, deal stages) and written to it.

Read (``pull_outcomes``), each with its own compound cursor inside the outcomes cursor:

* contacts the hub wrote (they carry the hub's lead id) whose ``hs_lead_status`` is one a rep
  sets (``outcome_lead_statuses``) -> stream ``contacts:outcome``; the hub's own writes come back
  too and are recognised as echoes by their stamp (:meth:`HubSpotConnector.is_echo`);
* deals -> stream ``deals``, for deals associated with a contact the hub wrote (directly, or
  through the deal's company); the lead id is added to the payload as ``leadhub_lead_id``. Deals
  of people the hub never saw are not the hub's business and are skipped.

Written (``push_outcomes``): the contact's ``lifecyclestage`` and ``hs_lead_status`` follow the
hub's lead status (``[streams."contacts:outcome".outbound]``). HubSpot does not move a lifecycle
stage backwards, so a recycled lead's stage is cleared first, then set.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from connectors.hubspot.client import HubSpotClient
from connectors.hubspot.pull import SearchScan, associated, read_objects, to_ms, window
from connectors.hubspot.push import TYPE_NAME, _key, batch_write
from connectors.hubspot.settings import HubSpotSettings
from hub.api import DeliveryItem, MappingSet, PushResult, SourceRecord, lead_view

LIFECYCLE_ORDER = ("subscriber", "lead", "marketingqualifiedlead", "salesqualifiedlead", "opportunity",
                   "customer", "evangelist", "other")


def record_of(instance: str, stream: str, object_type_modified: str, result: dict[str, Any],
              extra: dict[str, Any] | None = None, deleted: bool = False) -> SourceRecord:
    """A search/batch result as a :class:`SourceRecord` (payload: its properties plus ``id``)."""
    props = dict(result.get("properties") or {})
    stamp = result.get("archivedAt") if deleted else (props.get(object_type_modified) or result.get("updatedAt"))
    ms = to_ms(stamp)
    from datetime import UTC, datetime

    return SourceRecord(
        connector=instance, stream=stream, external_id=str(result.get("id")), version=str(stamp or ""),
        updated_at=datetime.fromtimestamp(ms / 1000, UTC) if ms is not None else None,
        payload={**props, **(extra or {}), "id": str(result.get("id"))}, deleted=deleted,
    )


class OutcomeReader:
    def __init__(self, client: HubSpotClient, settings: HubSpotSettings, mappings: MappingSet,
                 instance: str) -> None:
        self.client, self.settings, self.mappings, self.instance = client, settings, mappings, instance

    def pages(self, cursor: dict[str, Any] | None, high: int) -> Iterator[tuple[list[SourceRecord], dict[str, Any]]]:
        state = dict(cursor or {})
        lead_prop = self.settings.contact_lead_property
        # Hub-written contacts: the rep's lead status.
        contacts = SearchScan(self.client, "contacts", self._fields("contacts:outcome") + [lead_prop, "hs_lead_status"],
                              self.settings.page_size,
                              filters=[{"propertyName": lead_prop, "operator": "HAS_PROPERTY"}])
        low, resume = window(state.get("contacts"), self.settings.lookback_seconds, self.settings.backfill_from_ms)
        wanted = set(self.settings.outcome_lead_statuses)
        for batch in contacts.pages(low, high, resume):
            records = [record_of(self.instance, "contacts:outcome", contacts.modified, r)
                       for r in batch.results if (r.get("properties") or {}).get("hs_lead_status") in wanted]
            state["contacts"] = batch.cursor
            yield records, dict(state)
        # Deals of the hub's contacts: conversion, won, lost.
        deals = SearchScan(self.client, "deals", self._fields("deals") + [lead_prop], self.settings.page_size)
        low, resume = window(state.get("deals"), self.settings.lookback_seconds, self.settings.backfill_from_ms)
        for batch in deals.pages(low, high, resume):
            leads = self._leads_of_deals(batch.results)
            records = []
            for result in batch.results:
                own = (result.get("properties") or {}).get(lead_prop)
                lead_id = own or leads.get(str(result.get("id")))
                if lead_id:
                    records.append(record_of(self.instance, "deals", deals.modified, result,
                                             extra={lead_prop: lead_id}))
            state["deals"] = batch.cursor
            yield records, dict(state)

    def _leads_of_deals(self, deals: list[dict[str, Any]]) -> dict[str, str]:
        """``deal id -> hub lead id`` through the deal's contacts, else its company's contacts."""
        lead_prop = self.settings.contact_lead_property
        ids = [str(d.get("id")) for d in deals if not (d.get("properties") or {}).get(lead_prop)]
        if not ids:
            return {}
        by_deal = associated(self.client, "deals", "contacts", ids)
        without = [d for d in ids if not by_deal.get(d)]
        if without:
            companies = associated(self.client, "deals", "companies", without)
            company_contacts = associated(self.client, "companies", "contacts",
                                          sorted({c for cs in companies.values() for c in cs}))
            for deal in without:
                by_deal[deal] = [p for c in companies.get(deal, []) for p in company_contacts.get(c, [])]
        people = read_objects(self.client, "contacts", sorted({p for ps in by_deal.values() for p in ps}),
                              [lead_prop, "lastmodifieddate"])
        found: dict[str, str] = {}
        for deal, contact_ids in by_deal.items():
            # The most recently changed of the deal's hub contacts names the lead.
            tagged = sorted((to_ms(people[c].get("lastmodifieddate")) or 0, people[c][lead_prop])
                            for c in contact_ids if c in people and people[c].get(lead_prop))
            if tagged:
                found[deal] = tagged[-1][1]
        return found

    def _fields(self, stream: str) -> list[str]:
        mapping = self.mappings.stream(TYPE_NAME, stream)
        return mapping.source_fields() if mapping else []


class OutcomeWriter:
    """Updates the lifecycle stage and lead status of the contacts of leads whose status moved."""

    def __init__(self, client: HubSpotClient, settings: HubSpotSettings, mappings: MappingSet,
                 instance: str) -> None:
        self.client, self.settings, self.mappings, self.instance = client, settings, mappings, instance

    def push(self, items: Sequence[DeliveryItem]) -> list[PushResult]:
        results: dict[int, PushResult] = {}
        updates: dict[str, dict[str, Any]] = {}
        owners: dict[str, list[int]] = {}
        for item in items:
            target = item.external_id
            if not target:
                results[item.key] = PushResult(item.key, ok=False, retryable=False, error=(
                    "HubSpot has no contact for this lead yet (it was never delivered there), so "
                    "there is nothing to update; deliver the lead to HubSpot first"))
                continue
            props = self.mappings.outbound(TYPE_NAME, "contacts:outcome", lead_view(item, self.instance), None)
            updates[_key(target)] = {"id": target, "properties": props}
            owners.setdefault(_key(target), []).append(item.key)
        backwards = self._backwards(updates)
        if backwards:
            batch_write(self.client, "contacts", [{"id": i, "properties": {"lifecyclestage": ""}} for i in backwards],
                        call="update")
        written = batch_write(self.client, "contacts", list(updates.values()), call="update")
        for key, item_keys in owners.items():
            for item_key in item_keys:
                if key in written.ok:
                    result = written.ok[key]
                    results[item_key] = PushResult(item_key, ok=True, external_id=str(result["id"]),
                                                   version=(result.get("properties") or {}).get("lastmodifieddate")
                                                   or result.get("updatedAt"))
                else:
                    message, retryable = written.failed.get(key, ("no result", True))
                    results[item_key] = PushResult(item_key, ok=False, error=message, retryable=retryable)
        return [results[i.key] for i in items]

    def _backwards(self, updates: dict[str, dict[str, Any]]) -> list[str]:
        """Contacts whose new lifecycle stage is earlier than their current one."""
        staged = {k: u["properties"]["lifecyclestage"] for k, u in updates.items()
                  if u["properties"].get("lifecyclestage") in LIFECYCLE_ORDER}
        if not staged:
            return []
        current = read_objects(self.client, "contacts", sorted(staged), ["lifecyclestage"])
        out = []
        for key, stage in staged.items():
            now = (current.get(key) or {}).get("lifecyclestage")
            if now in LIFECYCLE_ORDER and LIFECYCLE_ORDER.index(stage) < LIFECYCLE_ORDER.index(now):
                out.append(key)
        return out
