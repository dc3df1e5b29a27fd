"""Built-in scoring: points per kind of activity, counted once per kind, plus fit signals.

Configured in ``[plugins.scoring]``::

    [plugins.scoring]
    points = { demo_request = 40, referral = 40, contact_sales = 35, form = 15, webinar = 10 }
    per_extra_contact = 5      # another person from the same account asked too
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from operator import attrgetter
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from hub.config import HubConfig
from hub.decisions import ScorePart
from hub.errors import ConfigError
from hub.plugins import hookimpl
from hub.schema import Account, Activity, Inquiry, Lead

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

#: Lead id -> (activities scanned, the last one scanned, their kinds in order of first appearance).
#: A big account's lead has thousands of activities and gains one per inquiry: scanning only the
#: new ones keeps scoring O(1) per inquiry. Bounded; a lead not seen lately is scanned whole.
_KINDS_SEEN: OrderedDict[str, tuple[int, Activity, dict[str, None]]] = OrderedDict()
_KINDS_KEPT = 1024
_KINDS_MIN = 64  # smaller leads are cheaper to scan than to remember
_kinds_lock = threading.Lock()


def _kinds(lead: Lead) -> dict[str, None]:
    """The kinds of ``lead``'s activities, each once, in order of first appearance."""
    acts = lead.activities
    n = len(acts)
    if n < _KINDS_MIN:
        return dict.fromkeys(map(_KIND, acts))
    with _kinds_lock:
        seen = _KINDS_SEEN.get(lead.id)
    # Activities are only ever appended, and each is its own object: if the one we scanned last
    # is still at its place, everything before it is what we scanned.
    if seen is not None and seen[0] <= n and acts[seen[0] - 1] is seen[1]:
        kinds = dict(seen[2])
        kinds.update(dict.fromkeys(map(_KIND, acts[seen[0]:])))
    else:
        kinds = dict.fromkeys(map(_KIND, acts))
    with _kinds_lock:
        _KINDS_SEEN[lead.id] = (n, acts[-1], kinds)
        _KINDS_SEEN.move_to_end(lead.id)
        while len(_KINDS_SEEN) > _KINDS_KEPT:
            _KINDS_SEEN.popitem(last=False)
    return kinds


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
    # Each kind once, in order of first appearance: a second webinar is not twice the intent.
    for kind in _kinds(lead):
        pts = _settings.points.get(kind, _settings.default_points)
        if pts:
            parts.append(ScorePart(pts, f"{kind.replace('_', ' ')} (+{pts})"))
    extra = max(len(lead.contacts) - 1, 0)
    if extra and _settings.per_extra_contact:
        pts = extra * _settings.per_extra_contact
        parts.append(ScorePart(pts, f"{extra} more contact(s) from the same account (+{pts})"))
    return parts
