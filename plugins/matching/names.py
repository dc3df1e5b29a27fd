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

from cleanco.clean import normalized as _fold_accents
from cleanco.clean import prepare_default_terms

#: Legal-form token tuples, longest first, keyed by length for O(1) suffix checks.
_TERMS_BY_SIZE: dict[int, frozenset[tuple[str, ...]]] = {}
for _size, _parts in prepare_default_terms():
    _TERMS_BY_SIZE.setdefault(_size, frozenset())
    _TERMS_BY_SIZE[_size] = _TERMS_BY_SIZE[_size] | {tuple(_parts)}
_SIZES = sorted(_TERMS_BY_SIZE, reverse=True)

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
    text = _fold_accents(name)  # casefold + accents removed, cleanco's own folding
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


def compact(normalized: str) -> str:
    """The normalised name without spaces: "ab c" and "abc" compare equal."""
    return normalized.replace(" ", "")


def core_name(normalized: str) -> str:
    """The normalised name without generic words ("acme group" -> "acme")."""
    kept = [t for t in normalized.split() if t not in GENERIC_WORDS]
    return " ".join(kept) if kept else normalized
