"""Partner API keys: generated once, shown once, stored only as a keyed hash.

A key looks like ``lhp_3f9a1c2b_<43 url-safe characters>``. The part before the second ``_`` is
the *prefix*, stored in clear to find the partner row without scanning; the whole key is stored
as HMAC-SHA256 under a server pepper (``LEADHUB_PARTNER_KEY_PEPPER``, optional). A key carries
256 random bits, so a fast keyed hash is enough: there is nothing to brute-force, unlike a
password; the pepper keeps a leaked database from being usable to verify guesses offline.
Changing the pepper invalidates every key (rotate them all).
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets

PEPPER_ENV = "LEADHUB_PARTNER_KEY_PEPPER"
KEY_SCHEME = "lhp"
_HASH_TAG = "hmac-sha256$"


def _pepper() -> bytes:
    return os.environ.get(PEPPER_ENV, "").encode()


def new_key() -> str:
    """A fresh API key (print it once; store :func:`hash_key` of it)."""
    return f"{KEY_SCHEME}_{secrets.token_hex(4)}_{secrets.token_urlsafe(32)}"


def prefix_of(key: str) -> str | None:
    """The lookup prefix of a well-formed key, else None (so junk never reaches the database)."""
    parts = key.split("_", 2)
    if len(parts) != 3 or parts[0] != KEY_SCHEME or len(parts[1]) != 8 or not 20 <= len(parts[2]) <= 100:
        return None
    return f"{parts[0]}_{parts[1]}"


def hash_key(key: str) -> str:
    return _HASH_TAG + hmac.new(_pepper(), key.encode(), hashlib.sha256).hexdigest()


def verify_key(key: str, stored: str) -> bool:
    return hmac.compare_digest(hash_key(key), stored)


def fingerprint(stored_hash: str) -> str:
    """A short value that changes when the key is rotated (sessions remember it, not the key)."""
    return hashlib.sha256(stored_hash.encode()).hexdigest()[:16]


def new_callback_secret() -> str:
    return f"whsec_{secrets.token_urlsafe(32)}"
