"""Contact de-duplication as pure functions: the same person is one contact.

- :func:`canonical_email`: the address as the mailbox provider sees it (case; dots and
  ``+tags`` for providers that ignore them, such as Gmail), so two spellings are one key.
- :func:`contact_duplicate_confidence`: two contacts without the same e-mail can still be one
  person. Each field is compared and graded (Fellegi-Sunter): first and last name exact /
  close / similar / initial / different, tolerant of swapped first and last names; the phone
  exact / transposed digits / one edit / two edits / different; the account same or not; the
  e-mails different. Each grade has a weight, the log2 of how much likelier it is between two
  records of one person than between two people (:class:`ContactWeights`); the weights are
  summed and mapped to a confidence, 0.9 at the weights' threshold. A missing value weighs
  nothing. The reason names the fields that agreed and those that did not.
- Rules the engine relies on, whatever the weights: the same canonical e-mail is the same
  person (1.0); a name alone, with nothing else agreeing, is never a duplicate; names that
  disagree are never a duplicate, however much else agrees (a switchboard phone is shared by a
  whole company; missing names do not disagree). :class:`ContactWeights` refuses weights under
  which the same name and phone, or the same name at the same account, would not be one.
- :func:`cluster_duplicates`: duplicates are transitive once contacts merge (union-find).

The default weights were fitted on a seeded synthetic population of people with typing noise
(bench/matching_febrl.py, ``--fit``), not on the FEBRL sets the benchmark reports.
"""

from __future__ import annotations

import math
import unicodedata
from collections.abc import Hashable, Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TypeVar

from rapidfuzz.distance import OSA, JaroWinkler, Levenshtein

#: Providers that ignore dots in the local part and drop everything after "+".
_DOTLESS_PROVIDERS = frozenset({"gmail.com", "googlemail.com"})
#: Providers that drop everything after "+" but keep dots.
_PLUS_TAG_PROVIDERS = frozenset(
    {"outlook.com", "hotmail.com", "live.com", "msn.com", "icloud.com", "me.com", "mac.com",
     "fastmail.com", "fastmail.fm", "protonmail.com", "proton.me", "pm.me"}
)
_PROVIDER_ALIASES = MappingProxyType({"googlemail.com": "gmail.com"})

#: Grades of one name part, best first, and of the phone; the account and e-mail grades.
NAME_LEVELS = ("exact", "close", "similar", "initial", "differ")
PHONE_LEVELS = ("exact", "transposed", "one_edit", "two_edits", "differ")
ACCOUNT_LEVELS = ("same", "differ")
EMAIL_LEVELS = ("differ",)  # the same canonical e-mail is decided before any weighing
#: Jaro-Winkler similarity of a name part at or above which it is "close", and "similar".
CLOSE_NAME, SIMILAR_NAME = 0.92, 0.85
#: Shortest phone (digits) whose near misses count: one edit on a short number is another number.
MIN_PHONE_DIGITS = 6
#: The confidence a pair is held under when a rule says it is at most a candidate.
CANDIDATE_CAP = 0.85
#: Odds at the threshold: a total weight equal to the threshold maps to confidence 0.9.
_ODDS_AT_THRESHOLD = 9.0


def canonical_email(email: str | None) -> str | None:
    """The canonical form of an e-mail address, or ``None`` when it is not an address.

    >>> canonical_email("John.Smith+news@GoogleMail.com")
    'johnsmith@gmail.com'
    """
    if not email or "@" not in email:
        return None
    local, _, domain = email.strip().lower().rpartition("@")
    if not local or not domain or "." not in domain:
        return None
    domain = domain.rstrip(".")
    if domain in _DOTLESS_PROVIDERS:
        local = local.split("+", 1)[0].replace(".", "")
    elif domain in _PLUS_TAG_PROVIDERS:
        local = local.split("+", 1)[0]
    return f"{local}@{_PROVIDER_ALIASES.get(domain, domain)}"


@dataclass(frozen=True)
class PersonRecord:
    """What contact de-dup compares: a person's name, ways to reach them, and their account."""

    first_name: str | None = None
    last_name: str | None = None
    email: str | None = None
    phone: str | None = None  # E.164 (or any identifier that is unique per person)
    account_id: str | None = None


@dataclass(frozen=True)
class DuplicateVerdict:
    """How sure we are that two contacts are one person, and why."""

    confidence: float
    reason: str

    @property
    def is_duplicate(self) -> bool:
        return self.confidence >= 0.9


def _frozen(weights: Mapping[str, float]) -> Mapping[str, float]:
    return MappingProxyType({k: float(v) for k, v in weights.items()})


@dataclass(frozen=True)
class ContactWeights:
    """Weight (log2 likelihood ratio, in bits) of each grade of each field, and the threshold.

    ``threshold``: the total weight at which two contacts are a duplicate (confidence 0.9); each
    bit more halves the odds against. ``swap_penalty``: taken off when the names agree only once
    first and last are swapped (a data-entry slip, but a slip). Validated on creation: every
    grade weighed, a field's best grade weighs most and "differ" least, different e-mails weigh
    nothing or less, and the same full name with the same phone (even with different e-mails),
    or at the same account, reaches the threshold.
    """

    first_name: Mapping[str, float]
    last_name: Mapping[str, float]
    phone: Mapping[str, float]
    account: Mapping[str, float]
    email: Mapping[str, float]
    threshold: float
    swap_penalty: float = 1.0

    def __post_init__(self) -> None:
        tables = (("first_name", NAME_LEVELS), ("last_name", NAME_LEVELS), ("phone", PHONE_LEVELS),
                  ("account", ACCOUNT_LEVELS), ("email", EMAIL_LEVELS))
        for name, levels in tables:
            table = getattr(self, name)
            missing = [level for level in levels if level not in table]
            if missing or set(table) - set(levels):
                raise ValueError(f"ContactWeights.{name} must weigh exactly {', '.join(levels)} (got {sorted(table)})")
            if len(levels) > 1 and not table[levels[0]] == max(table.values()) > min(table.values()) == table["differ"]:
                raise ValueError(f"ContactWeights.{name}: {levels[0]!r} must weigh most and 'differ' least")
            object.__setattr__(self, name, _frozen(table))
        if self.email["differ"] > 0:
            raise ValueError("ContactWeights.email: different e-mails cannot make a duplicate likelier")
        same_name = self.first_name["exact"] + self.last_name["exact"]
        if same_name + self.phone["exact"] + self.email["differ"] < self.threshold:
            raise ValueError("ContactWeights: the same name and phone must reach the threshold")
        if same_name + self.account["same"] < self.threshold:
            raise ValueError("ContactWeights: the same name at the same account must reach the threshold")
        if self.swap_penalty < 0:
            raise ValueError("ContactWeights.swap_penalty cannot be negative")


#: Fitted by ``bench/matching_febrl.py --fit`` on the seeded synthetic population (seed 7,
#: 5,000 records; bench/matching_people.py), never on the FEBRL sets the benchmark reports.
#: Reads as: an exact last name is 2^9.9 (about 950) times likelier between two records of one person than
#: between two people; a different e-mail is weak evidence against (people change jobs).
DEFAULT_WEIGHTS = ContactWeights(
    first_name={"exact": 9.6, "close": 8.0, "similar": 5.2, "initial": 3.6, "differ": -2.6},
    last_name={"exact": 9.9, "close": 8.7, "similar": 6.0, "initial": 1.7, "differ": -4.4},
    phone={"exact": 14.4, "transposed": 12.4, "one_edit": 8.3, "two_edits": 3.9, "differ": -2.3},
    account={"same": 5.3, "differ": -2.0},
    email={"differ": -2.4},
    threshold=17.5,
)


@dataclass(frozen=True)
class ContactComparison:
    """The grade of each field for a pair of contacts; ``None`` where either side has no value."""

    first_name: str | None = None
    last_name: str | None = None
    swapped: bool = False  # the names compared crosswise (first with last) agreed better
    phone: str | None = None
    account: str | None = None
    email: str | None = None
    similarity: Mapping[str, float] = field(default_factory=dict)  # Jaro-Winkler per name part

    def weights(self, weights: ContactWeights) -> dict[str, float]:
        """The weight of each graded field (missing fields are absent: they weigh nothing)."""
        out = {}
        for name in ("first_name", "last_name", "phone", "account", "email"):
            level = getattr(self, name)
            if level is not None and not (name == "email" and level == "same"):  # decided before weighing
                out[name] = getattr(weights, name)[level]
        if self.swapped:
            out["swap"] = -weights.swap_penalty
        return out


def _clean(value: str | None) -> str:
    folded = unicodedata.normalize("NFKD", value or "").encode("ascii", "ignore").decode()
    return " ".join(folded.lower().replace("-", " ").replace(".", " ").replace("'", "").split())


def _name_level(x: str, y: str) -> tuple[str, float] | None:
    """Grade of two cleaned name parts and their similarity; ``None`` if either is empty."""
    if not x or not y:
        return None
    x, y = x.replace(" ", ""), y.replace(" ", "")  # "Mc Donald" is "McDonald"
    if x == y:
        return "exact", 1.0
    if len(x) == 1 or len(y) == 1:
        return ("initial" if x[0] == y[0] else "differ"), 0.0
    similarity = JaroWinkler.similarity(x, y)
    if similarity >= CLOSE_NAME:
        return "close", similarity
    return ("similar" if similarity >= SIMILAR_NAME else "differ"), similarity


def _digits(phone: str | None) -> str:
    return "".join(ch for ch in phone or "" if ch.isdigit())


def _phone_level(x: str, y: str) -> str | None:
    if not x or not y:
        return None
    if x == y:
        return "exact"
    if min(len(x), len(y)) < MIN_PHONE_DIGITS:
        return "differ"
    edits = Levenshtein.distance(x, y, score_cutoff=2)
    if edits == 1:
        return "one_edit"
    if edits == 2:
        # Two adjacent digits swapped: one slip, not two (optimal string alignment counts it once).
        return "transposed" if OSA.distance(x, y) == 1 else "two_edits"
    return "differ"


def compare_contacts(a: PersonRecord, b: PersonRecord, weights: ContactWeights | None = None) -> ContactComparison:
    """Grade each field of ``a`` against ``b``; the names straight or swapped, whichever agrees
    better under ``weights`` (the defaults if ``None``)."""
    weights = weights or DEFAULT_WEIGHTS
    a_first, a_last, b_first, b_last = map(_clean, (a.first_name, a.last_name, b.first_name, b.last_name))

    def names(p: str, q: str, r: str, s: str) -> tuple[tuple[str, float] | None, tuple[str, float] | None, float]:
        first, last = _name_level(p, q), _name_level(r, s)
        total = (weights.first_name[first[0]] if first else 0.0) + (weights.last_name[last[0]] if last else 0.0)
        return first, last, total

    first, last, straight = names(a_first, b_first, a_last, b_last)
    swapped = False
    if a_first != b_first or a_last != b_last:
        s_first, s_last, crosswise = names(a_first, b_last, a_last, b_first)
        if crosswise - weights.swap_penalty > straight:
            first, last, swapped = s_first, s_last, True
    email_a, email_b = canonical_email(a.email), canonical_email(b.email)
    similarity = {k: round(v[1], 3) for k, v in (("first_name", first), ("last_name", last)) if v}
    return ContactComparison(
        first_name=first[0] if first else None,
        last_name=last[0] if last else None,
        swapped=swapped,
        phone=_phone_level(_digits(a.phone), _digits(b.phone)),
        account=None if not (a.account_id and b.account_id) else ("same" if a.account_id == b.account_id else "differ"),
        email=None if not (email_a and email_b) else ("same" if email_a == email_b else "differ"),
        similarity=similarity,
    )


def name_similarity(a: PersonRecord, b: PersonRecord) -> float:
    """Jaro-Winkler similarity of the full names (0..1), tolerant of swapped first/last name."""
    a_first, a_last, b_first, b_last = map(_clean, (a.first_name, a.last_name, b.first_name, b.last_name))
    if not (a_last or a_first) or not (b_last or b_first):
        return 0.0
    straight = (JaroWinkler.similarity(a_first, b_first) + 2 * JaroWinkler.similarity(a_last, b_last)) / 3
    swapped = (JaroWinkler.similarity(a_first, b_last) + 2 * JaroWinkler.similarity(a_last, b_first)) / 3
    return max(straight, swapped * 0.97)  # a swap is likely a data-entry slip, slightly less sure


_WORDS = MappingProxyType({"first_name": "first name", "last_name": "last name", "phone": "phone",
                           "account": "account", "email": "e-mail"})
_GRADES = MappingProxyType({"exact": "same", "close": "close", "similar": "similar", "initial": "initial",
                            "transposed": "two digits swapped", "one_edit": "one digit off",
                            "two_edits": "two digits off", "same": "same"})


def _reason(comparison: ContactComparison, parts: Mapping[str, float], total: float, a: PersonRecord) -> str:
    agree, differ = [], []
    for name in parts:
        if name == "swap":
            continue
        level = getattr(comparison, name)
        if level == "differ":
            differ.append(_WORDS[name])
            continue
        words = f"{_WORDS[name]} {_GRADES[level]}"
        if level in ("close", "similar"):
            words += f" ({comparison.similarity[name]:.2f})"
        if name == "account":
            words = f"same account {a.account_id}"
        agree.append(words)
    text = "agree: " + (", ".join(agree) or "nothing")
    if comparison.swapped:
        text += " (first and last name swapped)"
    if differ:
        text += "; differ: " + ", ".join(differ)
    return f"{text}; weight {total:+.1f}"


@dataclass(frozen=True)
class ContactEvidence:
    """Everything weighed for a pair, before it is mapped to a confidence.

    ``held_back``: why the pair is at most a candidate whatever its weight (``None``: it is not).
    """

    comparison: ContactComparison
    parts: Mapping[str, float]
    total: float
    same_email: bool
    held_back: str | None

    def is_duplicate_at(self, threshold: float) -> bool:
        """The verdict at another threshold (what a threshold sweep needs)."""
        return self.same_email or (self.held_back is None and self.total >= threshold)


def weigh_contacts(a: PersonRecord, b: PersonRecord, weights: ContactWeights | None = None) -> ContactEvidence:
    """The graded comparison of ``a`` and ``b``, each grade's weight, the total and the rules."""
    weights = weights or DEFAULT_WEIGHTS
    comparison = compare_contacts(a, b, weights)
    parts = comparison.weights(weights)
    name_weight = sum(parts.get(k, 0.0) for k in ("first_name", "last_name", "swap"))
    held_back = None
    if not any(parts.get(k, 0.0) > 0 for k in ("phone", "account")):
        held_back = "a name alone is not enough"
    elif name_weight < 0:
        held_back = "the names do not agree"
    return ContactEvidence(comparison, parts, sum(parts.values()), comparison.email == "same", held_back)


def contact_duplicate_confidence(a: PersonRecord, b: PersonRecord,
                                 weights: ContactWeights | None = None) -> DuplicateVerdict:
    """How likely ``a`` and ``b`` are the same person (0..1), with the reason.

    - the same canonical e-mail: 1.0;
    - otherwise the graded fields' weights (``weights``, the defaults if ``None``) are summed
      and mapped to a confidence that is 0.9 at ``weights.threshold``: the same name and phone,
      or the same name at the same account, is a duplicate; different e-mails lower it;
    - at most a candidate (:data:`CANDIDATE_CAP`) when nothing but the name agrees, or when the
      names, straight or swapped, weigh less than nothing (a shared phone or account alone;
      missing names weigh nothing and let the phone and account decide).
    """
    weights = weights or DEFAULT_WEIGHTS
    evidence = weigh_contacts(a, b, weights)
    if evidence.same_email:
        return DuplicateVerdict(1.0, f"same e-mail {canonical_email(a.email)}")
    odds_exponent = max(-60.0, min(60.0, evidence.total - weights.threshold))
    confidence = 1.0 / (1.0 + 1.0 / (_ODDS_AT_THRESHOLD * math.pow(2.0, odds_exponent)))
    # Rounding must not carry a pair across the threshold either way.
    confidence = max(confidence, 0.9) if evidence.total >= weights.threshold else min(confidence, 0.899)
    reason = _reason(evidence.comparison, evidence.parts, evidence.total, a)
    if evidence.held_back and confidence > CANDIDATE_CAP:
        confidence = CANDIDATE_CAP
        reason += f" ({evidence.held_back})"
    return DuplicateVerdict(round(confidence, 3), reason)


_H = TypeVar("_H", bound=Hashable)


def cluster_duplicates(pairs: Iterable[tuple[_H, _H]]) -> list[set[_H]]:
    """Group duplicate pairs into people: if a is b and b is c, a is c (connected components).

    Contacts that merge merge transitively, so this is what a set of duplicate verdicts comes to
    once acted on. Union-find with path halving; clusters of two or more, largest first.
    """
    parent: dict[_H, _H] = {}

    def root(x: _H) -> _H:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for a, b in pairs:
        parent.setdefault(a, a)
        parent.setdefault(b, b)
        ra, rb = root(a), root(b)
        if ra != rb:
            parent[rb] = ra
    groups: dict[_H, set[_H]] = {}
    for x in parent:
        groups.setdefault(root(x), set()).add(x)
    return sorted((g for g in groups.values() if len(g) > 1), key=len, reverse=True)
