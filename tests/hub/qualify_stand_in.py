"""A stand-in for the built-in qualify policy (``hub_qualify``: the score reaches ``[pipeline]
qualify_score``), for the pipeline tests until that plugin is registered from ``plugins/``.

Delete it, and the ``hub_factory`` overrides that register it, once the built-in is in place.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from hub.config import HubConfig
from hub.decisions import QualifyDecision
from hub.plugins import hookimpl
from hub.runtime import Hub
from hub.schema import Account, Lead


class QualifyAtBar:
    """Qualifies a lead whose score reaches the configured bar, in the built-in's words."""

    def __init__(self) -> None:
        self.bar = 30

    @hookimpl
    def hub_configure(self, config: HubConfig) -> None:
        self.bar = config.pipeline.qualify_score

    @hookimpl(trylast=True)
    def hub_qualify(self, lead: Lead, account: Account) -> QualifyDecision:
        if lead.score >= self.bar:
            return QualifyDecision(True, f"qualified: score {lead.score} reaches the bar of {self.bar}")
        return QualifyDecision(False, f"nurture: score {lead.score} is below the bar of {self.bar}")


def with_qualify(make: Callable[..., Hub]) -> Callable[..., Hub]:
    """``hub_factory`` that also registers :class:`QualifyAtBar` on each hub it builds."""

    def build(db: str, *, extra_plugins: tuple[Any, ...] = (), **overrides: Any) -> Hub:
        return make(db, extra_plugins=(*extra_plugins, QualifyAtBar()), **overrides)

    return build
