"""Built-in qualification: a bar per product line on engagement, fit or both; kinds that always qualify.

Configured in ``[plugins.qualify]``::

    [plugins.qualify]
    # need = "both" (the default): every score named must reach its bar; "either": one is enough.
    bars = { default = { engagement = 50 }, payments = { engagement = 40, fit = 30, need = "either" } }
    always = ["demo_request", "contact_sales", "referral"]   # the newest activity is one: qualified

A product line without a bar of its own takes the ``default`` bar; without a ``default`` bar, the
default is an engagement score of ``[pipeline] qualify_score`` (what hubs configured before the
bars existed keep working, in the same words). Below the bar the lead stays with marketing
(nurture). Registered ``trylast``, so a third-party ``hub_qualify`` (say, "never qualify
students") decides first.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from hub.api import QualifyDecision, hookimpl

if TYPE_CHECKING:
    from hub.api import Account, HubConfig, Lead

DEFAULT_ALWAYS = ("demo_request", "contact_sales", "referral")


class Bar(BaseModel):
    """The scores a lead of one product line must reach."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    engagement: int | None = None
    fit: int | None = None
    #: ``both``: every score named must reach its bar; ``either``: one is enough.
    need: Literal["both", "either"] = "both"

    @model_validator(mode="after")
    def _names_a_score(self) -> Bar:
        if self.engagement is None and self.fit is None:
            raise ValueError("a bar names engagement, fit or both, e.g. { engagement = 50 }")
        return self


class QualifySettings(BaseModel):
    """``[plugins.qualify]``: the bars per product line and the kinds that always qualify."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    #: Product line -> its bar; ``default`` for the others (absent: ``[pipeline] qualify_score``).
    bars: dict[str, Bar] = Field(default_factory=dict)
    #: Activity kinds that qualify a lead whatever its scores, when they are its newest activity.
    always: list[str] = Field(default_factory=lambda: list(DEFAULT_ALWAYS))


class QualifyPlugin:
    """The built-in ``hub_qualify``: an always-qualifying activity, or the scores against the bar."""

    def __init__(self) -> None:
        self.settings = QualifySettings()
        self._threshold: int | None = None  # hub_configure sets it; the default otherwise

    @property
    def threshold(self) -> int:
        """The engagement bar of a product line without one (``[pipeline] qualify_score``)."""
        if self._threshold is None:
            from hub.api import PipelineSettings  # the configuration loads only when needed

            self._threshold = PipelineSettings().qualify_score
        return self._threshold

    @hookimpl
    def hub_configure(self, config: HubConfig) -> None:
        self.settings = config.plugin_settings("qualify", QualifySettings)
        self._threshold = config.pipeline.qualify_score

    @hookimpl(trylast=True)
    def hub_qualify(self, lead: Lead, account: Account) -> QualifyDecision:
        newest = lead.activities[-1].kind if lead.activities else None
        if newest is not None and newest in self.settings.always:
            return QualifyDecision(True, f"qualified: {newest.replace('_', ' ')} always qualifies")
        bars = self.settings.bars
        line = lead.product_line if lead.product_line in bars else "default"
        bar = bars.get(line)
        if bar is None:  # the bar of [pipeline] qualify_score, in the words it always had
            score, threshold = lead.score, self.threshold
            if score >= threshold:
                return QualifyDecision(True, f"qualified: score {score} reaches the bar of {threshold}")
            return QualifyDecision(False, f"nurture: score {score} is below the bar of {threshold}")
        checks = [(name, value, least) for name, value, least in
                  (("engagement", lead.score, bar.engagement), ("fit", lead.fit_score, bar.fit))
                  if least is not None]
        met = [f"{name} {value} reaches the {line} bar of {least}" for name, value, least in checks if value >= least]
        missed = [f"{name} {value} is below the {line} bar of {least}" for name, value, least in checks
                  if value < least]
        if not missed or (bar.need == "either" and met):
            return QualifyDecision(True, "qualified: " + " and ".join(met))
        either = " (either would do)" if bar.need == "either" and len(checks) > 1 else ""
        return QualifyDecision(False, "nurture: " + " and ".join(missed) + either)
