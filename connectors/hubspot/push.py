"""Writing routed leads into HubSpot: companies, contacts and their associations, in batches.

One delivery batch (up to 100 leads) costs, in the common case, three calls::

    companies  batch/upsert by the unique company property holding the hub's account id
               (only accounts HubSpot has no id for yet; preceded by one search by domain when
               ``company_lookup = "domain"``, so an existing company is reused, not duplicated)
    contacts   batch/upsert by e-mail (every contact of the lead that has an address)
    v4 associations batch/associate/default contact -> company (only new pairs)

A 207 answer fails only the inputs HubSpot names, with its message; a 400 for a whole batch is
split in halves until the bad input is isolated, so one bad lead never holds back 99 good ones.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from connectors.hubspot.client import HubSpotCallError, HubSpotClient, Response, describe_error
from connectors.hubspot.pull import chunks
from connectors.hubspot.settings import HubSpotSettings
from hub.api import Contact, DeliveryItem, MappingSet, PushResult, lead_view

log = logging.getLogger(__name__)
TYPE_NAME = "hubspot"  # the mapping file: mappings/hubspot.toml
BATCH = 100


@dataclass
class Written:
    """Per-key outcome of a batch call: object ids and stamps, or HubSpot's error message."""

    ok: dict[str, dict[str, Any]] = field(default_factory=dict)  # key -> result object
    failed: dict[str, tuple[str, bool]] = field(default_factory=dict)  # key -> (message, retryable)


def _key(value: Any) -> str:
    return str(value).strip().lower()


def batch_write(client: HubSpotClient, object_type: str, inputs: list[dict[str, Any]],
                call: str = "upsert") -> Written:
    """Upsert (by each input's ``idProperty``) or update (by id) ``inputs``, 100 per call.

    Results and errors are mapped back to each input's ``id`` (lower-cased).
    """
    out = Written()
    for chunk in chunks(inputs, BATCH):
        _write_chunk(client, object_type, chunk, call, out)
    return out


def _input_key(item: dict[str, Any]) -> str:
    return _key(item["id"])


def _result_key(result: dict[str, Any], id_property: str | None) -> str:
    if id_property:
        return _key((result.get("properties") or {}).get(id_property, ""))
    return _key(result.get("id", ""))


def _write_chunk(client: HubSpotClient, object_type: str, chunk: list[dict[str, Any]], call: str,
                 out: Written) -> None:
    key_of = _input_key
    method = client.batch_upsert if call == "upsert" else client.batch_update
    try:
        answer: Response = method(object_type, chunk)
    except HubSpotCallError as exc:
        if len(chunk) > 1:  # isolate the input HubSpot refuses
            half = len(chunk) // 2
            _write_chunk(client, object_type, chunk[:half], call, out)
            _write_chunk(client, object_type, chunk[half:], call, out)
            return
        retryable = exc.status == 423  # locked: another write is in progress
        out.failed[key_of(chunk[0])] = (f"HubSpot refused this record: {describe_error(exc.body)}", retryable)
        return
    wanted = {key_of(i): i for i in chunk}
    id_property = chunk[0].get("idProperty") if call == "upsert" else None
    for result in answer.body.get("results") or []:
        key = _result_key(result, id_property)
        if key in wanted:
            out.ok[key] = result
    for error in answer.body.get("errors") or []:
        ids = [_key(i) for i in ((error.get("context") or {}).get("ids") or [])]
        message = f"HubSpot refused this record: {describe_error(error)}"
        # A refused input stays refused (validation, a unique value taken): dead-letter it now.
        retryable = error.get("category") in ("RATE_LIMITS", "INTERNAL_ERROR", "SERVICE_UNAVAILABLE")
        for key in ids:
            if key in wanted and key not in out.ok:
                out.failed[key] = (message, retryable)
    for key in wanted:
        if key not in out.ok and key not in out.failed:
            out.failed[key] = ("HubSpot returned no result for this record; it will be retried", True)


class LeadWriter:
    """Turns delivery items into HubSpot companies, contacts and associations."""

    def __init__(self, client: HubSpotClient, settings: HubSpotSettings, mappings: MappingSet,
                 instance: str) -> None:
        self.client = client
        self.settings = settings
        self.mappings = mappings
        self.instance = instance

    # -- leads -----------------------------------------------------------------------------------
    def push(self, items: Sequence[DeliveryItem]) -> list[PushResult]:
        results: dict[int, PushResult] = {}
        companies = self._companies(items, results)
        todo = [i for i in items if i.key not in results]
        contacts, per_item = self._contact_inputs(todo, results)
        written = batch_write(self.client, "contacts", contacts)
        pairs: list[tuple[str, str]] = []
        pair_items: dict[tuple[str, str], list[int]] = {}
        for item in todo:
            if item.key in results:
                continue
            emails = per_item[item.key]
            failed = [written.failed[e] for e in emails if e in written.failed]
            primary = written.ok.get(emails[0])
            if failed or primary is None:
                message, retryable = failed[0] if failed else ("no result for the primary contact", True)
                results[item.key] = PushResult(item.key, ok=False, error=message, retryable=retryable)
                continue
            company_id, known_company = companies.get(item.account.id, (None, False))
            if company_id:
                for email in emails:
                    contact_id = str(written.ok[email]["id"]) if email in written.ok else None
                    already = known_company and item.external_id == contact_id
                    if contact_id and not already:
                        pairs.append((contact_id, company_id))
                        pair_items.setdefault((contact_id, company_id), []).append(item.key)
            results[item.key] = PushResult(
                item.key, ok=True, external_id=str(primary["id"]), version=_version(primary),
                xrefs={"account": company_id} if company_id else {})
        self._associate(pairs, pair_items, results)
        return [results[i.key] for i in items]

    def _companies(self, items: Sequence[DeliveryItem], results: dict[int, PushResult]) -> dict[str, tuple[str, bool]]:
        """``account id -> (HubSpot company id, known before)``; failures go to ``results``."""
        known: dict[str, tuple[str, bool]] = {}
        unknown: dict[str, DeliveryItem] = {}
        for item in items:
            crm_id = item.xrefs.get("account") or item.account.xrefs.get(self.instance)
            if crm_id:
                known[item.account.id] = (crm_id, True)
            else:
                unknown.setdefault(item.account.id, item)
        if not unknown:
            return known
        if self.settings.company_lookup == "domain":
            self._find_by_domain(unknown, known)
        prop = self.settings.company_id_property
        inputs = []
        for account_id, item in unknown.items():
            if account_id in known:
                continue
            props = self.mappings.outbound(TYPE_NAME, "companies", lead_view(item, self.instance), None)
            props.pop("leadhub_account_id", None)
            props[prop] = account_id
            inputs.append({"id": account_id, "idProperty": prop, "properties": props})
        written = batch_write(self.client, "companies", inputs)
        for account_id in unknown:
            if account_id in known:
                continue
            result = written.ok.get(_key(account_id))
            if result is not None:
                known[account_id] = (str(result["id"]), False)
                continue
            message, retryable = written.failed.get(_key(account_id), ("no result for the company", True))
            for item in items:
                if item.account.id == account_id:
                    results[item.key] = PushResult(item.key, ok=False, retryable=retryable,
                                                   error=f"company of this lead: {message}")
        return known

    def _find_by_domain(self, unknown: dict[str, DeliveryItem], known: dict[str, tuple[str, bool]]) -> None:
        """Reuse existing companies with the account's domain (one search), tagging them."""
        prop = self.settings.company_id_property
        by_domain = {d.lower(): a for a, i in unknown.items() for d in i.account.domains[:1] if d}
        if not by_domain:
            return
        body = {"filterGroups": [{"filters": [{"propertyName": "domain", "operator": "IN",
                                               "values": sorted(by_domain)}]}],
                "properties": ["domain", "name", prop], "limit": 200, "after": "0",
                "sorts": [{"propertyName": "hs_object_id", "direction": "ASCENDING"}]}
        answer = self.client.search("companies", body)
        tags = []
        for result in answer.get("results") or []:
            props = result.get("properties") or {}
            account_id = by_domain.get(str(props.get("domain") or "").lower())
            if account_id is None or account_id in known:
                continue
            known[account_id] = (str(result["id"]), False)
            if not props.get(prop):
                tags.append({"id": str(result["id"]), "properties": {prop: account_id}})
        if tags:
            # Tag them so later reads know them as the hub's; failure only costs a later lookup.
            written = batch_write(self.client, "companies", tags, call="update")
            for key, (message, _) in written.failed.items():
                log.warning("%s: could not tag company %s with the hub's account id: %s", self.instance, key, message)

    def _contact_inputs(self, items: list[DeliveryItem],
                        results: dict[int, PushResult]) -> tuple[list[dict[str, Any]], dict[int, list[str]]]:
        """Upsert inputs keyed by e-mail, and each item's e-mails (primary first)."""
        current = self._current_values(items)
        inputs: dict[str, dict[str, Any]] = {}
        per_item: dict[int, list[str]] = {}
        lead_prop = self.settings.contact_lead_property
        for item in items:
            people = [c for c in item.lead.contacts if c.email]
            if not people:
                results[item.key] = PushResult(item.key, ok=False, retryable=False, error=(
                    "this lead has no contact with an e-mail address; HubSpot contacts are upserted by "
                    "e-mail: add an address to the lead's contact and replay the dead letter"))
                continue
            emails = [_key(c.email) for c in people]
            if any(e in inputs for e in emails):
                # The same person in two leads of one batch: HubSpot refuses duplicate ids in a batch.
                results[item.key] = PushResult(item.key, ok=False, retryable=True, error=(
                    "another lead of this batch writes the same contact; delivered in the next round"))
                continue
            view = lead_view(item, self.instance)
            for position, person in enumerate(people):
                props = self.mappings.outbound(TYPE_NAME, "contacts", _with_contact(view, person),
                                               current.get(emails[position]))
                props.pop("email", None)
                props.pop("leadhub_lead_id", None)
                if position == 0:
                    props[lead_prop] = item.lead.id  # unique in the portal: the primary contact only
                inputs[emails[position]] = {"id": emails[position], "idProperty": "email", "properties": props}
            per_item[item.key] = emails
        return list(inputs.values()), per_item

    def _current_values(self, items: list[DeliveryItem]) -> dict[str, dict[str, Any]]:
        """The CRM's values of contacts about to be written, so crm_wins rules can apply."""
        mode = self.settings.read_before_write
        if mode == "never":
            return {}
        emails = sorted({_key(c.email) for i in items if mode == "always" or i.external_id
                         for c in i.lead.contacts if c.email})
        if not emails:
            return {}
        fields = self.mappings.stream(TYPE_NAME, "contacts")
        properties = fields.destination_fields() if fields else []
        found: dict[str, dict[str, Any]] = {}
        for chunk in chunks(emails, BATCH):
            answer = self.client.batch_read("contacts", chunk, properties, id_property="email").body
            for result in answer.get("results") or []:
                props = result.get("properties") or {}
                if props.get("email"):
                    found[_key(props["email"])] = props
        return found

    def _associate(self, pairs: list[tuple[str, str]], pair_items: dict[tuple[str, str], list[int]],
                   results: dict[int, PushResult]) -> None:
        unique = list(dict.fromkeys(pairs))
        for chunk in chunks(unique, BATCH):
            try:
                self.client.associate_default("contacts", "companies", chunk)
            except HubSpotCallError as exc:
                # The contacts exist; the next attempt upserts them again and links them.
                for pair in chunk:
                    for key in pair_items[pair]:
                        results[key] = PushResult(key, ok=False, retryable=True, error=(
                            f"linking the contact to its company failed: {describe_error(exc.body)}"))


def _with_contact(view: dict[str, Any], person: Contact) -> dict[str, Any]:
    out = dict(view)
    for name in Contact.model_fields:
        out[f"contact.{name}"] = getattr(person, name)
    return out


def _version(result: dict[str, Any]) -> str | None:
    """The stamp HubSpot put on our write; a pulled record at or before it is our own echo."""
    props = result.get("properties") or {}
    return props.get("lastmodifieddate") or result.get("updatedAt")
