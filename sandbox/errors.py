"""Errors the sandbox answers with, each already in its CRM's documented body shape.

Salesforce bodies are JSON arrays of ``{"message", "errorCode", "fields"}``; HubSpot bodies are
objects with ``status``, ``message``, ``correlationId`` and ``category``. Handlers raise these and
the app turns them into responses, so every error path speaks the right dialect.
"""

from __future__ import annotations

import uuid
from typing import Any


class SandboxHTTPError(Exception):
    """An error response: HTTP ``status``, JSON ``body`` and extra ``headers``."""

    def __init__(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
        super().__init__(f"HTTP {status}")
        self.status = status
        self.body = body
        self.headers = headers or {}


def sf_error_item(code: str, message: str, fields: list[str] | None = None) -> dict[str, Any]:
    return {"message": message, "errorCode": code, "fields": fields or []}


class SfError(SandboxHTTPError):
    """A Salesforce REST error: a list with one error (``errorCode`` form)."""

    def __init__(self, status: int, code: str, message: str, fields: list[str] | None = None,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(status, [sf_error_item(code, message, fields)], headers)
        self.code = code
        self.message = message
        self.fields = fields or []


class RecordError(Exception):
    """One record failed validation; single-record calls answer 400, collections list it."""

    def __init__(self, code: str, message: str, fields: list[str] | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.fields = fields or []

    def as_collection_item(self) -> dict[str, Any]:
        return {"statusCode": self.code, "message": self.message, "fields": self.fields}

    def as_sf_error(self, status: int = 400) -> SfError:
        return SfError(status, self.code, self.message, self.fields)


def hs_body(category: str, message: str, **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"status": "error", "message": message,
                            "correlationId": str(uuid.uuid4()), "category": category}
    body.update(extra)
    return body


class HsError(SandboxHTTPError):
    """A HubSpot error body (``category`` e.g. VALIDATION_ERROR, OBJECT_NOT_FOUND, CONFLICT)."""

    def __init__(self, status: int, category: str, message: str,
                 headers: dict[str, str] | None = None, **extra: Any) -> None:
        super().__init__(status, hs_body(category, message, **extra), headers)
        self.category = category
        self.message = message
