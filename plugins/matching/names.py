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
from collections.abc import Mapping
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


# -- qualifiers: where in the world a name says the company is ------------------------------------
#: Country names and codes as they qualify a company name ("Acme (UK)", "Acme Deutschland"), read
#: as ISO 3166 codes; a qualifier naming a country is compared by its code.
COUNTRY_WORDS: Mapping[str, str] = MappingProxyType({
    "uk": "GB", "u k": "GB", "gb": "GB", "great britain": "GB", "britain": "GB", "united kingdom": "GB",
    "england": "GB", "scotland": "GB", "wales": "GB", "usa": "US", "us": "US", "u s": "US", "u s a": "US",
    "america": "US", "united states": "US", "united states of america": "US", "canada": "CA", "mexico": "MX",
    "deutschland": "DE", "germany": "DE", "de": "DE", "france": "FR", "fr": "FR", "espana": "ES", "spain": "ES",
    "es": "ES", "italia": "IT", "italy": "IT", "it": "IT", "nederland": "NL", "netherlands": "NL",
    "holland": "NL", "nl": "NL", "belgium": "BE", "belgique": "BE", "belgie": "BE", "schweiz": "CH",
    "suisse": "CH", "switzerland": "CH", "austria": "AT", "osterreich": "AT", "ireland": "IE", "eire": "IE",
    "portugal": "PT", "sweden": "SE", "sverige": "SE", "norway": "NO", "norge": "NO", "denmark": "DK",
    "danmark": "DK", "finland": "FI", "suomi": "FI", "poland": "PL", "polska": "PL", "czech republic": "CZ",
    "czechia": "CZ", "hungary": "HU", "greece": "GR", "turkey": "TR", "turkiye": "TR", "india": "IN",
    "china": "CN", "japan": "JP", "korea": "KR", "singapore": "SG", "australia": "AU", "new zealand": "NZ",
    "brazil": "BR", "brasil": "BR", "argentina": "AR", "chile": "CL", "colombia": "CO", "south africa": "ZA",
    "israel": "IL", "uae": "AE", "dubai": "AE", "hong kong": "HK", "taiwan": "TW", "luxembourg": "LU",
})
#: Regions a company name may be qualified by: compared with other regions only ("Acme Europe"
#: neither agrees nor disagrees with "Acme (France)").
REGION_WORDS = frozenset({
    "europe", "emea", "dach", "benelux", "iberia", "nordics", "nordic", "scandinavia", "apac", "asia",
    "americas", "latam", "north america", "south america", "latin america", "middle east", "africa",
    "asia pacific", "eu",
})
#: Words in a parenthesis that say what an account is for, not where it is ("Acme (HQ)").
_NOT_PLACES = frozenset({
    "hq", "headquarters", "head office", "main", "office", "sales", "marketing", "support", "billing", "old",
    "new", "inactive", "duplicate", "dup", "do not use", "dnu", "parent", "prospect", "customer", "test",
    "holding", "holdings", "group", "international", "global", "formerly", "fka", "aka", "dba",
})
#: Words that make a longer qualifier a note, not a place ("Sales Office", "formerly Acme").
_NOTE_WORDS = frozenset({
    "hq", "headquarters", "office", "sales", "marketing", "support", "billing", "inactive", "duplicate", "dup",
    "use", "dnu", "parent", "prospect", "customer", "test", "formerly", "fka", "aka", "dba", "account",
})
#: The last word of each country or region name: a name without one among its last words (and
#: without brackets or a dash) has no place.
_PLACE_WORDS = frozenset(phrase.split()[-1] for phrase in (*COUNTRY_WORDS, *REGION_WORDS)
                         if len(phrase.split()[-1]) > 2 or phrase == "uk")
_QUALIFIER = re.compile(r"\(([^)]*)\)?|\[([^\]]*)\]?")
_DASH_TAIL = re.compile(r"\s+[-\u2013\u2014|]\s+([^-\u2013\u2014|]+)$")


def _qualifier_text(text: str) -> str:
    words = [w for w in _NON_WORD.sub(" ", text).replace("_", " ").split() if w]
    words = _strip_legal_suffixes(words) if len(words) > 1 else words
    joined = " ".join(words)
    if joined in COUNTRY_WORDS:
        return COUNTRY_WORDS[joined]
    if not joined or joined in _NOT_PLACES or joined.isdigit() or (joined,) in _TERMS_BY_SIZE.get(1, frozenset()):
        return ""
    if any(w in _NOTE_WORDS for w in words):
        return ""  # "Sales Office", "formerly Acme": not a place
    return joined


#: Two-letter words taken for a country at the end of a name ("Acme UK"); "de", "it" and "us"
#: end too many names as words.
_TRAILING_CODES = frozenset({"uk"})


def name_qualifiers(name: str | None) -> tuple[str, ...]:
    """Where a company name says the company is: a parenthesised or dash-separated qualifier, or
    trailing country or region words, as ISO codes for countries ("GB") and lower-case text for
    regions and cities.

    >>> name_qualifiers("Spago (Las Vegas)")
    ('las vegas',)
    >>> name_qualifiers("Acme (UK) Ltd")
    ('GB',)
    >>> name_qualifiers("Velkes Logistics Europe GmbH")
    ('europe',)

    The normaliser drops these ("Spago (Las Vegas)" is "spago", as a namesake or a branch is
    found by the name); scoring reads them as location evidence that must agree when both names
    have one (:func:`locations_agree`). "(HQ)", "(Sales)" and legal forms are not places.
    """
    if not name:
        return ()
    if "(" not in name and "[" not in name and " - " not in name and _PLACE_WORDS.isdisjoint(
            name.casefold().replace(".", " ").replace(",", " ").split()[-6:]):
        return ()  # most names: no bracket, no dash, no place word among the last words
    text = name.casefold() if name.isascii() else _fold_accents(name)
    found = [_qualifier_text(a or b) for a, b in _QUALIFIER.findall(text)]
    rest = _PARENS.sub(" ", text).strip()
    tail = _DASH_TAIL.search(rest)
    if tail:
        found.append(_qualifier_text(tail.group(1)))
        rest = rest[: tail.start()]
    # The words before any legal form ("Acme UK Ltd": cleanco counts "UK" as a legal form too).
    words = _tokens(rest)
    ones = _TERMS_BY_SIZE.get(1, frozenset())
    while len(words) > 1 and ((words[-1],) in ones or words[-1] in {"&", "and", "co"}) and not (
            words[-1] in _TRAILING_CODES or words[-1] in REGION_WORDS
            or (len(words[-1]) > 2 and words[-1] in COUNTRY_WORDS)):
        words.pop()
    for size in (3, 2, 1):  # trailing country or region words: "Acme UK", "Acme North America"
        if len(words) > size:
            phrase = " ".join(words[-size:])
            if ((phrase in COUNTRY_WORDS and (len(phrase) > 2 or phrase in _TRAILING_CODES))
                    or (phrase in REGION_WORDS and phrase != "eu")):
                found.append(COUNTRY_WORDS.get(phrase, phrase))
                break
    return tuple(dict.fromkeys(q for q in found if q))


def _kind(qualifier: str) -> str:
    if len(qualifier) == 2 and qualifier.isupper():
        return "country"
    return "region" if qualifier in REGION_WORDS else "place"


def locations_agree(ours: tuple[str, ...], theirs: tuple[str, ...]) -> bool | None:
    """Whether two names' qualifiers (:func:`name_qualifiers`) put the companies in one place:
    ``True`` if two of a kind agree (a country code, a region, a city or a city within the other),
    ``False`` if some are of a kind and none agrees, ``None`` if nothing compares."""
    if not ours or not theirs:
        return None
    compared = False
    for a in ours:
        for b in theirs:
            if _kind(a) != _kind(b):
                continue
            compared = True
            a_words, b_words = set(a.split()), set(b.split())
            if a == b or (_kind(a) == "place" and (a_words <= b_words or b_words <= a_words)):
                return True
    return False if compared else None


# -- legal forms: which countries' law a name's legal form is of ----------------------------------------
_COMMON_LAW = ("GB", "IE", "US", "CA", "AU", "NZ", "HK", "SG", "IN", "ZA", "IL", "MT", "CY")
_LEGAL_FORMS_BY_LAW: tuple[tuple[tuple[str, ...], tuple[str, ...]], ...] = (
        (("gmbh", "ag", "kg", "ohg", "ug", "gbr", "mbh", "gmbh and co kg", "ag and co kg", "e k", "ek"),
         ("DE", "AT", "CH", "LI", "LU")),
        (("ltd", "limited", "plc", "llp", "lp"), _COMMON_LAW),
        (("inc", "incorporated", "corp", "corporation", "llc", "pllc", "pc"), ("US", "CA", "PH", "PR")),
        (("sarl", "sas", "sasu", "eurl", "sci", "snc"), ("FR", "BE", "LU", "CH", "MC", "MA", "TN", "SN", "CI")),
        (("sa",), ("FR", "BE", "LU", "CH", "ES", "PT", "PL", "GR", "AR", "BR", "CL", "CO", "MX", "PE", "EC", "UY",
                   "MA", "RO", "MC", "GT", "DO")),
        (("sl", "slu", "sll", "scp"), ("ES", "AD")),
        (("spa", "srl", "sapa", "snc", "sas"), ("IT", "SM", "RO", "AR")),
        (("bv", "nv", "vof", "cv"), ("NL", "BE", "SR", "CW")),
        (("ab", "hb", "kb"), ("SE", "FI")),
        (("as", "asa", "aps", "ans", "da"), ("NO", "DK")),
        (("oy", "oyj"), ("FI",)),
        (("sp z o o", "spzoo", "sa"), ("PL",)),
        (("pty ltd", "pty"), ("AU", "ZA")),
        (("kk", "gk"), ("JP",)),
)


def _by_form() -> dict[str, frozenset[str]]:
    out: dict[str, frozenset[str]] = {}
    for forms, countries in _LEGAL_FORMS_BY_LAW:
        for form in forms:  # a form of several laws ("S.A.") is of each one's countries
            out[form] = out.get(form, frozenset()) | frozenset(countries)
    return out


_LEGAL_FORM_COUNTRIES = MappingProxyType(_by_form())


def legal_form_countries(name: str | None) -> frozenset[str]:
    """The countries whose law the legal form ending ``name`` is of ("Taler Energy S.A." ->
    France, Spain ...; "Taller Energy plc" -> the United Kingdom, Ireland ...), empty when the
    name ends in none this knows ("Co." is used everywhere). Two names whose forms share no
    country are two companies, however alike the rest (a look-alike abroad, not a typo)."""
    if not name:
        return frozenset()
    words = _tokens(name)
    found: frozenset[str] | None = None
    while len(words) > 1:
        for size in (4, 3, 2, 1):
            if size < len(words):
                term = " ".join("and" if w == "&" else w for w in words[-size:])
                countries = _LEGAL_FORM_COUNTRIES.get(term)
                if countries is not None:
                    found = countries if found is None else found & countries or found
                    del words[-size:]
                    break
                if tuple(words[-size:]) in _TERMS_BY_SIZE.get(size, frozenset()):
                    del words[-size:]  # a legal form this does not place ("Co."): look on
                    break
        else:
            break
    return found or frozenset()
