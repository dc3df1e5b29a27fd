"""Configuration: ``hub.toml`` for structure, ``LEADHUB_*`` environment variables for secrets.

Precedence, highest first: environment (``LEADHUB_DATABASE_URL``, and nested keys with ``__``,
e.g. ``LEADHUB_CONNECTORS__SALESFORCE__SESSION_ID``), then hub.toml, then the defaults here.
An invalid file stops start-up with a :class:`~hub.errors.ConfigError` naming the key.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import urlparse

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from hub.decisions import Owner
from hub.errors import ConfigError

if TYPE_CHECKING:
    from hub.connector import Connector

_M = TypeVar("_M", bound=BaseModel)

DEFAULT_CONFIG_FILE = "hub.toml"
CONFIG_ENV = "LEADHUB_CONFIG"


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class PipelineSettings(_Section):
    #: Inbox records processed per transaction.
    batch_size: int = Field(default=500, ge=1, le=10_000)
    #: Score at which a lead leaves nurture and goes to sales.
    qualify_score: int = 30
    default_product_line: str = "default"
    #: Days after which a rejected/recycled lead no longer absorbs new activity.
    recycle_window_days: int = 90


class DeliverySettings(_Section):
    max_attempts: int = Field(default=8, ge=1)
    backoff_initial_seconds: float = Field(default=2.0, gt=0)
    backoff_max_seconds: float = Field(default=900.0, gt=0)


class OwnerSettings(_Section):
    id: str
    name: str
    email: str = ""
    crm_ids: dict[str, str] = Field(default_factory=dict)
    destination: str | None = None
    product_lines: list[str] = Field(default_factory=list)
    regions: list[str] = Field(default_factory=list)
    active: bool = True
    #: Availability; unset values come from the owner's team (``[[routing.teams]]``).
    timezone: str | None = None
    working_hours: str | None = None
    working_days: list[str] | None = None
    holidays: str | None = None
    max_open: int | None = Field(default=None, ge=0)
    max_per_day: int | None = Field(default=None, ge=0)
    max_per_week: int | None = Field(default=None, ge=0)

    @model_validator(mode="after")
    def _availability_valid(self) -> OwnerSettings:
        _check_availability(self.timezone, self.working_hours, self.working_days)
        return self

    def to_owner(self) -> Owner:
        return Owner(
            id=self.id,
            name=self.name,
            email=self.email,
            crm_ids=dict(self.crm_ids),
            destination=self.destination,
            product_lines=tuple(self.product_lines),
            regions=tuple(self.regions),
            active=self.active,
            timezone=self.timezone,
            working_hours=self.working_hours,
            working_days=tuple(self.working_days) if self.working_days is not None else None,
            holidays=self.holidays,
            max_open=self.max_open,
            max_per_day=self.max_per_day,
            max_per_week=self.max_per_week,
        )


_DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def _check_availability(timezone: str | None, hours: str | None, days: list[str] | None) -> None:
    if timezone is not None:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"timezone {timezone!r} is not an IANA time zone (e.g. 'Europe/Berlin')") from None
    if hours is not None:
        parse_hours(hours)
    for day in days or ():
        if day.lower()[:3] not in _DAYS:
            raise ValueError(f"working day {day!r} is not one of {', '.join(_DAYS)}")


def parse_hours(text: str) -> tuple[int, int]:
    """``"09:00-17:30"`` as minutes since midnight (start, end); ``end <= start`` wraps past midnight."""
    try:
        start, end = (part.strip() for part in text.split("-"))
        minutes = []
        for part in (start, end):
            h, m = part.split(":")
            if not (0 <= int(h) <= 24 and 0 <= int(m) < 60):
                raise ValueError
            minutes.append(int(h) * 60 + int(m))
    except ValueError:
        raise ValueError(f"working hours {text!r} must look like '09:00-17:30'") from None
    return minutes[0], minutes[1]


class TeamSettings(_Section):
    """``[[routing.teams]]``: members with weights, shared working hours and caps, an overflow."""

    name: str
    #: Owner id -> weight (1 is a normal share, 2 twice that, 0.5 half).
    members: dict[str, float]
    timezone: str | None = None
    working_hours: str | None = None
    working_days: list[str] | None = None
    holidays: str | None = None
    max_open: int | None = Field(default=None, ge=0)
    max_per_day: int | None = Field(default=None, ge=0)
    max_per_week: int | None = Field(default=None, ge=0)
    #: Where the lead goes when no member is available: a team name or an owner id.
    overflow: str | None = None
    #: How many leads more than its share a member may get to catch up after joining or returning.
    catch_up: float = Field(default=2.0, ge=0)

    @model_validator(mode="after")
    def _valid(self) -> TeamSettings:
        for owner, weight in self.members.items():
            if weight <= 0:
                raise ValueError(f"member {owner!r} has weight {weight}; weights must be above 0")
        _check_availability(self.timezone, self.working_hours, self.working_days)
        return self


class RuleSettings(_Section):
    """``[[routing.rules]]``: conditions (all must hold; an absent one always does) and a target."""

    name: str
    country: list[str] | None = None
    region: list[str] | None = None
    employees_min: int | None = None
    employees_max: int | None = None
    industry: list[str] | None = None
    product_line: list[str] | None = None
    source: list[str] | None = None
    #: ``true``: partner-sourced leads only; ``false``: never them.
    partner: bool | None = None
    partner_id: list[str] | None = None
    score_min: int | None = None
    score_max: int | None = None
    grade: list[str] | None = None
    #: Named accounts by hub account id or name, and company domains.
    accounts: list[str] | None = None
    domains: list[str] | None = None
    team: str | None = None
    owner: str | None = None
    #: Send to the channel manager of the lead's partner.
    partner_manager: bool = False
    #: Where the lead goes when the target has nobody available (a team or an owner).
    overflow: str | None = None
    #: This rule wins even over the account's own owner (named accounts).
    over_named_accounts: bool = False

    @model_validator(mode="after")
    def _one_target(self) -> RuleSettings:
        targets = [t for t in (self.team, self.owner, "partner_manager" if self.partner_manager else None) if t]
        if len(targets) != 1:
            raise ValueError(f"rule {self.name!r} needs exactly one of team, owner or partner_manager = true")
        return self


class RoutingSettings(_Section):
    """``[routing]``: the strategy and its knobs. An unknown key is an error (a typo would
    otherwise pass silently); a strategy plugin reads its own knobs from ``[plugins.NAME]``."""

    strategy: str = "round_robin"
    default_owner: str | None = None
    sla_minutes: float = Field(default=30.0, gt=0)
    #: Connector names every routed lead is delivered to, besides the owner's own destination.
    destinations: list[str] = Field(default_factory=list)
    teams: list[TeamSettings] = Field(default_factory=list)
    #: In order; the first whose conditions hold decides. None matching: ``strategy`` decides.
    rules: list[RuleSettings] = Field(default_factory=list)
    #: Where a lead goes when its rule's target and the rule's overflow have nobody available.
    overflow: str | None = None
    #: Partner-sourced leads go to their partner's channel manager (before the rules).
    partner_channel_manager: bool = True

    @model_validator(mode="after")
    def _names_known(self) -> RoutingSettings:
        teams = [t.name for t in self.teams]
        if len(set(teams)) != len(teams):
            raise ValueError("two [[routing.teams]] have the same name")
        rules = [r.name for r in self.rules]
        if len(set(rules)) != len(rules):
            raise ValueError("two [[routing.rules]] have the same name")
        for rule in self.rules:
            if rule.team is not None and rule.team not in teams:
                raise ValueError(f"rule {rule.name!r} sends to team {rule.team!r}, which no [[routing.teams]] names")
        return self


def is_secret_key(key: str) -> bool:
    """Setting names that hold secrets (tokens, passwords...): kept as ``SecretStr`` here."""
    name = key.lower()
    return name.endswith(_SECRET_SUFFIXES) or name in _SECRET_NAMES


_SECRET_SUFFIXES = ("token", "secret", "password", "pepper")
_SECRET_NAMES = frozenset({"session_id", "api_key", "private_key"})


def _hide_secrets(value: Any) -> Any:
    if isinstance(value, dict):
        # The environment source parses JSON-looking values: a numeric token arrives as an int.
        return {k: SecretStr(str(v)) if is_secret_key(str(k)) and isinstance(v, str | int | float) else _hide_secrets(v)
                for k, v in value.items()}
    return value


def _reveal_secrets(value: Any) -> Any:
    if isinstance(value, SecretStr):
        return value.get_secret_value()
    if isinstance(value, dict):
        return {k: _reveal_secrets(v) for k, v in value.items()}
    return value


class ConnectorInstance(BaseModel):
    """``[connectors.NAME]``: ``type`` picks the connector class; the rest is its settings.

    The rest is validated by the connector's own settings model when the hub is built. Until
    then, values under secret-looking names (``*token``, ``*secret``, ``*password``,
    ``session_id``...) are held as ``SecretStr``, at any depth, so printing or dumping the
    configuration never shows them.
    """

    model_config = ConfigDict(extra="allow")

    type: str

    @model_validator(mode="before")
    @classmethod
    def _secrets_hidden(cls, data: Any) -> Any:
        return _hide_secrets(data) if isinstance(data, dict) else data

    def settings_dict(self) -> dict[str, Any]:
        """The settings as plain values, for the connector's settings model (which re-wraps them)."""
        return dict(_reveal_secrets(dict(self.model_extra or {})))

    def table(self) -> dict[str, Any]:
        """``type`` plus the settings, secrets still wrapped."""
        return {"type": self.type, **(self.model_extra or {})}


class ServerSettings(_Section):
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=0, le=65535)
    #: Largest request body the web app accepts, in bytes.
    max_body_bytes: int = Field(default=64 * 1024, ge=1024)


class HubConfig(BaseSettings):
    """The whole configuration. Build it with :func:`load_config`."""

    model_config = SettingsConfigDict(
        env_prefix="LEADHUB_",
        env_nested_delimiter="__",
        extra="forbid",
        case_sensitive=False,
    )

    database_url: str = "sqlite:///leadhub.db"
    plugin_dirs: list[str] = Field(default_factory=list)
    mappings_dir: str = "mappings"
    worker_id: str = Field(default_factory=lambda: f"{os.uname().nodename}-{os.getpid()}")
    server: ServerSettings = Field(default_factory=ServerSettings)
    pipeline: PipelineSettings = Field(default_factory=PipelineSettings)
    delivery: DeliverySettings = Field(default_factory=DeliverySettings)
    routing: RoutingSettings = Field(default_factory=RoutingSettings)
    owners: list[OwnerSettings] = Field(default_factory=list)
    connectors: dict[str, ConnectorInstance] = Field(default_factory=dict)
    #: Tables for plugins (``[plugins.matching]`` etc.), read with :meth:`section`.
    plugins: dict[str, dict[str, Any]] = Field(default_factory=dict)
    #: Where hub.toml was read from (relative paths in it are relative to its folder).
    source_path: str | None = Field(default=None, exclude=True)

    @field_validator("owners")
    @classmethod
    def _unique_owner_ids(cls, owners: list[OwnerSettings]) -> list[OwnerSettings]:
        seen: set[str] = set()
        for owner in owners:
            if owner.id in seen:
                raise ValueError(f"owner id {owner.id!r} appears twice")
            seen.add(owner.id)
        return owners

    @model_validator(mode="after")
    def _routing_owners_known(self) -> HubConfig:
        if not self.owners:
            return self  # owners may come from elsewhere (a CRM sync); nothing to check against
        ids = {o.id for o in self.owners}
        teams = {t.name for t in self.routing.teams}
        for team in self.routing.teams:
            for member in team.members:
                if member not in ids:
                    raise ValueError(f"[[routing.teams]] {team.name!r}: member {member!r} is no [[owners]] id")
        targets = [(f"rule {r.name!r}", x) for r in self.routing.rules for x in (r.owner, r.overflow) if x]
        targets += [(f"team {t.name!r} overflow", t.overflow) for t in self.routing.teams if t.overflow]
        targets += [("[routing] overflow", self.routing.overflow)] if self.routing.overflow else []
        for where, target in targets:
            if target not in ids and target not in teams:
                raise ValueError(f"{where} names {target!r}, which is neither an [[owners]] id nor a team")
        return self

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # Environment beats the file (which arrives as init kwargs).
        return (env_settings, init_settings)

    # -- helpers -------------------------------------------------------------------------------
    def section(self, name: str) -> dict[str, Any]:
        """A plugin's own table, ``[plugins.NAME]``; ``{}`` when absent."""
        return dict(self.plugins.get(name, {}))

    def plugin_settings(self, name: str, model: type[_M]) -> _M:
        """``[plugins.NAME]`` validated by a plugin's own settings model (absent: its defaults).

        :raises ConfigError: naming the file, the table and the key, as for the hub's own tables.
        """
        try:
            return model.model_validate(self.section(name))
        except ValidationError as exc:
            origin = self.source_path or "configuration"
            raise ConfigError(_format_error(exc, origin, table=("plugins", name))) from None

    def owner_list(self) -> list[Owner]:
        return [o.to_owner() for o in self.owners]

    def resolve_path(self, value: str | Path) -> Path:
        """A path from hub.toml, relative to the file's folder."""
        path = Path(value)
        if path.is_absolute() or self.source_path is None:
            return path
        return Path(self.source_path).parent / path

    @property
    def sla(self) -> timedelta:
        return timedelta(minutes=self.routing.sla_minutes)

    @property
    def safe_database_url(self) -> str:
        """The database URL with its password masked, for messages and ``leadhub status``."""
        return display_url(self.database_url)

    def use_sandbox(self, url: str | None = None, *,
                    connector_types: Mapping[str, type[Connector]] | None = None) -> list[str]:
        """Point loopback connectors that serve the sandbox at it (``url``), with its tokens.

        Which connectors, and which of their settings, their classes declare
        (:class:`hub.connector.SandboxSpec`); ``connector_types`` are the registered classes (by
        default those of the plugins this configuration loads). Connectors that name their own
        credentials, or a non-loopback URL, are left alone. Returns the instance names that
        changed. See :func:`sandbox_credentials`.
        """
        tables = {name: spec.table() for name, spec in self.connectors.items()}
        if not any(_is_loopback_url(v) for table in tables.values() for v in table.values()):
            return []  # no connector aims at a sandbox: no need to load the plugins
        if connector_types is None:
            connector_types = self._connector_types()
        changed = sandbox_credentials(tables, connector_types, url=url)
        for name in changed:
            self.connectors[name] = ConnectorInstance(**tables[name])
        return changed

    def _connector_types(self) -> Mapping[str, type[Connector]]:
        from hub.errors import HubError
        from hub.plugins import load_plugins

        try:
            return load_plugins([self.resolve_path(d) for d in self.plugin_dirs]).connector_types()
        except HubError:
            return {}  # a duplicate connector type: build_hub reports it, naming both plugins


_LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1"})


def _is_loopback_url(value: Any) -> bool:
    if not isinstance(value, str):
        return False
    parsed = urlparse(value)
    return parsed.scheme == "http" and (parsed.hostname or "") in _LOOPBACK


def sandbox_credentials(connectors: dict[str, dict[str, Any]], types: Mapping[str, type[Connector]], *,
                        url: str | None = None, environ: Mapping[str, str] | None = None) -> list[str]:
    """Give sandbox defaults to the connector tables that point at a loopback sandbox.

    ``connectors`` maps instance name to its raw settings table (changed in place); ``types`` are
    the connector classes by type name, and a class's ``sandbox`` (:class:`~hub.connector.SandboxSpec`)
    says which setting holds its URL and which receives the token. A table gets the sandbox token
    only when it names no credentials of its own, and only when its URL is a loopback
    ``http://`` URL: the sandbox. With ``url``, that URL replaces the loopback one (the sandbox
    ``run --with-sandbox`` started). Returns the instance names that were changed.
    """
    environ = os.environ if environ is None else environ
    changed = []
    for instance, table in connectors.items():
        cls = types.get(str(table.get("type")))
        spec = cls.sandbox if cls is not None else None
        if spec is None or not table.get("enabled", True):
            continue
        if not _is_loopback_url(table.get(spec.url_setting)):
            continue
        touched = False
        if url is not None and table.get(spec.url_setting) != url:
            table[spec.url_setting] = url
            touched = True
        if table.get(spec.secret_setting) is None and not any(table.get(k) for k in spec.credential_settings):
            table[spec.secret_setting] = spec.token(environ)
            touched = True
        if touched:
            changed.append(instance)
    return changed


def display_url(url: str) -> str:
    """A database URL fit to print: the password replaced by ``***``."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "(unparseable database URL)"


def _format_error(exc: ValidationError, origin: str, hub_keys: frozenset[str] = frozenset(),
                  table: tuple[str, ...] = ()) -> str:
    """One line per problem, ``  table.key: message``; ``table`` prefixes a nested table's keys."""
    lines = [f"{origin} is invalid:"]
    for err in exc.errors():
        loc = [*table, *(str(p) for p in err["loc"])]
        if loc and loc[0] in hub_keys:
            loc.insert(0, "hub")  # written under [hub] in the file
        key = ".".join(loc) or "(top level)"
        msg = err["msg"]
        if err["type"] == "extra_forbidden":
            msg = "unknown key (check the spelling; see `leadhub init` for a starter file)"
        lines.append(f"  {key}: {msg}")
    return "\n".join(lines)


def load_config(path: str | Path | None = None, *, overrides: dict[str, Any] | None = None) -> HubConfig:
    """Read hub.toml (``path``, or ``$LEADHUB_CONFIG``, or ./hub.toml if present) plus environment.

    :raises ConfigError: naming the file and the key that is wrong.
    """
    chosen = path or os.environ.get(CONFIG_ENV)
    data: dict[str, Any] = {}
    origin = "configuration"
    hub_keys: frozenset[str] = frozenset()
    if chosen is None and Path(DEFAULT_CONFIG_FILE).exists():
        chosen = DEFAULT_CONFIG_FILE
    if chosen is not None:
        file = Path(chosen)
        origin = str(file)
        if not file.exists():
            raise ConfigError(f"{file}: no such configuration file; create one with `leadhub init`")
        try:
            data = tomllib.loads(file.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{file}: not valid TOML: {exc}") from exc
        hub_table = data.pop("hub", {})
        if not isinstance(hub_table, dict):
            raise ConfigError(f"{file}: [hub] must be a table")
        hub_keys = frozenset(hub_table)
        data = {**hub_table, **data, "source_path": str(file.resolve())}
    if overrides:
        data.update(overrides)
    try:
        config = HubConfig(**data)
    except ValidationError as exc:
        raise ConfigError(_format_error(exc, origin, hub_keys)) from None
    # The sandbox's demo tokens for connectors aimed at a loopback sandbox without credentials.
    config.use_sandbox()
    return config
