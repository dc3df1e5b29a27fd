"""``hub.api`` is the one module plugin and connector authors import (httpx's test_exported_members)."""

from __future__ import annotations

import subprocess
import sys

import hub.api

EXPORTED = {
    # hooks
    "hookimpl", "HubPlugins",
    # the lead schema
    "Account", "AccountRecord", "Activity", "Company", "Contact", "Inquiry", "Lead", "LeadStatus",
    "Normalized", "Outcome", "OutcomeReport", "SourceRecord", "new_id", "utcnow",
    # decisions of policy plugins
    "AccountCandidate", "AccountLookup", "AccountMatch", "ContactRecord", "DuplicateScore", "MatchKey",
    "MatchOutcome", "Owner", "QualifyDecision", "RouteDecision", "RoutingContext", "RoutingLedger",
    "RoutingStrategy", "ScorePart", "SlaAction", "SlaActionKind",
    # connectors and mappings
    "Capability", "Connector", "ConnectorServices", "ConnectorSettings", "DeliveryItem", "HealthReport",
    "Page", "PushResult", "SandboxSpec", "MappingSet", "lead_view",
    # configuration
    "HubConfig", "PipelineSettings", "RoutingSettings", "RuleSettings", "TeamSettings", "load_config",
    "parse_hours",
    # errors
    "AuthError", "ConfigError", "ConnectorError", "FatalAPIError", "HubError", "InvalidRecord", "PluginError",
    "RateLimited", "RecordRejected", "TransientError",
    # plugin commands, connectors with tables of their own, intake and delivery services
    "Hub", "build_hub", "settle_start_up_memory", "Store", "open_store", "tables", "TS", "Serial", "metadata",
    "aware_utc", "Intake", "Backoff", "REGISTRY",
}
#: What the module itself needs besides the exported names.
MACHINERY = {"annotations", "importlib", "MappingProxyType", "TYPE_CHECKING"}


def test_all_is_exactly_the_public_api() -> None:
    assert set(hub.api.__all__) == EXPORTED
    assert len(hub.api.__all__) == len(EXPORTED), "a name is listed twice in __all__"
    assert list(hub.api.__all__) == sorted(hub.api.__all__)


def test_every_exported_name_resolves_from_its_home() -> None:
    for name in hub.api.__all__:
        assert getattr(hub.api, name) is not None, name
    # ("@py_*" are what pytest's assertion rewriting adds when it rewrote the module)
    public = {name for name in vars(hub.api) if not name.startswith(("_", "@"))} - MACHINERY
    assert public == set(hub.api.__all__), "a public name of the module is not in __all__"
    assert set(dir(hub.api)) == set(hub.api.__all__)


def test_an_unknown_name_says_where_to_look() -> None:
    try:
        hub.api.Engine  # type: ignore[attr-defined]  # noqa: B018
    except AttributeError as exc:
        assert "hub.api.__all__" in str(exc)
    else:
        raise AssertionError("hub.api.Engine should not exist")


def test_exported_names_are_the_hubs_own() -> None:
    for name in hub.api.__all__:
        obj = getattr(hub.api, name)
        module = getattr(obj, "__module__", None) if not isinstance(obj, type(hub)) else obj.__name__
        if module in (None, "types", "typing") or name in ("hookimpl", "REGISTRY", "metadata", "Serial", "TS"):
            continue  # an alias (Normalized is a union), pluggy's marker, library instances
        assert module.startswith("hub."), f"{name} comes from {module}: re-export only the hub's own names"


def test_importing_the_api_loads_nothing_heavy() -> None:
    """A plugin module that imports only ``hookimpl`` keeps ``leadhub --help`` quick."""
    code = ("import sys; from hub.api import hookimpl; "
            "print(','.join(m for m in ('pydantic_settings', 'sqlalchemy', 'phonenumbers', 'hub.mapping') "
            "if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "", f"hub.api loaded {done.stdout.strip()} for hookimpl alone"
