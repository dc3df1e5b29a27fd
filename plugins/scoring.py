"""Built-in scoring: points per kind of activity, counted once per kind, plus fit signals.

Configured in ``[plugins.scoring]``::

    [plugins.scoring]
    points = { demo_request = 40, referral = 40, contact_sales = 35, form = 15, webinar = 10 }
    per_extra_contact = 5      # another person from the same account asked too

:class:`ScoringPlugin` is registered once per hub: its settings and its cache of activity kinds
are its own, so two hubs in one process never score with each other's points.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Mapping
from operator import attrgetter
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from hub.api import ScorePart, hookimpl

if TYPE_CHECKING:
    from hub.api import Account, Activity, HubConfig, Inquiry, Lead

DEFAULT_POINTS: Mapping[str, int] = MappingProxyType({
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
})

_KIND = attrgetter("kind")
#: Leads remembered by the kinds cache; one not seen lately is scanned whole.
_KINDS_KEPT = 1024
#: Smaller leads are cheaper to scan than to remember.
_KINDS_MIN = 64


class ScoringSettings(BaseModel):
    """``[plugins.scoring]``: points per activity kind (over :data:`DEFAULT_POINTS`), and fit."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    #: Points per activity kind; the table's entries replace the defaults' one by one.
    points: dict[str, int] = Field(default_factory=lambda: dict(DEFAULT_POINTS))
    #: Points for a kind not in ``points``.
    default_points: int = 5
    #: Points per contact of the lead beyond the first.
    per_extra_contact: int = 5

    @field_validator("points", mode="before")
    @classmethod
    def _over_the_defaults(cls, value: Any) -> Any:
        return {**DEFAULT_POINTS, **value} if isinstance(value, Mapping) else value


class ScoringPlugin:
    """The built-in ``hub_score``: each kind of activity once, plus other contacts of the account."""

    def __init__(self) -> None:
        self.settings = ScoringSettings()
        #: Lead id -> (activities scanned, the last one scanned, their kinds in order of first
        #: appearance). A big account's lead has thousands of activities and gains one per
        #: inquiry: scanning only the new ones keeps scoring O(1) per inquiry. Bounded (LRU).
        self._kinds_seen: OrderedDict[str, tuple[int, Activity, dict[str, None]]] = OrderedDict()
        self._kinds_lock = threading.Lock()

    @hookimpl
    def hub_configure(self, config: HubConfig) -> None:
        """Read and validate ``[plugins.scoring]`` (absent: the defaults)."""
        self.settings = config.plugin_settings("scoring", ScoringSettings)

    @hookimpl(trylast=True)
    def hub_score(self, lead: Lead, inquiry: Inquiry, account: Account) -> list[ScorePart]:
        settings = self.settings
        parts: list[ScorePart] = []
        # Each kind once, in order of first appearance: a second webinar is not twice the intent.
        for kind in self._kinds(lead):
            pts = settings.points.get(kind, settings.default_points)
            if pts:
                parts.append(ScorePart(pts, f"{kind.replace('_', ' ')} (+{pts})"))
        extra = max(len(lead.contacts) - 1, 0)
        if extra and settings.per_extra_contact:
            pts = extra * settings.per_extra_contact
            parts.append(ScorePart(pts, f"{extra} more contact(s) from the same account (+{pts})"))
        return parts

    def _kinds(self, lead: Lead) -> dict[str, None]:
        """The kinds of ``lead``'s activities, each once, in order of first appearance."""
        acts = lead.activities
        n = len(acts)
        if n < _KINDS_MIN:
            return dict.fromkeys(map(_KIND, acts))
        with self._kinds_lock:
            seen = self._kinds_seen.get(lead.id)
        # Activities are only ever appended, and each is its own object: if the one we scanned
        # last is still at its place, everything before it is what we scanned.
        if seen is not None and seen[0] <= n and acts[seen[0] - 1] is seen[1]:
            kinds = dict(seen[2])
            kinds.update(dict.fromkeys(map(_KIND, acts[seen[0]:])))
        else:
            kinds = dict.fromkeys(map(_KIND, acts))
        with self._kinds_lock:
            self._kinds_seen[lead.id] = (n, acts[-1], kinds)
            self._kinds_seen.move_to_end(lead.id)
            while len(self._kinds_seen) > _KINDS_KEPT:
                self._kinds_seen.popitem(last=False)
        return kinds
