"""Every named transform, on good and on bad input (hub/transforms.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from hub import transforms
from hub.transforms import TransformError, build, country_code, split_name, value_map


def run(spec: str, value: Any, **values: Any) -> Any:
    return build(spec)(value, {k.replace("__", "."): v for k, v in values.items()})


@pytest.mark.parametrize(
    ("spec", "given", "expected"),
    [
        ("strip", "  Acme Corp \t", "Acme Corp"),
        ("strip", "   ", None),  # blank after stripping ends the chain
        ("strip", 12345, "12345"),  # numbers from JSON become text
        ("lower", "MiXeD", "mixed"),
        ("upper", "de", "DE"),
    ],
)
def test_text_transforms(spec: str, given: Any, expected: Any) -> None:
    assert run(spec, given) == expected


def test_text_transforms_refuse_structures() -> None:
    with pytest.raises(TransformError, match="is not text"):
        run("strip", {"nested": "object"})
    with pytest.raises(TransformError, match="is not text"):
        run("lower", True)


def test_email_validates_and_lower_cases() -> None:
    assert run("email", "  Bob.Smith@Example.COM ") == "bob.smith@example.com"
    assert run("email", "ops+leads@sub.acme.co.uk") == "ops+leads@sub.acme.co.uk"


@pytest.mark.parametrize("bad", ["bob@@x", "no-at-sign", "bob@", "@acme.com", "bob@acme", "a b@acme.com"])
def test_email_rejects_invalid_addresses(bad: str) -> None:
    with pytest.raises(TransformError, match="is not a valid e-mail address"):
        run("email", bad)


def test_phone_to_e164_with_international_prefix() -> None:
    assert run("phone", "+44 20 7946 0958") == "+442079460958"
    assert run("phone", "+1 (415) 555-0100") == "+14155550100"


def test_phone_uses_the_records_country_before_the_default_region() -> None:
    # A German national number: read with the record's country, not the mapping's default US.
    assert run("phone:US", "030 1234567", contact__country="DE") == "+49301234567"
    assert run("phone:US", "030 1234567", company__country="Germany") == "+49301234567"
    assert run("phone:US", "(415) 555-0100") == "+14155550100"


def test_phone_without_a_country_says_how_to_fix_it() -> None:
    with pytest.raises(TransformError, match="no country known"):
        run("phone", "030 1234567")


@pytest.mark.parametrize("bad", ["call me", "12", "+1 555"])
def test_phone_rejects_what_is_not_a_number(bad: str) -> None:
    with pytest.raises(TransformError, match="phone number"):
        run("phone:US", bad)


def test_phone_option_must_be_a_region() -> None:
    with pytest.raises(ValueError, match="region code"):
        build("phone:XX")


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("https://www.acme.co.uk/contact?x=1", "acme.co.uk"),
        ("www.Example.COM", "example.com"),
        ("shop.example.com.au", "example.com.au"),
        ("bob@mail.acme.io", "acme.io"),  # from an e-mail address
        ("http://user@intranet.acme.de/", "acme.de"),  # a URL with user info is still a URL
    ],
)
def test_domain_from_url_or_email(given: str, expected: str) -> None:
    assert run("domain", given) == expected


@pytest.mark.parametrize("bad", ["localhost", "not a domain", "http://10.0.0.1/"])
def test_domain_rejects_what_has_no_registrable_domain(bad: str) -> None:
    with pytest.raises(TransformError, match="no registrable domain"):
        run("domain", bad)


def test_domain_extractor_is_built_once_and_offline() -> None:
    run("domain", "acme.com")
    first = transforms._extractor()
    assert transforms._extractor() is first
    assert first.suffix_list_urls == ()  # only the bundled list: no network, ever


@pytest.mark.parametrize(
    ("full", "first", "last"),
    [
        ("Ada King", "Ada", "King"),
        ("Dr. Ada King", "Ada", "King"),
        ("King, Ada", "Ada", "King"),
        ("Ludwig van Beethoven", "Ludwig", "van Beethoven"),
        ("Mary Ann Smith Jr.", "Mary Ann", "Smith"),
        ("  Cher  ", "Cher", None),
    ],
)
def test_split_name(full: str, first: str | None, last: str | None) -> None:
    assert split_name(full) == (first, last)
    assert run("split_name:first", full) == first
    assert run("split_name:last", full) == last


def test_split_name_needs_a_part() -> None:
    with pytest.raises(ValueError, match="first, last"):
        build("split_name")


def test_int_and_float() -> None:
    assert run("int", "1,200") == 1200
    assert run("int", 42) == 42
    assert run("int", "7.0") == 7
    assert run("float", "$1,200.50") == 1200.5
    assert run("float", 3) == 3.0
    for spec, bad, message in [
        ("int", "7.5", "whole number"),
        ("int", "many", "not a number"),
        ("float", "n/a", "not a number"),
        ("float", "nan", "finite"),
        ("int", True, "whole number"),
    ]:
        with pytest.raises(TransformError, match=message):
            run(spec, bad)


@pytest.mark.parametrize(
    ("given", "expected"),
    [("Yes", True), ("n", False), ("1", True), (0, False), ("checked", True), (False, False)],
)
def test_bool(given: Any, expected: bool) -> None:
    assert run("bool", given) is expected


def test_bool_rejects_other_words() -> None:
    with pytest.raises(TransformError, match="yes/no"):
        run("bool", "maybe")


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("2026-03-01T09:30:00Z", datetime(2026, 3, 1, 9, 30, tzinfo=UTC)),
        ("2026-03-01T09:30:00.000+0000", datetime(2026, 3, 1, 9, 30, tzinfo=UTC)),  # Salesforce
        ("2026-03-01T10:30:00+01:00", datetime(2026, 3, 1, 9, 30, tzinfo=UTC)),
        ("2026-03-01", datetime(2026, 3, 1, tzinfo=UTC)),
        ("March 1, 2026 9:30 AM", datetime(2026, 3, 1, 9, 30, tzinfo=UTC)),
        ("03/01/2026", datetime(2026, 3, 1, tzinfo=UTC)),  # US month first by default
        ("1772357400000", datetime(2026, 3, 1, 9, 30, tzinfo=UTC)),  # HubSpot epoch milliseconds
        ("1772357400", datetime(2026, 3, 1, 9, 30, tzinfo=UTC)),
        (datetime(2026, 3, 1, 9, 30), datetime(2026, 3, 1, 9, 30, tzinfo=UTC)),
    ],
)
def test_datetime_becomes_tz_aware_utc(given: Any, expected: datetime) -> None:
    got = run("datetime", given)
    assert got == expected
    assert got.utcoffset() == timedelta(0)


def test_datetime_dayfirst_option() -> None:
    assert run("datetime:dayfirst", "03/01/2026") == datetime(2026, 1, 3, tzinfo=UTC)


@pytest.mark.parametrize("bad", ["tomorrowish", "2026-13-45", "32/32/2026"])
def test_datetime_rejects_unparseable(bad: str) -> None:
    with pytest.raises(TransformError, match="not a date and time"):
        run("datetime", bad)


def test_iso_and_epoch_ms_for_destinations() -> None:
    moment = datetime(2026, 3, 1, 10, 30, tzinfo=timezone(timedelta(hours=1)))
    assert run("iso", moment) == "2026-03-01T09:30:00Z"
    assert run("epoch_ms", moment) == 1772357400000


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("DE", "DE"),
        ("de", "DE"),
        ("Germany", "DE"),
        ("Deutschland", "DE"),
        ("Allemagne", "DE"),
        ("United States", "US"),
        ("USA", "US"),
        ("u.s.a.", "US"),
        ("UK", "GB"),
        ("United Kingdom", "GB"),
        ("GBR", "GB"),
        ("  the netherlands ", "NL"),
        ("Japan", "JP"),
    ],
)
def test_country_to_iso_alpha2(given: str, expected: str) -> None:
    assert run("country", given) == expected


def test_country_rejects_unknown() -> None:
    assert country_code("Atlantis") is None
    with pytest.raises(TransformError, match="not a country"):
        run("country", "Atlantis")
    with pytest.raises(TransformError, match="not a country"):
        run("country", "ZZ")


def test_value_map_default_keep_and_error() -> None:
    stages = {"Closed Won": "won", "Closed Lost": "lost"}
    assert value_map(stages)("  closed won ", {}) == "won"  # case and spaces do not matter
    assert value_map(stages, "converted")("Prospecting", {}) == "converted"
    assert value_map(stages, keep=True)("Prospecting", {}) == "Prospecting"
    assert value_map({"[not provided]": ""}, keep=True)("[not provided]", {}) is None
    with pytest.raises(TransformError, match="'Prospecting' is not one of 'Closed Won', 'Closed Lost'"):
        value_map(stages)("Prospecting", {})


def test_build_rejects_unknown_names_and_options() -> None:
    with pytest.raises(KeyError):
        build("emial")
    with pytest.raises(ValueError, match="takes no option"):
        build("strip:both")


def test_long_values_are_cut_short_in_messages() -> None:
    with pytest.raises(TransformError) as caught:
        run("email", "x" * 5000)
    assert len(str(caught.value)) < 200


@pytest.mark.parametrize(
    "address",
    ["a@b.co", "a..b@x.com", ".a@x.com", "a.@x.com", "a@-x.com", "a@x-.com", "a@x.test", "a@localhost",
     "A.B+tag@Sub.Example.COM", "x@123.com", "a@b.123", "o'neil@x.com", "ü@x.de", "a@b_c.com",
     "a@xn--bcher-kva.example", "x" * 65 + "@acme.com", "a@" + "b" * 64 + ".com"],
)
def test_email_fast_path_agrees_with_email_validator(address: str) -> None:
    import email_validator

    try:
        expected = email_validator.validate_email(address, check_deliverability=False).normalized.lower()
    except email_validator.EmailNotValidError:
        expected = None
    try:
        got = run("email", address)
    except TransformError:
        got = None
    assert got == expected
