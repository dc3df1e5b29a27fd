"""Contact de-duplication: canonical e-mail, graded comparisons, weights and rules, clusters."""

from __future__ import annotations

from dataclasses import replace

import pytest

from plugins.matching.contacts import (
    CANDIDATE_CAP,
    DEFAULT_WEIGHTS,
    ContactWeights,
    PersonRecord,
    canonical_email,
    cluster_duplicates,
    compare_contacts,
    contact_duplicate_confidence,
    name_similarity,
    weigh_contacts,
)

PHONE = "+442079460958"


def test_canonical_email_folds_case_dots_and_plus_tags_where_the_provider_does() -> None:
    assert canonical_email("John.Smith+news@GMail.com") == "johnsmith@gmail.com"
    assert canonical_email("j.smith@googlemail.com") == "jsmith@gmail.com"
    assert canonical_email("John.Smith+x@Outlook.com") == "john.smith@outlook.com"
    # A company's own domain: dots and plus are part of the mailbox name.
    assert canonical_email("John.Smith+x@Acme.com") == "john.smith+x@acme.com"
    assert canonical_email("not-an-address") is None


def test_same_email_is_the_same_person() -> None:
    verdict = contact_duplicate_confidence(
        PersonRecord("Jane", "Doe", email="jane.doe@gmail.com"),
        PersonRecord("J", "Smith", email="JaneDoe+x@gmail.com"),
    )
    assert verdict.confidence == 1.0 and verdict.is_duplicate
    assert "janedoe@gmail.com" in verdict.reason


@pytest.mark.parametrize(("a", "b", "level"), [
    ("Jane", "jane", "exact"),
    ("José", "Jose", "exact"),            # accents folded
    ("Mc Donald", "McDonald", "exact"),   # a space inside a name is a slip
    ("Jonathan", "Jonathon", "close"),    # Jaro-Winkler 0.95
    ("Stephen", "Steven", "similar"),     # 0.89
    ("J.", "Jane", "initial"),
    ("K", "Jane", "differ"),
    ("Jane", "Maria", "differ"),
])
def test_each_name_grade(a: str, b: str, level: str) -> None:
    comparison = compare_contacts(PersonRecord(a, "Doe"), PersonRecord(b, "Doe"))
    assert comparison.first_name == level and comparison.last_name == "exact" and not comparison.swapped


@pytest.mark.parametrize(("b", "level"), [
    ("+44 20 7946 0958", "exact"),       # formatting is not a difference
    ("+442079469058", "transposed"),     # 0958 -> 9058: two neighbours swapped, one slip
    ("+442079460959", "one_edit"),
    ("+442079461959", "two_edits"),
    ("+443179460000", "differ"),
])
def test_each_phone_grade(b: str, level: str) -> None:
    assert compare_contacts(PersonRecord(phone=PHONE), PersonRecord(phone=b)).phone == level


def test_near_misses_on_a_short_number_are_another_number() -> None:
    assert compare_contacts(PersonRecord(phone="1234"), PersonRecord(phone="1235")).phone == "differ"


def test_account_and_email_grades_and_missing_values_are_not_compared() -> None:
    c = compare_contacts(PersonRecord("Jane", None, email="jane@acme.com", account_id="a1"),
                         PersonRecord(None, "Doe", email="jd@other.com", account_id="a2", phone=PHONE))
    assert (c.account, c.email) == ("differ", "differ")
    assert c.first_name is None and c.last_name is None and c.phone is None
    assert compare_contacts(PersonRecord(account_id="a1"), PersonRecord(account_id="a1")).account == "same"


def test_missing_values_weigh_nothing() -> None:
    base = PersonRecord("Jane", "Doe", phone=PHONE)
    other = PersonRecord("Jane", "Doh", phone=PHONE)
    with_extra = replace(other, account_id="acct_9", email="jane@example.com")  # only one side has them
    assert contact_duplicate_confidence(base, other) == contact_duplicate_confidence(base, with_extra)
    assert "account" not in weigh_contacts(base, with_extra).parts


def test_same_name_and_phone_is_a_duplicate_with_a_reason() -> None:
    verdict = contact_duplicate_confidence(
        PersonRecord("Jane", "Doe", email="jane@acme.com", phone=PHONE),
        PersonRecord("jane", "DOE", email="jdoe@gmail.com", phone=PHONE),
    )
    assert verdict.is_duplicate and "phone same" in verdict.reason and "differ: e-mail" in verdict.reason


def test_transposed_digits_in_the_phone_still_make_a_duplicate() -> None:
    verdict = contact_duplicate_confidence(PersonRecord("Jane", "Doe", phone=PHONE),
                                           PersonRecord("Jane", "Doe", phone="+442079469058"))
    assert verdict.is_duplicate and "two digits swapped" in verdict.reason


def test_swapped_first_and_last_name_are_recognised() -> None:
    a, b = PersonRecord("Jane", "Doe", phone=PHONE), PersonRecord("Doe", "Jane", phone=PHONE)
    assert compare_contacts(a, b).swapped
    verdict = contact_duplicate_confidence(a, b)
    assert verdict.is_duplicate and "swapped" in verdict.reason
    # The swap costs a little: the same record written straight is surer.
    assert weigh_contacts(a, b).total == weigh_contacts(a, a).total - DEFAULT_WEIGHTS.swap_penalty


def test_same_name_at_same_account_is_a_duplicate_but_not_at_another() -> None:
    a = PersonRecord("Jane", "Doe", account_id="acct_1")
    same = contact_duplicate_confidence(a, PersonRecord("Jane", "Doe", account_id="acct_1"))
    assert same.is_duplicate and "same account acct_1" in same.reason
    other = contact_duplicate_confidence(a, PersonRecord("Jane", "Doe", account_id="acct_2"))
    assert not other.is_duplicate and other.confidence > 0.5  # a candidate, not a merge


def test_a_name_alone_is_never_a_duplicate_whatever_the_weights() -> None:
    a, b = PersonRecord("Jane", "Doe"), PersonRecord("Jane", "Doe")
    verdict = contact_duplicate_confidence(a, b)
    assert not verdict.is_duplicate and verdict.confidence == CANDIDATE_CAP
    assert "a name alone is not enough" in verdict.reason
    heavy = replace(DEFAULT_WEIGHTS, first_name={**DEFAULT_WEIGHTS.first_name, "exact": 40.0})
    assert not contact_duplicate_confidence(a, b, heavy).is_duplicate
    assert not contact_duplicate_confidence(a, replace(b, phone=PHONE), heavy).is_duplicate  # one side only


def test_names_that_disagree_are_not_made_one_person_by_a_shared_phone_and_account() -> None:
    a = PersonRecord("Jane", "Doe", phone=PHONE, account_id="acme")  # the switchboard
    verdict = contact_duplicate_confidence(a, PersonRecord("Oliver", "Martinez", phone=PHONE, account_id="acme"))
    assert not verdict.is_duplicate and "differ: first name, last name" in verdict.reason
    # No names at all do not disagree: the phone and the account decide.
    assert contact_duplicate_confidence(PersonRecord(phone=PHONE, account_id="acme"),
                                        PersonRecord(phone=PHONE, account_id="acme")).is_duplicate


def test_different_emails_lower_the_confidence() -> None:
    a = PersonRecord("Jane", "Doe", account_id="acme", phone=PHONE)
    b = PersonRecord("Jane", "Doe", account_id="acme", phone="+443179460000")
    plain = contact_duplicate_confidence(a, b)
    with_emails = contact_duplicate_confidence(replace(a, email="jane@acme.com"), replace(b, email="jd@gmail.com"))
    assert 0.9 <= with_emails.confidence < plain.confidence < 1.0


def test_different_people_with_different_phones_are_not_duplicates() -> None:
    verdict = contact_duplicate_confidence(
        PersonRecord("Jane", "Doe", phone=PHONE),
        PersonRecord("John", "Dole", phone="+442079460000"),
    )
    assert not verdict.is_duplicate and verdict.confidence < 0.6


def test_confidence_is_point_nine_at_the_threshold_and_grows_with_weight() -> None:
    a, b = PersonRecord("Jane", "Doe", account_id="acme"), PersonRecord("Jane", "Doe", account_id="acme")
    total = weigh_contacts(a, b).total
    at = contact_duplicate_confidence(a, b, replace(DEFAULT_WEIGHTS, threshold=total))
    assert at.confidence == 0.9 and at.is_duplicate
    below = contact_duplicate_confidence(a, b, replace(DEFAULT_WEIGHTS, threshold=total - 3.17))  # odds x9
    assert below.confidence == 0.988


def test_weights_that_break_the_engines_rules_are_refused() -> None:
    with pytest.raises(ValueError, match="same name and phone"):
        replace(DEFAULT_WEIGHTS, threshold=50.0)
    name_and_phone = (DEFAULT_WEIGHTS.first_name["exact"] + DEFAULT_WEIGHTS.last_name["exact"]
                      + DEFAULT_WEIGHTS.phone["exact"] + DEFAULT_WEIGHTS.email["differ"])
    with pytest.raises(ValueError, match="same name at the same account"):
        replace(DEFAULT_WEIGHTS, threshold=name_and_phone, account={"same": 1.0, "differ": -2.0})
    with pytest.raises(ValueError, match="must weigh exactly"):
        replace(DEFAULT_WEIGHTS, first_name={"exact": 5.0, "differ": -1.0})
    with pytest.raises(ValueError, match="weigh most"):
        replace(DEFAULT_WEIGHTS, last_name={**DEFAULT_WEIGHTS.last_name, "close": 99.0})
    with pytest.raises(ValueError, match="different e-mails"):
        replace(DEFAULT_WEIGHTS, email={"differ": 1.0})
    assert isinstance(replace(DEFAULT_WEIGHTS, threshold=10.0), ContactWeights)


def test_name_similarity_tolerates_swaps() -> None:
    straight = name_similarity(PersonRecord("Jane", "Doe"), PersonRecord("Jane", "Doe"))
    swapped = name_similarity(PersonRecord("Jane", "Doe"), PersonRecord("Doe", "Jane"))
    assert straight == 1.0 and 0.95 <= swapped < 1.0
    assert name_similarity(PersonRecord(), PersonRecord("Jane", "Doe")) == 0.0


def test_cluster_duplicates_joins_pairs_transitively() -> None:
    clusters = cluster_duplicates([("a", "b"), ("d", "e"), ("b", "c"), ("c", "a")])
    assert clusters == [{"a", "b", "c"}, {"d", "e"}]
    assert cluster_duplicates([]) == []
    chain = cluster_duplicates((i, i + 1) for i in range(1000))  # deep chains stay iterative
    assert len(chain) == 1 and len(chain[0]) == 1001
