"""Small HTTP helpers shared by the Salesforce, HubSpot and control routes.

Bodies are read with a hard size cap and parsed as JSON here, once, so no handler can forget the
limit; responses are compact JSON.
"""

from __future__ import annotations

import json
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

MAX_BODY_BYTES = 8 * 1024 * 1024  # a 200-record collection of wide records is well below this


class BodyError(Exception):
    """The body is too large or not JSON; each API turns this into its own error shape."""

    def __init__(self, message: str, too_large: bool = False) -> None:
        super().__init__(message)
        self.message = message
        self.too_large = too_large


def dumps(data: Any) -> bytes:
    return json.dumps(data, separators=(",", ":"), ensure_ascii=False).encode()


def json_response(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(dumps(data), status_code=status, headers=headers,
                    media_type="application/json;charset=UTF-8")


def empty_response(status: int = 204) -> Response:
    return Response(b"", status_code=status)


async def read_body(request: Request, limit: int = MAX_BODY_BYTES) -> bytes:
    """The raw body, refusing one over ``limit`` bytes (by its declared length, or as it streams)."""
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise BodyError(f"Request body exceeds {limit} bytes: send smaller batches",
                        too_large=True)
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise BodyError(f"Request body exceeds {limit} bytes: send smaller batches",
                            too_large=True)
        chunks.append(chunk)
    return b"".join(chunks)


async def read_json(request: Request, *, allow_empty: bool = False) -> Any:
    """The parsed JSON body, refusing bodies over :data:`MAX_BODY_BYTES` without reading them."""
    raw = await read_body(request)
    if not raw.strip():
        if allow_empty:
            return None
        raise BodyError("The request body is empty: send a JSON document")
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise BodyError(f"The request body is not valid JSON: {exc}") from None


def query_bool(value: str | None, default: bool = False) -> bool:
    """``archived=False``/``true``/``1``: the HubSpot client sends Python's spelling."""
    if value is None:
        return default
    return value.strip().lower() in ("true", "1", "yes")


def query_list(request: Request, name: str) -> list[str] | None:
    """A repeated or comma-separated list parameter (``properties=a&properties=b`` or ``a,b``)."""
    values = request.query_params.getlist(name)
    if not values:
        return None
    return [part.strip() for value in values for part in value.split(",") if part.strip()]
