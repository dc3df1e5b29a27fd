"""Namesakes, branches and contradicting evidence (issue 17): one test per case of the issue.

Each test builds a small account book with the namesakes, parents, subsidiaries or branches the
case needs, and calls the matcher as the hub does (``match_account`` with the default settings).
"""

from __future__ import annotations

from typing import Any

import pytest

from hub.decisions import MatchKey, MatchOutcome
from hub.schema import Activity, Company, Contact, Inquiry, SourceRecord
from plugins.matching import InMemoryAccounts, MatchingSettings, match_account, match_keys
from plugins.matching.keys import national_readings, profile_inquiry
from plugins.matching.matcher import score_candidates
from plugins.matching.names import locations_agree, name_qualifiers, normalize_company_name
from plugins.matching.scoring import CandidateScore, domain_alias

SETTINGS = MatchingSettings()  # the defaults: match at 0.9, review from 0.75


def inquiry(name: str | None, email: str | None = "someone@gmail.com", contact_phone: str | None = None,
            **company: Any) -> Inquiry:
    return Inquiry(
        source=SourceRecord(connector="webform", stream="form:demo", external_id="1", payload={}),
        company=Company(name=name, **company),
        contact=Contact(email=email, phone=contact_phone),
        activity=Activity(kind="demo_request"),
    )


def decide(book: InMemoryAccounts, item: Inquiry) -> Any:
    return match_account(item, book, SETTINGS)


# -- namesakes -------------------------------------------------------------------------------------
@pytest.fixture
def smiths() -> InMemoryAccounts:
    """Three unrelated "Smith Ltd" in one book, as any large CRM has."""
    book = InMemoryAccounts()
    book.add_account("acct_smith_tools", "Smith Ltd", ["smith-tools.co.uk"], ["+441214960001"], country="GB")
    book.add_account("acct_smith_foods", "Smith Limited", ["smithfoods.co.uk"], ["+441614960002"], country="GB")
    book.add_account("acct_smith_us", "Smith Inc.", ["smith.com"], ["+12125550100"], country="US")
    return book


def test_a_namesake_without_identifiers_goes_to_a_person(smiths: InMemoryAccounts) -> None:
    verdict = decide(smiths, inquiry("Smith Ltd"))
    assert verdict.outcome is MatchOutcome.UNCERTAIN
    assert "two unrelated accounts fit equally" in verdict.reason


def test_a_namesake_told_apart_by_country_alone_is_matched(smiths: InMemoryAccounts) -> None:
    verdict = decide(smiths, inquiry("Smith", country="US"))
    assert (verdict.outcome, verdict.account_id) == (MatchOutcome.MATCHED, "acct_smith_us")


@pytest.mark.parametrize(("extra", "owner"), [
    ({"email": "jo@smithfoods.co.uk"}, "acct_smith_foods"),
    ({"website": "https://www.smith-tools.co.uk"}, "acct_smith_tools"),
    ({"phone": "0161 496 0002", "country": "GB"}, "acct_smith_foods"),
])
def test_the_namesake_owning_the_leads_domain_or_phone_wins(smiths: InMemoryAccounts, extra: dict[str, Any],
                                                            owner: str) -> None:
    email = extra.pop("email", "someone@gmail.com")
    verdict = decide(smiths, inquiry("Smith Ltd", email=email, **extra))
    assert (verdict.outcome, verdict.account_id) == (MatchOutcome.MATCHED, owner), verdict.reason


def test_full_agreement_beats_a_name_only_namesake_where_both_scores_reach_one() -> None:
    # Before issue 17 both scored 1.00 (scores were capped) and the lead went to review.
    book = InMemoryAccounts()
    book.add_account("acct_acme", "Acme Corp", ["acme.com"], ["+12125550123"], country="US")
    book.add_account("acct_acme_other", "Acme Inc", country="US")
    verdict = decide(book, inquiry("Acme", email="jo@acme.com", phone="+1 212 555 0123", country="US"))
    assert (verdict.outcome, verdict.account_id) == (MatchOutcome.MATCHED, "acct_acme")
    assert verdict.reason.startswith("domain acme.com and name 'acme' and phone +12125550123 agree")


def test_a_net_new_namesake_with_its_own_domain_is_not_matched(smiths: InMemoryAccounts) -> None:
    verdict = decide(smiths, inquiry("Smith Ltd", email="info@smith-roofing.co.uk"))
    assert verdict.outcome is not MatchOutcome.MATCHED
    assert "domains differ" in verdict.reason


def test_a_lead_at_another_accounts_domain_counts_against_the_namesake() -> None:
    book = InMemoryAccounts()
    book.add_account("acct_jackson", "Jackson PLC", country="GB")  # no domain on file
    book.add_account("acct_jackson_bikes", "Jackson Cycles PLC", ["jacksonbikes.co.uk"], country="GB")
    # The exact name alone no longer overrides the domain that is another account's.
    verdict = decide(book, inquiry("Jackson PLC", email="amy@jacksonbikes.co.uk"))
    assert (verdict.outcome, verdict.account_id) == (MatchOutcome.MATCHED, "acct_jackson_bikes")
    namesake = decide(book, inquiry("Jackson PLC"))
    assert (namesake.outcome, namesake.account_id) == (MatchOutcome.MATCHED, "acct_jackson")
    scored = {c.candidate.account_id: c for c in _scored(book, inquiry("Jackson PLC", email="amy@jacksonbikes.co.uk"))}
    assert scored["acct_jackson"].domain_evidence == "other" and scored["acct_jackson"].score <= 0.7


def test_a_phone_that_is_another_accounts_counts_against() -> None:
    book = InMemoryAccounts()
    book.add_account("acct_lewis", "Lewis LLC", country="US")
    book.add_account("acct_lewis_law", "Lewis Law Group LLC", phones=["+13125550199"], country="US")
    item = inquiry("Lewis LLC", phone="(312) 555-0199", country="US")
    verdict = decide(book, item)
    assert (verdict.outcome, verdict.account_id) == (MatchOutcome.MATCHED, "acct_lewis_law"), verdict.reason
    scored = {c.candidate.account_id: c for c in _scored(book, item)}
    lewis = scored["acct_lewis"]
    assert lewis.phone_evidence == "other" and "phone is another account's" in lewis.conflicts


def _scored(book: InMemoryAccounts, item: Inquiry) -> list[CandidateScore]:
    """Every candidate the matcher scores for ``item``, weighed as it weighs them."""
    return score_candidates(profile_inquiry(item), book, SETTINGS)


def test_a_different_company_phone_costs_more_than_a_contacts_direct_line() -> None:
    book = InMemoryAccounts()
    book.add_account("acct_orbis", "Orbis Analytics GmbH", ["orbis-analytics.de"], ["+493012345678"], country="DE")
    direct = decide(book, inquiry("Orbis Analytics GmbH", contact_phone="+49 40 9876543", country="DE"))
    switchboard = decide(book, inquiry("Orbis Analytics GmbH", phone="+49 40 9876543", country="DE"))
    assert direct.outcome is MatchOutcome.MATCHED and direct.score == 1.0
    assert switchboard.score < direct.score and "phones differ" in switchboard.reason


# -- parents and subsidiaries with one name ------------------------------------------------------------
@pytest.fixture
def acme_group() -> InMemoryAccounts:
    book = InMemoryAccounts()
    book.add_account("acct_acme", "Acme Corporation", ["acme.com"], ["+12125550100"], country="US")
    book.add_account("acct_acme_uk", "Acme (UK) Ltd", ["acme.co.uk"], ["+442079460000"], parent_id="acct_acme",
                     country="GB")
    return book


def test_parent_and_subsidiary_share_a_normalised_name(acme_group: InMemoryAccounts) -> None:
    assert normalize_company_name("Acme (UK) Ltd") == normalize_company_name("Acme Corporation") == "acme"
    assert name_qualifiers("Acme (UK) Ltd") == ("GB",)


@pytest.mark.parametrize(("company", "email", "expected"), [
    ({"name": "Acme"}, "jo@acme.co.uk", "acct_acme_uk"),  # the subsidiary's domain
    ({"name": "Acme"}, "jo@acme.com", "acct_acme"),  # the parent's domain
    ({"name": "Acme", "phone": "020 7946 0000", "country": "GB"}, None, "acct_acme_uk"),  # its phone
    ({"name": "Acme", "phone": "(212) 555-0100", "country": "US"}, None, "acct_acme"),
    ({"name": "Acme (UK)"}, "a@gmail.com", "acct_acme_uk"),  # its place
])
def test_the_subsidiary_or_the_parent_wins_where_the_leads_identifiers_point(
        acme_group: InMemoryAccounts, company: dict[str, Any], email: str | None, expected: str) -> None:
    verdict = decide(acme_group, inquiry(email=email, **company))
    assert (verdict.outcome, verdict.account_id) == (MatchOutcome.MATCHED, expected), verdict.reason


def test_parent_and_subsidiary_nothing_tells_apart_go_to_a_person(acme_group: InMemoryAccounts) -> None:
    verdict = decide(acme_group, inquiry("Acme"))
    assert verdict.outcome is MatchOutcome.UNCERTAIN
    assert "nothing tells parent 'Acme Corporation' (acct_acme)" in verdict.reason
    assert "subsidiary 'Acme (UK) Ltd' (acct_acme_uk)" in verdict.reason


# -- branches ------------------------------------------------------------------------------------------
@pytest.fixture
def spago() -> InMemoryAccounts:
    book = InMemoryAccounts()
    book.add_account("acct_spago", "Spago Restaurants Inc", ["spago.com"], country="US")
    book.add_account("acct_spago_lv", "Spago (Las Vegas)", ["spago.com"], ["+17023690360"], country="US")
    book.add_account("acct_spago_bh", "Spago (Beverly Hills)", ["spago.com"], ["+13103850880"], country="US")
    return book


def test_a_branch_is_found_by_its_phone(spago: InMemoryAccounts) -> None:
    verdict = decide(spago, inquiry("Spago", email="events@spago.com", phone="702-369-0360"))
    assert (verdict.outcome, verdict.account_id) == (MatchOutcome.MATCHED, "acct_spago_lv"), verdict.reason


def test_a_branch_is_found_by_its_place(spago: InMemoryAccounts) -> None:
    verdict = decide(spago, inquiry("Spago (Beverly Hills)", email="events@spago.com"))
    assert (verdict.outcome, verdict.account_id) == (MatchOutcome.MATCHED, "acct_spago_bh"), verdict.reason
    assert "place 'beverly hills'" in verdict.reason


def test_a_branch_in_another_city_is_not_matched(spago: InMemoryAccounts) -> None:
    verdict = decide(spago, inquiry("Spago (Miami)", email="events@spago.com", phone="305-555-0142"))
    assert verdict.outcome is not MatchOutcome.MATCHED, verdict.reason
    assert "names a place no account of that name has" in verdict.reason


def test_qualifiers_are_places_and_notes_are_not() -> None:
    assert name_qualifiers("Spago (Las Vegas)") == ("las vegas",)
    assert name_qualifiers("Acme UK Ltd") == ("GB",)
    assert name_qualifiers("Velkes Logistics Europe GmbH") == ("europe",)
    assert name_qualifiers("Acme GmbH (HQ)") == () and name_qualifiers("Acme (Sales Office)") == ()
    assert name_qualifiers("Acme Corp") == ()
    assert locations_agree(("las vegas",), ("las vegas strip",)) is True
    assert locations_agree(("GB",), ("DE",)) is False
    assert locations_agree(("europe",), ("GB",)) is None  # a region and a country do not compare


# -- domains no account has ------------------------------------------------------------------------------
@pytest.fixture
def kessler() -> InMemoryAccounts:
    book = InMemoryAccounts()
    book.add_account("acct_kessler", "Kessler Tooling GmbH", ["kessler-tooling.de"], country="DE")
    return book


@pytest.mark.parametrize("domain", ["kesslertooling.com", "kessler-tooling-group.de", "getkesslertooling.de"])
def test_an_alias_domain_costs_little(kessler: InMemoryAccounts, domain: str) -> None:
    verdict = decide(kessler, inquiry("Kessler Tooling", email=f"jan@{domain}"))
    assert (verdict.outcome, verdict.account_id) == (MatchOutcome.MATCHED, "acct_kessler"), verdict.reason
    assert f"domain {domain} is not on file (close to kessler-tooling.de)" in verdict.reason
    assert 0.9 <= verdict.score < 1.0


def test_a_typod_domain_costs_little(kessler: InMemoryAccounts) -> None:
    verdict = decide(kessler, inquiry("Kessler Tooling", website="www.kesler-tooling.de"))
    assert (verdict.outcome, verdict.account_id) == (MatchOutcome.MATCHED, "acct_kessler"), verdict.reason


def test_an_unrelated_or_another_countrys_domain_costs_more(kessler: InMemoryAccounts) -> None:
    for domain in ("werkzeug-partner.de", "kessler-tooling.fr", "kessler-tooling2.de"):
        verdict = decide(kessler, inquiry("Kessler Tooling", email=f"jan@{domain}"))
        assert verdict.outcome is MatchOutcome.UNCERTAIN, (domain, verdict.reason)
        assert "domains differ" in verdict.reason


def test_domain_alias_patterns() -> None:
    assert domain_alias("acme.com", "acme.de") and domain_alias("acme-group.de", "acme.de")
    assert domain_alias("acmelogistcs.de", "acmelogistics.de")  # one slip
    assert not domain_alias("acme.fr", "acme.de")  # a country's own domain: a namesake or subsidiary there
    assert not domain_alias("acme2.de", "acme.de")  # a number tells namesakes apart
    assert not domain_alias("zenith.com", "acme.com")


# -- national phones -------------------------------------------------------------------------------------
@pytest.fixture
def nordwind() -> InMemoryAccounts:
    book = InMemoryAccounts()
    book.add_account("acct_nord", "Nordwind Maschinenbau AG", ["nordwind.de"], ["+493012345678"], country="DE")
    book.add_account("acct_nord_marine", "Nordwind Marine GmbH", ["nordwind-marine.de"], country="DE")
    return book


def test_a_national_phone_is_read_in_the_country_of_the_email_domain() -> None:
    item = inquiry("Nordwind", email="kurt@nordwind-gruppe.de", phone="030 12345678")
    assert MatchKey("phone", "+493012345678") in match_keys(item)
    assert profile_inquiry(item).notes == ["phone 030 12345678 read as DE (from the domain nordwind-gruppe.de)"]


def test_a_national_phone_is_read_in_the_country_of_another_phone_of_the_record() -> None:
    item = inquiry("Nordwind", email="kurt@gmail.com", phone="030 12345678", contact_phone="+49 171 2345678")
    assert MatchKey("phone", "+493012345678") in match_keys(item)


def test_a_national_phone_with_no_country_is_read_in_the_candidates(nordwind: InMemoryAccounts) -> None:
    # Nothing in the record names a country: not a key, but each candidate reads it in its own.
    item = inquiry("Nordwind", email="kurt@gmail.com", phone="030 1234 5678")
    assert not [k for k in match_keys(item) if k.kind == "phone"]
    verdict = decide(nordwind, item)
    assert (verdict.outcome, verdict.account_id) == (MatchOutcome.MATCHED, "acct_nord"), verdict.reason
    assert "phone +493012345678 (read as a DE number)" in verdict.reason


def test_a_national_phone_finds_an_account_the_name_does_not(nordwind: InMemoryAccounts) -> None:
    assert "+493012345678" in national_readings("030 1234 5678")
    verdict = decide(nordwind, inquiry("NWM", email="kurt@gmail.com", phone="030 12345678"))
    assert (verdict.outcome, verdict.account_id) != (MatchOutcome.NEW, None)
    assert verdict.account_id == "acct_nord"


# -- legal forms and common names ------------------------------------------------------------------------
def test_a_look_alike_under_another_countrys_legal_form_is_not_a_typo() -> None:
    book = InMemoryAccounts()
    book.add_account("acct_taler", "Taler Energy S.A.", ["talerenergy.es"], country="ES")
    abroad = decide(book, inquiry("Taller Energy plc"))
    assert abroad.outcome is not MatchOutcome.MATCHED
    assert "legal forms of other countries' law" in abroad.reason
    typo = decide(book, inquiry("Taller Energy S.L."))
    assert (typo.outcome, typo.account_id) == (MatchOutcome.MATCHED, "acct_taler"), typo.reason
    exact = decide(book, inquiry("Taler Energy Ltd"))  # the same name: a form misreported, not evidence
    assert (exact.outcome, exact.account_id) == (MatchOutcome.MATCHED, "acct_taler")


def test_a_name_several_accounts_have_with_another_company_phone_goes_to_a_person(
        acme_group: InMemoryAccounts) -> None:
    verdict = decide(acme_group, inquiry("Acme", phone="+44 161 496 0999"))
    assert verdict.outcome is MatchOutcome.UNCERTAIN
    assert "'acme' is the name of more than one account and the phone disagrees" in verdict.reason


def test_a_webmail_providers_country_does_not_read_the_company_phone() -> None:
    # web.de says where a person signed up, not where the company is: an Amsterdam number stays
    # unread (not indexed as a Berlin one) and the Dutch account reads it as its own.
    book = InMemoryAccounts()
    book.add_account("acct_nornov", "Nornov Materials N.V.", ["nornovmaterials.nl"], ["+31208616863"], country="NL")
    item = inquiry("Nornov", email="anna@web.de", phone="020 861 6863")
    assert not [k for k in match_keys(item) if k.kind == "phone"]
    verdict = decide(book, item)
    assert (verdict.outcome, verdict.account_id) == (MatchOutcome.MATCHED, "acct_nornov"), verdict.reason
    assert "read as a NL number" in verdict.reason
