"""The connector contract: a small base class a connector plugin subclasses.

A connector declares what it is (``name``, ``settings_model``, ``capabilities``, ``batch_limit``)
and implements only what it supports. It never touches the store: cursors and cross-references
are handed in and handed back, and the engine commits them together with the records.

A minimal connector::

    class EchoSettings(ConnectorSettings):
        path: str

    class Echo(Connector):
        name = "echo"
        settings_model = EchoSettings
        capabilities = frozenset({Capability.PUSH_LEADS})

        def push_leads(self, batch):
            return [PushResult(item.key, ok=True, external_id=item.lead.id) for item in batch]
"""

from __future__ import annotations

import threading
from abc import ABC
from collections.abc import Callable, Hashable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar, cast

from pydantic import BaseModel, ConfigDict

if TYPE_CHECKING:  # annotations only: the schema loads with the engine, not with the CLI
    from fastapi import APIRouter

    from hub.decisions import Owner
    from hub.mapping import MappingSet
    from hub.runtime import Hub
    from hub.schema import Account, Lead, Outcome, SourceRecord
    from hub.store import Store

_T = TypeVar("_T")


class Capability(StrEnum):
    PULL = "pull"  # a source of records
    PUSH_LEADS = "push_leads"  # a destination for routed leads
    PULL_OUTCOMES = "pull_outcomes"  # reports what became of leads
    PUSH_OUTCOMES = "push_outcomes"  # wants to hear what became of its leads
    HTTP = "http"  # receives records over HTTP inside the daemon's web app


class ConnectorSettings(BaseModel):
    """Base of every connector's settings model. Secrets are ``SecretStr`` fields."""

    model_config = ConfigDict(extra="forbid")

    enabled: bool = True
    #: Seconds between pulls (pull connectors); 0 means "only when asked".
    schedule_seconds: float = 60.0


@dataclass
class Page:
    """One page of a pull: its records and the cursor to store after committing them."""

    records: list[SourceRecord]
    cursor: dict[str, Any]


@dataclass
class DeliveryItem:
    """One outbox row handed to a connector: the lead (or outcome) and what the hub knows."""

    key: int  # the outbox row id; results are matched back by it
    lead: Lead
    account: Account
    owner: Owner | None = None
    outcome: Outcome | None = None
    #: The destination's id for this lead from an earlier delivery, if any.
    external_id: str | None = None
    #: Other cross-references the hub holds (e.g. the CRM id of the account).
    xrefs: dict[str, str] = field(default_factory=dict)


@dataclass
class PushResult:
    """The fate of one :class:`DeliveryItem`.

    ``ok`` with ``external_id``: delivered. Not ok and ``retryable``: try again later. Not ok and
    not retryable: a permanent failure, dead-lettered with ``error``.
    """

    key: int
    ok: bool
    external_id: str | None = None
    error: str = ""
    retryable: bool = False
    #: Extra cross-references learnt while delivering, e.g. {"account": "001..."}.
    xrefs: dict[str, str] = field(default_factory=dict)
    #: The version the destination stamped on our write (for echo suppression).
    version: str | None = None
    #: Not attempted on purpose (e.g. the API budget is kept for fresh leads): try again later
    #: without counting an attempt, so a deferred lead never ends in dead letters.
    deferred: bool = False


@dataclass
class HealthReport:
    ok: bool
    message: str
    details: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class SandboxSpec:
    """What a connector needs to talk to the local sandbox CRMs (``leadhub run --with-sandbox``).

    A connector class declares it as ``sandbox = SandboxSpec(...)``. A connector table whose
    ``url_setting`` is a loopback ``http://`` URL and that names none of its own credentials gets
    the sandbox token (``$token_env``, else ``default_token``) in ``secret_setting``; a real
    org or portal never does.
    """

    #: The setting holding the system's URL (``instance_url``, ``host``).
    url_setting: str
    #: The setting that receives the sandbox token (``session_id``, ``access_token``).
    secret_setting: str
    #: The environment variable the sandbox reads its token from, and the token it uses without it.
    token_env: str
    default_token: str
    #: Other credential settings: when any is set, the connector keeps its own credentials.
    credential_settings: tuple[str, ...] = ()

    def token(self, environ: Mapping[str, str]) -> str:
        return environ.get(self.token_env) or self.default_token


class ConnectorServices:
    """What one hub hands every connector it builds: its store, and state connectors share.

    A connector that keeps tables of its own (the partner channel) reads ``store``; instances
    that must pace together (two connectors on one HubSpot portal) keep the shared object under
    one key with :meth:`shared`. One per hub: two hubs in one process never share either.
    """

    def __init__(self, store: Store | None = None) -> None:
        self.store = store
        self._shared: dict[Hashable, object] = {}
        self._lock = threading.Lock()

    def shared(self, key: Hashable, make: Callable[[], _T]) -> _T:
        """The object kept under ``key`` by this hub's connectors, made on first use."""
        with self._lock:
            if key not in self._shared:
                self._shared[key] = make()
            return cast(_T, self._shared[key])


class Connector(ABC):
    """Base class of connectors. Override only the methods of the declared capabilities."""

    #: Unique connector type name, as used in hub.toml (``[connectors.NAME] type = "..."``).
    name: ClassVar[str]
    settings_model: ClassVar[type[ConnectorSettings]] = ConnectorSettings
    capabilities: ClassVar[frozenset[Capability]] = frozenset()
    #: Largest batch the destination accepts in one call.
    batch_limit: ClassVar[int] = 100
    #: Streams this connector pulls (declared, for status and mappings).
    streams: ClassVar[tuple[str, ...]] = ()
    #: How the local sandbox CRMs serve this connector; ``None``: the sandbox does not.
    sandbox: ClassVar[SandboxSpec | None] = None

    def __init__(self, instance: str, settings: ConnectorSettings, mappings: MappingSet | None = None,
                 *, services: ConnectorServices | None = None) -> None:
        #: The configured instance name (``[connectors.<instance>]``); usually equals ``name``.
        self.instance = instance
        self.settings = settings
        self.mappings = mappings
        #: The hub's services (its store, shared state); a connector built alone gets its own.
        self.services = services if services is not None else ConnectorServices()

    # -- source side ---------------------------------------------------------------------------
    def pull(self, stream: str, cursor: dict[str, Any] | None) -> Iterator[Page]:
        """Yield pages of records changed since ``cursor`` (None: from the beginning)."""
        raise NotImplementedError(f"{self.name} does not pull")

    def pull_outcomes(self, cursor: dict[str, Any] | None) -> Iterator[Page]:
        """Yield pages of records that report outcomes (status changes, won/lost)."""
        raise NotImplementedError(f"{self.name} does not report outcomes")

    # -- destination side ----------------------------------------------------------------------
    def push_leads(self, batch: Sequence[DeliveryItem]) -> list[PushResult]:
        """Deliver up to ``batch_limit`` routed leads; one result per item, in any order."""
        raise NotImplementedError(f"{self.name} does not accept leads")

    def push_outcomes(self, batch: Sequence[DeliveryItem]) -> list[PushResult]:
        """Tell the source what became of its leads; one result per item."""
        raise NotImplementedError(f"{self.name} does not accept outcomes")

    # -- inbound HTTP --------------------------------------------------------------------------
    def http_routes(self, hub: Hub) -> APIRouter | None:
        """Routes mounted in the daemon's web app.

        ``hub`` is the running :class:`hub.runtime.Hub`: commit inbound records with
        ``hub.intake.submit(records)`` (answer 202 only after it returns); read what a status page
        needs through ``hub.store`` and ``hub.pipeline`` (never write leads directly).
        """
        return None

    # -- the CRM's people ----------------------------------------------------------------------
    def list_users(self) -> list[tuple[str, str]] | None:
        """The CRM's users as ``(user id, e-mail)`` pairs, for ``leadhub owners-sync`` to fill
        owners' ``crm_ids`` by e-mail; ``None`` (the default): this connector has no users."""
        return None

    # -- health --------------------------------------------------------------------------------
    def check(self) -> HealthReport:
        """Test the connection and the credentials, saying what to fix if they fail."""
        return HealthReport(ok=True, message="nothing to check")

    def is_echo(self, record: SourceRecord, known_version: str | None) -> bool:
        """True when ``record`` is the hub's own write coming back (echo suppression)."""
        return known_version is not None and record.version == known_version

    def close(self) -> None:
        """Release clients and connections."""
        return None

    def supports(self, capability: Capability) -> bool:
        return capability in self.capabilities
