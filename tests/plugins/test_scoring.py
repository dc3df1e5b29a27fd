"""The built-in scoring plugin: engagement with decay and caps, fit, grades; its clock is injected."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from hub.config import load_config
from hub.errors import ConfigError
from hub.runtime import Hub
from hub.schema import Account, Activity, Company, Contact, Inquiry, Lead, SourceRecord
from plugins.qualify import QualifySettings
from plugins.scoring import ScoringPlugin, ScoringSettings, seniority_of

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
DAY = timedelta(days=1)


def ask(company: Company | None = None, kind: str = "webinar") -> Inquiry:
    return Inquiry(source=SourceRecord(connector="webform", stream="form", external_id="1", payload={}),
                   company=company or Company(name="Acme"), activity=Activity(kind=kind, at=T0))


def plugin(clock: datetime | None = None, **settings: Any) -> ScoringPlugin:
    made = ScoringPlugin()
    made.settings = ScoringSettings.model_validate(settings)
    if clock is not None:
        made.clock = lambda: clock
    return made


def lead_with(*acts: tuple[str, datetime], contacts: int = 1) -> Lead:
    return Lead(account_id="acct_1", activities=[Activity(kind=k, at=at) for k, at in acts],
                contacts=[Contact(email=f"p{i}@acme.com") for i in range(contacts)])


def engagement(parts: list[Any]) -> int:
    return sum(p.points for p in parts if p.kind == "engagement")


def fit(parts: list[Any]) -> int:
    return sum(p.points for p in parts if p.kind == "fit")


ACME = Account(name="Acme")


# -- engagement --------------------------------------------------------------------------------
def test_points_halve_at_the_half_life_and_quarter_at_two() -> None:
    lead = lead_with(("demo_request", T0))
    at = {days: engagement(plugin(T0 + days * DAY, half_life_days={"demo_request": 30})
                           .hub_score(lead, ask(), ACME)) for days in (0, 30, 60)}
    assert at == {0: 40, 30: 20, 60: 10}
    parts = plugin(T0 + 30 * DAY, half_life_days={"demo_request": 30}).hub_score(lead, ask(), ACME)
    assert parts[0].reason == "demo request, decayed from 40 (half-life 30 days) (+20)"


def test_without_a_clock_now_is_the_newest_activity() -> None:
    """A stored history scores the same whenever it is scored again (replay, the two batch paths)."""
    lead = lead_with(("webinar", T0), ("demo_request", T0 + 45 * DAY))
    parts = plugin(half_life_days={"webinar": 45}).hub_score(lead, ask(), ACME)
    assert engagement(parts) == 5 + 40  # the webinar is one half-life older than the demo request


def test_a_late_activity_is_decayed_to_the_kinds_newest() -> None:
    one = plugin(T0 + 10 * DAY, half_life_days={"webinar": 10})
    lead = lead_with(("webinar", T0 + 10 * DAY))
    assert engagement(one.hub_score(lead, ask(), ACME)) == 10
    lead.activities.append(Activity(kind="webinar", at=T0))  # arrives late, ten days old
    assert engagement(one.hub_score(lead, ask(), ACME)) == 15


def test_a_group_is_capped_and_the_cap_is_a_reason() -> None:
    lead = lead_with(*[("webinar", T0)] * 3, ("content_download", T0), ("demo_request", T0))
    parts = plugin(T0, groups={"interest": {"kinds": ["webinar", "content_download"], "cap": 25}}).hub_score(
        lead, ask(), ACME)
    assert engagement(parts) == 25 + 40
    assert "interest capped at 25 (was 40) (-15)" in [p.reason for p in parts]
    assert "webinar x3 (+30)" in [p.reason for p in parts]


def test_a_kind_in_no_group_counts_at_most_max_repeats_times() -> None:
    lead = lead_with(*[("newsletter", T0)] * 10)
    assert engagement(plugin(T0).hub_score(lead, ask(), ACME)) == 6  # 3 x 2
    assert engagement(plugin(T0, max_repeats=5).hub_score(lead, ask(), ACME)) == 10


def test_several_people_of_one_account_add_up() -> None:
    alone = lead_with(("webinar", T0))
    three = lead_with(("webinar", T0), ("webinar", T0), ("pricing_page", T0), contacts=3)
    assert engagement(plugin(T0).hub_score(alone, ask(), ACME)) == 10
    parts = plugin(T0).hub_score(three, ask(), ACME)
    assert engagement(parts) == 20 + 20 + 10  # two webinars, the pricing page, two more people
    assert "2 more contact(s) from the same account (+10)" in [p.reason for p in parts]


def test_only_the_new_activities_are_read() -> None:
    """Each kind's decayed sum is kept: a new activity is folded in, the history is not read again."""
    one = plugin(T0 + 100 * DAY)
    lead = lead_with(*[("webinar", T0 + i * DAY) for i in range(100)])
    first = engagement(one.hub_score(lead, ask(), ACME))
    lead.activities[0] = Activity(kind="demo_request", at=T0)  # changed behind the kept prefix's back...
    lead.activities.append(Activity(kind="newsletter", at=T0 + 100 * DAY))
    again = engagement(one.hub_score(lead, ask(), ACME))
    assert again == first + 2  # ...and not read again: only the appended newsletter counted
    fresh = engagement(plugin(T0 + 100 * DAY).hub_score(lead, ask(), ACME))
    assert fresh != again  # a fresh instance reads the whole history, the changed activity with it


# -- fit and grade ------------------------------------------------------------------------------
@pytest.mark.parametrize(("title", "level"), [
    ("Chief Revenue Officer", "c_level"), ("CEO", "c_level"), ("Co-Founder", "c_level"),
    ("VP Sales", "vp"), ("Vice President, Marketing", "vp"), ("SVP Operations", "vp"),
    ("Head of IT", "director"), ("Director of Engineering", "director"),
    ("Sales Manager", "manager"), ("intern", "individual"), ("Software Engineer", "individual"),
    ("Product Owner", "individual"), (None, None), ("  ", None),
])
def test_seniority_from_the_title(title: str | None, level: str | None) -> None:
    assert seniority_of(title) == level


def test_fit_from_employees_band_industry_country_and_the_most_senior_contact() -> None:
    one = plugin(fit={"countries": {"us": 10}, "industries": {"Financial Services": 15}})
    lead = lead_with(("webinar", T0))
    lead.contacts = [Contact(first_name="Ann", last_name="Lee", title="intern"),
                     Contact(first_name="Raj", last_name="Iyer", title="VP Sales"),
                     Contact(first_name="Mo", title="Head of IT")]
    company = Company(name="Acme", employees=450, industry="financial-services", country="US")
    parts = [p for p in one.hub_score(lead, ask(company), ACME) if p.kind == "fit"]
    assert [p.reason for p in parts] == ["450 employees (band 200+) (+20)", "industry financial-services (+15)",
                                         "country US (+10)", "Raj Iyer is VP (VP Sales) (+20)"]
    assert fit(parts) == 65


@pytest.mark.parametrize(("employees", "points"), [(10, 0), (50, 10), (199, 10), (200, 20), (5000, 30)])
def test_employees_bands(employees: int, points: int) -> None:
    parts = plugin().hub_score(lead_with(("webinar", T0)), ask(Company(name="A", employees=employees)), ACME)
    assert fit(parts) == points


def test_company_facts_are_kept_when_a_later_inquiry_lacks_them() -> None:
    one = plugin()
    lead = lead_with(("webinar", T0))
    assert fit(one.hub_score(lead, ask(Company(name="Acme", employees=1200, industry="Software")), ACME)) == 45
    lead.activities.append(Activity(kind="form", at=T0))
    assert fit(one.hub_score(lead, ask(Company(name="Acme")), ACME)) == 45


def test_the_country_falls_back_to_the_accounts() -> None:
    one = plugin(fit={"countries": {"DE": 8}})
    parts = one.hub_score(lead_with(("webinar", T0)), ask(), Account(name="Acme", country="DE"))
    assert fit(parts) == 8


@pytest.mark.parametrize(("fit_score", "letter"), [(95, "A"), (60, "A"), (59, "B"), (40, "B"), (20, "C"),
                                                     (19, "D"), (-5, "D")])
def test_grade_letters_from_the_bands(fit_score: int, letter: str) -> None:
    lead = lead_with(("webinar", T0))
    lead.fit_score = fit_score
    assert plugin().hub_grade(lead, ACME) == letter
    assert plugin(grades={"A+": 90, "A": 50}).hub_grade(lead, ACME) == (
        "A+" if fit_score >= 90 else "A" if fit_score >= 50 else "D")


# -- configuration ------------------------------------------------------------------------------
@pytest.mark.parametrize(("scoring", "key"), [
    ({"groups": {"a": {"kinds": ["webinar"], "cap": 10}, "b": {"kinds": ["webinar"], "cap": 5}}},
     "plugins.scoring.groups"),
    ({"groups": {"a": {"kinds": ["webinar"], "cap": -1}}}, "plugins.scoring.groups.a.cap"),
    ({"half_life_days": {"webinar": 0}}, "plugins.scoring.half_life_days"),
    ({"fit": {"seniority": {"janitor": 3}}}, "plugins.scoring.fit.seniority.janitor"),
    ({"fit": {"countries": {"USA": 3}}}, "plugins.scoring.fit.countries"),
    ({"grades": {"ABC": 3}}, "plugins.scoring.grades"),
    ({"point": {}}, "plugins.scoring.point"),
])
def test_config_errors_name_the_key(scoring: dict[str, Any], key: str, sqlite_url: str,
                                    hub_factory: Callable[..., Hub]) -> None:
    with pytest.raises(ConfigError) as caught:
        hub_factory(sqlite_url, plugins={"scoring": scoring})
    assert f"  {key}" in str(caught.value)


def test_two_hubs_score_with_their_own_settings_and_clocks(tmp_path: Path, hub_factory: Callable[..., Hub]) -> None:
    one = hub_factory(f"sqlite:///{tmp_path / 'one.db'}", plugins={"scoring": {"half_life_days": {"webinar": 1}}})
    two = hub_factory(f"sqlite:///{tmp_path / 'two.db'}", plugins={"scoring": {"points": {"webinar": 50}}})
    first, second = (hub.plugins.pm.get_plugin("plugins.scoring") for hub in (one, two))
    assert isinstance(first, ScoringPlugin) and isinstance(second, ScoringPlugin)
    first.clock = lambda: T0 + 2 * DAY
    lead = lead_with(("webinar", T0))
    assert engagement(first.hub_score(lead, ask(), ACME)) == 2  # 10 / 4: two half-lives of a day
    assert engagement(second.hub_score(lead, ask(), ACME)) == 50  # its own points, no clock of the other
    assert second.clock is None


def test_the_hub_toml_example_of_the_docs_is_valid(tmp_path: Path) -> None:
    text = (Path(__file__).resolve().parents[2] / "docs" / "scoring.md").read_text(encoding="utf-8")
    example = text.split("```toml\n", 1)[1].split("```", 1)[0]
    cfg = tmp_path / "hub.toml"
    cfg.write_text(f'[hub]\ndatabase_url = "sqlite:///{tmp_path / "x.db"}"\n\n{example}', encoding="utf-8")
    config = load_config(cfg)
    settings = config.plugin_settings("scoring", ScoringSettings)
    assert settings.groups["interest"].cap == 40 and settings.fit.countries["US"] == 10
    bars = config.plugin_settings("qualify", QualifySettings).bars
    assert bars["lending"].need == "either" and bars["payments"].fit == 30
