"""`leadhub partners|referrals|forms ...` through typer's CliRunner on a real SQLite file."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from connectors.partner import store as q
from connectors.partner.cli import partners_app, referrals_app
from connectors.webform.cli import forms_app
from hub.store import open_store

runner = CliRunner()


def _config(tmp_path: Path) -> Path:
    cfg = tmp_path / "hub.toml"
    cfg.write_text(f'''
[hub]
database_url = "sqlite:///{tmp_path / 'cli.db'}"
[connectors.partner]
type = "partner"
[connectors.webform]
type = "webform"
[connectors.webform.forms.demo]
title = "Request a demo"
fields = ["email", "name", "message"]
activity_kind = "demo_request"
''')
    return cfg


def test_partner_lifecycle(tmp_path: Path) -> None:
    cfg = str(_config(tmp_path))
    added = runner.invoke(partners_app, ["add", "Acme", "--email", "ops@acme.example", "--callback-url",
                                         "https://acme.example/hook", "--config", cfg, "--json"])
    assert added.exit_code == 0, added.output
    data = json.loads(added.output)
    key = data["api_key"]
    listed = runner.invoke(partners_app, ["list", "--config", cfg, "--json"])
    assert listed.exit_code == 0 and key not in listed.output and data["callback_secret"] not in listed.output
    assert json.loads(listed.output)[0]["name"] == "Acme"
    store = open_store(f"sqlite:///{tmp_path / 'cli.db'}")
    from connectors.partner.service import authenticate

    with store.engine.connect() as conn:
        assert authenticate(conn, key) is not None
    rotated = runner.invoke(partners_app, ["rotate-key", "Acme", "--config", cfg, "--json"])
    new_key = json.loads(rotated.output)["api_key"]
    with store.engine.connect() as conn:
        assert authenticate(conn, key) is None and authenticate(conn, new_key) is not None
    assert runner.invoke(partners_app, ["disable", "Acme", "--config", cfg]).exit_code == 0
    with store.engine.connect() as conn:
        assert authenticate(conn, new_key) is None
    missing = runner.invoke(partners_app, ["disable", "Nobody", "--config", cfg])
    assert missing.exit_code == 1 and "partners list" in missing.output


def test_referral_decisions(tmp_path: Path) -> None:
    cfg = str(_config(tmp_path))
    store = open_store(f"sqlite:///{tmp_path / 'cli.db'}")
    with store.engine.begin() as conn:
        p = q.add_partner(conn, name="Acme", email="a@acme.example", key_prefix="lhp_00000000", key_hash="x")
        for rid in ("ref_a", "ref_b"):
            q.add_referral(conn, referral_id=rid, partner_id=p.id, connector="partner", status="conflict",
                           company_name="Globex", company_key="globex.com", account_id=None, product_line="default",
                           payload={"company_name": "Globex", "partner_id": p.id}, conflict_reason="held",
                           conflict_detail="open lead")
    listed = runner.invoke(referrals_app, ["list", "--status", "conflict", "--config", cfg, "--json"])
    assert json.loads(listed.output)["total"] == 2
    assert runner.invoke(referrals_app, ["approve", "ref_a", "--reason", "ok", "--config", cfg]).exit_code == 0
    assert runner.invoke(referrals_app, ["reject", "ref_b", "--reason", "direct", "--config", cfg]).exit_code == 0
    again = runner.invoke(referrals_app, ["reject", "ref_b", "--reason", "direct", "--config", cfg])
    assert again.exit_code == 1
    with store.engine.connect() as conn:
        inbox = store.counts(conn)["inbox_pending"]
        assert q.get_referral(conn, "ref_b", None).status == "rejected"  # type: ignore[union-attr]
    assert inbox == 1  # the approved one went to the pipeline


def test_forms_list_and_snippet(tmp_path: Path) -> None:
    cfg = str(_config(tmp_path))
    listed = runner.invoke(forms_app, ["list", "--config", cfg, "--json"])
    assert json.loads(listed.output)[0]["form"] == "demo"
    out = runner.invoke(forms_app, ["snippet", "demo", "--config", cfg, "--base-url", "https://leads.example.com"])
    assert out.exit_code == 0
    assert 'action="https://leads.example.com/forms/demo"' in out.output
    assert 'name="email" required' in out.output and 'name="fax_number" tabindex="-1"' in out.output
    assert runner.invoke(forms_app, ["snippet", "nope", "--config", cfg]).exit_code == 1


def test_add_refuses_a_callback_url_the_api_would_refuse(tmp_path: Path) -> None:
    cfg = str(_config(tmp_path))
    refused = runner.invoke(partners_app, ["add", "Acme", "--email", "ops@acme.example", "--callback-url",
                                           "https://10.0.0.7/hook", "--config", cfg])
    assert refused.exit_code == 2 and "private" in refused.output
    local = runner.invoke(partners_app, ["add", "Lab", "--email", "lab@acme.example", "--callback-url",
                                         "http://127.0.0.1:9000/hook", "--config", cfg, "--json"])
    assert local.exit_code == 0, local.output


def test_channel_manager_is_a_configured_owner_set_at_add_or_later(tmp_path: Path) -> None:
    cfg_path = _config(tmp_path)
    cfg_path.write_text(cfg_path.read_text() + '''
[[owners]]
id = "jane"
name = "Jane Doe"
[[owners]]
id = "omar"
name = "Omar Haddad"
''')
    cfg = str(cfg_path)
    unknown = runner.invoke(partners_app, ["add", "Acme", "--email", "ops@acme.example", "--channel-manager",
                                           "nobody", "--config", cfg])
    assert unknown.exit_code == 2 and "jane, omar" in unknown.output
    added = runner.invoke(partners_app, ["add", "Acme", "--email", "ops@acme.example", "--channel-manager", "jane",
                                         "--config", cfg, "--json"])
    assert added.exit_code == 0, added.output
    partner_id = json.loads(added.output)["id"]
    store = open_store(f"sqlite:///{tmp_path / 'cli.db'}")
    with store.engine.connect() as conn:
        row = q.get_partner(conn, partner_id)
    assert row is not None and row.channel_manager_id == "jane"

    assert runner.invoke(partners_app, ["set-manager", "Acme", "nobody", "--config", cfg]).exit_code == 2
    moved = runner.invoke(partners_app, ["set-manager", "Acme", "omar", "--config", cfg])
    assert moved.exit_code == 0 and "omar" in moved.output
    listed = json.loads(runner.invoke(partners_app, ["list", "--config", cfg, "--json"]).output)
    assert listed[0]["channel_manager_id"] == "omar"
    shown = runner.invoke(partners_app, ["list", "--config", cfg])
    assert shown.exit_code == 0 and "omar" in shown.output
    assert runner.invoke(partners_app, ["set-manager", "Acme", "--clear", "--config", cfg]).exit_code == 0
    with store.engine.connect() as conn:
        row = q.get_partner(conn, partner_id)
    assert row is not None and row.channel_manager_id is None
    assert runner.invoke(partners_app, ["set-manager", "Acme", "--config", cfg]).exit_code == 2
