"""Company-name normalisation: the same company written ten ways gives one string.

cleanco knows the world's legal forms ("GmbH", "S.A.", "Pty Ltd"); its ``basename`` strips one
suffix per call and leaves known gaps, which this module closes:

- parentheses ("Acme Inc. (Europe)" -> "acme"): a qualifier, not the company's name;
- stacked suffixes ("Acme Co Ltd", "Acme Holdings GmbH & Co. KG"): stripped until none is left;
- a leading "The", "&" vs "and", accents ("Société" = "Societe"), case and punctuation.

We use cleanco's term list and accent folding, but match the terms with a dictionary of token
tuples instead of cleanco's linear scan over ~300 terms: the matcher has to normalise thousands of
names a second (see bench/matching.py).
"""

from __future__ import annotations

import re
from functools import lru_cache
from string import ascii_lowercase
from types import MappingProxyType

from cleanco.clean import normalized as _fold_accents
from cleanco.clean import prepare_default_terms


def _terms_by_size() -> dict[int, frozenset[tuple[str, ...]]]:
    by_size: dict[int, set[tuple[str, ...]]] = {}
    for size, parts in prepare_default_terms():
        by_size.setdefault(size, set()).add(tuple(parts))
    return {size: frozenset(terms) for size, terms in by_size.items()}


#: Legal-form token tuples, longest first, keyed by length for O(1) suffix checks.
_TERMS_BY_SIZE = MappingProxyType(_terms_by_size())
_SIZES = tuple(sorted(_TERMS_BY_SIZE, reverse=True))

#: Words that describe a company's shape, not which company it is: "Acme Group" is Acme. They are
#: kept in the normalised name (they can tell a parent from its subsidiary) but ignored when two
#: names differ only by them.
GENERIC_WORDS = frozenset(
    {"group", "holding", "holdings", "international", "intl", "global", "worldwide", "and", "of"}
)

_PARENS = re.compile(r"\([^)]*\)?|\[[^\]]*\]?")
_AMP = re.compile(r"\s*(?:&|\+)\s*")
_DOTTED_INITIALS = re.compile(r"\b(?:[a-z]\.){2,}")  # "s.a." / "g.m.b.h." -> "sa" / "gmbh"
_NON_WORD = re.compile(r"[^\w&]+")
_LEADING = frozenset({"the"})


def _tokens(name: str) -> list[str]:
    # casefold + accents removed, cleanco's own folding (ASCII has no accents: casefold alone)
    text = name.casefold() if name.isascii() else _fold_accents(name)
    text = _PARENS.sub(" ", text)
    text = _DOTTED_INITIALS.sub(lambda m: m.group(0).replace(".", "") + " ", text)
    text = text.replace("'", "").replace("\u2019", "")  # "McDonald's" = "McDonalds"
    text = _AMP.sub(" & ", text)
    return [t for t in _NON_WORD.sub(" ", text).replace("_", " ").split() if t]


def _strip_legal_suffixes(tokens: list[str]) -> list[str]:
    # Repeat until no suffix is left (stacked forms), always keeping at least one token.
    changed = True
    while changed and len(tokens) > 1:
        changed = False
        for size in _SIZES:
            if size < len(tokens) and tuple(tokens[-size:]) in _TERMS_BY_SIZE[size]:
                del tokens[-size:]
                changed = True
                break
        while len(tokens) > 1 and tokens[-1] in {"&", "and"}:  # "Smith &" left by "& Co"
            tokens.pop()
            changed = True
    return tokens


@lru_cache(maxsize=65536)
def normalize_company_name(name: str | None) -> str:
    """The comparable form of a company name: lower-case ASCII words, legal forms removed.

    >>> normalize_company_name("The Acme Co. Ltd (Europe)")
    'acme'
    >>> normalize_company_name("Müller & Söhne GmbH & Co. KG")
    'muller and sohne'

    Returns "" when nothing identifying is left (e.g. the name was only "Ltd.").
    """
    if not name:
        return ""
    tokens = _tokens(name)
    if len(tokens) > 1 and tokens[0] in _LEADING:
        tokens = tokens[1:]
    tokens = _strip_legal_suffixes(tokens)
    if len(tokens) == 1 and (tokens[0],) in _TERMS_BY_SIZE.get(1, frozenset()):
        return ""  # the whole name was a legal form ("Ltd."): nothing identifying is left
    return " ".join("and" if t == "&" else t for t in tokens)


def _slips(term: str) -> set[str]:
    """How a typo may leave a one-word legal form: any one-letter slip in 5 letters or more
    ("limitde", "crporation"), a letter dropped or two swapped in 4 ("gmh", "gbmh": a changed
    letter makes real words of them, "corp" -> "core"), two swapped in 3 ("ldt", "icn")."""
    slips = {term[:i] + term[i + 1] + term[i] + term[i + 2 :] for i in range(len(term) - 1)}
    if len(term) >= 4:
        slips |= {term[:i] + term[i + 1 :] for i in range(len(term))}
    if len(term) >= 5:
        slips |= {term[:i] + c + term[i + 1 :] for i in range(len(term)) for c in ascii_lowercase}
        slips |= {term[:i] + c + term[i:] for i in range(len(term) + 1) for c in ascii_lowercase}
    return slips


#: Mistyped one-word legal forms (a word of 1-2 letters after the name is taken for one anyway).
_MISTYPED_TERMS = frozenset(
    slip for (term,) in _TERMS_BY_SIZE.get(1, ()) if term.isalpha() and len(term) >= 3 for slip in _slips(term)
)
_THE_TYPOS = frozenset({"t", "th", "te", "he", "teh", "hte", "eth", "tthe", "thhe", "thee"})


def _legal_form_typo(word: str) -> bool:
    """A word after the name that is likely a legal form with a typo in it."""
    return word.isalpha() and (len(word) <= 2 or word in _MISTYPED_TERMS)


@lru_cache(maxsize=65536)
def loose_name(normalized: str) -> str:
    """``normalized`` without what is likely a mistyped legal form or "The" around it.

    >>> loose_name("acme limitde")
    'acme'
    >>> loose_name("th acme ldt")
    'acme'

    The normaliser strips legal forms it knows; a typo hides one ("Ldt", "Crporation", "Ic.").
    This is a looser reading for scoring only (a real word one letter from a legal form, as
    "Acme Crop", would go too): the scorer trusts it a little less than the name itself.
    """
    words = normalized.split()
    if len(words) > 1 and words[0] in _THE_TYPOS:
        words = words[1:]
    while len(words) > 1 and _legal_form_typo(words[-1]):
        words.pop()
    while len(words) > 1 and words[-1] == "and":
        words.pop()
    return " ".join(words)


_NO_WORDS: frozenset[str] = frozenset()


class NameForm:
    """A normalised name with the parts comparing it needs (:mod:`plugins.matching.scoring`)."""

    __slots__ = ("compact", "core", "core_compact", "core_tokens", "mixed", "numbers", "text", "tokens", "words")

    def __init__(self, text: str) -> None:
        self.text = text
        self.compact = compact(text)
        self.words = text.split()
        self.tokens = frozenset(self.words)
        if self.compact.isalpha():  # most names: no digits to tell apart
            self.numbers = self.mixed = _NO_WORDS
        else:
            self.numbers = frozenset(t for t in self.tokens if t.isdigit())
            # Digits among letters: a model name ("3m") or a misread letter ("sa1on", "4quarium").
            self.mixed = frozenset(t for t in self.tokens if not t.isalpha() and not t.isdigit())
        if self.tokens.isdisjoint(GENERIC_WORDS):
            self.core, self.core_compact, self.core_tokens = text, self.compact, self.tokens
        else:  # "acme group" -> "acme"
            self.core = core_name(text)
            self.core_compact = compact(self.core)
            self.core_tokens = self.tokens - GENERIC_WORDS


def compact(normalized: str) -> str:
    """The normalised name without spaces: "ab c" and "abc" compare equal."""
    return normalized.replace(" ", "")


def core_name(normalized: str) -> str:
    """The normalised name without generic words ("acme group" -> "acme")."""
    kept = [t for t in normalized.split() if t not in GENERIC_WORDS]
    return " ".join(kept) if kept else normalized
