"""Scoring one candidate account against an inquiry: a number in 0..1 and the evidence in words.

The name carries most cases, compared with rapidfuzz on normalised names. ``token_set_ratio``
alone is a trap: "acme" vs "acme logistics" scores 100 because one token set contains the other,
yet Acme Logistics is often a different company (or a subsidiary, which must win on its own
name). So a subset counts as equal only when the extra words are generic ("group", "holdings").
Other keys move the score: an agreeing domain is near-proof, an agreeing phone adds, a domain or
country that disagrees takes off (a namesake in another market is not the same account).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from rapidfuzz import fuzz

from hub.decisions import AccountCandidate
from plugins.matching.keys import InquiryProfile
from plugins.matching.names import GENERIC_WORDS, compact, core_name
from plugins.matching.settings import MatchingSettings


def name_similarity(a: str, b: str) -> float:
    """Similarity of two normalised company names, 0..1, safe from the subset trap."""
    if not a or not b:
        return 0.0
    if a == b:
        return 1.0
    if compact(a) == compact(b):
        return 0.99  # "ab c" vs "abc": spacing only
    tokens_a, tokens_b = set(a.split()), set(b.split())
    if {t for t in tokens_a if not t.isalpha()} != {t for t in tokens_b if not t.isalpha()}:
        # Numbers name different companies: "company 1" is not "company 12", "3m" not "4m".
        return min(0.5, fuzz.token_sort_ratio(a, b) / 100.0)
    if tokens_a != tokens_b and (tokens_a ^ tokens_b) <= GENERIC_WORDS:
        return 0.96  # "acme group" vs "acme": only generic words differ
    best = max(fuzz.token_sort_ratio(a, b), fuzz.ratio(compact(a), compact(b)))
    core_a, core_b = core_name(a), core_name(b)
    if (core_a, core_b) != (a, b):
        best = max(best, 0.97 * fuzz.ratio(compact(core_a), compact(core_b)))
    return best / 100.0


@dataclass
class CandidateScore:
    """A candidate's score and the evidence behind it."""

    candidate: AccountCandidate
    score: float
    name_similarity: float | None
    agreed: list[str] = field(default_factory=list)  # e.g. "domain acme.com", "name 'acme'"
    conflicts: list[str] = field(default_factory=list)

    @property
    def is_subsidiary(self) -> bool:
        return self.candidate.parent_id is not None


def _values_by_kind(candidate: AccountCandidate) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for key in candidate.keys:
        out.setdefault(key.kind, set()).add(key.value)
    return out


_NONE: frozenset[str] = frozenset()


def score_candidate(
    profile: InquiryProfile, candidate: AccountCandidate, settings: MatchingSettings
) -> CandidateScore:
    """Score ``candidate`` for the inquiry ``profile``."""
    agreed: list[str] = []
    conflicts: list[str] = []
    values = _values_by_kind(candidate)  # one pass over the keys, not one per kind
    cand_names = values.get("name", _NONE)
    similarity: float | None = None
    if profile.name and cand_names:
        similarity = max(name_similarity(profile.name, n) for n in cand_names)
        if similarity >= 0.999:
            agreed.append(f"name '{profile.name}'")
        elif similarity >= settings.review_threshold:
            best_name = max(cand_names, key=lambda n: name_similarity(profile.name, n))
            agreed.append(f"name '{profile.name}' ~ '{best_name}' ({similarity:.2f})")

    cand_domains = values.get("domain", _NONE)
    shared_domains = sorted(set(profile.domains) & cand_domains)
    cand_phones = values.get("phone", _NONE)
    shared_phones = sorted(set(profile.phones) & cand_phones)

    if shared_domains:
        agreed.insert(0, f"domain {', '.join(shared_domains)}")
        # The domain is near-proof; the name only orders namesakes (a parent and its subsidiary
        # often share a domain: the subsidiary's own name must win).
        score = 0.9 + 0.1 * (similarity if similarity is not None else 0.6)
    else:
        score = similarity if similarity is not None else 0.0
        if profile.company_domains and cand_domains:
            score -= settings.domain_conflict_penalty
            conflicts.append(
                f"domains differ ({', '.join(profile.company_domains)} vs {', '.join(sorted(cand_domains))})"
            )
    if shared_phones:
        agreed.append(f"phone {', '.join(shared_phones)}")
        # A company phone is nearly as telling as a domain; the name still orders namesakes.
        phone_score = settings.phone_base + (1 - settings.phone_base) * (similarity if similarity is not None else 0.2)
        score = max(score, phone_score)
    if profile.email and profile.email in values.get("email", _NONE):
        # Only personal accounts (no company known) carry an e-mail key: the same person.
        agreed.append(f"e-mail {profile.email}")
        score = max(score, 0.95)
    if profile.country and candidate.country and profile.country != candidate.country.upper():
        score -= settings.country_conflict_penalty
        conflicts.append(f"countries differ ({profile.country} vs {candidate.country.upper()})")
    return CandidateScore(candidate, max(0.0, min(1.0, score)), similarity, agreed, conflicts)
