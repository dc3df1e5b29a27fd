"""``hub.api`` is the one module plugin and connector authors import (httpx's test_exported_members)."""

from __future__ import annotations

import hub.api

EXPORTED = {
    # hooks
    "hookimpl",
    # the lead schema
    "Account", "AccountRecord", "Activity", "Company", "Contact", "Inquiry", "Lead", "LeadStatus",
    "Normalized", "Outcome", "OutcomeReport", "SourceRecord", "new_id", "utcnow",
    # decisions of policy plugins
    "AccountCandidate", "AccountLookup", "AccountMatch", "ContactRecord", "DuplicateScore", "MatchKey",
    "MatchOutcome", "Owner", "QualifyDecision", "RouteDecision", "RoutingContext", "RoutingStrategy",
    "ScorePart", "SlaAction", "SlaActionKind",
    # connectors
    "Capability", "Connector", "ConnectorSettings", "DeliveryItem", "HealthReport", "Page", "PushResult",
    "MappingSet", "lead_view", "HubConfig",
    # errors
    "AuthError", "ConfigError", "ConnectorError", "FatalAPIError", "HubError", "InvalidRecord", "PluginError",
    "RateLimited", "RecordRejected", "TransientError",
}


def test_all_is_exactly_the_public_api() -> None:
    assert set(hub.api.__all__) == EXPORTED
    assert len(hub.api.__all__) == len(EXPORTED), "a name is listed twice in __all__"


def test_every_public_name_of_the_module_is_exported() -> None:
    # ("@py_*" are what pytest's assertion rewriting adds when it rewrote the module)
    public = {name for name in vars(hub.api) if not name.startswith(("_", "@"))} - {"annotations"}
    assert public == set(hub.api.__all__), "a public name not in __all__ (or listed but missing)"


def test_exported_names_are_the_hubs_own() -> None:
    for name in hub.api.__all__:
        obj = getattr(hub.api, name)
        module = getattr(obj, "__module__", None)
        if module in (None, "types", "typing") or name == "hookimpl":  # an alias; pluggy's marker
            continue
        assert module.startswith("hub."), f"{name} comes from {module}: re-export only the hub's own names"
