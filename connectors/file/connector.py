"""The file destination: appends each delivered lead (and outcome) as one JSON line.

Useful for demos, tests and as an audit export. Lines are written through the outbound mapping
``[streams.lead]`` of mappings/file.toml, flushed and fsynced before the batch is acknowledged,
so a delivered lead is on disk.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Sequence
from pathlib import Path

from hub.api import Capability, Connector, ConnectorSettings, DeliveryItem, HealthReport, PushResult, lead_view


class FileSettings(ConnectorSettings):
    #: JSONL file delivered leads are appended to (created if missing).
    path: str = "delivered.jsonl"
    #: Outbound stream of mappings/file.toml that shapes each line.
    stream: str = "lead"
    schedule_seconds: float = 0


class FileConnector(Connector):
    name = "file"
    settings_model = FileSettings
    capabilities = frozenset({Capability.PUSH_LEADS, Capability.PUSH_OUTCOMES})
    batch_limit = 500

    settings: FileSettings

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self._lock = threading.Lock()

    @property
    def path(self) -> Path:
        return Path(self.settings.path)

    def _shape(self, item: DeliveryItem) -> dict[str, object]:
        view = lead_view(item, self.instance)
        if self.mappings is not None and self.mappings.stream(self.name, self.settings.stream) is not None:
            return dict(self.mappings.outbound(self.name, self.settings.stream, view))
        return {k: v for k, v in view.items() if v is not None}

    def _append(self, lines: list[str]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._lock, self.path.open("a", encoding="utf-8") as fh:
            fh.write("".join(lines))
            fh.flush()
            os.fsync(fh.fileno())

    def push_leads(self, batch: Sequence[DeliveryItem]) -> list[PushResult]:
        lines = [json.dumps({"type": "lead", **self._shape(i)}, default=str) + "\n" for i in batch]
        self._append(lines)
        return [PushResult(i.key, ok=True, external_id=i.lead.id) for i in batch]

    def push_outcomes(self, batch: Sequence[DeliveryItem]) -> list[PushResult]:
        lines = []
        for i in batch:
            o = i.outcome
            lines.append(json.dumps({"type": "outcome", "lead_id": i.lead.id,
                                     "status": str(o.status) if o else str(i.lead.status),
                                     "reason": o.reason if o else "", "amount": o.amount if o else None}) + "\n")
        self._append(lines)
        return [PushResult(i.key, ok=True, external_id=i.lead.id) for i in batch]

    def check(self) -> HealthReport:
        folder = self.path.resolve().parent
        if not folder.exists():
            return HealthReport(False, f"folder {folder} does not exist; "
                                       f"create it or change connectors.{self.instance}.path")
        if not os.access(folder, os.W_OK):
            return HealthReport(False, f"cannot write to {folder}; fix its permissions")
        return HealthReport(True, f"appending to {self.path}")
