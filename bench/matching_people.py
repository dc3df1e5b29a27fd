"""A seeded synthetic population of B2B contacts with FEBRL-like noise, to fit contact weights on.

People come from Faker in eight locales (first and last name, a direct-line phone, an account
and, for most, a work e-mail). Duplicates copy a person and make one to four changes of the
kinds FEBRL's generator makes and CRM data shows: a typing slip in a name (a letter replaced,
added, dropped or two swapped), a spelling variant ("ph"/"f", doubled letters), a space inside a
name, another first name (a nickname or a middle name), first and last name swapped, the first
name cut to its initial, a missing value, one or two digits wrong or swapped in the phone, a new
phone, a move to another account, a new e-mail. Each duplicate's original is drawn uniformly, so
the number of duplicates per person is about Poisson.

The frame has the columns the FEBRL frames get (``unique_id, given_name, surname, phone,
account, email``) and the true pairs are every pair within a person. Nothing here was tuned
to FEBRL's figures: the noise rates are round numbers chosen before looking at the fit.
"""

from __future__ import annotations

import random
import unicodedata
from itertools import combinations

import pandas as pd
from faker import Faker

LOCALES = ("en_AU", "en_GB", "en_US", "de_DE", "fr_FR", "it_IT", "es_ES", "nl_NL")
#: Spelling variants a name is often written with (either direction).
_VARIANTS = (("ph", "f"), ("ck", "k"), ("ie", "y"), ("ll", "l"), ("nn", "n"), ("tt", "t"), ("ss", "s"),
             ("c", "k"), ("ey", "y"), ("ou", "ow"), ("th", "t"), ("mm", "m"), ("i", "y"), ("z", "s"))
#: Change kinds and their relative frequency.
_CHANGES = {
    "typo_first": 8, "typo_last": 8, "variant_first": 3, "variant_last": 3, "space_last": 2, "other_first": 3,
    "swap_names": 3, "initial_first": 2, "missing_first": 2, "missing_last": 1, "phone_digit": 4,
    "phone_swap": 3, "phone_two": 1, "phone_new": 4, "missing_phone": 2, "account_move": 5, "missing_account": 1,
    "email_new": 4, "missing_email": 2,
}
_LETTERS = "abcdefghijklmnopqrstuvwxyz"


def _ascii(value: str) -> str:
    return unicodedata.normalize("NFKD", value).encode("ascii", "ignore").decode().lower().replace(" ", "")


def _typo(rng: random.Random, value: str) -> str:
    if len(value) < 2:
        return value + rng.choice(_LETTERS)
    i = rng.randrange(len(value) - 1)
    kind = rng.choice(("replace", "insert", "drop", "swap"))
    if kind == "replace":
        return value[:i] + rng.choice(_LETTERS) + value[i + 1:]
    if kind == "insert":
        return value[:i] + rng.choice(_LETTERS) + value[i:]
    if kind == "drop":
        return value[:i] + value[i + 1:]
    return value[:i] + value[i + 1] + value[i] + value[i + 2:]


def _variant(rng: random.Random, value: str) -> str:
    options = [(a, b) for a, b in _VARIANTS if a in value] + [(b, a) for a, b in _VARIANTS if b in value]
    if not options:
        return _typo(rng, value)
    a, b = rng.choice(options)
    return value.replace(a, b, 1)


def _digit_change(rng: random.Random, phone: str, edits: int) -> str:
    digits = list(phone)
    for _ in range(edits):
        i = rng.randrange(len(digits))
        digits[i] = rng.choice([d for d in "0123456789" if d != digits[i]])
    return "".join(digits)


def _digit_swap(rng: random.Random, phone: str) -> str:
    places = [i for i in range(len(phone) - 1) if phone[i] != phone[i + 1]]
    if not places:
        return _digit_change(rng, phone, 1)
    i = rng.choice(places)
    return phone[:i] + phone[i + 1] + phone[i] + phone[i + 2:]


class People:
    """The generator: ``People(seed).frame(originals, duplicates)`` -> (frame, true pairs)."""

    def __init__(self, seed: int, accounts: int = 1_000) -> None:
        self.rng = random.Random(seed)
        self.fake = Faker(list(LOCALES))
        self.fake.seed_instance(seed)
        self.accounts = accounts
        self.blocks: dict[str, str] = {}

    def _digits(self, n: int) -> str:
        return "".join(self.rng.choice("0123456789") for _ in range(n))

    def _phone(self, account: str | None = None) -> str:
        """E.164 digits: a direct line in the account's number block (colleagues differ in the
        last three digits), or without an account a mobile."""
        if account is None:
            return "614" + self._digits(8)
        if account not in self.blocks:
            self.blocks[account] = "61" + self.rng.choice("2378") + self._digits(5)
        return self.blocks[account] + self._digits(3)

    def _account(self) -> str:
        # Log-uniform account index: a few large accounts, many small ones.
        return f"acct{int(self.accounts ** self.rng.random())}"

    def person(self) -> dict[str, str | None]:
        first, last = _ascii(self.fake.first_name()), _ascii(self.fake.last_name())
        account = self._account()
        email = f"{first}.{last}@{account}.example" if self.rng.random() < 0.7 else None
        return {"given_name": first, "surname": last, "phone": self._phone(account), "account": account, "email": email}

    def change(self, record: dict[str, str | None], kind: str) -> None:
        rng, first, last, phone = self.rng, record["given_name"], record["surname"], record["phone"]
        if kind in ("typo_first", "variant_first", "initial_first", "other_first") and not first:
            kind = "typo_last"
        if kind in ("typo_last", "variant_last", "space_last") and not last:
            kind = "phone_digit"
        if kind.startswith("phone_") and not phone:
            kind = "account_move"
        if kind == "typo_first":
            record["given_name"] = _typo(rng, first or "")
        elif kind == "typo_last":
            record["surname"] = _typo(rng, last or "")
        elif kind == "variant_first":
            record["given_name"] = _variant(rng, first or "")
        elif kind == "variant_last":
            record["surname"] = _variant(rng, last or "")
        elif kind == "space_last" and last and len(last) > 3:
            i = rng.randrange(2, len(last) - 1)
            record["surname"] = f"{last[:i]} {last[i:]}"
        elif kind == "other_first":
            record["given_name"] = _ascii(self.fake.first_name())
        elif kind == "swap_names":
            record["given_name"], record["surname"] = last, first
        elif kind == "initial_first":
            record["given_name"] = (first or "x")[0]
        elif kind == "phone_digit":
            record["phone"] = _digit_change(rng, phone or "", 1)
        elif kind == "phone_two":
            record["phone"] = _digit_change(rng, phone or "", 2)
        elif kind == "phone_swap":
            record["phone"] = _digit_swap(rng, phone or "")
        elif kind == "phone_new":
            record["phone"] = self._phone()
        elif kind == "account_move":
            record["account"] = self._account()
        elif kind == "email_new":
            record["email"] = f"{first or 'x'}{rng.randrange(100)}@gmail.com"
        elif kind.startswith("missing_"):
            record[{"first": "given_name", "last": "surname"}.get(kind[8:], kind[8:])] = None

    def frame(self, originals: int = 2_000, duplicates: int = 3_000) -> tuple[pd.DataFrame, set[tuple[str, str]]]:
        """``originals`` people and ``duplicates`` noisy copies of them; the true pairs."""
        rows, members = [], {}
        for i in range(originals):
            rows.append({"unique_id": f"p{i}-org", **self.person()})
            members[i] = [f"p{i}-org"]
        kinds, freq = list(_CHANGES), list(_CHANGES.values())
        for j in range(duplicates):
            i = self.rng.randrange(originals)
            record = dict(rows[i])
            for kind in self.rng.choices(kinds, freq, k=self.rng.choice((1, 1, 2, 2, 3, 4))):
                self.change(record, kind)
            record["unique_id"] = f"p{i}-dup-{j}"
            rows.append(record)
            members[i].append(record["unique_id"])
        truth = {(a, b) if a < b else (b, a) for ids in members.values() for a, b in combinations(ids, 2)}
        return pd.DataFrame(rows).astype(object), truth
