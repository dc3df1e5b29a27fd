"""The hub's error classes, grouped by what the runner must do about them.

::

    HubError
    ├── ConfigError            bad hub.toml / mapping / settings: stop start-up, name the place
    ├── PluginError            a plugin broke a contract (duplicate name, bad return value)
    ├── InvalidRecord          this record cannot be processed as it is: quarantine it with the reason
    └── ConnectorError         something went wrong talking to the outside world
        ├── TransientError     retry later with backoff (429, 5xx, timeouts, dropped connections)
        │   └── RateLimited    retry after ``retry_after`` seconds (Retry-After, budget exhausted)
        ├── FatalAPIError      retrying will not help (bad credentials, missing permission, 4xx)
        │   └── AuthError      credentials are wrong or expired and cannot be refreshed
        └── RecordRejected     the CRM refused one record (validation): dead-letter that record

Vendor exceptions are translated at the connector boundary: ``raise TransientError(msg) from exc``.
"""

from __future__ import annotations


class HubError(Exception):
    """Base of every error the hub raises on purpose."""


class ConfigError(HubError):
    """Configuration is invalid. The message names the file, the key and what to do."""


class PluginError(HubError):
    """A plugin broke the plugin contract."""


class InvalidRecord(HubError):
    """A record cannot be processed as it is; it goes to quarantine with this reason."""

    def __init__(self, reason: str, field: str | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.field = field


class ConnectorError(HubError):
    """Talking to the outside world failed."""


class TransientError(ConnectorError):
    """Worth retrying later."""


class RateLimited(TransientError):
    """The remote asked us to slow down; ``retry_after`` seconds is its hint (None: unknown)."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class FatalAPIError(ConnectorError):
    """Retrying will not help until a person fixes something; the message says what."""


class AuthError(FatalAPIError):
    """Credentials are wrong or expired and cannot be refreshed automatically."""


class RecordRejected(ConnectorError):
    """The remote refused one record (e.g. a validation rule); other records are unaffected."""
