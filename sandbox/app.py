"""The sandbox ASGI app: Salesforce and HubSpot APIs plus the control API, on one port.

``create_app(settings)`` builds a Starlette app (no FastAPI: the hot batch paths want as little
per-request work as possible). Its lifespan loads the persisted state or seeds a fresh org, and
saves to the SQLite file after changes and at shutdown.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response

from sandbox import control_api, hubspot, oauth, persist, salesforce, soap_login
from sandbox.core import Sandbox, SandboxSettings
from sandbox.errors import SandboxHTTPError, hs_body, sf_error_item
from sandbox.gate import Gate
from sandbox.http import json_response

log = logging.getLogger("sandbox")


class Saver:
    """Writes snapshots to the SQLite file; the JSON is built on the loop, written in a thread."""

    def __init__(self, sandbox: Sandbox, path: Path, interval: float) -> None:
        self.sandbox, self.path, self.interval = sandbox, path, interval
        self._last_fingerprint: Any = None

    def _fingerprint(self) -> Any:
        sf, hs = self.sandbox.salesforce, self.sandbox.hubspot
        return (tuple(t._stamps[-1] if t._stamps else None for t in sf.tables.values()),
                tuple(len(t) for t in sf.tables.values()),
                tuple(t._stamps[-1] if t._stamps else None for t in hs.tables.values()),
                hs.next_id, sum(len(v) for v in hs.links.values()))

    async def save_now(self) -> None:
        fingerprint = self._fingerprint()
        state = self.sandbox.dump()
        await asyncio.to_thread(persist.save, self.path, state)
        self._last_fingerprint = fingerprint

    async def run(self) -> None:
        while True:
            await asyncio.sleep(self.interval)  # a save cadence, not a wait for a condition
            if self._fingerprint() != self._last_fingerprint:
                await self.save_now()


def _not_found_body(path: str, status: int, detail: str) -> Any:
    if path.startswith("/services/data"):
        return [sf_error_item("NOT_FOUND", "The requested resource does not exist")]
    if path.startswith("/crm/"):
        return hs_body("OBJECT_NOT_FOUND" if status == 404 else "VALIDATION_ERROR",
                       f"{detail}: the sandbox does not implement {path[:120]}")
    return {"error": f"{detail}: see docs/sandbox.md for the routes the sandbox serves"}


async def _sandbox_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, SandboxHTTPError)
    return json_response(exc.body, exc.status, exc.headers)


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    return json_response(_not_found_body(request.url.path, exc.status_code, exc.detail),
                         exc.status_code)


async def _server_error(request: Request, exc: Exception) -> Response:
    log.exception("sandbox bug while serving %s %s", request.method, request.url.path)
    path = request.url.path
    if path.startswith(oauth.OAUTH_PREFIX):
        return json_response({"error": "unknown_error", "error_description": "retry your request"},
                             500)
    if path.startswith("/services/data"):
        return json_response([sf_error_item("UNKNOWN_EXCEPTION", "An unexpected error occurred "
                                            "in the sandbox")], 500)
    return json_response(hs_body("INTERNAL_ERROR", "An unexpected error occurred in the sandbox"),
                         500)


def create_app(settings: SandboxSettings | None = None) -> Starlette:
    settings = settings or SandboxSettings()
    sandbox = Sandbox(settings)
    saver = Saver(sandbox, settings.persist, settings.save_interval) if settings.persist else None

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        loaded = persist.load(settings.persist) if settings.persist else None
        if loaded is not None:
            sandbox.load(loaded)
            log.info("sandbox state loaded from %s", settings.persist)
        else:
            sandbox.reset(seed=settings.seed)
        task = asyncio.create_task(saver.run()) if saver else None
        try:
            yield
        finally:
            sandbox.stopping.set()  # releases requests held by "timeout" faults
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            if saver is not None:
                await saver.save_now()

    app = Starlette(
        routes=[*salesforce.ROUTES, *oauth.ROUTES, *soap_login.ROUTES, *hubspot.ROUTES,
                *control_api.ROUTES],
        middleware=[Middleware(Gate, sandbox=sandbox)],
        exception_handlers={SandboxHTTPError: _sandbox_error, HTTPException: _http_error,
                            Exception: _server_error},
        lifespan=lifespan,
    )
    app.state.sandbox = sandbox
    app.state.saver = saver
    return app
