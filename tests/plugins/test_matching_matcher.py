"""The account matcher, one test per scenario of issue 7, through the registered plugin.

The matcher is called through a real pluggy manager (``hub.plugins.load_plugins``) against the
in-memory account index, which answers ``candidates`` the way the store does.
"""

from __future__ import annotations

from typing import Any

import pytest

from hub.config import HubConfig
from hub.decisions import MatchKey, MatchOutcome
from hub.errors import ConfigError
from hub.plugins import HubPlugins, load_plugins
from hub.schema import Activity, Company, Contact, Inquiry, SourceRecord
from plugins.matching import InMemoryAccounts, MatchingSettings, match_account, match_keys


def inquiry(company: dict[str, Any] | None = None, contact: dict[str, Any] | None = None, **extra: Any) -> Inquiry:
    return Inquiry(
        source=SourceRecord(connector=extra.pop("connector", "webform"), stream="form:demo", external_id="1",
                            payload={}),
        company=Company(**(company or {})),
        contact=Contact(**(contact or {})),
        activity=Activity(kind="demo_request"),
        **extra,
    )


@pytest.fixture
def plugins() -> HubPlugins:
    hub = load_plugins(defaults=("plugins.matching:MatchingPlugin",), entry_points=False)
    assert not hub.problems
    return hub


@pytest.fixture
def accounts() -> InMemoryAccounts:
    book = InMemoryAccounts()
    book.add_account("acct_acme", "Acme Corporation", ["acme.com"], country="US")
    book.add_account("acct_acme_log", "Acme Logistics GmbH", ["acme.com", "acme-logistics.de"],
                     parent_id="acct_acme", country="DE")
    book.add_account("acct_kessler", "Kessler Brothers Tooling Ltd", ["kessler-tooling.co.uk"],
                     phones=["+442079460958"], country="GB")
    book.add_account("acct_nord", "Nordwind Maschinenbau AG", ["nordwind.de"], country="DE")
    return book


def decide(plugins: HubPlugins, accounts: InMemoryAccounts, item: Inquiry) -> Any:
    verdict = plugins.match_account(item, accounts)
    assert verdict is not None
    return verdict


def test_company_domain_and_name_match_with_a_reason_in_words(plugins: HubPlugins, accounts: InMemoryAccounts) -> None:
    v = decide(plugins, accounts, inquiry({"name": "ACME Corp."}, {"email": "jo@acme.com"}))
    assert (v.outcome, v.account_id) == (MatchOutcome.MATCHED, "acct_acme")
    assert v.reason.startswith("domain acme.com and name 'acme' agree (score 1.00)")
    assert MatchKey("domain", "acme.com") in v.keys and MatchKey("name", "acme") in v.keys


def test_webmail_domain_is_not_a_key_and_the_name_decides(plugins: HubPlugins, accounts: InMemoryAccounts) -> None:
    item = inquiry({"name": "Nordwind Maschinenbau GmbH"}, {"email": "kurt.n@gmail.com"})
    assert not [k for k in match_keys(item) if k.kind == "domain"]
    v = decide(plugins, accounts, item)
    assert (v.outcome, v.account_id) == (MatchOutcome.MATCHED, "acct_nord")
    assert "gmail.com is webmail" in v.reason


def test_webmail_without_company_gets_a_personal_email_key(plugins: HubPlugins, accounts: InMemoryAccounts) -> None:
    v = decide(plugins, accounts, inquiry(None, {"email": "Kurt.N+x@gmail.com", "first_name": "Kurt"}))
    assert v.outcome is MatchOutcome.NEW
    assert v.keys == (MatchKey("email", "kurtn@gmail.com"),)
    new_id = accounts.apply(v)
    again = decide(plugins, accounts, inquiry(None, {"email": "kurtn@gmail.com"}))
    assert (again.outcome, again.account_id) == (MatchOutcome.MATCHED, new_id)


def test_disposable_domain_is_not_a_key(plugins: HubPlugins, accounts: InMemoryAccounts) -> None:
    item = inquiry({"name": "Totally New Widgets"}, {"email": "x@mailinator.com"})
    assert MatchKey("domain", "mailinator.com") not in match_keys(item)
    v = decide(plugins, accounts, item)
    assert v.outcome is MatchOutcome.NEW and "disposable" in v.reason
    assert v.new_account_name == "Totally New Widgets" and v.new_account_domain is None


@pytest.mark.parametrize("name", ["Kessler Brothers Tooling", "The Kessler Brothers Tooling Co. Ltd",
                                  "KESSLER BROTHERS TOOLING LIMITED (UK)", "Kessler Brothers Tooling plc"])
def test_legal_form_variants_match_by_name(plugins: HubPlugins, accounts: InMemoryAccounts, name: str) -> None:
    v = decide(plugins, accounts, inquiry({"name": name}, {"email": "a@yahoo.co.uk"}))
    assert (v.outcome, v.account_id) == (MatchOutcome.MATCHED, "acct_kessler")


def test_subset_trap_lookalike_is_not_matched(plugins: HubPlugins) -> None:
    book = InMemoryAccounts()
    book.add_account("acct_acme", "Acme", ["acme.com"])
    v = decide(plugins, book, inquiry({"name": "Acme Logistics"}, {"email": "x@gmail.com"}))
    assert v.outcome is MatchOutcome.NEW


def test_names_that_differ_in_a_number_are_different_companies(plugins: HubPlugins) -> None:
    book = InMemoryAccounts()
    book.add_account("acct_c1", "Company 1", [])
    book.add_account("acct_studio", "Studio 54 Records", [])
    for name in ("Company 12", "Company 2", "Studio 55 Records"):
        v = decide(plugins, book, inquiry({"name": name}, {"email": "x@gmail.com"}))
        assert v.outcome is MatchOutcome.NEW, (name, v.reason)
    same = decide(plugins, book, inquiry({"name": "Company 1 Ltd"}, {"email": "x@gmail.com"}))
    assert (same.outcome, same.account_id) == (MatchOutcome.MATCHED, "acct_c1")


def test_net_new_lookalike_is_new(plugins: HubPlugins, accounts: InMemoryAccounts) -> None:
    v = decide(plugins, accounts, inquiry({"name": "Nordwind Marine AG", "website": "nordwind-marine.de"}))
    assert v.outcome is MatchOutcome.NEW
    assert v.new_account_domain == "nordwind-marine.de"


def test_typo_in_name_still_matches(plugins: HubPlugins, accounts: InMemoryAccounts) -> None:
    v = decide(plugins, accounts, inquiry({"name": "Kesler Brothers Toolng Ltd"}, {"email": "a@gmail.com"}))
    assert (v.outcome, v.account_id) == (MatchOutcome.MATCHED, "acct_kessler")
    assert "~" in v.reason  # says the name agreed approximately, with its similarity


def test_subsidiary_is_preferred_and_the_reason_says_so(plugins: HubPlugins, accounts: InMemoryAccounts) -> None:
    v = decide(plugins, accounts, inquiry({"name": "Acme Logistics GmbH"}, {"email": "jo@acme.com"}))
    assert (v.outcome, v.account_id) == (MatchOutcome.MATCHED, "acct_acme_log")
    assert "subsidiary 'Acme Logistics GmbH' (acct_acme_log) of parent 'Acme Corporation' (acct_acme)" in v.reason
    parent = decide(plugins, accounts, inquiry({"name": "Acme Corp"}, {"email": "ceo@acme.com"}))
    assert parent.account_id == "acct_acme"


def test_partner_reps_own_email_does_not_decide_the_account(plugins: HubPlugins, accounts: InMemoryAccounts) -> None:
    # The rep works at acme.com (a partner that is also a customer); the referral is for Nordwind.
    item = inquiry({"name": "Nordwind Maschinenbau"}, {"email": "rep@acme.com", "phone": "+442079460958"},
                   partner_id="partner_acme")
    assert MatchKey("domain", "acme.com") not in match_keys(item)
    v = decide(plugins, accounts, item)
    assert (v.outcome, v.account_id) == (MatchOutcome.MATCHED, "acct_nord")
    assert "referring partner" in v.reason


def test_partner_referral_email_counts_when_it_agrees_with_the_company(
    plugins: HubPlugins, accounts: InMemoryAccounts
) -> None:
    item = inquiry({"name": "Kessler Brothers Tooling"}, {"email": "buyer@kessler-tooling.co.uk"}, partner_id="p1")
    assert MatchKey("domain", "kessler-tooling.co.uk") in match_keys(item)


def test_cross_crm_same_company_is_one_account_by_domain(plugins: HubPlugins) -> None:
    book = InMemoryAccounts()
    from_salesforce = inquiry({"name": "Globex Corporation", "website": "https://www.globex.com"},
                              connector="salesforce")
    first = decide(plugins, book, from_salesforce)
    assert first.outcome is MatchOutcome.NEW
    account_id = book.apply(first)
    from_hubspot = inquiry({"name": "Globex", "domain": "globex.com"}, connector="hubspot")
    second = decide(plugins, book, from_hubspot)
    assert (second.outcome, second.account_id) == (MatchOutcome.MATCHED, account_id)
    assert "domain globex.com" in second.reason


def test_phone_with_country_matches_a_national_number(plugins: HubPlugins, accounts: InMemoryAccounts) -> None:
    item = inquiry({"name": "Kessler Bros", "country": "GB", "phone": "020 7946 0958"}, {"email": "a@gmail.com"})
    assert MatchKey("phone", "+442079460958") in match_keys(item)
    v = decide(plugins, accounts, item)
    assert (v.outcome, v.account_id) == (MatchOutcome.MATCHED, "acct_kessler")
    assert "phone +442079460958" in v.reason


def test_same_name_other_domain_and_country_is_uncertain_with_best_candidate(
    plugins: HubPlugins, accounts: InMemoryAccounts
) -> None:
    v = decide(plugins, accounts, inquiry({"name": "Nordwind Maschinenbau", "website": "nordwind.at", "country": "DE"}))
    assert v.outcome is MatchOutcome.UNCERTAIN and v.account_id == "acct_nord"
    assert "domains differ" in v.reason and "a person decides" in v.reason


def test_two_unrelated_equal_accounts_are_uncertain(plugins: HubPlugins) -> None:
    book = InMemoryAccounts()
    book.add_account("acct_1", "Initech LLC")
    book.add_account("acct_2", "Initech Inc")
    v = match_account(inquiry({"name": "Initech"}), book, MatchingSettings())
    assert v.outcome is MatchOutcome.UNCERTAIN and "two unrelated accounts" in v.reason


def _config(matching: dict[str, Any] | None = None) -> HubConfig:
    return HubConfig(plugins={"matching": matching} if matching is not None else {})


def test_configure_reads_thresholds_and_rejects_bad_ones(plugins: HubPlugins, accounts: InMemoryAccounts) -> None:
    item = inquiry({"name": "Kesler Brothers Toolng Ltd"})
    try:
        plugins.configure(_config({"match_threshold": 0.99, "review_threshold": 0.5}))
        assert decide(plugins, accounts, item).outcome is MatchOutcome.UNCERTAIN
        with pytest.raises(ConfigError, match="review_threshold"):
            plugins.configure(_config({"match_threshold": 0.5, "review_threshold": 0.9}))
        with pytest.raises(ConfigError, match=r"matching\.threshold"):
            plugins.configure(_config({"threshold": 1}))
    finally:
        plugins.configure(_config())
    assert decide(plugins, accounts, item).outcome is MatchOutcome.MATCHED
