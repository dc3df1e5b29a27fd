"""Injected faults: the next N requests matching a path pattern fail in a chosen way.

Kinds: ``status`` (answer 500, 503, 429 ... with the CRM's own error body), ``timeout`` (hold the
request for ``delay`` seconds, longer than a client's timeout, then 504) and ``drop`` (start the
response, then close the connection mid-body, as a dying proxy does). Rules are consumed in the
order they were added.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

FaultKind = Literal["status", "timeout", "drop"]


@dataclass
class FaultRule:
    id: int
    path: str  # a regular expression searched in the request path
    kind: FaultKind = "status"
    status: int = 503
    count: int = 1
    method: str | None = None
    delay: float = 30.0
    fired: int = 0
    pattern: re.Pattern[str] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.pattern = re.compile(self.path)

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data.pop("pattern", None)
        return data


class Faults:
    def __init__(self) -> None:
        self._rules: list[FaultRule] = []
        self._ids = itertools.count(1)
        self.fired_total = 0

    def add(self, path: str, kind: FaultKind = "status", status: int = 503, count: int = 1,
            method: str | None = None, delay: float = 30.0) -> FaultRule:
        rule = FaultRule(next(self._ids), path, kind, status, count,
                         method.upper() if method else None, delay)
        self._rules.append(rule)
        return rule

    def take(self, method: str, path: str) -> FaultRule | None:
        """The first live rule matching this request, counted as fired."""
        for rule in self._rules:
            if rule.count > 0 and (rule.method is None or rule.method == method) \
                    and rule.pattern.search(path):
                rule.count -= 1
                rule.fired += 1
                self.fired_total += 1
                return rule
        return None

    def list(self) -> list[dict[str, Any]]:
        return [rule.as_dict() for rule in self._rules]

    def clear(self) -> None:
        """Forget every rule and the count of fired faults (a reset starts from zero)."""
        self._rules.clear()
        self.fired_total = 0
