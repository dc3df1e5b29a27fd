"""Helpers shared by the partner tests (a module of its own: conftest is not importable)."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler
from typing import Any, ClassVar


class Receiver(BaseHTTPRequestHandler):
    """A partner's callback endpoint: records each POST (headers, body) and answers 204."""

    got: ClassVar[list[tuple[dict[str, str], bytes]]] = []
    event: ClassVar[threading.Event] = threading.Event()

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        type(self).got.append((dict(self.headers), body))
        self.send_response(204)
        self.end_headers()
        type(self).event.set()

    def log_message(self, *args: Any) -> None:
        pass
