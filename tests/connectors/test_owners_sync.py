"""``leadhub owners sync`` against both sandbox CRMs: owners' crm_ids filled by e-mail from
Salesforce Users and HubSpot owners, unknown e-mails and owners nobody has reported, and an id
hub.toml sets never overwritten."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

import connectors.hubspot
import connectors.salesforce
from hub.owners import sync_owner_crm_ids
from hub.runtime import Hub
from sandbox.testing import SandboxServer

OWNERS = [
    {"id": "jane", "name": "Jane Smith", "email": "Jane.Smith@leadhub.example",
     "crm_ids": {"salesforce": "005HANDSET0000000A"}},
    {"id": "omar", "name": "Omar Haddad", "email": "omar.haddad@leadhub.example"},
    {"id": "ghost", "name": "Gus Host", "email": "gus@elsewhere.example"},
]


def _connectors(sandbox: SandboxServer) -> dict[str, Any]:
    return {"salesforce": {"type": "salesforce", "instance_url": sandbox.url, "session_id": sandbox.sf_token,
                           "retry_initial_seconds": 0.01},
            "hubspot": {"type": "hubspot", "host": sandbox.url, "access_token": sandbox.hs_token,
                        "portal_id": f"owners-{id(sandbox)}"}}


def _people(sandbox: SandboxServer) -> dict[str, dict[str, Any]]:
    assert sandbox.control is not None
    return {p["email"]: p for p in sandbox.control.team()}


def test_sync_fills_ids_by_email_and_keeps_what_hub_toml_sets(
        hub_factory: Callable[..., Hub], sqlite_url: str, sandbox_reset: SandboxServer) -> None:
    people = _people(sandbox_reset)
    jane, omar = people["jane.smith@leadhub.example"], people["omar.haddad@leadhub.example"]
    hub = hub_factory(sqlite_url, extra_plugins=(connectors.salesforce, connectors.hubspot), owners=OWNERS,
                      connectors=_connectors(sandbox_reset), routing={"default_owner": "jane"})
    report = sync_owner_crm_ids(hub)

    assert sorted(report.connectors) == ["hubspot", "salesforce"]
    assert sorted(report.filled) == sorted([("jane", "hubspot", jane["hubspot_owner_id"]),
                                            ("omar", "salesforce", omar["salesforce_user_id"]),
                                            ("omar", "hubspot", omar["hubspot_owner_id"])])
    assert report.kept == [("jane", "salesforce", "005HANDSET0000000A", jane["salesforce_user_id"])]
    assert report.missing == {"salesforce": ["ghost"], "hubspot": ["ghost"]}
    assert "priya.raman@leadhub.example" in report.unknown["salesforce"]
    assert "lukas.becker@leadhub.example" in report.unknown["hubspot"]
    assert not any("jane" in e or "omar" in e for emails in report.unknown.values() for e in emails)

    # A hub built on the same store merges them under hub.toml's.
    again = hub_factory(sqlite_url, extra_plugins=(connectors.salesforce, connectors.hubspot), owners=OWNERS,
                        connectors=_connectors(sandbox_reset), routing={"default_owner": "jane"})
    by_id = {o.id: o for o in again.owners}
    assert by_id["jane"].crm_ids == {"salesforce": "005HANDSET0000000A", "hubspot": jane["hubspot_owner_id"]}
    assert by_id["omar"].crm_ids == {"salesforce": omar["salesforce_user_id"], "hubspot": omar["hubspot_owner_id"]}
    assert by_id["ghost"].crm_ids == {}
    assert again.pipeline.account_links.owner_of("hubspot", omar["hubspot_owner_id"]) is not None


def test_owners_sync_command(tmp_path: Path, sandbox_reset: SandboxServer, monkeypatch: pytest.MonkeyPatch) -> None:
    from hub.cli.main import app

    cfg = tmp_path / "hub.toml"
    cfg.write_text(f'''
[hub]
database_url = "sqlite:///{tmp_path / 'sync.db'}"
[routing]
default_owner = "omar"
[[owners]]
id = "omar"
name = "Omar Haddad"
email = "omar.haddad@leadhub.example"
[connectors.hubspot]
type = "hubspot"
host = "{sandbox_reset.url}"
portal_id = "owners-cli"
''')
    monkeypatch.setenv("LEADHUB_CONNECTORS__HUBSPOT__ACCESS_TOKEN", sandbox_reset.hs_token)
    result = CliRunner().invoke(app, ["owners", "sync", "--config", str(cfg), "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    omar = _people(sandbox_reset)["omar.haddad@leadhub.example"]
    assert data["filled"] == [{"owner": "omar", "connector": "hubspot", "crm_id": omar["hubspot_owner_id"]}]
    assert "jane.smith@leadhub.example" in data["unknown_emails"]["hubspot"]
    shown = CliRunner().invoke(app, ["owners", "sync", "--config", str(cfg)])
    assert shown.exit_code == 0 and "no hub owner" in shown.output and "next start" in shown.output
