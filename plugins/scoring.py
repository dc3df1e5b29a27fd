"""Built-in scoring: points per kind of activity, counted once per kind, plus fit signals.

Configured in ``[plugins.scoring]``::

    [plugins.scoring]
    points = { demo_request = 40, referral = 40, contact_sales = 35, form = 15, webinar = 10 }
    per_extra_contact = 5      # another person from the same account asked too
"""

from __future__ import annotations

from operator import attrgetter
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from hub.config import HubConfig
from hub.decisions import ScorePart
from hub.errors import ConfigError
from hub.plugins import hookimpl
from hub.schema import Account, Inquiry, Lead

DEFAULT_POINTS = {
    "demo_request": 40,
    "contact_sales": 35,
    "referral": 40,
    "trial_signup": 30,
    "pricing_page": 20,
    "form": 15,
    "crm_lead": 30,
    "import": 20,
    "webinar": 10,
    "content_download": 10,
    "newsletter": 2,
}


class ScoringSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    points: dict[str, int] = Field(default_factory=lambda: dict(DEFAULT_POINTS))
    default_points: int = 5
    per_extra_contact: int = 5


_settings = ScoringSettings()
_KIND = attrgetter("kind")


@hookimpl
def hub_configure(config: HubConfig) -> None:
    global _settings
    raw: dict[str, Any] = config.section("scoring")
    try:
        merged = {**raw, "points": {**DEFAULT_POINTS, **raw.get("points", {})}}
        _settings = ScoringSettings(**merged)
    except ValidationError as exc:
        raise ConfigError(f"[plugins.scoring] is invalid: {exc.errors()[0]['loc']}: {exc.errors()[0]['msg']}") from None


@hookimpl(trylast=True)
def hub_score(lead: Lead, inquiry: Inquiry, account: Account) -> list[ScorePart]:
    parts: list[ScorePart] = []
    # Each kind once, in order of first appearance (a second webinar is not twice the intent);
    # map + dict.fromkeys runs in C: a big account's lead has thousands of activities.
    for kind in dict.fromkeys(map(_KIND, lead.activities)):
        pts = _settings.points.get(kind, _settings.default_points)
        if pts:
            parts.append(ScorePart(pts, f"{kind.replace('_', ' ')} (+{pts})"))
    extra = max(len(lead.contacts) - 1, 0)
    if extra and _settings.per_extra_contact:
        pts = extra * _settings.per_extra_contact
        parts.append(ScorePart(pts, f"{extra} more contact(s) from the same account (+{pts})"))
    return parts
