"""Configuration: hub.toml plus LEADHUB_* environment overrides, errors that name the key, secrets hidden."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr
from typer.testing import CliRunner

from connectors.file import FileConnector
from hub.cli.main import app
from hub.config import load_config, sandbox_credentials
from hub.connector import Connector, ConnectorSettings, SandboxSpec
from hub.errors import ConfigError
from hub.plugins import load_plugins
from hub.runtime import build_connectors

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith("LEADHUB_"):
            monkeypatch.delenv(name)


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "hub.toml"
    path.write_text(text)
    return path


def test_repository_hub_toml_is_valid_and_points_at_the_sandbox() -> None:
    config = load_config(ROOT / "hub.toml")
    assert config.database_url == "sqlite:///leadhub.db"
    assert {n: c.type for n, c in config.connectors.items()} == {
        "salesforce": "salesforce", "hubspot": "hubspot", "webform": "webform", "partner": "partner",
        "delivered": "file"}
    assert config.connectors["salesforce"].settings_dict()["instance_url"] == "http://127.0.0.1:8765"
    assert config.connectors["hubspot"].settings_dict()["host"] == "http://127.0.0.1:8765"
    assert "demo" in config.connectors["webform"].settings_dict()["forms"]
    # Owners carry the sandbox's seeded user ids (GET /_sandbox/team).
    from sandbox.testing import SandboxServer

    with SandboxServer() as server:
        assert server.control is not None
        team = {p["name"]: p for p in server.control.team()}
    for owner in config.owners:
        person = team[owner.name]
        assert owner.crm_ids == {"salesforce": person["salesforce_user_id"], "hubspot": person["hubspot_owner_id"]}


def test_environment_overrides_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write(tmp_path, '''
[hub]
database_url = "sqlite:///from-file.db"
[server]
port = 8000
[connectors.delivered]
type = "file"
path = "a.jsonl"
''')
    monkeypatch.setenv("LEADHUB_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/x")
    monkeypatch.setenv("LEADHUB_SERVER__PORT", "9001")
    monkeypatch.setenv("LEADHUB_CONNECTORS__DELIVERED__PATH", "b.jsonl")
    monkeypatch.setenv("LEADHUB_CONNECTORS__DELIVERED__SCHEDULE_SECONDS", "5")
    config = load_config(path)
    assert config.database_url == "postgresql+psycopg://postgres@127.0.0.1:5432/x"
    assert config.server.port == 9001
    assert config.connectors["delivered"].settings_dict() == {"path": "b.jsonl", "schedule_seconds": 5}
    assert config.connectors["delivered"].type == "file", "an override of one key keeps the others"


def test_config_file_from_leadhub_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write(tmp_path, '[hub]\ndatabase_url = "sqlite:///env-chosen.db"\n')
    monkeypatch.setenv("LEADHUB_CONFIG", str(path))
    assert load_config().database_url == "sqlite:///env-chosen.db"
    assert load_config().source_path == str(path.resolve())


@pytest.mark.parametrize(("text", "key", "hint"), [
    ('[hub]\ndatabse_url = "x"\n', "hub.databse_url", "unknown key"),
    ("[server]\nport = 70000\n", "server.port", "less than or equal to 65535"),
    ('[pipeline]\nbatch_size = "lots"\n', "pipeline.batch_size", "valid integer"),
    ("[delivery]\nmax_attempts = 0\n", "delivery.max_attempts", "greater than or equal to 1"),
    ('[[owners]]\nid = "a"\nname = "A"\n[[owners]]\nid = "a"\nname = "B"\n', "owners", "appears twice"),
    ('[[owners]]\nid = "a"\n', "owners.0.name", "Field required"),
    ("[connectors.x]\npath = 1\n", "connectors.x.type", "Field required"),
    ('[routing]\nstrateg = "default_owner"\n', "routing.strateg", "unknown key"),
    ("[routing]\nsla_minutes = 0\n", "routing.sla_minutes", "greater than 0"),
])
def test_an_invalid_file_names_the_key(tmp_path: Path, text: str, key: str, hint: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_config(write(tmp_path, text))
    message = str(caught.value)
    assert str(tmp_path / "hub.toml") in message
    assert f"  {key}: " in message and hint in message


def test_broken_toml_and_missing_file_say_what_to_do(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"not valid TOML.*line 2"):
        load_config(write(tmp_path, "[hub]\ndatabase_url = \n"))
    with pytest.raises(ConfigError, match="leadhub init"):
        load_config(tmp_path / "nope.toml")


def test_connector_settings_errors_name_the_connector_key(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, '[connectors.delivered]\ntype = "file"\npaht = "x.jsonl"\n'))
    with pytest.raises(ConfigError, match=r"connectors\.delivered\.paht: unknown setting"):
        build_connectors(config, load_plugins(entry_points=False), mappings=None)  # type: ignore[arg-type]


def test_a_typo_in_routing_is_an_error_naming_file_table_and_key(tmp_path: Path) -> None:
    # [routing] used to keep unknown keys for strategy plugins: "stratgy" silently routed round robin.
    path = write(tmp_path, '[routing]\nstratgy = "default_owner"\ndefault_owner = "jane"\n')
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert str(caught.value).splitlines() == [
        f"{path} is invalid:",
        "  routing.stratgy: unknown key (check the spelling; see `leadhub init` for a starter file)",
    ]


def test_plugin_table_errors_name_file_table_and_key(tmp_path: Path) -> None:
    path = write(tmp_path, '[plugins.scoring]\npoints = { webinar = "lots" }\nper_extra_contcat = 1\n'
                           '[plugins.matching]\nreview_threshold = 0.95\n')
    plugins = load_plugins(defaults=("plugins.scoring:ScoringPlugin",), entry_points=False)
    with pytest.raises(ConfigError) as caught:
        plugins.configure(load_config(path))
    lines = str(caught.value).splitlines()
    assert lines[0] == f"{path.resolve()} is invalid:"
    assert ("  plugins.scoring.points.webinar: Input should be a valid integer, "
            "unable to parse string as an integer") in lines
    assert ("  plugins.scoring.per_extra_contcat: unknown key "
            "(check the spelling; see `leadhub init` for a starter file)") in lines
    matching = load_plugins(defaults=("plugins.matching:MatchingPlugin",), entry_points=False)
    with pytest.raises(ConfigError,
                       match=r"plugins\.matching: Value error, review_threshold \(0\.95\) must not exceed"):
        matching.configure(load_config(path))


def test_secrets_are_secretstr_and_never_printed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    token, password, form_secret = "pat-na1-0123456789abcdef", "hunter2-db-pw", "form-s3cret-value"
    path = write(tmp_path, '''
[connectors.hubspot]
type = "hubspot"
host = "https://api.hubapi.com"
[connectors.webform]
type = "webform"
[connectors.webform.forms.demo]
title = "Demo"
''')
    monkeypatch.setenv("LEADHUB_CONNECTORS__HUBSPOT__ACCESS_TOKEN", token)
    monkeypatch.setenv("LEADHUB_CONNECTORS__WEBFORM__FORMS__DEMO__SECRET", form_secret)
    monkeypatch.setenv("LEADHUB_DATABASE_URL", f"postgresql+psycopg://leadhub:{password}@db.internal/leadhub")
    config = load_config(path)
    hubspot = config.connectors["hubspot"]
    assert isinstance(hubspot.model_extra["access_token"], SecretStr)  # type: ignore[index]
    assert isinstance(config.connectors["webform"].model_extra["forms"]["demo"]["secret"], SecretStr)  # type: ignore[index]
    for shown in (repr(config), str(config), config.model_dump_json(), repr(hubspot), str(config.model_dump())):
        assert token not in shown and form_secret not in shown
    assert password not in config.safe_database_url and "***" in config.safe_database_url
    # The connector's own settings model gets the real value (and keeps it a SecretStr).
    settings = hubspot.settings_dict()
    assert settings["access_token"] == token

    from connectors.hubspot.settings import HubSpotSettings

    parsed = HubSpotSettings(**settings)
    assert isinstance(parsed.access_token, SecretStr) and parsed.access_token.get_secret_value() == token
    assert token not in repr(parsed)


def test_cli_never_prints_secrets(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    password = "pw-that-must-not-show"
    path = write(tmp_path, f'[hub]\ndatabase_url = "sqlite:///{tmp_path / "x.db"}"\n[connectors.hubspot]\n'
                           'type = "hubspot"\nhost = "https://api.hubapi.com"\n')
    monkeypatch.setenv("LEADHUB_CONNECTORS__HUBSPOT__ACCESS_TOKEN", "pat-must-not-show")
    status = CliRunner().invoke(app, ["status", "--json", "-c", str(path)])
    assert "pat-must-not-show" not in status.output
    # An unreachable PostgreSQL: the error names the problem, never the password.
    monkeypatch.setenv("LEADHUB_DATABASE_URL", f"postgresql+psycopg://u:{password}@127.0.0.1:1/x?connect_timeout=2")
    failed = CliRunner().invoke(app, ["status", "-c", str(path)])
    assert failed.exit_code != 0
    assert password not in failed.output and password not in repr(failed.exception)


def test_sandbox_tokens_only_for_loopback_connectors(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write(tmp_path, '''
[connectors.sf_sandbox]
type = "salesforce"
instance_url = "http://127.0.0.1:8765"
[connectors.sf_real]
type = "salesforce"
instance_url = "https://acme.my.salesforce.com"
[connectors.hs_sandbox]
type = "hubspot"
host = "http://localhost:8765"
[connectors.hs_own_token]
type = "hubspot"
host = "http://127.0.0.1:8765"
''')
    monkeypatch.setenv("LEADHUB_SANDBOX_SF_TOKEN", "sandbox-sf-token")
    monkeypatch.setenv("LEADHUB_CONNECTORS__HS_OWN_TOKEN__ACCESS_TOKEN", "my-own")
    config = load_config(path)
    settings = {name: spec.settings_dict() for name, spec in config.connectors.items()}
    assert settings["sf_sandbox"]["session_id"] == "sandbox-sf-token"
    assert "session_id" not in settings["sf_real"], "a real org never gets a sandbox token"
    assert settings["hs_sandbox"]["access_token"] == "pat-sandbox-hs"
    assert settings["hs_own_token"]["access_token"] == "my-own"
    changed = config.use_sandbox("http://127.0.0.1:9999")
    assert sorted(changed) == ["hs_own_token", "hs_sandbox", "sf_sandbox"]
    assert config.connectors["sf_sandbox"].settings_dict()["instance_url"] == "http://127.0.0.1:9999"
    assert config.connectors["sf_real"].settings_dict()["instance_url"] == "https://acme.my.salesforce.com"
    assert config.connectors["hs_own_token"].settings_dict()["access_token"] == "my-own"


class EchoSettings(ConnectorSettings):
    url: str = ""
    token: str | None = None
    user: str | None = None


class Echo(Connector):
    """A third-party CRM connector that the sandbox serves too: it only declares how."""

    name = "echo"
    settings_model = EchoSettings
    sandbox = SandboxSpec(url_setting="url", secret_setting="token", token_env="ECHO_SANDBOX_TOKEN",
                          default_token="echo-demo", credential_settings=("user",))


def test_sandbox_defaults_come_from_the_connector_declaration() -> None:
    tables: dict[str, dict[str, Any]] = {
        "local": {"type": "echo", "url": "http://127.0.0.1:8765"},
        "own_user": {"type": "echo", "url": "http://localhost:8765", "user": "me"},
        "real": {"type": "echo", "url": "https://echo.example"},
        "undeclared": {"type": "file", "path": "http://127.0.0.1:8765"},
    }
    changed = sandbox_credentials(tables, {"echo": Echo, "file": FileConnector}, url="http://127.0.0.1:9000",
                                  environ={"ECHO_SANDBOX_TOKEN": "from-env"})
    assert sorted(changed) == ["local", "own_user"]
    assert tables["local"] == {"type": "echo", "url": "http://127.0.0.1:9000", "token": "from-env"}
    assert tables["own_user"] == {"type": "echo", "url": "http://127.0.0.1:9000", "user": "me"}
    assert tables["real"] == {"type": "echo", "url": "https://echo.example"}
    assert tables["undeclared"]["path"] == "http://127.0.0.1:8765"
    assert sandbox_credentials({"x": {"type": "echo", "url": "http://[::1]:1"}}, {"echo": Echo}, environ={}) == ["x"]


def test_the_crm_connectors_declare_the_sandboxs_own_tokens() -> None:
    from connectors.hubspot import HubSpotConnector
    from connectors.salesforce import SalesforceConnector
    from sandbox import defaults

    assert SalesforceConnector.sandbox is not None and HubSpotConnector.sandbox is not None
    assert (SalesforceConnector.sandbox.token_env, SalesforceConnector.sandbox.default_token) == (
        defaults.SF_TOKEN_ENV, defaults.DEFAULT_SF_TOKEN)
    assert (HubSpotConnector.sandbox.token_env, HubSpotConnector.sandbox.default_token) == (
        defaults.HS_TOKEN_ENV, defaults.DEFAULT_HS_TOKEN)


def test_the_starter_module_knows_no_connector() -> None:
    source = (ROOT / "hub" / "cli" / "starter.py").read_text(encoding="utf-8")
    for word in ("salesforce", "hubspot", "session_id", "access_token", "sandbox.core"):
        assert word not in source.lower().replace("hub.toml", ""), word
