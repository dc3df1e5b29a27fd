"""The public API for plugin and connector authors: import from here, and only from here.

Everything else under ``hub`` may move between releases; these names stay
(``tests/hub/test_public_api.py`` checks the list). The built-in plugins, connectors and the
sandbox import ``hub`` only through this module, as a third-party package would
(``tests/test_import_layers.py``).

- Hooks: :data:`hookimpl` marks an implementation; the hooks are documented in docs/plugins.md.
- The lead schema: :class:`SourceRecord` in, :class:`Inquiry` / :class:`OutcomeReport` /
  :class:`AccountRecord` out of a mapping; :class:`Lead`, :class:`Account`, :class:`Outcome`.
- Decisions a policy plugin returns: :class:`ScorePart`, :class:`QualifyDecision`,
  :class:`RouteDecision`, :class:`SlaAction`, :class:`AccountMatch`...
- Connectors: :class:`Connector`, its settings, records and :class:`ConnectorServices`.
- Errors, drawn by what the runner must do (:mod:`hub.errors`).
- For plugin commands and connectors with tables of their own: :func:`load_config`,
  :func:`build_hub`, :class:`Store`, the table ``metadata`` and column types, :class:`Intake`,
  :class:`Backoff` and the metrics ``REGISTRY``.

Names load on first use (PEP 562 ``__getattr__``): importing this module costs nothing, so a
plugin that only needs :data:`hookimpl` keeps ``leadhub --help`` quick.
"""

from __future__ import annotations

import importlib
from types import MappingProxyType
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from hub.config import (
        HubConfig,
        PipelineSettings,
        RoutingSettings,
        RuleSettings,
        TeamSettings,
        load_config,
        parse_hours,
    )
    from hub.connector import (
        Capability,
        Connector,
        ConnectorServices,
        ConnectorSettings,
        DeliveryItem,
        HealthReport,
        Page,
        PushResult,
        SandboxSpec,
    )
    from hub.decisions import (
        AccountCandidate,
        AccountLookup,
        AccountMatch,
        ContactRecord,
        DuplicateScore,
        MatchKey,
        MatchOutcome,
        Owner,
        QualifyDecision,
        RouteDecision,
        RoutingContext,
        RoutingLedger,
        RoutingStrategy,
        ScorePart,
        SlaAction,
        SlaActionKind,
    )
    from hub.errors import (
        AuthError,
        ConfigError,
        ConnectorError,
        FatalAPIError,
        HubError,
        InvalidRecord,
        PluginError,
        RateLimited,
        RecordRejected,
        TransientError,
    )
    from hub.mapping import MappingSet, lead_view
    from hub.pipeline.delivery import Backoff
    from hub.pipeline.intake import Intake
    from hub.plugins import HubPlugins, hookimpl
    from hub.runtime import Hub, build_hub, settle_start_up_memory
    from hub.schema import (
        Account,
        AccountRecord,
        Activity,
        Company,
        Contact,
        Inquiry,
        Lead,
        LeadStatus,
        Normalized,
        Outcome,
        OutcomeReport,
        SourceRecord,
        new_id,
        utcnow,
    )
    from hub.server.metrics import REGISTRY
    from hub.store import Store, open_store, tables
    from hub.store.sql import aware_utc
    from hub.store.tables import TS, Serial, metadata

#: Public name -> the module that defines it.
_HOME = MappingProxyType({
    # hooks
    "HubPlugins": "hub.plugins",
    "hookimpl": "hub.plugins",
    # the lead schema
    "Account": "hub.schema",
    "AccountRecord": "hub.schema",
    "Activity": "hub.schema",
    "Company": "hub.schema",
    "Contact": "hub.schema",
    "Inquiry": "hub.schema",
    "Lead": "hub.schema",
    "LeadStatus": "hub.schema",
    "Normalized": "hub.schema",
    "Outcome": "hub.schema",
    "OutcomeReport": "hub.schema",
    "SourceRecord": "hub.schema",
    "new_id": "hub.schema",
    "utcnow": "hub.schema",
    # decisions of policy plugins
    "AccountCandidate": "hub.decisions",
    "AccountLookup": "hub.decisions",
    "AccountMatch": "hub.decisions",
    "ContactRecord": "hub.decisions",
    "DuplicateScore": "hub.decisions",
    "MatchKey": "hub.decisions",
    "MatchOutcome": "hub.decisions",
    "Owner": "hub.decisions",
    "QualifyDecision": "hub.decisions",
    "RouteDecision": "hub.decisions",
    "RoutingContext": "hub.decisions",
    "RoutingLedger": "hub.decisions",
    "RoutingStrategy": "hub.decisions",
    "ScorePart": "hub.decisions",
    "SlaAction": "hub.decisions",
    "SlaActionKind": "hub.decisions",
    # connectors
    "Capability": "hub.connector",
    "Connector": "hub.connector",
    "ConnectorServices": "hub.connector",
    "ConnectorSettings": "hub.connector",
    "DeliveryItem": "hub.connector",
    "HealthReport": "hub.connector",
    "Page": "hub.connector",
    "PushResult": "hub.connector",
    "SandboxSpec": "hub.connector",
    # mappings
    "MappingSet": "hub.mapping",
    "lead_view": "hub.mapping",
    # configuration
    "HubConfig": "hub.config",
    "PipelineSettings": "hub.config",
    "RoutingSettings": "hub.config",
    "RuleSettings": "hub.config",
    "TeamSettings": "hub.config",
    "parse_hours": "hub.config",
    "load_config": "hub.config",
    # errors
    "AuthError": "hub.errors",
    "ConfigError": "hub.errors",
    "ConnectorError": "hub.errors",
    "FatalAPIError": "hub.errors",
    "HubError": "hub.errors",
    "InvalidRecord": "hub.errors",
    "PluginError": "hub.errors",
    "RateLimited": "hub.errors",
    "RecordRejected": "hub.errors",
    "TransientError": "hub.errors",
    # running a hub (plugin commands)
    "Hub": "hub.runtime",
    "build_hub": "hub.runtime",
    "settle_start_up_memory": "hub.runtime",
    # the store, for connectors with tables of their own
    "Store": "hub.store",
    "open_store": "hub.store",
    "tables": "hub.store",
    "TS": "hub.store.tables",
    "Serial": "hub.store.tables",
    "metadata": "hub.store.tables",
    "aware_utc": "hub.store.sql",
    # intake and delivery services
    "Intake": "hub.pipeline.intake",
    "Backoff": "hub.pipeline.delivery",
    "REGISTRY": "hub.server.metrics",
})

__all__ = [  # noqa: RUF022 - plain sorted() order, as tests/hub/test_public_api.py checks
    "Account",
    "AccountCandidate",
    "AccountLookup",
    "AccountMatch",
    "AccountRecord",
    "Activity",
    "AuthError",
    "Backoff",
    "Capability",
    "Company",
    "ConfigError",
    "Connector",
    "ConnectorError",
    "ConnectorServices",
    "ConnectorSettings",
    "Contact",
    "ContactRecord",
    "DeliveryItem",
    "DuplicateScore",
    "FatalAPIError",
    "HealthReport",
    "Hub",
    "HubConfig",
    "HubError",
    "HubPlugins",
    "Inquiry",
    "Intake",
    "InvalidRecord",
    "Lead",
    "LeadStatus",
    "MappingSet",
    "MatchKey",
    "MatchOutcome",
    "Normalized",
    "Outcome",
    "OutcomeReport",
    "Owner",
    "Page",
    "PipelineSettings",
    "PluginError",
    "PushResult",
    "QualifyDecision",
    "REGISTRY",
    "RateLimited",
    "RecordRejected",
    "RouteDecision",
    "RoutingContext",
    "RoutingLedger",
    "RoutingSettings",
    "RoutingStrategy",
    "RuleSettings",
    "SandboxSpec",
    "ScorePart",
    "Serial",
    "SlaAction",
    "SlaActionKind",
    "SourceRecord",
    "Store",
    "TS",
    "TeamSettings",
    "TransientError",
    "aware_utc",
    "build_hub",
    "hookimpl",
    "lead_view",
    "load_config",
    "metadata",
    "new_id",
    "open_store",
    "parse_hours",
    "settle_start_up_memory",
    "tables",
    "utcnow",
]


def __getattr__(name: str) -> object:
    home = _HOME.get(name)
    if home is None:
        raise AttributeError(f"hub.api has no {name!r}; see hub.api.__all__ for what plugins may use")
    value: object = getattr(importlib.import_module(home), name)
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> list[str]:
    return list(__all__)
