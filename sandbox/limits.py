"""API limits as the real services enforce them, with their headers and error bodies.

HubSpot: a rolling ten-second window per app (``X-HubSpot-RateLimit-Max`` requests), a daily
allowance, and search's own per-second limit; over a limit the answer is 429 with the documented
``RATE_LIMIT`` body and the ``X-HubSpot-RateLimit-*`` headers (no ``Retry-After``: HubSpot does not
document one, and urllib3's default retry would silently sleep on it inside the client).
Salesforce: a daily allocation of API requests reported in ``Sforce-Limit-Info``; past it every
call is 403 ``REQUEST_LIMIT_EXCEEDED``. Every number can be changed at run time through the control
API (a benchmark lifts them).
"""

from __future__ import annotations

import math
import time
import uuid
from collections import deque
from dataclasses import asdict, dataclass, fields
from datetime import UTC, date, datetime
from typing import Any

from sandbox.errors import HsError, SfError


@dataclass
class LimitSettings:
    """Defaults: a HubSpot Professional app and a mid-sized Salesforce org."""

    hubspot_ten_second_max: int = 190
    hubspot_daily_max: int = 500_000
    hubspot_search_per_second: int = 5
    salesforce_daily_max: int = 100_000

    def update(self, changes: dict[str, Any]) -> None:
        names = {f.name for f in fields(self)}
        for key, value in changes.items():
            if key in names and value is not None:
                setattr(self, key, int(value))

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


class RateLimiter:
    """Counts calls against the limits; the clock is monotonic for windows, UTC for days."""

    WINDOW_SECONDS = 10.0

    def __init__(self, settings: LimitSettings) -> None:
        self.defaults = LimitSettings(**settings.as_dict())
        self.settings = LimitSettings(**settings.as_dict())
        self.reset()

    def reset(self, keep_settings: bool = False) -> None:
        if not keep_settings:
            self.settings = LimitSettings(**self.defaults.as_dict())
        self._day = datetime.now(UTC).date()
        self.salesforce_used = 0
        self.hubspot_daily_used = 0
        self._window: deque[float] = deque()
        self._search_window: deque[float] = deque()

    def _roll_day(self) -> None:
        today: date = datetime.now(UTC).date()
        if today != self._day:
            self._day, self.salesforce_used, self.hubspot_daily_used = today, 0, 0

    # -- Salesforce ----------------------------------------------------------------------------------
    def salesforce_usage(self) -> tuple[int, int]:
        self._roll_day()
        return self.salesforce_used, self.settings.salesforce_daily_max

    def salesforce_headers(self) -> dict[str, str]:
        used, total = self.salesforce_usage()
        return {"Sforce-Limit-Info": f"api-usage={used}/{total}"}

    def charge_salesforce(self) -> SfError | None:
        """Count one API request, or the 403 to answer if the daily allocation is spent."""
        used, total = self.salesforce_usage()
        if used >= total:
            return SfError(403, "REQUEST_LIMIT_EXCEEDED", f"TotalRequests Limit exceeded. "
                           f"Daily allocation of {total} API requests is used up.",
                           headers=self.salesforce_headers())
        self.salesforce_used += 1
        return None

    # -- HubSpot -------------------------------------------------------------------------------------
    def _prune(self, window: deque[float], now: float, seconds: float) -> None:
        while window and window[0] <= now - seconds:
            window.popleft()

    def hubspot_headers(self) -> dict[str, str]:
        self._roll_day()
        now = time.monotonic()
        self._prune(self._window, now, self.WINDOW_SECONDS)
        settings = self.settings
        return {
            "X-HubSpot-RateLimit-Daily": str(settings.hubspot_daily_max),
            "X-HubSpot-RateLimit-Daily-Remaining":
                str(max(0, settings.hubspot_daily_max - self.hubspot_daily_used)),
            "X-HubSpot-RateLimit-Interval-Milliseconds": str(int(self.WINDOW_SECONDS * 1000)),
            "X-HubSpot-RateLimit-Max": str(settings.hubspot_ten_second_max),
            "X-HubSpot-RateLimit-Remaining":
                str(max(0, settings.hubspot_ten_second_max - len(self._window))),
        }

    def charge_hubspot(self, is_search: bool) -> HsError | None:
        """Count one request, or the 429 to answer (with Retry-After) if a limit is reached."""
        self._roll_day()
        now = time.monotonic()
        settings = self.settings
        if self.hubspot_daily_used >= settings.hubspot_daily_max:
            return _rate_error("You have reached your daily limit.", "DAILY",
                               self._seconds_to_midnight(), self.hubspot_headers())
        self._prune(self._window, now, self.WINDOW_SECONDS)
        if len(self._window) >= settings.hubspot_ten_second_max:
            wait = self._window[0] + self.WINDOW_SECONDS - now
            return _rate_error("You have reached your ten_secondly_rolling limit.",
                               "TEN_SECONDLY_ROLLING", wait, self.hubspot_headers())
        if is_search:
            self._prune(self._search_window, now, 1.0)
            if len(self._search_window) >= settings.hubspot_search_per_second:
                wait = self._search_window[0] + 1.0 - now
                return _rate_error("You have reached your secondly limit.", "SECONDLY", wait,
                                   self.hubspot_headers())
            self._search_window.append(now)
        self._window.append(now)
        self.hubspot_daily_used += 1
        return None

    @staticmethod
    def _seconds_to_midnight() -> float:
        now = datetime.now(UTC)
        return 86400 - (now.hour * 3600 + now.minute * 60 + now.second)

    def snapshot(self) -> dict[str, Any]:
        used, total = self.salesforce_usage()
        return {"settings": self.settings.as_dict(),
                "salesforce": {"api_usage": used, "daily_max": total},
                "hubspot": {"daily_used": self.hubspot_daily_used,
                            "ten_second_window": len(self._window)}}


def _rate_error(message: str, policy: str, wait: float, headers: dict[str, str]) -> HsError:
    # The wait is only shown to people reading the sandbox's own docs; clients read the headers.
    headers = {**headers, "X-Sandbox-Window-Frees-In-Ms": str(max(1, math.ceil(wait * 1000)))}
    error = HsError(429, "RATE_LIMITS", message, headers=headers)
    error.body = {"status": "error", "message": message, "errorType": "RATE_LIMIT",
                  "correlationId": str(uuid.uuid4()), "policyName": policy,
                  "requestId": str(uuid.uuid4())}
    return error
