"""Contact de-duplication as pure functions: the same person is one contact.

- :func:`canonical_email`: the address as the mailbox provider sees it (case; dots and
  ``+tags`` for providers that ignore them, such as Gmail), so two spellings are one key.
- :func:`contact_duplicate_confidence`: two contacts without the same e-mail can still be one
  person: same name and same phone, or same name at the same account. Returns a confidence and a
  reason in words; the engine decides what to do with it (merge, or flag as a candidate).
"""

from __future__ import annotations

from dataclasses import dataclass

from rapidfuzz.distance import JaroWinkler, Levenshtein

#: Providers that ignore dots in the local part and drop everything after "+".
_DOTLESS_PROVIDERS = frozenset({"gmail.com", "googlemail.com"})
#: Providers that drop everything after "+" but keep dots.
_PLUS_TAG_PROVIDERS = frozenset(
    {"outlook.com", "hotmail.com", "live.com", "msn.com", "icloud.com", "me.com", "mac.com",
     "fastmail.com", "fastmail.fm", "protonmail.com", "proton.me", "pm.me"}
)
_PROVIDER_ALIASES = {"googlemail.com": "gmail.com"}


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


def _clean(value: str | None) -> str:
    return " ".join((value or "").lower().replace("-", " ").replace(".", " ").split())


def name_similarity(a: PersonRecord, b: PersonRecord) -> float:
    """Jaro-Winkler similarity of the full names (0..1), tolerant of swapped first/last name."""
    a_first, a_last, b_first, b_last = map(_clean, (a.first_name, a.last_name, b.first_name, b.last_name))
    if not (a_last or a_first) or not (b_last or b_first):
        return 0.0
    straight = (JaroWinkler.similarity(a_first, b_first) + 2 * JaroWinkler.similarity(a_last, b_last)) / 3
    swapped = (JaroWinkler.similarity(a_first, b_last) + 2 * JaroWinkler.similarity(a_last, b_first)) / 3
    return max(straight, swapped * 0.97)  # a swap is likely a data-entry slip, slightly less sure


def _digits(phone: str | None) -> str:
    return "".join(ch for ch in phone or "" if ch.isdigit())


def contact_duplicate_confidence(a: PersonRecord, b: PersonRecord) -> DuplicateVerdict:
    """How likely ``a`` and ``b`` are the same person (0..1), with the reason.

    - same canonical e-mail: 1.0;
    - same name (Jaro-Winkler >= 0.9) and same phone: 0.97 (one typo in the phone: 0.9);
    - same name at the same account: 0.9 (two people of one name at one company are rare);
    - otherwise the name similarity scaled down: a weak candidate, never a duplicate on its own.
    """
    email_a, email_b = canonical_email(a.email), canonical_email(b.email)
    if email_a and email_a == email_b:
        return DuplicateVerdict(1.0, f"same e-mail {email_a}")
    names = name_similarity(a, b)
    phone_a, phone_b = _digits(a.phone), _digits(b.phone)
    name_words = f"name similarity {names:.2f}"
    if names >= 0.9 and phone_a and phone_b:
        if phone_a == phone_b:
            return DuplicateVerdict(round(0.87 + 0.1 * names, 3), f"same name ({name_words}) and phone")
        if Levenshtein.distance(phone_a, phone_b) == 1 and len(phone_a) >= 6:
            return DuplicateVerdict(round(0.8 + 0.1 * names, 3), f"same name ({name_words}), phone differs by one digit")
    if names >= 0.9 and a.account_id and a.account_id == b.account_id:
        return DuplicateVerdict(round(0.8 + 0.1 * names, 3), f"same name ({name_words}) at account {a.account_id}")
    conflicts = []
    if email_a and email_b:
        conflicts.append("different e-mails")
    if phone_a and phone_b and phone_a != phone_b:
        conflicts.append("different phones")
    confidence = names * (0.5 if conflicts else 0.7)
    why = f"{name_words} only" + (f"; {', '.join(conflicts)}" if conflicts else "")
    return DuplicateVerdict(round(confidence, 3), why)
