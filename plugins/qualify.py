"""Built-in qualification: a lead whose score reaches ``[pipeline] qualify_score`` goes to sales.

Below the bar it stays with marketing (nurture). Registered ``trylast``, so a third-party
``hub_qualify`` (say, "never qualify students") decides first.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from hub.api import QualifyDecision, hookimpl

if TYPE_CHECKING:
    from hub.api import Account, HubConfig, Lead


class QualifyPlugin:
    """The built-in ``hub_qualify``: the score against the bar of ``[pipeline] qualify_score``."""

    def __init__(self) -> None:
        self._threshold: int | None = None  # hub_configure sets it; the default otherwise

    @property
    def threshold(self) -> int:
        if self._threshold is None:
            from hub.api import PipelineSettings  # the configuration loads only when needed

            self._threshold = PipelineSettings().qualify_score
        return self._threshold

    @hookimpl
    def hub_configure(self, config: HubConfig) -> None:
        self._threshold = config.pipeline.qualify_score

    @hookimpl(trylast=True)
    def hub_qualify(self, lead: Lead, account: Account) -> QualifyDecision:
        score, threshold = lead.score, self.threshold
        if score >= threshold:
            return QualifyDecision(True, f"qualified: score {score} reaches the bar of {threshold}")
        return QualifyDecision(False, f"nurture: score {score} is below the bar of {threshold}")
