"""Built-in scoring: two scores, as Pardot (score + grade) and HubSpot (engagement + fit) keep them.

- **Engagement** (``Lead.score``): what the account's people did. Every activity earns the points
  of its kind, decaying with the kind's half-life from the activity's time to *now*; repeats and
  several people of one account add up; each group of kinds is capped, and a kind in no group
  counts at most ``max_repeats`` times its points (two hundred webinars are not a demo request).
- **Fit** (``Lead.fit_score``): who they are. The company's employees band, industry and country,
  and the seniority of its most senior contact read from the title (C-level, VP, director,
  manager, individual). ``hub_grade`` letters the fit A-D by the bands of ``grades``.

Every contribution is a :class:`~hub.api.ScorePart` with its reason in words. Configured in
``[plugins.scoring]`` (see docs/scoring.md)::

    [plugins.scoring]
    points = { demo_request = 40, webinar = 10 }       # over the defaults, kind by kind
    half_life_days = { webinar = 30 }                  # over default_half_life_days
    default_half_life_days = 90
    groups = { intent = { kinds = ["demo_request", "contact_sales"], cap = 100 } }
    max_repeats = 3                                    # a kind in no group: at most 3 x its points
    grades = { A = 60, B = 40, C = 20 }                # the least fit for each letter; below: D

    [plugins.scoring.fit]
    employees = [{ min = 1000, points = 30 }, { min = 200, points = 20 }]
    industries = { software = 15 }
    countries = { US = 10 }
    seniority = { c_level = 25, vp = 20, director = 15, manager = 10, individual = 0 }

*Now* is the time of the lead's newest activity, so scoring a stored history again gives the
same score (replay, the planned and one-pass batches); set :attr:`ScoringPlugin.clock` to score
as of a clock instead.

Scoring reads only what changed: :class:`ScoringPlugin` keeps, per lead, each kind's decayed sum
as of its newest activity, and folds in only the activities appended since (O(1) per inquiry
however long the history). The cache and the settings are the instance's: two hubs in one process
never share them.
"""

from __future__ import annotations

import math
import re
import threading
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from hub.api import ScorePart, hookimpl

if TYPE_CHECKING:
    from hub.api import Account, Activity, Contact, HubConfig, Inquiry, Lead

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
#: Interest fades faster than intent.
DEFAULT_HALF_LIFE_DAYS: Mapping[str, float] = MappingProxyType({
    "pricing_page": 30,
    "webinar": 45,
    "content_download": 45,
    "newsletter": 30,
})
Seniority = Literal["c_level", "vp", "director", "manager", "individual"]
#: Seniority levels, most senior first, with how a title says it (checked in this order).
SENIORITY_PATTERNS: tuple[tuple[Seniority, re.Pattern[str]], ...] = (
    ("vp", re.compile(r"\b(vice[ -]president|[se]?vp)\b", re.I)),
    ("c_level", re.compile(r"\b(chief|c[a-z]o|president|founder|managing director)\b", re.I)),
    ("director", re.compile(r"\b(director|head)\b", re.I)),
    ("manager", re.compile(r"\b(manager|team lead|supervisor)\b", re.I)),
)
DEFAULT_SENIORITY_POINTS: Mapping[Seniority, int] = MappingProxyType({
    "c_level": 25, "vp": 20, "director": 15, "manager": 10, "individual": 0})
SENIORITY_WORDS: Mapping[str, str] = MappingProxyType({
    "c_level": "C-level", "vp": "VP", "director": "director", "manager": "manager", "individual": "individual",
})

#: Leads whose scoring state (decayed sums, company facts) the plugin keeps; least recent dropped.
_KEPT = 4096
_DAY = 86400.0


def seniority_of(title: str | None) -> Seniority | None:
    """The seniority a job title says: "Chief Revenue Officer" -> ``c_level``, "VP Sales" -> ``vp``,
    "Head of IT" -> ``director``, "intern" -> ``individual``; ``None`` for no title."""
    if not title or not title.strip():
        return None
    for level, pattern in SENIORITY_PATTERNS:
        if pattern.search(title):
            return level
    return "individual"


def _industry_key(value: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", value.lower()).strip("_")


class GroupSettings(BaseModel):
    """A group of activity kinds whose engagement together is capped."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    kinds: list[str] = Field(min_length=1)
    cap: int = Field(ge=0)


class EmployeesBand(BaseModel):
    """Companies with at least ``min`` employees earn ``points`` (the highest band reached counts)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    min: int = Field(ge=0)
    points: int


class FitSettings(BaseModel):
    """``[plugins.scoring.fit]``: points for who the account's people are."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    employees: list[EmployeesBand] = Field(default_factory=lambda: [
        EmployeesBand(min=1000, points=30), EmployeesBand(min=200, points=20), EmployeesBand(min=50, points=10)])
    #: Industry -> points; matched without case or punctuation ("Financial Services" = financial_services).
    industries: dict[str, int] = Field(default_factory=lambda: {
        "software": 15, "financial_services": 15, "retail": 10, "manufacturing": 10})
    #: ISO country code -> points.
    countries: dict[str, int] = Field(default_factory=dict)
    #: Seniority of the most senior contact -> points.
    seniority: dict[Seniority, int] = Field(default_factory=lambda: dict(DEFAULT_SENIORITY_POINTS))

    @field_validator("employees")
    @classmethod
    def _highest_first(cls, value: list[EmployeesBand]) -> list[EmployeesBand]:
        mins = [b.min for b in value]
        if len(set(mins)) != len(mins):
            raise ValueError("two bands have the same min; give each band its own least number of employees")
        return sorted(value, key=lambda b: -b.min)

    @field_validator("industries")
    @classmethod
    def _industry_keys(cls, value: dict[str, int]) -> dict[str, int]:
        return {_industry_key(k): v for k, v in value.items()}

    @field_validator("countries")
    @classmethod
    def _country_codes(cls, value: dict[str, int]) -> dict[str, int]:
        bad = [k for k in value if not re.fullmatch(r"[A-Za-z]{2}", k)]
        if bad:
            raise ValueError(f"{', '.join(bad)}: use two-letter ISO country codes (US, DE, GB...)")
        return {k.upper(): v for k, v in value.items()}


class ScoringSettings(BaseModel):
    """``[plugins.scoring]``: engagement points, decay and caps; fit; the grade bands."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    #: Points per activity kind; the table's entries replace the defaults' one by one.
    points: dict[str, int] = Field(default_factory=lambda: dict(DEFAULT_POINTS))
    #: Points for a kind not in ``points``.
    default_points: int = 5
    #: Points per contact of the lead beyond the first.
    per_extra_contact: int = 5
    #: Days after which an activity's points are halved, per kind (over the defaults).
    half_life_days: dict[str, float] = Field(default_factory=lambda: dict(DEFAULT_HALF_LIFE_DAYS))
    #: The half-life of a kind not in ``half_life_days``.
    default_half_life_days: float = Field(default=90, gt=0)
    #: Groups of kinds whose engagement together is capped, e.g.
    #: ``{ interest = { kinds = ["webinar", "newsletter"], cap = 30 } }``.
    groups: dict[str, GroupSettings] = Field(default_factory=dict)
    #: A kind in no group counts at most this many of its activities' points (before decay).
    max_repeats: int = Field(default=3, ge=1)
    fit: FitSettings = Field(default_factory=FitSettings)
    #: Grade letter -> the least fit that earns it; a fit below every band is graded D.
    grades: dict[str, int] = Field(default_factory=lambda: {"A": 60, "B": 40, "C": 20})

    @field_validator("points", mode="before")
    @classmethod
    def _over_the_defaults(cls, value: Any) -> Any:
        return {**DEFAULT_POINTS, **value} if isinstance(value, Mapping) else value

    @field_validator("half_life_days", mode="before")
    @classmethod
    def _half_lives_over_the_defaults(cls, value: Any) -> Any:
        return {**DEFAULT_HALF_LIFE_DAYS, **value} if isinstance(value, Mapping) else value

    @field_validator("half_life_days")
    @classmethod
    def _positive(cls, value: dict[str, float]) -> dict[str, float]:
        bad = [k for k, v in value.items() if v <= 0]
        if bad:
            raise ValueError(f"{', '.join(bad)}: a half-life is a number of days above 0")
        return value

    @field_validator("groups")
    @classmethod
    def _one_group_per_kind(cls, value: dict[str, GroupSettings]) -> dict[str, GroupSettings]:
        seen: dict[str, str] = {}
        for name, group in value.items():
            for kind in group.kinds:
                if kind in seen:
                    raise ValueError(f"{kind} is in groups {seen[kind]} and {name}; put each kind in one group")
                seen[kind] = name
        return value

    @field_validator("grades")
    @classmethod
    def _letters(cls, value: dict[str, int]) -> dict[str, int]:
        bad = [k for k in value if not 0 < len(k) <= 2]
        if bad:
            raise ValueError(f"{', '.join(map(repr, bad))}: a grade is one or two characters, e.g. A")
        return dict(sorted(value.items(), key=lambda kv: -kv[1]))


@dataclass
class _KindSum:
    """One kind's engagement on one lead: its activities, their points undecayed, and their
    decayed sum as of ``as_of`` (the newest of them)."""

    count: int = 0
    raw: int = 0
    total: float = 0.0
    as_of: float = -math.inf  # POSIX seconds


@dataclass
class _LeadState:
    """What the plugin keeps of one lead between inquiries."""

    scanned: int = 0  # activities folded in
    last: Activity | None = None  # the last one folded in (its identity proves the prefix)
    kinds: dict[str, _KindSum] = field(default_factory=dict)
    newest: float = -math.inf
    #: The company facts last seen (an inquiry may not repeat them).
    employees: int | None = None
    industry: str | None = None
    country: str | None = None


class ScoringPlugin:
    """The built-in ``hub_score`` (engagement and fit) and ``hub_grade``."""

    def __init__(self) -> None:
        self.settings = ScoringSettings()
        #: Scores as of ``clock()`` when set; ``None``: as of the lead's newest activity.
        self.clock: Callable[[], datetime] | None = None
        #: Lead id -> its kept state; bounded (least recently scored dropped, then rebuilt whole).
        self._states: OrderedDict[str, _LeadState] = OrderedDict()
        self._lock = threading.Lock()

    @hookimpl
    def hub_configure(self, config: HubConfig) -> None:
        """Read and validate ``[plugins.scoring]`` (absent: the defaults)."""
        self.settings = config.plugin_settings("scoring", ScoringSettings)
        with self._lock:
            self._states.clear()  # sums were kept with the old points

    @hookimpl(trylast=True)
    def hub_score(self, lead: Lead, inquiry: Inquiry, account: Account) -> list[ScorePart]:
        state = self._state(lead, inquiry, account)
        return self._engagement(lead, state) + self._fit(lead, state)

    @hookimpl(trylast=True)
    def hub_grade(self, lead: Lead, account: Account) -> str:
        for letter, least in self.settings.grades.items():
            if lead.fit_score >= least:
                return letter
        return "D"

    # -- engagement ----------------------------------------------------------------------------
    def _engagement(self, lead: Lead, state: _LeadState) -> list[ScorePart]:
        settings = self.settings
        now = self.clock().timestamp() if self.clock is not None else state.newest
        parts: list[ScorePart] = []
        by_kind: dict[str, int] = {}
        for kind, kept in state.kinds.items():
            half_life = settings.half_life_days.get(kind, settings.default_half_life_days)
            age = max(now - kept.as_of, 0.0)
            pts = round(kept.total * 0.5 ** (age / (half_life * _DAY)))
            if not pts:
                continue
            by_kind[kind] = pts
            times = f" x{kept.count}" if kept.count > 1 else ""
            decayed = f", decayed from {kept.raw} (half-life {half_life:g} days)" if pts != kept.raw else ""
            parts.append(ScorePart(pts, f"{kind.replace('_', ' ')}{times}{decayed} (+{pts})"))
        grouped: set[str] = set()
        for name, group in settings.groups.items():
            grouped.update(group.kinds)
            got = sum(by_kind.get(k, 0) for k in group.kinds)
            if got > group.cap:
                parts.append(ScorePart(group.cap - got, f"{name} capped at {group.cap} (was {got}) "
                                                        f"({group.cap - got})"))
        for kind, got in by_kind.items():
            cap = settings.max_repeats * settings.points.get(kind, settings.default_points)
            if kind not in grouped and got > cap > 0:
                parts.append(ScorePart(cap - got, f"{kind.replace('_', ' ')} capped at {settings.max_repeats} "
                                                  f"times its points, {cap} (was {got}) ({cap - got})"))
        extra = max(len(lead.contacts) - 1, 0)
        if extra and settings.per_extra_contact:
            pts = extra * settings.per_extra_contact
            parts.append(ScorePart(pts, f"{extra} more contact(s) from the same account (+{pts})"))
        return parts

    def _state(self, lead: Lead, inquiry: Inquiry, account: Account) -> _LeadState:
        """``lead``'s state with the activities appended since it was kept folded in."""
        acts = lead.activities
        n = len(acts)
        with self._lock:
            state = self._states.pop(lead.id, None)
        # Activities are only ever appended, and each is its own object: if the one folded in last
        # is still at its place, everything before it is what was folded in.
        if state is None or not (0 < state.scanned <= n and acts[state.scanned - 1] is state.last):
            kept = state
            state = _LeadState()
            if kept is not None:  # a rebuilt history keeps the company facts seen
                state.employees, state.industry, state.country = kept.employees, kept.industry, kept.country
        points, default = self.settings.points, self.settings.default_points
        half_lives, default_half_life = self.settings.half_life_days, self.settings.default_half_life_days
        for act in acts[state.scanned:]:
            pts = points.get(act.kind, default)
            at = act.at.timestamp()
            kept_sum = state.kinds.get(act.kind)
            if kept_sum is None:
                kept_sum = state.kinds[act.kind] = _KindSum()
            scale = half_lives.get(act.kind, default_half_life) * _DAY
            if at >= kept_sum.as_of:
                if kept_sum.count:
                    kept_sum.total *= 0.5 ** ((at - kept_sum.as_of) / scale)
                kept_sum.total += pts
                kept_sum.as_of = at
            else:  # an older activity arrived late: it has decayed to the kind's newest already
                kept_sum.total += pts * 0.5 ** ((kept_sum.as_of - at) / scale)
            kept_sum.count += 1
            kept_sum.raw += pts
            state.newest = max(state.newest, at)
        state.scanned, state.last = n, acts[-1] if acts else None
        company = inquiry.company
        state.employees = company.employees if company.employees is not None else state.employees
        state.industry = company.industry or state.industry
        state.country = company.country or state.country or account.country
        with self._lock:
            self._states[lead.id] = state
            while len(self._states) > _KEPT:
                self._states.popitem(last=False)
        return state

    # -- fit -----------------------------------------------------------------------------------
    def _fit(self, lead: Lead, state: _LeadState) -> list[ScorePart]:
        fit = self.settings.fit
        parts: list[ScorePart] = []
        if state.employees is not None:
            for band in fit.employees:
                if state.employees >= band.min:
                    if band.points:
                        parts.append(ScorePart(band.points, f"{state.employees:,} employees (band {band.min:,}+) "
                                                            f"({band.points:+d})", kind="fit"))
                    break
        if state.industry:
            pts = fit.industries.get(_industry_key(state.industry), 0)
            if pts:
                parts.append(ScorePart(pts, f"industry {state.industry} ({pts:+d})", kind="fit"))
        if state.country:
            pts = fit.countries.get(state.country.upper(), 0)
            if pts:
                parts.append(ScorePart(pts, f"country {state.country.upper()} ({pts:+d})", kind="fit"))
        best = self._most_senior(lead.contacts)
        if best is not None:
            contact, level = best
            pts = fit.seniority.get(level, 0)
            if pts:
                name = " ".join(p for p in (contact.first_name, contact.last_name) if p) or contact.email or "a contact"
                parts.append(ScorePart(pts, f"{name} is {SENIORITY_WORDS[level]} ({contact.title}) ({pts:+d})",
                                       kind="fit"))
        return parts

    def _most_senior(self, contacts: list[Contact]) -> tuple[Contact, Seniority] | None:
        """The contact whose title earns the most seniority points (the first of equals)."""
        points = self.settings.fit.seniority
        best: tuple[Contact, Seniority] | None = None
        for contact in contacts:
            level = seniority_of(contact.title)
            if level is not None and (best is None or points.get(level, 0) > points.get(best[1], 0)):
                best = (contact, level)
        return best
