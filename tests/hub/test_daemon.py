"""The daemon as ops run it: ``leadhub run --with-sandbox`` in a subprocess, on the repository's hub.toml.

One test walks the whole ``make run`` path: the sandbox CRMs start first on the chosen port, the
hub answers ``/healthz``, a posted web form becomes a lead in the sandbox CRM of its owner (through
the real client libraries) and in the JSONL destination, and SIGTERM ends everything with exit
code 0 - sandbox included. Tokens are random per run, so finding one in the output means a leak.
"""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import tomllib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest
from hubspot.crm.contacts.exceptions import ApiException as ContactsApiException
from typer.testing import CliRunner

from hub.cli.main import app
from sandbox.testing import free_port, hubspot_client, salesforce_client

ROOT = Path(__file__).resolve().parents[2]
DEADLINE = 60.0
T = TypeVar("T")


def wait_for(what: str, probe: Callable[[], T | None], deadline: float = DEADLINE) -> T:
    """Poll ``probe`` until it returns something truthy, or fail naming ``what``."""
    pause = threading.Event()
    end = time.monotonic() + deadline
    while True:
        got = probe()
        if got:
            return got
        if time.monotonic() > end:
            pytest.fail(f"timed out after {deadline:.0f} s waiting for {what}")
        pause.wait(0.1)  # between polls of the condition


class Daemon:
    def __init__(self, process: subprocess.Popen[bytes], url: str, sandbox_port: int, workdir: Path,
                 tokens: dict[str, str]) -> None:
        self.process, self.url, self.sandbox_port = process, url, sandbox_port
        self.workdir, self.tokens = workdir, tokens

    def output(self) -> str:
        return (self.workdir / "stdout.log").read_text(errors="replace") + (
            self.workdir / "stderr.log").read_text(errors="replace")


@pytest.fixture
def daemon(tmp_path: Path) -> Iterator[Daemon]:
    """``leadhub run --with-sandbox`` on free ports, from a folder holding a copy of hub.toml."""
    shutil.copy(ROOT / "hub.toml", tmp_path / "hub.toml")
    hub_port, sandbox_port = free_port(), free_port()
    tokens = {"sf": f"sf-{secrets.token_hex(12)}", "hs": f"pat-{secrets.token_hex(12)}",
              "pepper": f"pepper-{secrets.token_hex(12)}"}
    env = {k: v for k, v in os.environ.items() if not k.startswith("LEADHUB_")}
    env.update({"LEADHUB_SANDBOX_SF_TOKEN": tokens["sf"], "LEADHUB_SANDBOX_HS_TOKEN": tokens["hs"],
                "LEADHUB_PARTNER_KEY_PEPPER": tokens["pepper"], "PYTHONUNBUFFERED": "1"})
    with (tmp_path / "stdout.log").open("wb") as out, (tmp_path / "stderr.log").open("wb") as errs:
        process = subprocess.Popen(
            [sys.executable, "-m", "hub", "--verbose", "run", "--with-sandbox", "--sandbox-port",
             str(sandbox_port), "--port", str(hub_port)],
            cwd=tmp_path, env=env, stdout=out, stderr=errs, stdin=subprocess.DEVNULL)
    running = Daemon(process, f"http://127.0.0.1:{hub_port}", sandbox_port, tmp_path, tokens)
    try:
        yield running
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(10)
        _kill_sandbox(sandbox_port)


def _kill_sandbox(port: int) -> None:
    """Safety net if the daemon died without stopping its sandbox: end that one process only."""
    if not _listening(port):
        return
    found = subprocess.run(["ps", "-eo", "pid=,args="], capture_output=True, text=True, check=False).stdout
    for line in found.splitlines():
        pid, _, args = line.strip().partition(" ")
        if "sandbox" in args and f"--port {port}" in args:
            os.kill(int(pid), signal.SIGKILL)


def _listening(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


def _healthy(url: str) -> dict[str, Any] | None:
    try:
        r = httpx.get(f"{url}/healthz", timeout=2, trust_env=False)
    except httpx.TransportError:
        return None
    return r.json() if r.status_code == 200 else None


def test_make_run_daemon_takes_a_web_form_to_the_sandbox_crm_and_stops_cleanly(daemon: Daemon) -> None:
    def alive_and_healthy() -> dict[str, Any] | None:
        if daemon.process.poll() is not None:
            pytest.fail(f"daemon exited with {daemon.process.returncode}:\n{daemon.output()}")
        return _healthy(daemon.url)

    assert wait_for("/healthz", alive_and_healthy)["status"] == "ok"
    assert _listening(daemon.sandbox_port), "the sandbox must be up on --sandbox-port"
    out = daemon.output()
    assert out.index("sandbox CRMs at") < out.index("LeadHub on"), "the sandbox starts before the hub"

    email = f"ana.{secrets.token_hex(4)}@acme-widgets.example"
    r = httpx.post(f"{daemon.url}/forms/demo", json={"email": email, "name": "Ana Lopez",
                                                   "company": "Acme Widgets", "website": "https://acme-widgets.example"},
                   timeout=10, trust_env=False)
    assert r.status_code == 202, r.text

    sf = salesforce_client(daemon.sandbox_port, daemon.tokens["sf"])
    hs = hubspot_client(daemon.sandbox_port, daemon.tokens["hs"])
    config = tomllib.loads((ROOT / "hub.toml").read_text())
    owners = {crm_id for owner in config["owners"] for crm_id in owner.get("crm_ids", {}).values()}  # hub.toml's

    def in_a_crm() -> tuple[str, str, str] | None:
        rows = sf.query(f"SELECT Id, LeadHub_Id__c, OwnerId FROM Lead WHERE Email = '{email}'")["records"]
        if rows and rows[0]["LeadHub_Id__c"]:
            return "salesforce", rows[0]["LeadHub_Id__c"], rows[0]["OwnerId"]
        try:
            found = hs.crm.contacts.search_api.do_search(public_object_search_request={
                "filterGroups": [{"filters": [{"propertyName": "email", "operator": "EQ", "value": email}]}],
                "properties": ["leadhub_lead_id", "hubspot_owner_id"]})
        except ContactsApiException as exc:
            if exc.status == 429:  # the sandbox enforces HubSpot's search rate limit: ask again later
                return None
            raise
        if found.results and found.results[0].properties.get("leadhub_lead_id"):
            props = found.results[0].properties
            return "hubspot", props["leadhub_lead_id"], props["hubspot_owner_id"]
        return None

    crm, lead_id, crm_owner = wait_for("the lead in a sandbox CRM", in_a_crm)
    assert lead_id.startswith("lead_")
    assert crm_owner in owners, f"{crm} owner {crm_owner} is not one of hub.toml's owners"
    delivered = daemon.workdir / "delivered.jsonl"
    wait_for("the lead in delivered.jsonl",
             lambda: delivered.exists() and lead_id in delivered.read_text())

    metrics = httpx.get(f"{daemon.url}/metrics", timeout=5, trust_env=False).text
    assert "leadhub_leads_routed_total" in metrics

    daemon.process.send_signal(signal.SIGTERM)
    try:
        code = daemon.process.wait(timeout=DEADLINE)
    except subprocess.TimeoutExpired:
        pytest.fail(f"daemon did not stop within {DEADLINE:.0f} s of SIGTERM:\n{daemon.output()}")
    out = daemon.output()
    assert code == 0, out
    assert "stopped on SIGTERM" in out
    assert not _listening(daemon.sandbox_port), "SIGTERM must stop the sandbox too"
    for name, token in daemon.tokens.items():
        assert token not in out, f"the {name} secret appeared in the daemon's output"


def test_with_sandbox_on_a_busy_port_says_what_to_do(tmp_path: Path) -> None:
    shutil.copy(ROOT / "hub.toml", tmp_path / "hub.toml")
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = CliRunner().invoke(app, ["run", "-c", str(tmp_path / "hub.toml"), "--with-sandbox",
                                          "--sandbox-port", str(port)])
    assert result.exit_code == 2
    assert f"port {port} is already in use" in result.output
    assert "--sandbox-port" in result.output


def test_make_run_starts_the_daemon_with_the_sandbox() -> None:
    plan = subprocess.run(["make", "-n", "-W", "pyproject.toml", "run"], cwd=ROOT, capture_output=True,
                          text=True, check=True).stdout
    assert "leadhub run --with-sandbox" in plan
    assert "pip install" in plan and ".[test]" in plan, "make run installs into .venv on a fresh clone"
