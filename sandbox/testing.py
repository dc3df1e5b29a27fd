"""Run the sandbox from tests, benchmarks and scripts, and point the real clients at it.

``SandboxServer`` starts uvicorn on a free loopback port, in a background thread (default: state
is inspectable as ``.state``) or in a subprocess (``subprocess=True``: its own core, as the
benchmarks want), and waits until the server answers its health check, with a deadline.
``salesforce_client`` and ``hubspot_client`` build the unmodified simple-salesforce and
hubspot-api-client clients for it, as ``shared/reference/crm-wire-protocol.md`` section C shows;
``salesforce_login_client`` logs in through the sandbox's OAuth token endpoint instead, with
simple-salesforce's own login helpers (which then log in again by themselves on a 401).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from types import TracebackType
from typing import Any, Self

import httpx
import requests
import uvicorn
from requests.adapters import HTTPAdapter

from sandbox.app import create_app
from sandbox.control import SandboxControl
from sandbox.core import Sandbox, SandboxSettings
from sandbox.defaults import (
    DEFAULT_CLIENT_ID,
    DEFAULT_CLIENT_SECRET,
    DEFAULT_HS_TOKEN,
    DEFAULT_SF_TOKEN,
)
from sandbox.limits import LimitSettings
from sandbox.oauth import OAuthSettings

START_DEADLINE_SECONDS = 20.0


class HttpsToHttp(HTTPAdapter):
    """simple-salesforce hard-codes https; this adapter sends its calls to the http sandbox."""

    def send(self, request: requests.PreparedRequest, *args: Any, **kwargs: Any) -> requests.Response:
        assert request.url is not None
        request.url = "http://" + request.url[len("https://"):]
        return super().send(request, *args, **kwargs)


def _origin(url_or_port: str | int) -> str:
    if isinstance(url_or_port, int) or str(url_or_port).isdigit():
        return f"127.0.0.1:{url_or_port}"
    return str(url_or_port).split("://", 1)[-1].rstrip("/")


def salesforce_client(url_or_port: str | int, token: str = DEFAULT_SF_TOKEN,
                      version: str = "59.0", timeout: float | None = 30.0) -> Any:
    """A real ``simple_salesforce.Salesforce`` talking to the sandbox over loopback http."""
    from simple_salesforce.api import Salesforce

    origin = _origin(url_or_port)
    session = requests.Session()
    session.trust_env = False  # no proxies or CA bundles from the environment
    session.mount(f"https://{origin}", HttpsToHttp())
    client = Salesforce(session_id=token, instance_url=f"https://{origin}", session=session,
                        version=version)
    if timeout is not None:
        client.session.request = _with_timeout(session.request, timeout)  # type: ignore[method-assign]
    return client


class LoginToSandbox(HTTPAdapter):
    """Sends simple-salesforce's ``https://<domain>.salesforce.com`` login calls and its
    ``https://127.0.0.1:PORT`` API calls to the http sandbox; mounted on those origins only, so
    nothing ever leaves loopback."""

    def __init__(self, sandbox_origin: str) -> None:
        super().__init__()
        self.sandbox_origin = sandbox_origin  # "127.0.0.1:PORT"

    def send(self, request: requests.PreparedRequest, *args: Any, **kwargs: Any) -> requests.Response:
        assert request.url is not None
        rest = request.url[len("https://"):]
        path = rest[rest.find("/"):] if "/" in rest else "/"
        request.url = f"http://{self.sandbox_origin}{path}"
        return super().send(request, *args, **kwargs)


def salesforce_login_client(url_or_port: str | int, *, username: str | None = None,
                            password: str | None = None, security_token: str = "",
                            consumer_key: str | None = DEFAULT_CLIENT_ID,
                            consumer_secret: str = DEFAULT_CLIENT_SECRET,
                            domain: str | None = None, version: str = "59.0",
                            timeout: float | None = 30.0) -> Any:
    """A real ``Salesforce`` that logged in at the sandbox, with the library's own helpers.

    With ``username``: the OAuth password flow at ``/services/oauth2/token`` (the security token
    is appended to the password, as Salesforce expects), or with ``consumer_key=None`` SOAP
    ``login()`` (no connected app). Without ``username``: the client credentials flow, which
    simple-salesforce allows only for a My Domain (``domain`` default ``sandbox.my``).
    """
    from simple_salesforce.api import Salesforce

    origin = _origin(url_or_port)
    domain = domain or ("login" if username else "sandbox.my")
    session = requests.Session()
    session.trust_env = False
    adapter = LoginToSandbox(origin)
    session.mount(f"https://{domain}.salesforce.com", adapter)
    session.mount(f"https://{origin}", adapter)
    if timeout is not None:
        session.request = _with_timeout(session.request, timeout)  # type: ignore[method-assign]
    if username is not None and consumer_key is None:
        return Salesforce(username=username, password=password or "",
                          security_token=security_token, domain=domain, session=session,
                          version=version)
    if username is not None:
        # security_token stays None: with one, simple-salesforce would use the SOAP login.
        return Salesforce(username=username, password=(password or "") + security_token,
                          consumer_key=consumer_key, consumer_secret=consumer_secret,
                          domain=domain, session=session, version=version)
    return Salesforce(consumer_key=consumer_key, consumer_secret=consumer_secret, domain=domain,
                      session=session, version=version)


def _with_timeout(request: Any, timeout: float) -> Any:
    def call(*args: Any, **kwargs: Any) -> Any:
        kwargs.setdefault("timeout", timeout)
        return request(*args, **kwargs)
    return call


def hubspot_client(url_or_port: str | int, token: str = DEFAULT_HS_TOKEN, **kwargs: Any) -> Any:
    """A real ``hubspot.HubSpot`` client for the sandbox (extra kwargs: e.g. ``retry=``)."""
    from hubspot import HubSpot

    return HubSpot(access_token=token, host=f"http://{_origin(url_or_port)}", **kwargs)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


class SandboxServer:
    """A running sandbox for the length of a ``with`` block (or between start() and stop())."""

    def __init__(self, *, sf_token: str = DEFAULT_SF_TOKEN, hs_token: str = DEFAULT_HS_TOKEN,
                 seed: bool = True, persist: Path | None = None,
                 limits: LimitSettings | None = None, oauth: OAuthSettings | None = None,
                 subprocess: bool = False) -> None:
        self.sf_token, self.hs_token = sf_token, hs_token
        self.oauth = oauth or OAuthSettings()
        self.settings = SandboxSettings(sf_token=sf_token, hs_token=hs_token, seed=seed,
                                        persist=persist, limits=limits or LimitSettings(),
                                        oauth=self.oauth)
        self.use_subprocess = subprocess
        self.port = 0
        self.url = ""
        self.state: Sandbox | None = None
        self.control: SandboxControl | None = None
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._process: Any = None

    # -- lifecycle ----------------------------------------------------------------------------------
    def start(self) -> Self:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", 0))
        self.port = sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        if self.use_subprocess:
            sock.close()
            self._start_process()
        else:
            self._start_thread(sock)
        self.control = SandboxControl(self.url)
        self._wait_until_ready()
        return self

    def _start_thread(self, sock: socket.socket) -> None:
        app = create_app(self.settings)
        self.state = app.state.sandbox
        config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="on",
                                timeout_graceful_shutdown=5)
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, kwargs={"sockets": [sock]},
                                        name=f"sandbox-{self.port}", daemon=True)
        self._thread.start()

    def _start_process(self) -> None:
        command = [sys.executable, "-m", "sandbox", "serve", "--host", "127.0.0.1",
                   "--port", str(self.port), "--sf-token", self.sf_token,
                   "--hs-token", self.hs_token, "--seed" if self.settings.seed else "--no-seed",
                   "--log-level", "warning"]
        if self.settings.persist:
            command += ["--persist", str(self.settings.persist)]
        # Login secrets go through the environment, not the command line (ps shows that).
        oauth = self.oauth
        env = {**os.environ, "PYTHONUNBUFFERED": "1",
               "LEADHUB_SANDBOX_SF_CLIENT_ID": oauth.client_id,
               "LEADHUB_SANDBOX_SF_CLIENT_SECRET": oauth.client_secret,
               "LEADHUB_SANDBOX_SF_USERNAME": oauth.username,
               "LEADHUB_SANDBOX_SF_PASSWORD": oauth.password,
               "LEADHUB_SANDBOX_SF_SECURITY_TOKEN": oauth.security_token}
        self._process = subprocess.Popen(command, env=env)

    def _wait_until_ready(self) -> None:
        """Poll the health check until it answers or the deadline passes (no fixed sleep)."""
        deadline = time.monotonic() + START_DEADLINE_SECONDS
        ready = threading.Event()
        last_error: Exception | None = None
        with httpx.Client(timeout=2.0, trust_env=False) as client:
            while not ready.is_set():
                if self._process is not None and self._process.poll() is not None:
                    raise RuntimeError(f"sandbox process exited with {self._process.returncode}: "
                                       "see its output above")
                try:
                    if client.get(f"{self.url}/_sandbox/health").status_code == 200:
                        return
                except httpx.TransportError as exc:
                    last_error = exc
                if time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError(f"sandbox did not answer on {self.url} within "
                                       f"{START_DEADLINE_SECONDS}s: {last_error}")
                ready.wait(0.02)  # short pause between polls of the condition

    def stop(self) -> None:
        if self._server is not None and self._thread is not None:
            self._server.should_exit = True
            self._thread.join(timeout=15)
            self._server = None
        if self._process is not None:
            self._process.terminate()
            try:
                self._process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
            self._process = None
        if self.control is not None:
            self.control.close()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 traceback: TracebackType | None) -> None:
        self.stop()

    # -- clients ------------------------------------------------------------------------------------
    def salesforce(self, **kwargs: Any) -> Any:
        return salesforce_client(self.port, self.sf_token, **kwargs)

    def salesforce_login(self, **kwargs: Any) -> Any:
        """``salesforce_login_client`` with this server's OAuth credentials (client credentials
        flow; ``username=True`` for the password flow as the configured user)."""
        oauth = self.oauth
        if kwargs.pop("username", None):
            kwargs.update(username=oauth.username, password=oauth.password,
                          security_token=oauth.security_token)
        kwargs.setdefault("consumer_key", oauth.client_id)
        kwargs.setdefault("consumer_secret", oauth.client_secret)
        return salesforce_login_client(self.port, **kwargs)

    def hubspot(self, **kwargs: Any) -> Any:
        return hubspot_client(self.port, self.hs_token, **kwargs)
