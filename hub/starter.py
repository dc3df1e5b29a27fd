"""The starter configuration ``leadhub init`` writes (kept in step with the repository's hub.toml)."""

from __future__ import annotations

from pathlib import Path

_REPO_TOML = Path(__file__).resolve().parent.parent / "hub.toml"
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
