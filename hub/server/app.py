"""The daemon's web app: health, readiness, metrics, and every connector's inbound routes.

One FastAPI app; its ``lifespan`` owns the hub's background workers (:mod:`hub.server.workers`), so
starting and stopping the server starts and stops the conveyor belt.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse, PlainTextResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from hub import __version__
from hub.connector import Capability
from hub.runtime import Hub
from hub.server.metrics import REGISTRY, refresh_gauges
from hub.server.workers import Workers


class BodySizeLimit:
    """Reject request bodies over ``max_bytes`` with 413, whether or not Content-Length is sent."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app, self.max_bytes = app, max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        for name, value in scope.get("headers", []):
            if name == b"content-length":
                try:
                    too_big = int(value) > self.max_bytes
                except ValueError:
                    too_big = True
                if too_big:
                    await _too_large(send, self.max_bytes)
                    return
        seen = 0

        async def limited() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    raise _BodyTooLarge()
            return message

        try:
            await self.app(scope, limited, send)
        except _BodyTooLarge:
            await _too_large(send, self.max_bytes)


class _BodyTooLarge(Exception):
    pass


async def _too_large(send: Send, limit: int) -> None:
    body = f'{{"detail":"request body is larger than {limit} bytes"}}'.encode()
    await send({"type": "http.response.start", "status": 413,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})


def create_app(hub: Hub, *, start_workers: bool = True) -> FastAPI:
    """The ASGI app for ``hub``; with ``start_workers`` its lifespan runs the engine's workers."""
    workers = Workers(hub)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        if start_workers:
            workers.start()
        try:
            yield
        finally:
            if start_workers:
                workers.stop()

    app = FastAPI(
        title="LeadHub",
        version=__version__,
        lifespan=lifespan,
        description="Inbound lead channels (web forms, partner referrals) and operations endpoints.",
    )
    app.state.hub = hub
    app.state.workers = workers

    @app.get("/healthz", tags=["operations"], summary="Liveness: the process answers")
    def healthz() -> dict[str, Any]:
        return {"status": "ok", "version": __version__}

    @app.get("/readyz", tags=["operations"], summary="Readiness: the store answers and workers run")
    def readyz() -> Response:
        try:
            with hub.store.engine.connect() as conn:
                counts = hub.store.counts(conn)
        except Exception as exc:  # noqa: BLE001 - reported as not ready
            return JSONResponse({"status": "not ready", "reason": f"store: {type(exc).__name__}"}, status_code=503)
        alive = workers.alive() if start_workers else True
        status = 200 if alive else 503
        return JSONResponse({"status": "ready" if alive else "workers stopped", "backlog": counts}, status_code=status)

    @app.get("/metrics", tags=["operations"], summary="Prometheus metrics", include_in_schema=False)
    def metrics() -> Response:
        refresh_gauges(hub)
        return PlainTextResponse(generate_latest(REGISTRY).decode(), media_type=CONTENT_TYPE_LATEST)

    for connector in hub.connectors.values():
        if connector.supports(Capability.HTTP):
            router = connector.http_routes(hub)
            if router is not None:
                app.include_router(router)

    app.add_middleware(BodySizeLimit, max_bytes=hub.config.server.max_body_bytes)
    return app


Handler = Callable[[Request], Awaitable[Response]]
