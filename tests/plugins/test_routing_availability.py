"""Availability: capacity caps, working hours in the owner's time zone, holidays, time away,
overflow, and waiting when nobody at all is available."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tests.plugins.routing_kit import WEDNESDAY, Router, owner

HOURS = {"working_hours": "09:00-18:00", "working_days": ["mon", "tue", "wed", "thu", "fri"]}


def test_a_rep_in_tokyo_at_three_in_the_morning_is_skipped() -> None:
    owners = [owner("kenji", timezone="Asia/Tokyo", **HOURS), owner("nora", timezone="America/New_York", **HOURS)]
    routing = {"teams": [{"name": "global", "members": {"kenji": 1, "nora": 1}}],
               "rules": [{"name": "all", "team": "global"}]}
    r = Router(owners, routing, now=datetime(2026, 3, 4, 18, 0, tzinfo=UTC))  # 03:00 Thu in Tokyo, 13:00 NY
    got = r.route_many(20)
    assert got == {"nora": 20}
    decision = r.route()
    assert decision is not None and "Kenji outside working hours (Thu 03:00 Asia/Tokyo; works 09:00-18:00 mon-fri)" \
        in decision.reason
    r.now = datetime(2026, 3, 5, 1, 0, tzinfo=UTC)  # 10:00 in Tokyo, 20:00 in New York
    assert r.route_many(5) == {"kenji": 5}


def test_nobody_outside_hours_or_away_ever_gets_a_lead_over_a_fortnight() -> None:
    zones = {"ann": "Europe/Berlin", "bob": "America/Los_Angeles", "cyd": "Asia/Tokyo", "dee": "Australia/Sydney"}
    owners = [owner(o, timezone=z, **HOURS) for o, z in zones.items()]
    routing = {"teams": [{"name": "t", "members": dict.fromkeys(zones, 1.0)}], "rules": [{"name": "all", "team": "t"}],
               "overflow": None}
    r = Router(owners, routing, now=datetime(2026, 3, 2, 0, 0, tzinfo=UTC))
    r.away("bob", until=r.now + timedelta(days=3))
    from zoneinfo import ZoneInfo

    routed = 0
    for _ in range(14 * 24 * 4):
        decision = r.route()
        if decision is not None:
            routed += 1
            local = r.now.astimezone(ZoneInfo(zones[decision.owner_id]))
            assert local.weekday() < 5 and 9 <= local.hour < 18, (decision.owner_id, local)
            assert r.ledger.away(decision.owner_id, r.now) is None
        r.now += timedelta(minutes=15)
    assert routed > 0


def test_a_public_holiday_in_the_owners_country_makes_them_unavailable() -> None:
    owners = [owner("kenji", timezone="Asia/Tokyo", holidays="JP", **HOURS), owner("nora")]
    routing = {"teams": [{"name": "t", "members": {"kenji": 1, "nora": 1}}], "rules": [{"name": "all", "team": "t"}]}
    r = Router(owners, routing, now=datetime(2026, 2, 11, 2, 0, tzinfo=UTC))  # National Foundation Day, 11:00 JST
    decision = r.route()
    assert decision is not None and decision.owner_id == "nora"
    assert "public holiday in JP" in decision.reason


def test_capacity_is_never_exceeded() -> None:
    owners = [owner("ann", max_open=5), owner("bob", max_per_day=7), owner("cyd", max_per_week=20)]
    routing = {"teams": [{"name": "t", "members": {"ann": 1, "bob": 1, "cyd": 1}}],
               "rules": [{"name": "all", "team": "t"}]}
    r = Router(owners, routing, now=datetime(2026, 3, 2, 8, 0, tzinfo=UTC))  # a Monday
    for _hour in range(24 * 7 - 8):  # until Sunday midnight: one week
        for _ in range(3):
            decision = r.route()
            if decision is None:
                assert "at capacity" in " ".join(r.notes)
        assert r.ledger.open_leads("ann") <= 5
        day_start = r.now.replace(hour=0, minute=0)
        assert r.ledger.assigned_since("bob", day_start) <= 7
        assert r.ledger.assigned_since("cyd", datetime(2026, 3, 2, tzinfo=UTC)) <= 20
        r.now += timedelta(hours=1)
    assert r.got["ann"] == 5 and r.got["bob"] == 7 * 7 and r.got["cyd"] == 20


def test_everyone_away_goes_to_the_overflow_then_waits_then_routes_on_return() -> None:
    owners = [owner("ann"), owner("bob"), owner("mia")]
    routing = {"teams": [{"name": "t", "members": {"ann": 1, "bob": 1}, "overflow": "mia"}],
               "rules": [{"name": "all", "team": "t"}]}
    r = Router(owners, routing)
    r.away("ann", until=WEDNESDAY + timedelta(days=2), reason="vacation")
    r.away("bob", until=None, reason="parental leave")
    decision = r.route()
    assert decision is not None and decision.owner_id == "mia"
    assert "nobody at team t is available; the team's overflow" in decision.reason
    r.away("mia", until=WEDNESDAY + timedelta(days=1), reason="offsite")
    assert r.route() is None
    words = " ".join(r.notes)
    assert "Ann away until 2026-03-06 14:00 UTC (vacation)" in words and "Bob away (parental leave)" in words
    assert "Mia away until 2026-03-05 14:00 UTC (offsite)" in words
    r.now += timedelta(days=1, minutes=1)
    decision = r.route()
    assert decision is not None and decision.owner_id == "mia"
    r.now += timedelta(days=1)
    decision = r.route()
    assert decision is not None and decision.owner_id == "ann"


def test_an_inactive_owner_never_gets_a_lead() -> None:
    r = Router([owner("ann", active=False), owner("bob")],
               {"teams": [{"name": "t", "members": {"ann": 1, "bob": 1}}], "rules": [{"name": "all", "team": "t"}]})
    assert r.route_many(10) == {"bob": 10}
