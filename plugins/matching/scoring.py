"""Scoring one candidate account against an inquiry: a number in 0..1 and the evidence in words.

The name carries most cases, compared with rapidfuzz on normalised names. ``token_set_ratio``
alone is a trap: "acme" vs "acme logistics" scores 100 because one token set contains the other,
yet Acme Logistics is often a different company (or a subsidiary, which must win on its own
name). So a subset counts as equal only when the extra words are generic ("group", "holdings").
Typos are told from namesakes as people make them: slips spread over several words cost half
(:func:`_spread_typos`), another first letter is trusted less (:data:`FIRST_LETTER_TRUST`), the
same words reordered are not the same name, a mistyped legal form ("Ldt") is read as one.
Other keys move the score: an agreeing domain is near-proof, an agreeing phone adds, an agreeing
country adds a little; a domain (the company's, or for an inexact name the contact's company
e-mail domain) or a country that disagrees takes off (a namesake in another market is not the
same account).
"""

from __future__ import annotations

from collections.abc import Sequence

from rapidfuzz.distance import OSA
from rapidfuzz.fuzz import ratio, token_sort_ratio

from hub.api import AccountCandidate
from plugins.matching.keys import InquiryProfile
from plugins.matching.names import NameForm
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


#: How far a name read without a mistyped legal form (:func:`plugins.matching.names.loose_name`)
#: is trusted: "Acme Ldt" is 0.97 of "Acme", "Acme Corp" 1.0.
LOOSE_TRUST = 0.97


class CandidateScore:
    """A candidate's score and the evidence behind it.

    The evidence in words (:attr:`agreed`, :attr:`conflicts`) is written only when asked for: a
    lookup scores up to ``candidate_limit`` accounts and the verdict quotes one or two of them.
    """

    # What most candidates keep (set on the instance only when it differs).
    score = 0.0
    name_similarity: float | None = None
    named = ""  # the candidate's name the inquiry's name was closest to
    shared_domains: Sequence[str] = ()
    shared_phones: Sequence[str] = ()
    email_agrees = False
    domain_conflict: Sequence[str] = ()  # the candidate's domains, when none agrees
    country_conflict = False

    def __init__(self, profile: InquiryProfile, candidate: AccountCandidate, review_threshold: float) -> None:
        self._profile = profile
        self._review = review_threshold
        self.candidate = candidate

    @property
    def is_subsidiary(self) -> bool:
        return self.candidate.parent_id is not None

    @property
    def agreement_count(self) -> int:
        """How many kinds of key agree (what :attr:`agreed` lists), without writing them."""
        similarity = self.name_similarity
        named = similarity is not None and (similarity >= 0.999 or similarity >= self._review)
        return named + bool(self.shared_domains) + bool(self.shared_phones) + self.email_agrees

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
            out.append(f"phone {', '.join(self.shared_phones)}")
        if self.email_agrees:
            out.append(f"e-mail {self._profile.email}")
        return out

    @property
    def conflicts(self) -> list[str]:
        """The keys that disagree, in words."""
        out = []
        if self.domain_conflict:
            out.append(f"domains differ ({', '.join(self._profile.domains)} vs "
                       f"{', '.join(self.domain_conflict)})")
        if self.country_conflict:
            out.append(f"countries differ ({self._profile.country} vs {(self.candidate.country or '').upper()})")
        return out


def score_candidate(
    profile: InquiryProfile, candidate: AccountCandidate, settings: MatchingSettings
) -> CandidateScore:
    """Score ``candidate`` for the inquiry ``profile``."""
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

    if out.shared_domains:
        # The domain is near-proof; the name only orders namesakes (a parent and its subsidiary
        # often share a domain: the subsidiary's own name must win).
        score = 0.9 + 0.1 * (similarity if similarity is not None else 0.6)
    else:
        score = similarity if similarity is not None else 0.0
        # A company domain that disagrees counts against; so does the contact's own company
        # e-mail domain unless the names are the same (a company may write from a second domain,
        # but "Walter Lighting" at walterlighting.de is not "Walters Lighting" at walters.com).
        if cand_domains and (profile.company_domains or (profile.email_domain and score < 0.999)):
            score -= settings.domain_conflict_penalty
            out.domain_conflict = sorted(set(cand_domains))
    if out.shared_phones:
        # A company phone is nearly as telling as a domain; the name still orders namesakes.
        phone_score = settings.phone_base + (1 - settings.phone_base) * (similarity if similarity is not None else 0.2)
        score = max(score, phone_score)
    if out.email_agrees:
        score = max(score, 0.95)
    if profile.country and candidate.country:
        if profile.country != candidate.country.upper():
            score -= settings.country_conflict_penalty
            out.country_conflict = True
        else:
            # A country that agrees is weak evidence (many companies share one), but evidence: it
            # closes part of the gap to 1, so candidates of that country keep their order.
            score += COUNTRY_AGREEMENT * (1.0 - score)
    out.score = max(0.0, min(1.0, score))
    return out
