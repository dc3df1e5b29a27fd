"""``python -m hub.sandbox serve --port 8765``."""

from __future__ import annotations

from hub.sandbox.cli import app

app(prog_name="python -m hub.sandbox")
