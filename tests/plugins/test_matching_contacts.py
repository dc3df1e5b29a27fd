"""Contact de-duplication: canonical e-mail and same-person confidence."""

from __future__ import annotations

from plugins.matching.contacts import PersonRecord, canonical_email, contact_duplicate_confidence


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


def test_same_name_and_phone_is_a_duplicate_with_a_reason() -> None:
    verdict = contact_duplicate_confidence(
        PersonRecord("Jane", "Doe", email="jane@acme.com", phone="+442079460958"),
        PersonRecord("jane", "DOE", email="jdoe@gmail.com", phone="+442079460958"),
    )
    assert verdict.is_duplicate and "phone" in verdict.reason


def test_same_name_at_same_account_is_a_duplicate_but_not_at_another() -> None:
    a = PersonRecord("Jane", "Doe", account_id="acct_1")
    assert contact_duplicate_confidence(a, PersonRecord("Jane", "Doe", account_id="acct_1")).is_duplicate
    other = contact_duplicate_confidence(a, PersonRecord("Jane", "Doe", account_id="acct_2"))
    assert not other.is_duplicate and other.confidence > 0.5  # a candidate, not a merge


def test_different_people_with_different_phones_are_not_duplicates() -> None:
    verdict = contact_duplicate_confidence(
        PersonRecord("Jane", "Doe", phone="+442079460958"),
        PersonRecord("John", "Dole", phone="+442079460000"),
    )
    assert not verdict.is_duplicate and verdict.confidence < 0.6
