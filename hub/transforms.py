"""The named transforms a mapping chains on a field: ``transform = ["strip", "email"]``.

A transform is built once per field when a mapping is compiled (``build("phone", "US")``) and
then called for every record as ``fn(value, values)``: ``value`` is never blank (the engine skips
the chain for missing and empty values) and ``values`` holds the schema paths the record has
filled so far, which is how ``phone`` finds the record's country. A transform that cannot make
sense of its input raises :class:`TransformError` with a sentence about the value; the mapping
engine prefixes the field and the column and turns it into :class:`hub.errors.InvalidRecord`.

The work is done by well-kept libraries: ``email-validator`` (syntax only, never DNS),
``phonenumbers`` (E.164), ``tldextract`` with only its bundled public-suffix list (no network),
``python-dateutil`` for the date formats people type. Country names come from the locale data
that ships with ``phonenumbers`` (every region's name in ~40 languages) plus a few aliases.
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime
from typing import Any

import email_validator
import phonenumbers
import tldextract
from dateutil import parser as date_parser

#: ``fn(value, values_so_far) -> new value`` (``None`` ends the chain: the field is blank).
Transform = Callable[[Any, Mapping[str, Any]], Any]


class TransformError(ValueError):
    """A value a transform cannot convert; the message describes the value, not the field."""


def _show(value: Any) -> str:
    """A value quoted for an error message, cut short so a huge input cannot flood a log."""
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "...'"


def _text(value: Any) -> str:
    """The value as text: numbers become their digits, structures are refused."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TransformError(f"{_show(value)} is not text")
    return str(value)


# -- text ------------------------------------------------------------------------------------


def _strip(value: Any, _: Mapping[str, Any]) -> Any:
    text = _text(value).strip()
    return text or None


def _lower(value: Any, _: Mapping[str, Any]) -> Any:
    return _text(value).lower()


def _upper(value: Any, _: Mapping[str, Any]) -> Any:
    return _text(value).upper()


# Plain ASCII addresses (nearly all of them) are accepted by this strict pattern without the
# full RFC parse; anything else goes to email-validator, which has the last word. The schema's
# EmailStr validates again, so the fast path can never let an invalid address through.
_PLAIN_EMAIL = re.compile(
    r"[a-z0-9_%+-]+(?:\.[a-z0-9_%+-]+)*@(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+([a-z]{2,63})")
_SPECIAL_USE = frozenset(email_validator.SPECIAL_USE_DOMAIN_NAMES)


def _email(value: Any, _: Mapping[str, Any]) -> Any:
    text = _text(value).strip()
    lowered = text.lower()
    plain = _PLAIN_EMAIL.fullmatch(lowered)
    if (plain and len(lowered) <= 254 and lowered.index("@") <= 64 and plain.group(1) not in _SPECIAL_USE
            and "xn--" not in lowered):  # punycode: the validator decodes it
        return lowered
    try:
        # Syntax only: a DNS look-up per record would be slow and would reach the internet.
        checked = email_validator.validate_email(text, check_deliverability=False)
    except email_validator.EmailNotValidError as exc:
        raise TransformError(f"{_show(text)} is not a valid e-mail address") from exc
    return checked.normalized.lower()


# -- phone -----------------------------------------------------------------------------------


def _phone(default_region: str | None) -> Transform:
    def phone(value: Any, values: Mapping[str, Any]) -> Any:
        text = _text(value).strip()
        # The record's own country beats the mapping's default region.
        region = country_code(values.get("contact.country") or values.get("company.country") or "")
        region = region or default_region
        try:
            number = phonenumbers.parse(text, region)
        except phonenumbers.NumberParseException as exc:
            hint = "" if region else " (no country known: map a country or use phone:XX)"
            raise TransformError(f"{_show(text)} is not a phone number{hint}") from exc
        if not phonenumbers.is_possible_number(number):
            raise TransformError(f"{_show(text)} is not a possible phone number")
        return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)

    return phone


# -- domain ----------------------------------------------------------------------------------


@functools.cache
def _extractor() -> tldextract.TLDExtract:
    # Built once, on first use: the bundled suffix list only (no download, no cache folder).
    return tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None)


def _domain(value: Any, _: Mapping[str, Any]) -> Any:
    text = _text(value).strip().lower()
    host = text.rpartition("@")[2] if "@" in text and "/" not in text else text
    found = _extractor()(host).top_domain_under_public_suffix
    if not found:
        raise TransformError(f"{_show(text)} has no registrable domain (e.g. acme.com)")
    return found


# -- names -----------------------------------------------------------------------------------

_HONORIFICS = frozenset({"mr", "mrs", "ms", "miss", "mx", "dr", "prof", "sir", "dame"})
_SUFFIXES = frozenset({"jr", "sr", "ii", "iii", "iv", "phd", "md", "esq", "mba"})
# Lower-case particles that belong to the family name ("van Beethoven", "de la Cruz").
_PARTICLES = frozenset({"van", "von", "der", "den", "de", "del", "della", "da", "di", "du", "la",
                        "le", "dos", "das", "bin", "ibn", "al", "ter", "ten"})


def split_name(full: str) -> tuple[str | None, str | None]:
    """``"Dr. Ada King"`` -> ``("Ada", "King")``; ``"King, Ada"`` -> ``("Ada", "King")``.

    One word is taken as the first name (a form's "name" box usually holds what people are called).
    """
    text = " ".join(full.split())
    if "," in text:
        last, _, first = text.partition(",")
        if last.strip().lower().strip(".") not in _SUFFIXES:
            return (first.strip() or None), (last.strip() or None)
        text = text.replace(",", " ")
    words = [w for w in text.split(" ") if w]
    while words and words[0].lower().strip(".") in _HONORIFICS:
        words.pop(0)
    while len(words) > 1 and words[-1].lower().strip(".,") in _SUFFIXES:
        words.pop()
    if not words:
        return None, None
    if len(words) == 1:
        return words[0], None
    cut = len(words) - 1
    while cut > 1 and words[cut - 1] in _PARTICLES:
        cut -= 1
    return " ".join(words[:cut]), " ".join(words[cut:])


def _split_name(part: str | None) -> Transform:
    index = {"first": 0, "last": 1}[part or ""]

    def split(value: Any, _: Mapping[str, Any]) -> Any:
        return split_name(_text(value))[index]

    return split


# -- numbers and flags -----------------------------------------------------------------------

_NUMBER_NOISE = re.compile(r"[\s,_$€£¥]")


def _int(value: Any, _: Mapping[str, Any]) -> Any:
    if isinstance(value, bool):
        raise TransformError(f"{_show(value)} is not a whole number")
    if isinstance(value, int):
        return value
    number = _float(value, _)
    if number != int(number):
        raise TransformError(f"{_show(value)} is not a whole number")
    return int(number)


def _float(value: Any, _: Mapping[str, Any]) -> Any:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    text = _NUMBER_NOISE.sub("", _text(value))
    try:
        number = float(text)
    except ValueError:
        raise TransformError(f"{_show(value)} is not a number") from None
    if not math.isfinite(number):
        raise TransformError(f"{_show(value)} is not a finite number")
    return number


_TRUE = frozenset({"true", "t", "yes", "y", "1", "on", "checked", "x"})
_FALSE = frozenset({"false", "f", "no", "n", "0", "off", "unchecked", ""})


def _bool(value: Any, _: Mapping[str, Any]) -> Any:
    if isinstance(value, bool):
        return value
    text = _text(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise TransformError(f"{_show(value)} is not yes/no (use true/false, yes/no or 1/0)")


# -- dates -----------------------------------------------------------------------------------


def _as_utc(moment: datetime) -> datetime:
    # A time without a zone is taken as UTC: sources that mean local time must say so.
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _datetime(option: str | None) -> Transform:
    dayfirst = option == "dayfirst"

    def to_datetime(value: Any, _: Mapping[str, Any]) -> Any:
        if isinstance(value, datetime):
            return _as_utc(value)
        if isinstance(value, date):
            return datetime(value.year, value.month, value.day, tzinfo=UTC)
        if isinstance(value, int | float) and not isinstance(value, bool):
            return _from_epoch(value, value)
        text = _text(value).strip()
        if text.isdigit() and len(text) in (10, 13):  # epoch seconds, or HubSpot's milliseconds
            return _from_epoch(int(text), value)
        try:
            return _as_utc(datetime.fromisoformat(text))
        except ValueError:
            pass
        try:
            return _as_utc(date_parser.parse(text, dayfirst=dayfirst))
        except (ValueError, OverflowError):
            raise TransformError(f"{_show(value)} is not a date and time this hub can read "
                                 "(use ISO 8601, e.g. 2026-03-01T09:30:00Z)") from None

    return to_datetime


def _from_epoch(number: float, shown: Any) -> datetime:
    seconds = number / 1000 if number > 10**11 else number
    try:
        return datetime.fromtimestamp(seconds, UTC)
    except (OverflowError, OSError, ValueError):
        raise TransformError(f"{_show(shown)} is not a valid timestamp") from None


def _iso(value: Any, values: Mapping[str, Any]) -> Any:
    """A datetime as ISO 8601 text in UTC (what JSON destinations and CRMs expect)."""
    moment: datetime = _datetime(None)(value, values)
    return moment.isoformat().replace("+00:00", "Z")


def _epoch_ms(value: Any, values: Mapping[str, Any]) -> Any:
    """A datetime as epoch milliseconds (HubSpot's date-time properties)."""
    moment: datetime = _datetime(None)(value, values)
    return int(moment.timestamp() * 1000)


# -- countries -------------------------------------------------------------------------------

_COUNTRY_ALIASES = {
    "usa": "US", "u.s.": "US", "u.s.a.": "US", "united states of america": "US", "america": "US",
    "uk": "GB", "u.k.": "GB", "great britain": "GB", "britain": "GB", "england": "GB",
    "scotland": "GB", "wales": "GB", "northern ireland": "GB", "holland": "NL",
    "the netherlands": "NL", "czech republic": "CZ", "south korea": "KR", "korea": "KR",
    "russia": "RU", "uae": "AE", "turkey": "TR", "türkiye": "TR", "ivory coast": "CI",
    "deutschland": "DE", "espana": "ES", "españa": "ES", "schweiz": "CH", "suisse": "CH",
    "österreich": "AT", "osterreich": "AT", "brasil": "BR", "méxico": "MX", "mexico": "MX",
}


@functools.cache
def _country_names() -> dict[str, str]:
    """Every region name phonenumbers knows, in every language it ships, folded to lower case."""
    table: dict[str, str] = {}
    try:
        from phonenumbers.geodata.locale import LOCALE_DATA
    except ImportError:  # an older phonenumbers without locale data: aliases and codes still work
        LOCALE_DATA = {}
    for code, names in LOCALE_DATA.items():
        for name in names.values():
            if name and not name.startswith("*"):
                table.setdefault(name.casefold(), code)
    table.update(_COUNTRY_ALIASES)
    return table


def country_code(value: str) -> str | None:
    """ISO 3166-1 alpha-2 code for a code or a country name, or ``None`` when unknown."""
    text = value.strip()
    if len(text) == 2 and text.isalpha():
        code = text.upper()
        if code == "UK":  # not ISO, but what people write
            return "GB"
        return code if code in phonenumbers.SUPPORTED_REGIONS or code in _EXTRA_CODES else None
    if len(text) == 3 and text.isalpha() and text.upper() in _ALPHA3:
        return _ALPHA3[text.upper()]
    return _country_names().get(" ".join(text.casefold().split()))


# Alpha-2 codes that phonenumbers has no numbering plan for, but that are real countries.
_EXTRA_CODES = frozenset({"AQ", "BV", "GS", "HM", "PN", "TF", "UM"})
# The alpha-3 codes people actually type in lead forms and spreadsheets.
_ALPHA3 = {
    "USA": "US", "GBR": "GB", "DEU": "DE", "FRA": "FR", "ESP": "ES", "ITA": "IT", "NLD": "NL",
    "BEL": "BE", "CHE": "CH", "AUT": "AT", "SWE": "SE", "NOR": "NO", "DNK": "DK", "FIN": "FI",
    "IRL": "IE", "PRT": "PT", "POL": "PL", "CZE": "CZ", "CAN": "CA", "MEX": "MX", "BRA": "BR",
    "ARG": "AR", "AUS": "AU", "NZL": "NZ", "JPN": "JP", "CHN": "CN", "IND": "IN", "SGP": "SG",
    "KOR": "KR", "ZAF": "ZA", "ARE": "AE", "ISR": "IL", "TUR": "TR", "RUS": "RU", "UKR": "UA",
}


def _country(value: Any, _: Mapping[str, Any]) -> Any:
    text = _text(value)
    code = country_code(text)
    if code is None:
        raise TransformError(f"{_show(text)} is not a country this hub knows (use an ISO code, e.g. DE)")
    return code


# -- value maps ------------------------------------------------------------------------------

NO_DEFAULT: Any = object()


def value_map(table: Mapping[str, Any], default: Any = NO_DEFAULT, *, keep: bool = False) -> Transform:
    """A picklist translation: ``{"Closed Won": "won"}``, matched ignoring case and spaces.

    An unknown value becomes ``default`` when one is given, passes through with ``keep``, and is
    an error otherwise. An empty string as a result (or as the default) means blank.
    """
    folded = {str(k).strip().casefold(): (None if v == "" else v) for k, v in table.items()}
    choices = ", ".join(_show(k) for k in list(table)[:12]) + (", ..." if len(table) > 12 else "")
    fallback = None if default == "" else default

    def translate(value: Any, _: Mapping[str, Any]) -> Any:
        found = folded.get(str(value).strip().casefold(), NO_DEFAULT)
        if found is not NO_DEFAULT:
            return found
        if default is not NO_DEFAULT:
            return fallback
        if keep:
            return value
        raise TransformError(f"{_show(value)} is not one of {choices}; add it to the field's map "
                             "or set map_default")

    return translate


# -- registry --------------------------------------------------------------------------------

Factory = Callable[[str | None], Transform]


def _plain(fn: Transform) -> Factory:
    def factory(option: str | None) -> Transform:
        if option is not None:
            raise ValueError("takes no option")
        return fn

    return factory


def _needs(options: frozenset[str | None], make: Callable[[str | None], Transform]) -> Factory:
    def factory(option: str | None) -> Transform:
        if option not in options:
            raise ValueError(f"needs one of: {', '.join(sorted(o or '(none)' for o in options))}")
        return make(option)

    return factory


def _region(option: str | None) -> Transform:
    if option is not None and option.upper() not in phonenumbers.SUPPORTED_REGIONS:
        raise ValueError(f"{option!r} is not a region code (e.g. US, DE)")
    return _phone(option.upper() if option else None)


#: Name -> factory taking the option after the colon (``"phone:US"`` -> ``"US"``).
TRANSFORMS: dict[str, Factory] = {
    "strip": _plain(_strip),
    "lower": _plain(_lower),
    "upper": _plain(_upper),
    "email": _plain(_email),
    "phone": _region,
    "domain": _plain(_domain),
    "split_name": _needs(frozenset({"first", "last"}), _split_name),
    "int": _plain(_int),
    "float": _plain(_float),
    "bool": _plain(_bool),
    "datetime": _needs(frozenset({None, "dayfirst"}), _datetime),
    "country": _plain(_country),
    "iso": _plain(_iso),
    "epoch_ms": _plain(_epoch_ms),
}


def build(spec: str) -> Transform:
    """The transform named by ``spec`` (``"name"`` or ``"name:option"``).

    :raises KeyError: no transform has that name.
    :raises ValueError: the option is wrong for that transform; the message says what it takes.
    """
    name, _, option = spec.partition(":")
    factory = TRANSFORMS[name.strip()]
    return factory(option.strip() or None)
