"""The partner connector: referrals in over HTTP (API and portal), outcomes back by callback.

Capabilities: ``HTTP`` (routes :mod:`connectors.partner.api` and :mod:`connectors.partner.portal`)
and ``PUSH_OUTCOMES`` (every status change of a referred lead is POSTed, signed, to the partner's
callback URL when one is set; see :mod:`connectors.partner.callbacks`).

Partner rows (callback URL and secret) live in the store. The connector contract hands state in
rather than letting connectors read the store, but a callback's address is per partner, so the
connector keeps a read-only handle: the running hub's store (bound in :meth:`http_routes`), or
one opened from the configured database URL when the hub delivers without a web app
(``leadhub sync``).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from pydantic import Field
from sqlalchemy import select

from hub.connector import Capability, Connector, ConnectorSettings, DeliveryItem, HealthReport, PushResult
from hub.store import Store, open_store
from hub.store import partners as q
from hub.store import tables as t
from hub.store.partner_tables import referrals

from connectors.partner.callbacks import CallbackSender

if TYPE_CHECKING:
    from fastapi import APIRouter

log = logging.getLogger(__name__)

#: Set by ``hub_configure``: lets a connector built without a web app find the store.
_configured_database_url: dict[str, str] = {}


class PartnerSettings(ConnectorSettings):
    schedule_seconds: float = 0
    #: Days during which a company referred by one partner is protected from other referrals.
    protection_days: float = Field(90, ge=0, le=3650)
    #: Seconds per callback HTTP call, and attempts inside one delivery (then the outbox retries).
    callback_timeout_seconds: float = Field(5.0, gt=0, le=60)
    callback_attempts: int = Field(3, ge=1, le=10)
    #: Portal sessions last this long (seconds).
    session_max_age_seconds: int = Field(8 * 3600, ge=60)
    #: Mark the portal's cookie Secure (set true behind HTTPS).
    secure_cookies: bool = False
    #: Largest page of GET /api/v1/referrals.
    max_page_size: int = Field(100, ge=1, le=1000)


class PartnerConnector(Connector):
    name = "partner"
    settings_model = PartnerSettings
    capabilities = frozenset({Capability.HTTP, Capability.PUSH_OUTCOMES})
    batch_limit = 50
    streams = ("referral",)

    settings: PartnerSettings

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._store: Store | None = None
        self._own_store = False
        self._lock = threading.Lock()
        self._sender: CallbackSender | None = None

    # -- wiring ------------------------------------------------------------------------------
    def http_routes(self, hub: Any) -> APIRouter:
        from fastapi import APIRouter

        from connectors.partner.api import api_router
        from connectors.partner.portal import portal_router

        self._store = hub.store
        router = APIRouter()
        router.include_router(api_router(hub, self))
        router.include_router(portal_router(hub, self))
        return router

    def store(self) -> Store:
        with self._lock:
            if self._store is None:
                url = _configured_database_url.get("url")
                if url is None:
                    raise RuntimeError("the partner connector has no store: build it through hub.runtime.build_hub")
                self._store, self._own_store = open_store(url, run_migrations=False), True
            return self._store

    def sender(self) -> CallbackSender:
        with self._lock:
            if self._sender is None:
                self._sender = CallbackSender(timeout=self.settings.callback_timeout_seconds,
                                              attempts=self.settings.callback_attempts)
            return self._sender

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
        payload = {
            "event": "referral.status_changed",
            "referral_ids": ids,
            "status": status,
            "reason": outcome.reason if outcome else "",
            "amount": outcome.amount if outcome else None,
            "owner_first_name": item.owner.first_name if item.owner else None,
            "at": (outcome.at if outcome else lead.updated_at).isoformat(),
            "company": item.account.name,
        }
        result = self.sender().send(partner.callback_url, partner.callback_secret, "referral.status_changed",
                                    f"{self.instance}-{item.key}", payload)
        if result.ok:
            return PushResult(item.key, ok=True)
        log.warning("callback to partner %s failed: %s", partner.id, result.error)
        return PushResult(item.key, ok=False, error=result.error, retryable=result.retryable)

    def check(self) -> HealthReport:
        try:
            with self.store().engine.connect() as conn:
                n = len(q.list_partners(conn))
        except Exception as exc:  # noqa: BLE001 - reported, not raised
            return HealthReport(False, f"cannot read partners ({type(exc).__name__}); run `leadhub check`")
        return HealthReport(True, f"{n} partner(s); add one with `leadhub partners add NAME --email ...`")

    def close(self) -> None:
        if self._sender is not None:
            self._sender.close()
        if self._own_store and self._store is not None:
            self._store.engine.dispose()
