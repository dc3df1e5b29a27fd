"""The partner connector: referrals in over HTTP (API and portal), outcomes back by callback.

Capabilities: ``HTTP`` (routes :mod:`connectors.partner.api` and :mod:`connectors.partner.portal`)
and ``PUSH_OUTCOMES`` (every status change of a referred lead is POSTed, signed, to the partner's
callback URL when one is set; see :mod:`connectors.partner.callbacks`). News of a referral that
has no lead (ops rejected it) is queued in the channel's own table and sent by
:class:`~connectors.partner.pump.CallbackPump` while the daemon's workers run.

Partner rows (callback URL and secret) live in the store. The connector contract hands state in
rather than letting connectors read the store, but a callback's address is per partner, so the
connector reads the hub's store, handed to it at construction in its
:class:`~hub.connector.ConnectorServices` (with or without the web app: ``leadhub sync`` too).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from pydantic import Field
from sqlalchemy import select

from connectors.partner import store as q
from connectors.partner.callbacks import STATUS_CHANGED, CallbackSender, status_payload
from connectors.partner.pump import CallbackPump
from connectors.partner.tables import referrals
from hub.api import Capability, Connector, ConnectorSettings, DeliveryItem, HealthReport, PushResult, Store, utcnow
from hub.api import tables as t

if TYPE_CHECKING:
    from fastapi import APIRouter, FastAPI

    from hub.api import Backoff, Hub

log = logging.getLogger(__name__)

#: A claimed event is not claimed again for this long (a crash mid-send makes it due again).
EVENT_LEASE = timedelta(minutes=5)


class PartnerSettings(ConnectorSettings):
    schedule_seconds: float = 0
    #: Days during which a company referred by one partner is protected from other referrals.
    protection_days: float = Field(90, ge=0, le=3650)
    #: Seconds per callback HTTP call, and attempts inside one delivery (then the outbox retries).
    callback_timeout_seconds: float = Field(5.0, gt=0, le=60)
    callback_attempts: int = Field(3, ge=1, le=10)
    #: Queued callbacks without a lead (ops rejections): how often the daemon looks for due ones,
    #: how long it waits between tries of one (exponential, with jitter), and when it gives up.
    callback_poll_seconds: float = Field(2.0, gt=0, le=300)
    callback_retry_initial_seconds: float = Field(5.0, gt=0, le=3600)
    callback_retry_max_seconds: float = Field(900.0, gt=0, le=86_400)
    callback_max_attempts: int = Field(12, ge=1, le=100)
    #: Let partners set http:// callback URLs on loopback hosts (local receivers and tests only:
    #: otherwise a partner could make the hub POST to services on its own machine).
    allow_loopback_callbacks: bool = False
    #: Portal sessions last this long (seconds).
    session_max_age_seconds: int = Field(8 * 3600, ge=60)
    #: Mark the portal's cookie Secure (set true behind HTTPS).
    secure_cookies: bool = False
    #: Largest page of GET /api/v1/referrals.
    max_page_size: int = Field(100, ge=1, le=1000)


@dataclass
class EventTally:
    """What one :meth:`PartnerConnector.deliver_events` pass did."""

    claimed: int = 0
    sent: int = 0
    retried: int = 0
    dead: int = 0
    skipped: int = 0  # the partner has no callback URL any more


class PartnerConnector(Connector):
    name = "partner"
    settings_model = PartnerSettings
    capabilities = frozenset({Capability.HTTP, Capability.PUSH_OUTCOMES})
    batch_limit = 50
    streams = ("referral",)

    settings: PartnerSettings

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._lock = threading.Lock()
        self._sender: CallbackSender | None = None
        self.pump = CallbackPump(self, self.settings.callback_poll_seconds)
        self._backoff: Backoff | None = None

    # -- wiring ------------------------------------------------------------------------------
    def http_routes(self, hub: Hub) -> APIRouter:
        from fastapi import APIRouter

        from connectors.partner.api import api_router
        from connectors.partner.portal import portal_router

        router = APIRouter(lifespan=self._lifespan)
        router.include_router(api_router(hub, self))
        router.include_router(portal_router(hub, self))
        return router

    @asynccontextmanager
    async def _lifespan(self, app: FastAPI) -> AsyncIterator[None]:
        # Runs inside the app's own lifespan: pump only while the hub's workers run (the app
        # built with start_workers=False leaves all sending to whoever drives it).
        workers = getattr(app.state, "workers", None)
        run = workers is not None and workers.alive()
        if run:
            self.pump.start()
        try:
            yield
        finally:
            if run:
                self.pump.stop()

    def store(self) -> Store:
        """The hub's store (partner rows, the channel's queued callbacks)."""
        store = self.services.store
        if store is None:
            raise RuntimeError("the partner connector has no store: build it through hub.runtime.build_hub")
        return store

    def sender(self) -> CallbackSender:
        with self._lock:
            if self._sender is None:
                self._sender = CallbackSender(timeout=self.settings.callback_timeout_seconds,
                                              attempts=self.settings.callback_attempts)
            return self._sender

    def _retry_delay(self, attempts: int) -> float:
        from hub.api import Backoff  # the outbox's backoff; loads with the engine

        with self._lock:
            if self._backoff is None:
                self._backoff = Backoff(self.settings.callback_retry_initial_seconds,
                                        self.settings.callback_retry_max_seconds)
            return self._backoff.delay(attempts)

    def use_sender(self, sender: CallbackSender) -> None:
        """Replace the HTTP sender (tests pass one with short backoff)."""
        self._sender = sender

    # -- outcomes ----------------------------------------------------------------------------
    def push_outcomes(self, batch: Sequence[DeliveryItem]) -> list[PushResult]:
        results = []
        store = self.store()
        for item in batch:
            results.append(self._push_one(store, item))
        return results

    def _push_one(self, store: Store, item: DeliveryItem) -> PushResult:
        lead = item.lead
        if not lead.partner_id:
            return PushResult(item.key, ok=True)  # not a referral: nobody to tell
        with store.engine.connect() as conn:
            partner = q.get_partner(conn, lead.partner_id)
            ids = [r[0] for r in conn.execute(
                select(referrals.c.id).join(t.xrefs, (t.xrefs.c.external_id == referrals.c.id)
                                            & (t.xrefs.c.system == referrals.c.connector))
                .where(t.xrefs.c.entity == "lead", t.xrefs.c.hub_id == lead.id,
                       referrals.c.partner_id == lead.partner_id)
                .order_by(referrals.c.created_at))]
        if partner is None or not partner.callback_url or not partner.callback_secret:
            return PushResult(item.key, ok=True)  # no callback wanted; the API and portal show it
        outcome = item.outcome
        status = str(outcome.status) if outcome else str(lead.status)
        payload = status_payload(
            referral_ids=ids, status=status, reason=outcome.reason if outcome else "",
            amount=outcome.amount if outcome else None,
            owner_first_name=item.owner.first_name if item.owner else None,
            at=outcome.at if outcome else lead.updated_at, company=item.account.name,
        )
        result = self.sender().send(partner.callback_url, partner.callback_secret, STATUS_CHANGED,
                                    f"{self.instance}-{item.key}", payload)
        if result.ok:
            return PushResult(item.key, ok=True)
        log.warning("callback to partner %s failed: %s", partner.id, result.error)
        return PushResult(item.key, ok=False, error=result.error, retryable=result.retryable)

    # -- callbacks without a lead -------------------------------------------------------------
    def deliver_events(self, now: datetime | None = None) -> EventTally:
        """Send this instance's due queued callbacks (one batch); retry or give up on failures."""
        store = self.store()
        now = now or utcnow()
        with store.engine.begin() as conn:
            rows = q.claim_events(conn, self.instance, limit=self.batch_limit, now=now, lease=EVENT_LEASE)
        tally = EventTally(claimed=len(rows))
        for row in rows:
            with store.engine.connect() as conn:
                partner = q.get_partner(conn, row["partner_id"])
            if partner is None or not partner.callback_url or not partner.callback_secret:
                with store.engine.begin() as conn:  # the URL was removed since: nobody to tell
                    q.event_sent(conn, row["id"])
                tally.skipped += 1
                continue
            result = self.sender().send(partner.callback_url, partner.callback_secret, row["event"],
                                        f"{self.instance}-ev{row['id']}", dict(row["payload"]))
            attempts = row["attempts"] + 1
            with store.engine.begin() as conn:
                if result.ok:
                    q.event_sent(conn, row["id"])
                    tally.sent += 1
                elif result.retryable and attempts < self.settings.callback_max_attempts:
                    when = utcnow() + timedelta(seconds=self._retry_delay(attempts))
                    q.event_retry(conn, row["id"], attempts=attempts, when=when, error=result.error)
                    tally.retried += 1
                else:
                    q.event_dead(conn, row["id"], attempts=attempts, error=result.error)
                    tally.dead += 1
            if not result.ok:
                log.warning("callback to partner %s failed: %s", partner.id, result.error)
        return tally

    def check(self) -> HealthReport:
        try:
            with self.store().engine.connect() as conn:
                n = len(q.list_partners(conn))
        except Exception as exc:  # noqa: BLE001 - reported, not raised
            return HealthReport(False, f"cannot read partners ({type(exc).__name__}); run `leadhub check`")
        return HealthReport(True, f"{n} partner(s); add one with `leadhub partners add NAME --email ...`")

    def close(self) -> None:
        self.pump.stop()
        if self._sender is not None:
            self._sender.close()
