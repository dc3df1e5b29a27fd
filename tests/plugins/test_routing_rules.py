"""Ordered rules (first match wins), named accounts, partner leads to the channel manager."""

from __future__ import annotations

from pathlib import Path

import pytest

from hub.config import load_config
from hub.errors import ConfigError
from hub.schema import Account, Company, Lead, LeadStatus
from tests.plugins.routing_kit import Router, owner

OWNERS = [owner(o) for o in ("ann", "bob", "cyd", "dee", "eve", "pam")]
RULES = {
    "teams": [{"name": "emea", "members": {"ann": 1, "bob": 1}}, {"name": "smb", "members": {"cyd": 1}}],
    "rules": [
        {"name": "strategic", "accounts": ["Globex"], "owner": "eve", "over_named_accounts": True},
        {"name": "emea enterprise", "country": ["DE", "FR"], "employees_min": 1000, "team": "emea"},
        {"name": "emea hot", "country": ["DE"], "score_min": 80, "owner": "dee"},
        {"name": "fintech", "industry": ["Banking"], "product_line": ["api"], "owner": "dee"},
        {"name": "webinars", "source": ["webinar_import"], "domains": ["initech.io"], "owner": "bob"},
        {"name": "partners", "partner": True, "partner_manager": True, "overflow": "pam"},
        {"name": "everything else", "team": "smb"},
    ],
}


def lead(**kw: object) -> Lead:
    return Lead(account_id="acct_x", status=LeadStatus.QUALIFIED, **kw)  # type: ignore[arg-type]


def test_rules_are_tried_in_order_and_the_first_match_wins() -> None:
    r = Router(OWNERS, RULES)
    big_de = Company(country="DE", employees=5000)
    d = r.route(lead(score=95), company=big_de)
    assert d is not None and d.rule == "emea enterprise" and d.owner_id in {"ann", "bob"}  # not "emea hot"
    d = r.route(lead(score=95), company=Company(country="DE", employees=50))
    assert d is not None and d.rule == "emea hot" and d.owner_id == "dee"
    assert "rule 'emea hot' (country in DE; score >= 80)" in d.reason
    d = r.route(lead(product_line="api"), company=Company(country="US", industry="banking"))
    assert d is not None and d.rule == "fintech"
    d = r.route(lead(source_connector="webinar_import"), account=Account(name="Initech", domains=["initech.io"]))
    assert d is not None and d.rule == "webinars" and d.owner_id == "bob"
    d = r.route(lead(score=10), company=Company(country="DE", employees=50))
    assert d is not None and d.rule == "everything else" and d.owner_id == "cyd"


def test_a_lead_of_an_owned_account_or_of_an_owned_parent_goes_to_that_owner() -> None:
    r = Router(OWNERS, RULES)
    owned = Account(name="Acme", owner_id="dee")
    d = r.route(lead(), account=owned, company=Company(country="DE", employees=5000))
    assert d is not None and d.owner_id == "dee" and d.reason.startswith("named account: account Acme is owned by Dee")
    sub = Account(name="Acme Japan", parent_id=owned.id)
    d = r.route(lead(), account=sub, parent=owned)
    assert d is not None and d.owner_id == "dee" and "parent account Acme is owned by Dee" in d.reason


def test_a_rule_that_says_so_wins_over_the_account_owner() -> None:
    r = Router(OWNERS, RULES)
    d = r.route(lead(), account=Account(name="Globex", owner_id="dee"))
    assert d is not None and d.owner_id == "eve" and d.rule == "strategic"


def test_an_account_owner_who_is_away_is_skipped_and_the_rules_decide() -> None:
    r = Router(OWNERS, RULES)
    r.away("dee", until=None, reason="sabbatical")
    d = r.route(lead(), account=Account(name="Acme", owner_id="dee"))
    assert d is not None and d.owner_id == "cyd"
    assert "Dee (owner of account Acme) away (sabbatical)" in d.reason


def test_a_partner_lead_goes_to_the_partners_channel_manager() -> None:
    r = Router(OWNERS, RULES)
    r.ledger.managers["ptn_1"] = "pam"
    d = r.route(lead(partner_id="ptn_1"))
    assert d is not None and d.owner_id == "pam" and "partner-sourced (ptn_1) -> the partner's channel manager" \
        in d.reason
    r.ledger.managers["ptn_2"] = "eve"
    r.away("eve", until=None)
    d = r.route(lead(partner_id="ptn_2"))  # the manager is away: the partner rule's overflow
    assert d is not None and d.owner_id == "pam" and d.rule == "partners"


def test_no_rule_matching_falls_back_to_the_strategy() -> None:
    r = Router(OWNERS, {"rules": [{"name": "de", "country": ["DE"], "owner": "ann"}], "strategy": "default_owner",
                        "default_owner": "bob"})
    d = r.route(lead(), company=Company(country="US"))
    assert d is not None and d.owner_id == "bob" and d.rule is None


def test_a_condition_the_lead_cannot_answer_does_not_match() -> None:
    r = Router(OWNERS, RULES)
    d = r.route(lead(score=10))  # no company known (a lead routed again later): no employees
    assert d is not None and d.rule == "everything else"


def test_bad_routing_configuration_names_the_file_the_table_and_the_key(tmp_path: Path) -> None:
    path = tmp_path / "hub.toml"
    path.write_text('[[owners]]\nid = "ann"\nname = "Ann"\n\n[[routing.teams]]\nname = "t"\nmembers = { ann = 1 }\n'
                    'colour = "red"\n')
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert str(path) in str(info.value) and "routing.teams.0.colour: unknown key" in str(info.value)
    path.write_text('[[owners]]\nid = "ann"\nname = "Ann"\n\n[[routing.rules]]\nname = "r"\nteam = "nope"\n')
    with pytest.raises(ConfigError, match="sends to team 'nope'"):
        load_config(path)
    path.write_text('[[owners]]\nid = "ann"\nname = "Ann"\ntimezone = "Mars/Olympus"\n')
    with pytest.raises(ConfigError, match="not an IANA time zone"):
        load_config(path)
