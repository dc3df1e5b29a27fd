"""Company-name and key normalisation: legal forms and cleanco's gaps, domains, phones."""

from __future__ import annotations

import pytest

from plugins.matching.keys import is_disposable, is_webmail, phone_e164, registrable_domain
from plugins.matching.names import normalize_company_name
from plugins.matching.scoring import name_similarity


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Acme Corp.", "acme"),
        ("ACME, INC.", "acme"),
        ("Acme Inc. (Europe)", "acme"),  # cleanco leaves "Acme Inc. (Europe"
        ("Acme Co Ltd", "acme"),  # stacked suffixes: cleanco strips one
        ("The Acme Company", "acme"),  # leading "The"
        ("A & B GmbH", "a and b"),
        ("A and B Ltd", "a and b"),
        ("Société Générale S.A.", "societe generale"),
        ("Müller GmbH & Co. KG", "muller"),
        ("Acme G.m.b.H.", "acme"),
        ("Acme Pty. Ltd.", "acme"),
        ("McDonald's Corp", "mcdonalds"),
        ("Ltd.", ""),
        (None, ""),
    ],
)
def test_company_names_normalise_legal_forms_and_gaps(raw: str | None, expected: str) -> None:
    assert normalize_company_name(raw) == expected


def test_subset_trap_is_not_a_match() -> None:
    from rapidfuzz import fuzz

    assert fuzz.token_set_ratio("acme", "acme logistics") == 100  # the trap itself
    assert name_similarity("acme", "acme logistics") < 0.6
    assert name_similarity("acme", "acme group") >= 0.95  # generic words only: same company


def test_domains_come_from_urls_hosts_and_emails_with_the_bundled_suffix_list() -> None:
    assert registrable_domain("https://www.shop.acme.co.uk/contact") == "acme.co.uk"
    assert registrable_domain("jane@eu.acme.com") == "acme.com"
    assert registrable_domain("not a domain") is None
    assert is_webmail("gmail.com") and is_webmail("web.de")
    assert is_disposable("mailinator.com") and not is_disposable("acme.com")


def test_phones_are_read_with_the_records_country() -> None:
    assert phone_e164("020 7946 0958", "GB") == "+442079460958"
    assert phone_e164("(202) 555-0143", "us") == "+12025550143"
    assert phone_e164("020 7946 0958", None) is None  # no region: cannot be read
    assert phone_e164("x" * 100, "GB") is None
