"""What a fresh clone needs to start: the starter hub.toml, and the sandbox CRMs for the demo.

``leadhub init`` writes :data:`STARTER_TOML` (the repository's own hub.toml, so the two never
drift apart). ``leadhub run --with-sandbox`` (what ``make run`` calls) starts the sandbox CRMs
as a subprocess on a fixed port with :class:`SandboxProcess` *before* the hub, then
:func:`point_at_sandbox` aims the salesforce and hubspot connectors whose URL is a loopback URL
at it. A subprocess rather than a thread: the sandbox gets its own interpreter (and core), and
SIGTERM to the daemon can stop it in order after the hub has finished its batch.

Sandbox tokens are demo secrets, never real ones, and :func:`sandbox_credentials` only ever
hands them to connectors that talk to a loopback URL: a real org always needs its own token from
the environment.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any, Self
from urllib.parse import urlparse

import httpx

from sandbox.core import DEFAULT_HS_TOKEN, DEFAULT_SF_TOKEN

_REPO_TOML = Path(__file__).resolve().parents[2] / "hub.toml"
STARTER_TOML = _REPO_TOML.read_text(encoding="utf-8") if _REPO_TOML.exists() else """\
[hub]
database_url = "sqlite:///leadhub.db"

[routing]
strategy = "round_robin"
sla_minutes = 30

[[owners]]
id = "jane"
name = "Jane Doe"
email = "jane@example.com"
destination = "delivered"

[connectors.delivered]
type = "file"
path = "delivered.jsonl"
"""

DEFAULT_SANDBOX_PORT = 8765
SANDBOX_SF_TOKEN_ENV = "LEADHUB_SANDBOX_SF_TOKEN"
SANDBOX_HS_TOKEN_ENV = "LEADHUB_SANDBOX_HS_TOKEN"
START_DEADLINE_SECONDS = 30.0
STOP_DEADLINE_SECONDS = 15.0

#: Connector type -> (setting holding its URL, setting holding its secret, other credential
#: settings: when any is set the connector has its own credentials and keeps them).
_SANDBOX_SYSTEMS: dict[str, tuple[str, str, tuple[str, ...]]] = {
    "salesforce": ("instance_url", "session_id", ("username", "password", "consumer_key", "consumer_secret")),
    "hubspot": ("host", "access_token", ()),
}
_LOOPBACK = {"127.0.0.1", "localhost", "::1"}


def sandbox_tokens() -> dict[str, str]:
    """The sandbox's tokens by system: ``LEADHUB_SANDBOX_*_TOKEN`` or the documented defaults."""
    return {
        "salesforce": os.environ.get(SANDBOX_SF_TOKEN_ENV) or DEFAULT_SF_TOKEN,
        "hubspot": os.environ.get(SANDBOX_HS_TOKEN_ENV) or DEFAULT_HS_TOKEN,
    }


def _is_loopback_url(value: Any) -> bool:
    if not isinstance(value, str):
        return False
    parsed = urlparse(value)
    return parsed.scheme == "http" and (parsed.hostname or "") in _LOOPBACK


def sandbox_credentials(connectors: dict[str, dict[str, Any]], *, url: str | None = None) -> list[str]:
    """Give sandbox defaults to salesforce/hubspot connector tables that point at loopback.

    ``connectors`` maps instance name to its raw settings table (changed in place). A table gets
    the sandbox token only when it names no credentials of its own, and only when its URL is a
    loopback ``http://`` URL: the sandbox. With ``url``, that URL replaces the loopback one (the
    sandbox ``run --with-sandbox`` started). Returns the instance names that were changed.
    """
    tokens = sandbox_tokens()
    changed = []
    for instance, table in connectors.items():
        system = _SANDBOX_SYSTEMS.get(str(table.get("type")))
        if system is None or not table.get("enabled", True):
            continue
        url_key, secret_key, other_keys = system
        if not _is_loopback_url(table.get(url_key)):
            continue
        touched = False
        if url is not None and table.get(url_key) != url:
            table[url_key] = url
            touched = True
        if table.get(secret_key) is None and not any(table.get(k) for k in other_keys):
            table[secret_key] = tokens[str(table["type"])]
            touched = True
        if touched:
            changed.append(instance)
    return changed


class SandboxError(RuntimeError):
    """The sandbox could not start; the message says what to do."""


class SandboxProcess:
    """``python -m sandbox serve`` on a fixed loopback port, for the life of the daemon."""

    def __init__(self, port: int = DEFAULT_SANDBOX_PORT, *, persist: Path | None = None) -> None:
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self.persist = persist
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> SandboxProcess:
        """Start the sandbox and wait (with a deadline) until its health check answers."""
        _require_free_port(self.port)
        command = [sys.executable, "-m", "sandbox", "serve", "--host", "127.0.0.1",
                   "--port", str(self.port), "--seed", "--log-level", "warning"]
        if self.persist is not None:
            command += ["--persist", str(self.persist)]
        tokens = sandbox_tokens()
        # Tokens travel in the environment, never on the command line (visible in `ps`).
        env = {**os.environ, SANDBOX_SF_TOKEN_ENV: tokens["salesforce"],
               SANDBOX_HS_TOKEN_ENV: tokens["hubspot"], "PYTHONUNBUFFERED": "1"}
        self.process = subprocess.Popen(command, env=env, stdin=subprocess.DEVNULL)
        self._wait_until_ready()
        return self

    def _wait_until_ready(self) -> None:
        assert self.process is not None
        deadline = time.monotonic() + START_DEADLINE_SECONDS
        pause = threading.Event()
        last = "no answer yet"
        with httpx.Client(timeout=2.0, trust_env=False) as client:
            while True:
                code = self.process.poll()
                if code is not None:
                    raise SandboxError(f"the sandbox exited with code {code} before answering on {self.url}; "
                                       "see its output above")
                try:
                    if client.get(f"{self.url}/_sandbox/health").status_code == 200:
                        return
                except httpx.TransportError as exc:
                    last = type(exc).__name__
                if time.monotonic() > deadline:
                    self.stop()
                    raise SandboxError(f"the sandbox did not answer on {self.url} within "
                                       f"{START_DEADLINE_SECONDS:.0f} s ({last})")
                pause.wait(0.05)  # between polls of the condition, not a wait for a result

    def stop(self) -> int | None:
        """Stop the sandbox (SIGTERM, then SIGKILL after a deadline); returns its exit code."""
        process, self.process = self.process, None
        if process is None:
            return None
        if process.poll() is None:
            process.terminate()
            try:
                return process.wait(timeout=STOP_DEADLINE_SECONDS)
            except subprocess.TimeoutExpired:
                process.kill()
        return process.wait()

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _require_free_port(port: int) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            raise SandboxError(
                f"port {port} is already in use (another `leadhub run --with-sandbox`?); stop it or "
                "choose another port with --sandbox-port") from None
