"""What a fresh clone needs to start: the starter hub.toml that ``leadhub init`` writes.

:data:`STARTER_TOML` is the repository's own hub.toml, so the two never drift apart. The sandbox
CRMs of the demo (``leadhub run --with-sandbox``) come from the sandbox plugin (``hub_sandbox``),
and which connectors it serves from their classes (:class:`hub.connector.SandboxSpec`).
"""

from __future__ import annotations

from pathlib import Path

_REPO_TOML = Path(__file__).resolve().parents[2] / "hub.toml"
STARTER_TOML = _REPO_TOML.read_text(encoding="utf-8") if _REPO_TOML.exists() else """\
[hub]
database_url = "sqlite:///leadhub.db"

[routing]
strategy = "round_robin"
sla_minutes = 30

[[owners]]
id = "jane"
name = "Jane Doe"
email = "jane@example.com"
destination = "delivered"

[connectors.delivered]
type = "file"
path = "delivered.jsonl"
"""
