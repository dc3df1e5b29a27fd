"""Whether an owner can take a lead now: active, not away, within working hours, under capacity.

Working hours are the owner's own, else their team's: a time zone (IANA, ``zoneinfo``), hours
such as ``"09:00-17:30"`` (an end before the start runs past midnight), working days, and the
public holidays of a country (``"JP"``, ``"US-CA"``, from the ``holidays`` package). Capacity
counts leads held now (``max_open``) and leads assigned since the start of the owner's local day
and week (``max_per_day``, ``max_per_week``), as the engine's ledger reports them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from hub.api import parse_hours

if TYPE_CHECKING:
    from hub.api import Owner, RoutingLedger, TeamSettings

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


@dataclass(frozen=True)
class Schedule:
    """One owner's availability settings, their own or their team's, ready to check."""

    zone: ZoneInfo
    zone_name: str
    hours: tuple[int, int] | None  # minutes since midnight, local
    hours_text: str
    days: frozenset[int]  # 0 = Monday
    holidays: str | None
    max_open: int | None
    max_per_day: int | None
    max_per_week: int | None


def schedule_of(owner: Owner, team: TeamSettings | None) -> Schedule:
    def pick(name: str) -> Any:
        own = getattr(owner, name)
        return own if own is not None or team is None else getattr(team, name)

    zone_name = pick("timezone") or "UTC"
    hours_text = pick("working_hours")
    days = pick("working_days")
    return Schedule(
        zone=ZoneInfo(zone_name), zone_name=zone_name,
        hours=parse_hours(hours_text) if hours_text else None, hours_text=hours_text or "",
        days=frozenset(DAYS.index(d.lower()[:3]) for d in days) if days else frozenset(range(7)),
        holidays=pick("holidays"), max_open=pick("max_open"), max_per_day=pick("max_per_day"),
        max_per_week=pick("max_per_week"),
    )


class Availability:
    """Checks owners against their schedules; keeps one holiday calendar per country (per hub)."""

    def __init__(self) -> None:
        self._calendars: dict[str, Any] = {}
        #: Working-time verdicts of the current instant, by schedule (owners share their team's).
        self._at: datetime | None = None
        self._verdicts: dict[int, str | None] = {}

    def is_holiday(self, code: str, day: date) -> str | None:
        calendar = self._calendars.get(code)
        if calendar is None:
            import holidays

            country, _, subdiv = code.partition("-")
            calendar = holidays.country_holidays(country, subdiv=subdiv or None)
            self._calendars[code] = calendar
        name = calendar.get(day)
        return str(name) if name else None

    def why_not(self, owner: Owner, schedule: Schedule, now: datetime, ledger: RoutingLedger | None) -> str | None:
        """Why ``owner`` cannot take a lead at ``now``, in words; ``None``: they can."""
        return self.off_duty(owner, schedule, now) or self.busy(owner, schedule, now, ledger)

    def off_duty(self, owner: Owner, schedule: Schedule, now: datetime) -> str | None:
        """Inactive, outside working hours or on a holiday (cheap: a schedule's verdict is kept
        for the instant, and a team's members share their team's schedule)."""
        if not owner.active:
            return "inactive"
        return self.off_time(schedule, now)

    def off_time(self, schedule: Schedule, now: datetime) -> str | None:
        """Outside ``schedule``'s working time at ``now`` (kept for the instant), in words."""
        if self._at != now:
            self._at, self._verdicts = now, {}
        key = id(schedule)
        if key in self._verdicts:
            return self._verdicts[key]
        return self._verdicts.setdefault(key, self._off_time(schedule, now))

    def busy(self, owner: Owner, schedule: Schedule, now: datetime, ledger: RoutingLedger | None) -> str | None:
        """Away or at capacity, as the ledger says."""
        if ledger is None:
            return None
        away = ledger.away(owner.id, now)
        if away is not None:
            return away
        if schedule.max_open is not None:
            held = ledger.open_leads(owner.id)
            if held >= schedule.max_open:
                return f"at capacity: holds {held} open leads (max_open {schedule.max_open})"
        if schedule.max_per_day is not None or schedule.max_per_week is not None:
            local = now.astimezone(schedule.zone)
            midnight = local.replace(hour=0, minute=0, second=0, microsecond=0)
            if schedule.max_per_day is not None:
                today = ledger.assigned_since(owner.id, midnight)
                if today >= schedule.max_per_day:
                    return f"at capacity: {today} leads today (max_per_day {schedule.max_per_day})"
            if schedule.max_per_week is not None:
                week = ledger.assigned_since(owner.id, midnight - timedelta(days=local.weekday()))
                if week >= schedule.max_per_week:
                    return f"at capacity: {week} leads this week (max_per_week {schedule.max_per_week})"
        return None

    def _off_time(self, schedule: Schedule, now: datetime) -> str | None:
        """Outside working hours or on a public holiday at ``now``, in words; ``None``: working."""
        if schedule.hours is None and len(schedule.days) == 7 and not schedule.holidays:
            return None
        local = now.astimezone(schedule.zone)
        if schedule.hours is not None or len(schedule.days) < 7:
            off = self._off_hours(schedule, local)
            if off is not None:
                return off
        if schedule.holidays:
            holiday = self.is_holiday(schedule.holidays, local.date())
            if holiday is not None:
                return f"public holiday in {schedule.holidays} ({holiday})"
        return None

    @staticmethod
    def _off_hours(schedule: Schedule, local: datetime) -> str | None:
        minute = local.hour * 60 + local.minute
        day = local.weekday()
        where = f"{local:%a %H:%M} {schedule.zone_name}"
        if schedule.hours is None:
            return None if day in schedule.days else f"not a working day ({where})"
        start, end = schedule.hours
        if start < end:
            inside, shift_day = start <= minute < end, day
        else:  # a shift past midnight belongs to the day it started
            inside = minute >= start or minute < end
            shift_day = day if minute >= start else (day - 1) % 7
        if inside and shift_day in schedule.days:
            return None
        return f"outside working hours ({where}; works {schedule.hours_text} {_days(schedule.days)})"


def _days(days: frozenset[int]) -> str:
    if days == frozenset(range(5)):
        return "mon-fri"
    if len(days) == 7:
        return "every day"
    return ",".join(DAYS[d] for d in sorted(days))
