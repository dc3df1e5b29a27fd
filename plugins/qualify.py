"""Built-in qualification: a lead whose score reaches ``[pipeline] qualify_score`` goes to sales.

Below the bar it stays with marketing (nurture). Registered ``trylast``, so a third-party
``hub_qualify`` (say, "never qualify students") decides first.
"""

from __future__ import annotations

from hub.config import HubConfig, PipelineSettings
from hub.decisions import QualifyDecision
from hub.plugins import hookimpl
from hub.schema import Account, Lead


class QualifyPlugin:
    """The built-in ``hub_qualify``: the score against the bar of ``[pipeline] qualify_score``."""

    def __init__(self) -> None:
        self.threshold = PipelineSettings().qualify_score

    @hookimpl
    def hub_configure(self, config: HubConfig) -> None:
        self.threshold = config.pipeline.qualify_score

    @hookimpl(trylast=True)
    def hub_qualify(self, lead: Lead, account: Account) -> QualifyDecision:
        score, threshold = lead.score, self.threshold
        if score >= threshold:
            return QualifyDecision(True, f"qualified: score {score} reaches the bar of {threshold}")
        return QualifyDecision(False, f"nurture: score {score} is below the bar of {threshold}")
