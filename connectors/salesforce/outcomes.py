"""Which pulled records are inquiries and which report outcomes, and the look-ups that decide it.

Salesforce holds two kinds of leads: the hub's (its external-id field holds the hub's lead id)
and those reps create. The hub's leads come back on the stream ``Lead:outcome`` (a status change,
a conversion), and only when their status says something: a lead still in one of the
``open_statuses`` reports nothing, which is also how the hub's own writes of a new lead stay out
of the pipeline. Reps' leads come on ``Lead`` as inquiries. Opportunities converted from the
hub's leads come on ``Opportunity`` (stage won/lost with amount). Contacts and accounts that a
conversion of a hub lead created are the hub's own lead seen again, so they are not inquiries.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from connectors.salesforce.client import SalesforceClient, format_soql

OUTCOME_STREAM = "Lead:outcome"
OPPORTUNITY_STREAM = "Opportunity"
IN_CHUNK = 200  # ids per IN (...) list: keeps the GET URL well under Salesforce's limits


def converted_from_hub(client: SalesforceClient, ext_field: str, lead_field: str, ids: Iterable[str]) -> dict[str, str]:
    """``{record id: hub lead id}`` for records (by ``lead_field``, e.g. ConvertedContactId) that
    the conversion of a hub lead produced."""
    wanted = [i for i in dict.fromkeys(ids) if i]
    found: dict[str, str] = {}
    for start in range(0, len(wanted), IN_CHUNK):
        chunk = wanted[start:start + IN_CHUNK]
        soql = format_soql("SELECT Id, {:literal}, {:literal} FROM Lead WHERE {:literal} IN {} AND {:literal} != null",
                           lead_field, ext_field, lead_field, chunk, ext_field)
        for page, _ in client.query_pages(soql, include_deleted=False):
            for lead in page:
                produced, hub_id = lead.get(lead_field), lead.get(ext_field)
                if produced and hub_id:
                    found[str(produced)] = str(hub_id)
                    found[str(produced)[:15]] = str(hub_id)
    return found


def reports_outcome(record: dict[str, Any], open_statuses: frozenset[str]) -> bool:
    """A hub lead's record says something: converted, deleted, or a status past the open ones."""
    if record.get("IsDeleted") or record.get("IsConverted"):
        return True
    return str(record.get("Status") or "") not in open_statuses
