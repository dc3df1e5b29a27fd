"""End-to-end fixtures: the sandbox CRMs on loopback (one server for the session, reset per test)."""

from __future__ import annotations

