"""The sandbox as one object: settings, both CRMs' state, limits, faults and call counters.

The app keeps one :class:`Sandbox` in ``app.state.sandbox``; routes, the gate middleware and the
control API all read and change it. Everything runs on one event loop, so no locks.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sandbox.defaults import DEFAULT_HS_TOKEN, DEFAULT_SF_TOKEN
from sandbox.faults import Faults
from sandbox.hs_portal import HubSpotPortal
from sandbox.limits import LimitSettings, RateLimiter
from sandbox.oauth import OAuthSettings, Sessions
from sandbox.salesforce import QueryCursors
from sandbox.sf_org import SalesforceOrg


@dataclass
class SandboxSettings:
    """How one sandbox runs. Tokens are the bearer tokens each CRM API accepts; ``oauth`` is what
    the Salesforce token endpoint accepts (its sessions are valid beside ``sf_token``)."""

    sf_token: str = DEFAULT_SF_TOKEN
    hs_token: str = DEFAULT_HS_TOKEN
    seed: bool = True
    persist: Path | None = None
    limits: LimitSettings = field(default_factory=LimitSettings)
    save_interval: float = 5.0
    oauth: OAuthSettings = field(default_factory=OAuthSettings)


class CallCounters:
    """API calls per system, per endpoint (``METHOD /route/template``) and per status."""

    def __init__(self) -> None:
        self.by_endpoint: dict[str, Counter[str]] = {"salesforce": Counter(), "hubspot": Counter()}
        self.by_status: dict[str, Counter[str]] = {"salesforce": Counter(), "hubspot": Counter()}

    def record(self, system: str, endpoint: str, status: int) -> None:
        self.by_endpoint[system][endpoint] += 1
        self.by_status[system][str(status)] += 1

    def snapshot(self) -> dict[str, Any]:
        return {system: {"total": sum(self.by_endpoint[system].values()),
                         "by_endpoint": dict(self.by_endpoint[system]),
                         "by_status": dict(self.by_status[system])}
                for system in self.by_endpoint}

    def clear(self) -> None:
        for counter in (*self.by_endpoint.values(), *self.by_status.values()):
            counter.clear()


class Sandbox:
    def __init__(self, settings: SandboxSettings) -> None:
        self.settings = settings
        self.salesforce = SalesforceOrg()
        self.hubspot = HubSpotPortal()
        self.limits = RateLimiter(settings.limits)
        self.faults = Faults()
        self.counters = CallCounters()
        self.cursors = QueryCursors()
        self.sessions = Sessions(settings.sf_token)
        self.stopping = asyncio.Event()  # set at shutdown: ends requests held by faults

    def reset(self, seed: bool) -> None:
        """Empty both CRMs and forget faults, counters, limit changes and issued or expired
        Salesforce sessions; seed if asked."""
        from sandbox.seed import seed_org  # seed imports core's neighbours, not core

        self.salesforce.reset()
        self.hubspot.reset()
        self.cursors.clear()
        self.sessions.clear()
        self.faults.clear()
        self.counters.clear()
        self.limits.reset()
        if seed:
            seed_org(self)

    def summary(self) -> dict[str, Any]:
        return {
            "salesforce": {name: sum(1 for r in t.records.values() if not r.get("IsDeleted"))
                           for name, t in self.salesforce.tables.items()},
            "hubspot": {name: sum(1 for r in t.records.values() if not r.get("_archived"))
                        for name, t in self.hubspot.tables.items()}
            | {"owners": len(self.hubspot.owners)},
        }

    def dump(self) -> dict[str, Any]:
        return {"salesforce": self.salesforce.dump(), "hubspot": self.hubspot.dump()}

    def load(self, data: dict[str, Any]) -> None:
        self.salesforce.load(data["salesforce"])
        self.hubspot.load(data["hubspot"])
