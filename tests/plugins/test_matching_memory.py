"""The in-memory account index (``InMemoryAccounts``): the AccountLookup tests and benchmarks use."""

from __future__ import annotations

import pytest

from hub.decisions import MatchKey
from plugins.matching import InMemoryAccounts
from plugins.matching.memory import MAX_POSTINGS_PER_KEY


def test_accounts_are_found_by_id_and_key_with_their_identifying_keys() -> None:
    book = InMemoryAccounts()
    book.add_account("acct_1", "Acme Corporation", ["https://www.acme.com"], ["+12025550143"],
                     parent_id="acct_0", country="us")
    assert len(book) == 1
    found = book.get("acct_1")
    assert (found.account_id, found.name, found.parent_id, found.country) == (
        "acct_1", "Acme Corporation", "acct_0", "US")
    # Identifying keys come back with the account; blocking keys only find it.
    assert set(found.keys) == {
        MatchKey("domain", "acme.com"), MatchKey("phone", "+12025550143"), MatchKey("name", "acme")}
    assert [c.account_id for c in book.candidates([MatchKey("name_prefix", "acme")])] == ["acct_1"]
    with pytest.raises(ValueError, match="exists"):
        book.add_account("acct_1", "Other")
    with pytest.raises(KeyError):
        book.get("acct_2")


def test_index_adds_keys_once() -> None:
    book = InMemoryAccounts()
    book.add_account("acct_1", "Acme", ["acme.com"])
    book.index("acct_1", [MatchKey("domain", "acme.de"), MatchKey("domain", "acme.com"), MatchKey("name_token", "x")])
    book.index("acct_1", [MatchKey("domain", "acme.de")])
    assert [k.value for k in book.get("acct_1").keys if k.kind == "domain"] == ["acme.com", "acme.de"]
    # Posted once: sharing the key twice over does not count twice.
    assert [c.account_id for c in book.candidates([MatchKey("domain", "acme.de")])] == ["acct_1"]


def test_a_rare_key_ranks_before_a_common_one_and_two_keys_before_one() -> None:
    book = InMemoryAccounts()
    for i in range(10):
        book.add(f"acct_common_{i}", f"Common {i}", [MatchKey("name_token", "tooling")])
    book.add("acct_rare", "Kessler", [MatchKey("name_token", "kessler")])
    book.add("acct_both", "Kessler Tooling", [MatchKey("name_token", "kessler"), MatchKey("name_token", "tooling")])
    keys = [MatchKey("name_token", "tooling"), MatchKey("name_token", "kessler")]
    ranked = [c.account_id for c in book.candidates(keys)]
    assert ranked[:2] == ["acct_both", "acct_rare"]
    assert set(ranked[2:]) == {f"acct_common_{i}" for i in range(10)}


def test_a_key_at_its_cap_takes_no_more_and_counts_only_alone() -> None:
    book = InMemoryAccounts()
    for i in range(MAX_POSTINGS_PER_KEY + 5):
        book.add(f"acct_{i}", f"Logistics {i}", [MatchKey("name_token", "logistics")])
    common = [MatchKey("name_token", "logistics")]
    assert len(book.candidates(common, limit=1000)) == MAX_POSTINGS_PER_KEY  # the first ones only
    book.add("acct_velkes", "Velkes Logistics", [MatchKey("name_token", "velkes"), *common])
    book.add("acct_other", "Velkes Foods", [MatchKey("name_token", "velkes")])
    # The capped key brings in none of its arbitrary first accounts beside a rarer key's.
    ids = [c.account_id for c in book.candidates([*common, MatchKey("name_token", "velkes")], limit=1000)]
    assert sorted(ids) == ["acct_other", "acct_velkes"]


def test_a_name_holding_the_record_separators_stays_readable() -> None:
    book = InMemoryAccounts()
    book.add("acct_mem_1", "Odd\x1fName\x1e Ltd", [MatchKey("name", "odd name")])
    assert book.get("acct_mem_1").name == "Odd Name  Ltd"  # separators of the packed record: spaces
    assert [k.value for k in book.get("acct_mem_1").keys] == ["odd name"]
