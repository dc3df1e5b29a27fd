"""The account matcher: an inquiry's keys -> candidate accounts -> scores -> a verdict in words.

Outcomes (:class:`hub.decisions.MatchOutcome`):

- MATCHED: the best candidate reaches ``match_threshold`` and no unrelated account fits as well;
- UNCERTAIN: it reaches only ``review_threshold``, or two unrelated accounts fit equally well (a
  person decides in the review queue; the engine opens a new account meanwhile);
- NEW: nothing fits.

Among a parent and its subsidiary the more specific account wins: the subsidiary whose own name
or domain agrees (a parent and subsidiary often share a domain; the name then decides).

Two lookups at most: by the identifying keys, then (no sure match yet) by the blocking keys that
find a mistyped or reworded name (:mod:`plugins.matching.keys`).
"""

from __future__ import annotations

from hub.api import AccountLookup, AccountMatch, Inquiry, MatchKey, MatchOutcome
from plugins.matching.keys import BLOCKING_KINDS, InquiryProfile, ends_lookup_keys, profile_inquiry
from plugins.matching.scoring import CandidateScore, score_candidate
from plugins.matching.settings import MatchingSettings

#: Two unrelated candidates this close are a tie: a person must choose.
TIE_MARGIN = 0.02
#: The blocking keys are looked up unless an identifying key found an account scoring this (or
#: the match threshold, if higher): the same candidates whatever the threshold below it, so a
#: benchmark run with the thresholds open decides as a tuned one would.
SURE_SCORE = 0.95


def _describe(scored: CandidateScore) -> str:
    return f"'{scored.candidate.name}' ({scored.candidate.account_id})"


def _evidence(scored: CandidateScore) -> str:
    said, conflicts = scored.agreed, scored.conflicts
    agreed = " and ".join(said) if said else "no key"
    text = f"{agreed} {'agree' if len(said) > 1 or not said else 'agrees'}"
    if conflicts:
        text += f"; but {', '.join(conflicts)}"
    return f"{text} (score {scored.score:.2f})"


def _related(a: CandidateScore, b: CandidateScore) -> bool:
    ca, cb = a.candidate, b.candidate
    return ca.parent_id == cb.account_id or cb.parent_id == ca.account_id or (
        ca.parent_id is not None and ca.parent_id == cb.parent_id
    )


def _rank(scored: list[CandidateScore]) -> list[CandidateScore]:
    # Highest score first; on a tie, more agreeing keys, then the more specific (a subsidiary).
    return sorted(
        scored,
        key=lambda s: (round(s.score, 3), s.agreement_count, s.is_subsidiary, s.candidate.account_id),
        reverse=True,
    )


def _new_account(profile: InquiryProfile, inquiry: Inquiry) -> tuple[str, str | None]:
    contact = inquiry.contact
    person = " ".join(filter(None, (contact.first_name, contact.last_name)))
    name = (inquiry.company.name or "").strip() or person or profile.email or "Unknown company"
    domains = profile.domains
    return name[:255], domains[0] if domains else None


def _with_notes(reason: str, profile: InquiryProfile) -> str:
    return reason + (f" [{'; '.join(profile.notes)}]" if profile.notes else "")


def match_account(inquiry: Inquiry, lookup: AccountLookup, settings: MatchingSettings) -> AccountMatch:
    """Decide which account ``inquiry`` belongs to (see the module docstring)."""
    profile = profile_inquiry(inquiry)
    keys = tuple(profile.keys())
    new_name, new_domain = _new_account(profile, inquiry)

    def verdict(outcome: MatchOutcome, reason: str, best: CandidateScore | None = None) -> AccountMatch:
        return AccountMatch(
            outcome=outcome,
            reason=_with_notes(reason, profile),
            account_id=best.candidate.account_id if best else None,
            score=round(best.score, 4) if best else 0.0,
            keys=keys,
            new_account_name=new_name,
            new_account_domain=new_domain,
        )

    if not keys:
        return verdict(MatchOutcome.NEW, "nothing identifies a company (no name, domain, phone or e-mail)")
    # The identifying keys first (domain, phone, exact name: a few postings each); the blocking
    # keys (broad, for typos and variants) only when no account found scores SURE_SCORE: most
    # inquiries are settled by a domain or an exact name in one small lookup.
    strong = [k for k in keys if k.kind not in BLOCKING_KINDS]
    # Looked up by, not indexed under: "Acme Ldt" as "acme" too, and a few more name_ends keys.
    extra = [MatchKey("name", profile.loose_name)] if profile.loose_name else []
    candidates = lookup.candidates(strong + extra, limit=settings.candidate_limit) if strong else []
    scored = [score_candidate(profile, c, settings) for c in candidates]
    sure = max(settings.match_threshold, SURE_SCORE)
    if len(strong) < len(keys) and not any(s.score >= sure for s in scored):
        known = {c.account_id for c in candidates}
        # The blocking keys alone: an account an identifying key finds is among those found.
        wider = [*(k for k in keys if k.kind in BLOCKING_KINDS), *ends_lookup_keys(profile.name)]
        more = [c for c in lookup.candidates(wider, limit=settings.candidate_limit) if c.account_id not in known]
        candidates += more
        scored += [score_candidate(profile, c, settings) for c in more]
    if not candidates:
        shown = ", ".join(f"{k.kind} {k.value}" for k in keys if not k.kind.startswith("name_"))
        return verdict(MatchOutcome.NEW, f"no account shares a key ({shown}): new account")
    ranked = _rank(scored)
    best = ranked[0]
    if best.score < settings.review_threshold:
        return verdict(
            MatchOutcome.NEW,
            f"closest account {_describe(best)}: {_evidence(best)}, below the review threshold "
            f"{settings.review_threshold:.2f}: new account",
        )
    rival = next((s for s in ranked[1:] if not _related(best, s)), None)
    if rival is not None and best.score - rival.score < TIE_MARGIN and rival.score >= settings.review_threshold:
        return verdict(
            MatchOutcome.UNCERTAIN,
            f"two unrelated accounts fit equally: {_describe(best)} ({_evidence(best)}) and "
            f"{_describe(rival)} ({_evidence(rival)}); a person decides",
            best,
        )
    if best.score < settings.match_threshold:
        return verdict(
            MatchOutcome.UNCERTAIN,
            f"{_evidence(best)} for {_describe(best)}: between the review threshold "
            f"{settings.review_threshold:.2f} and the match threshold {settings.match_threshold:.2f}; "
            "a person decides",
            best,
        )
    reason = _evidence(best)
    parent = next((s for s in ranked[1:] if s.candidate.account_id == best.candidate.parent_id), None)
    if parent is not None:
        reason += (
            f"; the most specific account: subsidiary {_describe(best)} of parent {_describe(parent)} "
            f"(parent scored {parent.score:.2f})"
        )
    elif best.candidate.parent_id:
        reason += f"; subsidiary of {best.candidate.parent_id}"
    return verdict(MatchOutcome.MATCHED, reason, best)
