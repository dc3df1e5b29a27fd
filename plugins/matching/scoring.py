"""Scoring one candidate account against an inquiry: the evidence field by field, a score in 0..1
and the support that ranks namesakes, with the evidence in words.

The name carries most cases, compared with rapidfuzz on normalised names. ``token_set_ratio``
alone is a trap: "acme" vs "acme logistics" scores 100 because one token set contains the other,
yet Acme Logistics is often a different company (or a subsidiary, which must win on its own
name). So a subset counts as equal only when the extra words are generic ("group", "holdings").
Typos are told from namesakes as people make them: slips spread over several words cost half
(:func:`_spread_typos`), another first letter is trusted less (:data:`FIRST_LETTER_TRUST`), the
same words reordered are not the same name, a mistyped legal form ("Ldt") is read as one.

The other fields are kept apart from the name (:class:`CandidateScore`), never folded into it:
an agreeing domain is near-proof and an agreeing phone strong; the inquiry's domain or phone that
is *another* account's counts hard against, a domain nobody has less, and one close to the
account's (an alias, a typo) little; a company phone in another area counts against; the places
the names are qualified with ("Spago (Las Vegas)") and the countries must agree when both sides
have them. Each field adds its weight to :attr:`CandidateScore.support` (log-odds fashion, as
contact de-duplication weighs its fields), which ranks candidates whose scores are within the
tie margin and calls ties (:mod:`plugins.matching.matcher`). See docs/matching.md.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from types import MappingProxyType

from rapidfuzz.distance import OSA
from rapidfuzz.fuzz import ratio, token_sort_ratio

from hub.api import AccountCandidate
from plugins.matching.keys import InquiryProfile, domain_country, phone_e164, phone_region, same_area
from plugins.matching.names import (
    NameForm,
    compact,
    legal_form_countries,
    locations_agree,
    name_qualifiers,
)
from plugins.matching.settings import MatchingSettings

#: The same words in another order: "Newman & Murphy" is often not "Murphy & Newman".
SAME_WORDS_REORDERED = 0.95
#: The share of the gap to 1 a country both sides name closes (0.92 -> 0.94).
COUNTRY_AGREEMENT = 0.25
#: How far two names that differ in their first letter are trusted, however alike the rest.
FIRST_LETTER_TRUST = 0.95


def name_similarity(a: str, b: str) -> float:
    """Similarity of two normalised company names, 0..1, safe from the subset trap."""
    if not a or not b:
        return 0.0
    if a == b:
        return 1.0
    return _similarity(NameForm(a), NameForm(b))


def _similarity(fa: NameForm, fb: NameForm) -> float:
    if fa.text == fb.text:
        return 1.0
    if fa.compact == fb.compact:
        return 0.99  # "ab c" vs "abc": spacing only
    if fa.numbers != fb.numbers or (fa.mixed and fb.mixed and fa.mixed != fb.mixed):
        # Numbers name different companies: "company 1" is not "company 12", "3m" not "4m".
        return min(0.5, token_sort_ratio(fa.text, fb.text) / 100.0)
    if fa.tokens == fb.tokens:
        return SAME_WORDS_REORDERED  # "newman and murphy" vs "murphy and newman"
    if fa.core_tokens == fb.core_tokens:
        return 0.96  # "acme group" vs "acme": only generic words differ
    best = max(token_sort_ratio(fa.text, fb.text), ratio(fa.compact, fb.compact), _spread_typos(fa, fb))
    if fa.core != fa.text or fb.core != fb.text:
        best = max(best, 0.97 * ratio(fa.core_compact, fb.core_compact))
    if fa.compact[0] != fb.compact[0]:
        # Typos are rarer in a name's first letter than anywhere else (Winkler's observation
        # behind Jaro-Winkler): "Kelly Plastics" and "Helly Plastics" are two companies more often
        # than one.
        best *= FIRST_LETTER_TRUST
    return best / 100.0


def _spread_typos(fa: NameForm, fb: NameForm) -> float:
    """0..100 for names whose words are the same words but for a typo in two or more of them.

    One word a letter off may be another company ("Zensen Partners" vs "Zenzen Partners"); small
    slips in several words of a name that otherwise agrees word for word are how people mistype
    ("San Beniti Martinrz Landsdape Supply"). Edits then cost half what ``ratio`` charges.
    """
    if len(fa.words) != len(fb.words) or len(fa.words) < 2:
        return 0.0
    pairs = [(a, b) for a, b in zip(fa.words, fb.words, strict=True) if a != b]
    if len(pairs) < 2:
        return 0.0
    edits = slipped = 0
    for a, b in pairs:
        allowed = 1 if min(len(a), len(b)) < 8 else 2
        distance = OSA.distance(a, b, score_cutoff=allowed)
        if distance > allowed or min(len(a), len(b)) < 3:
            return 0.0
        edits += distance
        slipped += 1
    if slipped < 2:
        return 0.0
    return 100.0 * (1.0 - 0.5 * edits / max(len(fa.compact), len(fb.compact)))


#: What a name whose words are all within the other's counts for, beside an agreeing phone.
SHORT_NAME = 0.7


def _within(a: NameForm, b: NameForm) -> bool:
    """Whether the shorter name's distinctive words are all in the longer one."""
    short, long = (a, b) if len(a.words) <= len(b.words) else (b, a)
    return bool(short.core_tokens) and short.core_tokens <= long.tokens


#: How far a name read without a mistyped legal form (:func:`plugins.matching.names.loose_name`)
#: is trusted: "Acme Ldt" is 0.97 of "Acme", "Acme Corp" 1.0.
LOOSE_TRUST = 0.97


#: Evidence weights (log-odds style, Fellegi-Sunter fashion): how much a field that agrees or
#: disagrees says for or against a candidate, summed into :attr:`CandidateScore.support`. The
#: candidate with the most support wins among those scoring within the tie margin of the best;
#: two with equal support tie. A missing value weighs nothing. (The name's: :meth:`name_support`.)
DOMAIN_SUPPORT = MappingProxyType({"agree": 4.0, "alias": 1.0, "unknown": -1.0, "other": -3.0})
PHONE_SUPPORT = MappingProxyType({"agree": 3.0, "local": -0.5, "differ": -1.0, "other": -3.0})
EMAIL_SUPPORT = 4.0
LOCATION_SUPPORT = MappingProxyType({True: 1.0, False: -2.0})
COUNTRY_SUPPORT = MappingProxyType({True: 0.5, False: -1.0})
LEGAL_FORM_CONFLICT_SUPPORT = -1.0
#: Names at least this alike (and not the same) have their legal forms compared.
LEGAL_FORM_FLOOR = 0.85
#: The share of the gap to 1 a place both names qualify with closes.
LOCATION_AGREEMENT = 0.5
#: Labels a company adds to its name for a second domain ("acme-group.com", "getacme.com").
ALIAS_AFFIXES = ("group", "grp", "hq", "inc", "corp", "co", "online", "global", "intl", "international",
                 "get", "go", "my", "the", "team", "mail", "web", "official", "app")

#: Who holds a key the inquiry gives: domain or phone -> the families (a parent's id, or the
#: account's own) of the candidates that have it.
KeyOwners = Mapping[str, frozenset[str]]


def family(candidate: AccountCandidate) -> str:
    """The account a candidate belongs under: its parent, or itself."""
    return candidate.parent_id or candidate.account_id


def _label(domain: str) -> str:
    return domain.split(".", 1)[0]


def domain_alias(domain: str, theirs: str, their_name: str = "") -> bool:
    """Whether ``domain`` (no account has it) is likely another domain of the account with
    ``theirs``: the same label under a generic TLD ("acme.com" for "acme.de"; another country's
    TLD is a namesake or a subsidiary there), a group form ("acme-group.de", "getacme.de"), one
    or two slips ("acme-logistcs.de"; not a number added: "acme2.de" is a namesake's), or the
    account's name written out ("acmelogistics.com")."""
    if domain == theirs:
        return True
    cc = domain_country(domain)
    if cc is not None and cc != domain_country(theirs):
        return False  # a country's own domain: a namesake or a subsidiary there, not an alias
    a, b = _label(domain), _label(theirs)
    if a == b:
        return True
    squeezed_a, squeezed_b = a.replace("-", ""), b.replace("-", "")
    if squeezed_a == squeezed_b or (their_name and squeezed_a == their_name.replace(" ", "")):
        return True
    for short, long in ((squeezed_a, squeezed_b), (squeezed_b, squeezed_a)):
        if len(short) >= 3 and long.startswith(short) and long[len(short):] in ALIAS_AFFIXES:
            return True
        if len(short) >= 3 and long.endswith(short) and long[: -len(short)] in ALIAS_AFFIXES:
            return True
    if any(c.isdigit() for c in squeezed_a) != any(c.isdigit() for c in squeezed_b) or \
            "".join(c for c in squeezed_a if c.isdigit()) != "".join(c for c in squeezed_b if c.isdigit()):
        return False  # "acme2" vs "acme": a number tells namesakes apart, it is not a slip
    allowed = 1 if min(len(squeezed_a), len(squeezed_b)) < 8 else 2
    if min(len(squeezed_a), len(squeezed_b)) < 5:
        return False
    return OSA.distance(squeezed_a, squeezed_b, score_cutoff=allowed) <= allowed


def _held_elsewhere(owners: KeyOwners, own: str, keys: Sequence[str]) -> bool:
    """Whether another family than ``own`` holds one of ``keys`` and ``own`` does not."""
    for key in keys:
        held = owners.get(key)
        if held and own not in held:
            return True
    return False


class CandidateScore:
    """A candidate's score and the evidence behind it, field by field.

    :attr:`base` is what the candidate's own keys say (the name, an agreeing domain or phone);
    :meth:`weigh` adds what the other candidates tell (the inquiry's domain or phone held by
    another account) into :attr:`score` (0..1, what thresholds compare) and :attr:`support` (the
    evidence summed, what ranks namesakes and calls ties). The evidence in words (:attr:`agreed`,
    :attr:`conflicts`) is written only when asked for: a lookup scores up to ``candidate_limit``
    accounts and the verdict quotes one or two of them.
    """

    # What most candidates keep (set on the instance only when it differs).
    base = 0.0
    score = 0.0
    support = 0.0
    name_similarity: float | None = None
    named = ""  # the candidate's name the inquiry's name was closest to
    shared_domains: Sequence[str] = ()
    shared_phones: Sequence[str] = ()
    phone_read_as: str | None = None  # the country a national phone was read in, for this candidate
    email_agrees = False
    domain_evidence: str | None = None  # "agree", "alias", "unknown", "other" (another account's)
    phone_evidence: str | None = None  # "agree", "local" (another number, same area), "differ", "other"
    domain_conflict: Sequence[str] = ()  # the candidate's domains, when none agrees
    location: bool | None = None  # the names' qualifiers agree, disagree, or nothing compares
    country_conflict = False
    country_agrees = False
    legal_conflict = False  # an inexact name whose legal form is of other countries' law

    def __init__(self, profile: InquiryProfile, candidate: AccountCandidate, review_threshold: float) -> None:
        self._profile = profile
        self._review = review_threshold
        self.candidate = candidate
        self._domains: Sequence[str] = ()
        self._phones: Sequence[str] = ()
        self._close: bool | None = None  # the inquiry's domain is close to this account's
        self._local: bool | None = None  # the inquiry's phone is in this account's phone's area

    @property
    def is_subsidiary(self) -> bool:
        return self.candidate.parent_id is not None

    @property
    def identified(self) -> bool:
        """Whether an identifier agrees (domain, phone or a personal account's e-mail)."""
        return bool(self.shared_domains or self.shared_phones or self.email_agrees)

    @property
    def contradicted(self) -> bool:
        """Whether something the inquiry gives is another account's, or names another place or
        country (a weak disagreement, an unknown domain or another switchboard number, is not)."""
        return (self.domain_evidence == "other" or self.phone_evidence == "other" or self.location is False
                or self.country_conflict)

    @property
    def agreement_count(self) -> int:
        """How many kinds of key agree (what :attr:`agreed` lists), without writing them."""
        similarity = self.name_similarity
        named = similarity is not None and (similarity >= 0.999 or similarity >= self._review)
        identified = bool(self.shared_domains) + bool(self.shared_phones) + self.email_agrees
        return named + identified + (self.location is True)

    def name_support(self) -> float:
        """The name's weight: exact 2, close (>= 0.95) 1.5, at the review threshold 1, else 0."""
        similarity = self.name_similarity
        if similarity is None:
            return 0.0
        if similarity >= 0.999:
            return 2.0
        if similarity >= 0.95:
            return 1.5
        return 1.0 if similarity >= self._review else 0.0

    def weigh(self, owners: KeyOwners, settings: MatchingSettings) -> None:
        """Set :attr:`score` and :attr:`support` from :attr:`base`, this candidate's evidence and
        who else holds the inquiry's domain and phone (``owners``)."""
        profile = self._profile
        score, support = self.base, self.name_support()
        if not (owners or self.shared_domains or self.shared_phones or self.location is not None
                or profile.domains or profile.phones or profile.unread_phones):
            # Most candidates of a name-only inquiry: nothing but the name and the country.
            self.domain_evidence = self.phone_evidence = None
            self._weigh_rest(score, support, settings)
            return
        own = family(self.candidate) if owners else ""
        domains = profile.domains
        if self.shared_domains:
            self.domain_evidence = "agree"
        elif not domains:
            self.domain_evidence = None
        elif owners and _held_elsewhere(owners, own, domains):
            self.domain_evidence = "other"  # the inquiry's domain is another account's
        elif self._domains:
            self.domain_evidence = "alias" if self._alias() else "unknown"
        else:
            self.domain_evidence = None
        if self.domain_evidence == "other" or self.domain_evidence == "unknown":
            self.domain_conflict = sorted(set(self._domains))
        elif self.domain_conflict:
            self.domain_conflict = ()
        if self.shared_phones:
            self.phone_evidence = "agree"
        elif not (profile.phones or profile.unread_phones):
            self.phone_evidence = None
        elif owners and (_held_elsewhere(owners, own, profile.phones) or (
                profile.unread_phones and _held_elsewhere(owners, own, self._read_phones()))):
            self.phone_evidence = "other"
        elif self._phones and profile.company_phone:
            # Another number in the same area is another line of one site, more often than another
            # area's ("Spago (Las Vegas)" is not the Beverly Hills branch).
            if self._local is None:
                self._local = self._same_area()
            self.phone_evidence = "local" if self._local else "differ"
        else:
            self.phone_evidence = None
        domain, phone = self.domain_evidence, self.phone_evidence
        if domain is not None:
            support += DOMAIN_SUPPORT[domain]
            if domain == "other":
                score -= settings.domain_owned_penalty
            elif domain == "unknown":
                score -= settings.domain_conflict_penalty
            elif domain == "alias":
                score -= settings.domain_alias_penalty
        if phone is not None:
            support += PHONE_SUPPORT[phone]
            if phone == "other":
                score -= settings.phone_owned_penalty
            elif phone == "differ":
                score -= settings.phone_conflict_penalty
            elif phone == "local":
                score -= settings.phone_local_penalty
        self._weigh_rest(score, support, settings)

    def _weigh_rest(self, score: float, support: float, settings: MatchingSettings) -> None:
        if self.email_agrees:
            support += EMAIL_SUPPORT
        if self.legal_conflict:
            score -= settings.legal_form_conflict_penalty
            support += LEGAL_FORM_CONFLICT_SUPPORT
        if self.location is not None:
            support += LOCATION_SUPPORT[self.location]
            if self.location:
                score += LOCATION_AGREEMENT * (1.0 - min(score, 1.0))
            else:
                score -= settings.location_conflict_penalty
        if self.country_conflict:
            score -= settings.country_conflict_penalty
            support += COUNTRY_SUPPORT[False]
        elif self.country_agrees:
            # A country that agrees is weak evidence (many companies share one), but evidence: it
            # closes part of the gap to 1, so candidates of that country keep their order.
            score += COUNTRY_AGREEMENT * (1.0 - min(score, 1.0))
            support += COUNTRY_SUPPORT[True]
        self.score = max(0.0, min(1.0, score))
        self.support = support

    def _alias(self) -> bool:
        """Whether the inquiry's domain is likely another domain of this account (once)."""
        if self._close is None:
            profile, name = self._profile, self.named
            # A domain that spells the inquiry's own name, when that differs from the account's,
            # is the look-alike's own ("kellyplastic.com" for "Kelly Plastic" vs "Kelly Plastics").
            own_name = compact(profile.name) if profile.name and profile.name != name else ""
            self._close = any(domain_alias(d, theirs, name) for d in profile.domains
                              if not own_name or _label(d).replace("-", "") != own_name for theirs in self._domains)
        return self._close

    def _same_area(self) -> bool:
        ours = [*self._profile.phones, *self._read_phones()]
        return any(same_area(a, b) for a in ours for b in self._phones)

    def _read_phones(self) -> list[str]:
        """The inquiry's national phones as read in this candidate's country (none if unread)."""
        if not self.phone_read_as:
            return []
        return [p for p in (phone_e164(raw, self.phone_read_as) for raw in self._profile.unread_phones) if p]

    @property
    def agreed(self) -> list[str]:
        """The keys that agree, in words: "domain acme.com", "name 'acme' ~ 'acme co' (0.95)"."""
        out = [f"domain {', '.join(self.shared_domains)}"] if self.shared_domains else []
        similarity, name = self.name_similarity, self._profile.name
        if similarity is not None and similarity >= 0.999:
            out.append(f"name '{name}'")
        elif similarity is not None and similarity >= self._review:
            out.append(f"name '{name}' ~ '{self.named}' ({similarity:.2f})")
        if self.shared_phones:
            read = f" (read as a {self.phone_read_as} number)" if self.phone_read_as else ""
            out.append(f"phone {', '.join(self.shared_phones)}{read}")
        if self.email_agrees:
            out.append(f"e-mail {self._profile.email}")
        if self.location:
            out.append(f"place '{', '.join(self._profile.qualifiers)}'")
        return out

    @property
    def conflicts(self) -> list[str]:
        """The keys that disagree, in words."""
        out = []
        domains = ", ".join(self._profile.domains)
        if self.domain_evidence == "other":
            out.append(f"domain {domains} is another account's")
        elif self.domain_evidence == "unknown":
            out.append(f"domains differ ({domains} vs {', '.join(self.domain_conflict)})")
        elif self.domain_evidence == "alias":
            out.append(f"domain {domains} is not on file (close to {', '.join(self._domains)})")
        if self.phone_evidence == "other":
            out.append("phone is another account's")
        elif self.phone_evidence == "differ":
            out.append("phones differ")
        elif self.phone_evidence == "local":
            out.append("phones differ (same area)")
        if self.location is False:
            out.append(f"places differ ('{', '.join(self._profile.qualifiers)}' vs "
                       f"'{', '.join(name_qualifiers(self.candidate.name))}')")
        if self.legal_conflict:
            out.append("legal forms of other countries' law")
        if self.country_conflict:
            out.append(f"countries differ ({self._profile.country} vs {(self.candidate.country or '').upper()})")
        return out


def score_candidate(
    profile: InquiryProfile, candidate: AccountCandidate, settings: MatchingSettings,
    owners: KeyOwners | None = None, weigh: bool = True,
) -> CandidateScore:
    """Score ``candidate`` for the inquiry ``profile`` (``owners``: see :meth:`CandidateScore.weigh`;
    the matcher passes ``weigh=False`` and weighs every candidate once it knows who holds the
    inquiry's keys)."""
    out = CandidateScore(profile, candidate, settings.review_threshold)
    cand_names: list[str] = []
    cand_domains: list[str] = []
    cand_phones: list[str] = []
    for key in candidate.keys:  # one pass over the keys, not one per kind
        kind = key.kind
        if kind == "name":
            cand_names.append(key.value)
        elif kind == "domain":
            cand_domains.append(key.value)
        elif kind == "phone":
            cand_phones.append(key.value)
        elif kind == "email" and key.value == profile.email:
            # Only personal accounts (no company known) carry an e-mail key: the same person.
            out.email_agrees = True
    out._domains, out._phones = cand_domains, cand_phones
    similarity: float | None = None
    if profile.name and cand_names:
        # The candidate's names are read once each, not cached: an account seldom comes up twice,
        # and a cache of forms would only keep the collector busy.
        query, loose = profile.name_form, profile.loose_form
        for text in cand_names:
            form = NameForm(text)
            found = _similarity(query, form)
            if loose is not None and found < LOOSE_TRUST:
                # "Acme Ldt" read as "Acme", trusted a little less than a name that needs no help.
                found = max(found, LOOSE_TRUST * _similarity(loose, form))
            if similarity is None or found > similarity:
                similarity, out.named = found, text
        out.name_similarity = similarity
    if cand_domains:
        out.shared_domains = sorted(set(cand_domains).intersection(profile.domains))
    if cand_phones:
        out.shared_phones = sorted(set(cand_phones).intersection(profile.phones))
        if not out.shared_phones and profile.unread_phones:
            _read_in_candidates_country(out, profile, candidate, cand_phones)
    if profile.qualifiers:
        out.location = locations_agree(profile.qualifiers, name_qualifiers(candidate.name))
    if similarity is not None and LEGAL_FORM_FLOOR <= similarity < 0.999 and profile.legal_countries:
        # "Taller Energy plc" is not "Taler Energy S.A.": a look-alike abroad, not a typo.
        theirs = legal_form_countries(candidate.name)
        out.legal_conflict = bool(theirs) and theirs.isdisjoint(profile.legal_countries)

    if out.shared_domains:
        # The domain is near-proof; the name only orders namesakes (a parent and its subsidiary
        # often share a domain: the subsidiary's own name must win).
        score = 0.9 + 0.1 * (similarity if similarity is not None else 0.6)
    else:
        score = similarity if similarity is not None else 0.0
    if out.shared_phones:
        # A company phone is nearly as telling as a domain; the name still orders namesakes. One
        # name's words all within the other's ("Lulu" and "Lulu Restaurant Bis Cafe") are the
        # subset trap alone, but with the same phone they are one business written short.
        named = similarity if similarity is not None else 0.2
        if similarity is not None and named < SHORT_NAME and _within(profile.name_form, NameForm(out.named)):
            named = SHORT_NAME
        phone_score = settings.phone_base + (1 - settings.phone_base) * named
        score = max(score, phone_score)
    if out.email_agrees:
        score = max(score, 0.95)
    if profile.country and candidate.country:
        if profile.country != candidate.country.upper():
            out.country_conflict = True
        else:
            out.country_agrees = True
    elif out.phone_read_as and out.shared_phones:
        out.country_agrees = True  # the phone agrees read as a number of the candidate's country
    out.base = score
    if weigh:
        out.weigh(owners or {}, settings)
    return out


def _read_in_candidates_country(
    out: CandidateScore, profile: InquiryProfile, candidate: AccountCandidate, cand_phones: list[str]
) -> None:
    """Read the inquiry's national phones in the candidate's country (its own, or its phones'):
    a phone that then agrees is the candidate's, read as that country's number."""
    regions = dict.fromkeys(filter(None, [(candidate.country or "").upper() or None,
                                          *(phone_region(p) for p in cand_phones)]))
    for region in regions:
        read = {phone_e164(raw, region) for raw in profile.unread_phones} - {None}
        shared = sorted(p for p in read if p in cand_phones)
        if shared:
            out.shared_phones, out.phone_read_as = shared, region
            return
    out.phone_read_as = next(iter(regions), None)
