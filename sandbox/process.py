"""The sandbox CRMs as a child process, for ``leadhub run --with-sandbox`` (what ``make run`` calls).

:class:`SandboxProcess` starts ``python -m sandbox serve`` on a fixed loopback port *before* the
hub and waits (with a deadline) until it answers its health check. A subprocess rather than a
thread: the sandbox gets its own interpreter (and core), and SIGTERM to the daemon can stop it in
order after the hub has finished its batch. Its tokens come from ``LEADHUB_SANDBOX_*_TOKEN`` (the
child reads the same environment), else the demo defaults of :mod:`sandbox.defaults`.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Self

import httpx

from sandbox.defaults import DEFAULT_PORT

START_DEADLINE_SECONDS = 30.0
STOP_DEADLINE_SECONDS = 15.0


class SandboxError(RuntimeError):
    """The sandbox could not start; the message says what to do."""


class SandboxProcess:
    """``python -m sandbox serve`` on a fixed loopback port, for the life of the daemon."""

    def __init__(self, port: int = DEFAULT_PORT, *, persist: Path | None = None) -> None:
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
        # Tokens travel in the environment (LEADHUB_SANDBOX_*), never on the command line (`ps`).
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
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
