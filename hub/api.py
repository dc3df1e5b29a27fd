"""The public API for plugin and connector authors: import from here, and only from here.

Everything else under ``hub`` may move between releases; these names stay (``tests/hub/test_api.py``
checks that this list is exactly what the module offers). The built-in plugins and connectors
import ``hub`` only through this module, as a third-party package would (``tests/test_import_layers.py``).

- Hooks: :data:`hookimpl` marks an implementation; the hooks are documented in docs/plugins.md.
- The lead schema: :class:`SourceRecord` in, :class:`Inquiry` / :class:`OutcomeReport` /
  :class:`AccountRecord` out of a mapping, :class:`Lead`, :class:`Account`, :class:`Outcome`...
- Decisions a policy plugin returns: :class:`ScorePart`, :class:`QualifyDecision`,
  :class:`RouteDecision`, :class:`SlaAction`, :class:`AccountMatch`...
- Connectors: :class:`Connector` and its records (:class:`Page`, :class:`PushResult`...).
- Errors, drawn by what the runner must do (see :mod:`hub.errors`).
"""

from __future__ import annotations

from hub.config import HubConfig
from hub.connector import (
    Capability,
    Connector,
    ConnectorSettings,
    DeliveryItem,
    HealthReport,
    Page,
    PushResult,
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
from hub.plugins import hookimpl
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

__all__ = [
    "Account",
    "AccountCandidate",
    "AccountLookup",
    "AccountMatch",
    "AccountRecord",
    "Activity",
    "AuthError",
    "Capability",
    "Company",
    "ConfigError",
    "Connector",
    "ConnectorError",
    "ConnectorSettings",
    "Contact",
    "ContactRecord",
    "DeliveryItem",
    "DuplicateScore",
    "FatalAPIError",
    "HealthReport",
    "HubConfig",
    "HubError",
    "Inquiry",
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
    "PluginError",
    "PushResult",
    "QualifyDecision",
    "RateLimited",
    "RecordRejected",
    "RouteDecision",
    "RoutingContext",
    "RoutingStrategy",
    "ScorePart",
    "SlaAction",
    "SlaActionKind",
    "SourceRecord",
    "TransientError",
    "hookimpl",
    "lead_view",
    "new_id",
    "utcnow",
]
