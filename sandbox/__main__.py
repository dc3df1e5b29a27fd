"""``python -m sandbox serve --port 8765``."""

from __future__ import annotations

from sandbox.cli import app

app(prog_name="python -m sandbox")
