"""A connector gets what it needs from its own hub (``ConnectorServices``), never from a global:
two hubs in one process never share a store handle or a HubSpot portal's API budget."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from connectors.hubspot import HubSpotConnector, HubSpotSettings
from connectors.partner import PartnerConnector
from hub.connector import ConnectorServices
from hub.runtime import Hub


def test_connectors_of_one_hub_on_one_portal_share_its_budget_other_hubs_never() -> None:
    settings = HubSpotSettings(host="http://127.0.0.1:9", access_token="pat-test", portal_id="one-portal")
    elsewhere = HubSpotSettings(host="http://127.0.0.1:9", access_token="pat-test", portal_id="another-portal")
    this_hub, that_hub = ConnectorServices(), ConnectorServices()
    pull = HubSpotConnector("hubspot", settings, services=this_hub)
    push = HubSpotConnector("hubspot_push", settings, services=this_hub)
    other_portal = HubSpotConnector("other", elsewhere, services=this_hub)
    same_portal_other_hub = HubSpotConnector("hubspot", settings, services=that_hub)
    alone = HubSpotConnector("hubspot", settings)
    try:
        assert pull.client.budget is push.client.budget
        assert other_portal.client.budget is not pull.client.budget
        assert same_portal_other_hub.client.budget is not pull.client.budget
        assert alone.client.budget is not pull.client.budget
    finally:
        for connector in (pull, push, other_portal, same_portal_other_hub, alone):
            connector.close()


def test_the_partner_connector_reads_its_own_hubs_store(hub_factory: Callable[..., Hub], tmp_path: Path) -> None:
    partner = {"partner": {"type": "partner"}}
    first = hub_factory(f"sqlite:///{tmp_path / 'first.db'}", connectors=partner)
    second = hub_factory(f"sqlite:///{tmp_path / 'second.db'}", connectors=partner)
    mine, theirs = first.connectors["partner"], second.connectors["partner"]
    assert isinstance(mine, PartnerConnector) and isinstance(theirs, PartnerConnector)
    assert mine.store() is first.store and theirs.store() is second.store
    assert mine.check().ok and theirs.check().ok
