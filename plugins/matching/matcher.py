"""The account matcher: an inquiry's keys -> candidate accounts -> scores -> a verdict in words.

Outcomes (:class:`hub.decisions.MatchOutcome`):

- MATCHED: the best candidate reaches ``match_threshold`` and no unrelated account fits as well;
- UNCERTAIN: it reaches only ``review_threshold``, or two unrelated accounts fit equally well, or
  a namesake, a place or a parent and subsidiary leave it open (the rules below; a person
  decides in the review queue; the engine opens a new account meanwhile);
- NEW: nothing fits.

Candidates are ranked by score (0..1, what the thresholds compare); among those within
:data:`TIE_MARGIN` of the best, by the evidence each one has (:attr:`CandidateScore.support`: the
inquiry's domain, phone, name, place and country agreeing or not, counted apart): an account
that owns the inquiry's domain or phone beats a namesake that shares only the name, and a tie is
called only between candidates with equal evidence. Among a parent and its subsidiary the same
rule holds: the one the inquiry's own identifiers point to wins (a parent and subsidiary often
share a domain; the name, phone or place then decides), and when nothing tells them apart a
person decides.

Two lookups at most: by the identifying keys, then (no sure match yet) by the blocking keys that
find a mistyped or reworded name (:mod:`plugins.matching.keys`).
"""

from __future__ import annotations

from hub.api import AccountLookup, AccountMatch, Inquiry, MatchKey, MatchOutcome
from plugins.matching.keys import (
    BLOCKING_KINDS,
    InquiryProfile,
    ends_lookup_keys,
    national_readings,
    profile_inquiry,
)
from plugins.matching.scoring import CandidateScore, KeyOwners, family, score_candidate
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


def _as_identified(other: CandidateScore, best: CandidateScore) -> bool:
    """Whether ``other`` agrees on every identifier ``best`` agrees on (domain, phone, e-mail)."""
    return (set(other.shared_domains) >= set(best.shared_domains)
            and set(other.shared_phones) >= set(best.shared_phones)
            and other.email_agrees >= best.email_agrees)


def _owners(scored: list[CandidateScore]) -> KeyOwners:
    """Who holds the inquiry's domains and phones among the candidates: key -> families."""
    held: dict[str, set[str]] = {}
    for s in scored:
        if s.shared_domains or s.shared_phones:
            for key in (*s.shared_domains, *s.shared_phones):
                held.setdefault(key, set()).add(family(s.candidate))
    return {key: frozenset(families) for key, families in held.items()}


def _weigh(scored: list[CandidateScore], settings: MatchingSettings) -> None:
    owners = _owners(scored)
    for s in scored:
        s.weigh(owners, settings)


def _rank(scored: list[CandidateScore]) -> list[CandidateScore]:
    """Highest score first; among those within :data:`TIE_MARGIN` of the best, the most evidence
    first (then the higher score, then more agreeing keys)."""
    by_score = sorted(scored, key=lambda s: (s.score, s.support, s.candidate.account_id), reverse=True)
    top = by_score[0].score
    close = [s for s in by_score if top - s.score < TIE_MARGIN]
    if len(close) > 1:
        close.sort(key=lambda s: (s.support, round(s.score, 3), s.agreement_count, s.candidate.account_id),
                   reverse=True)
    return close + by_score[len(close):]


def _new_account(profile: InquiryProfile, inquiry: Inquiry) -> tuple[str, str | None]:
    contact = inquiry.contact
    person = " ".join(filter(None, (contact.first_name, contact.last_name)))
    name = (inquiry.company.name or "").strip() or person or profile.email or "Unknown company"
    domains = profile.domains
    return name[:255], domains[0] if domains else None


def _with_notes(reason: str, profile: InquiryProfile) -> str:
    return reason + (f" [{'; '.join(profile.notes)}]" if profile.notes else "")


def score_candidates(profile: InquiryProfile, lookup: AccountLookup, settings: MatchingSettings,
                     keys: list[MatchKey] | None = None) -> list[CandidateScore]:
    """The candidate accounts of an inquiry, each scored and weighed against the others.

    The identifying keys first (domain, phone, exact name: a few postings each); the blocking
    keys (broad, for typos and variants) only when no account found scores :data:`SURE_SCORE`:
    most inquiries are settled by a domain or an exact name in one small lookup.
    """
    keys = profile.keys() if keys is None else keys
    strong = [k for k in keys if k.kind not in BLOCKING_KINDS]
    # Looked up by, not indexed under: "Acme Ldt" as "acme" too, and a few more name_ends keys.
    extra = [MatchKey("name", profile.loose_name)] if profile.loose_name else []
    # A national number with no country told: looked up as each country's number it might be.
    extra += [MatchKey("phone", p) for raw in profile.unread_phones for p in national_readings(raw)
              if p not in profile.phones]
    candidates = lookup.candidates(strong + extra, limit=settings.candidate_limit) if strong or extra else []
    scored = [score_candidate(profile, c, settings, weigh=False) for c in candidates]
    _weigh(scored, settings)
    sure = max(settings.match_threshold, SURE_SCORE)
    if len(strong) < len(keys) and not any(s.score >= sure for s in scored):
        known = {c.account_id for c in candidates}
        # The blocking keys alone: an account an identifying key finds is among those found.
        wider = [*(k for k in keys if k.kind in BLOCKING_KINDS), *ends_lookup_keys(profile.name)]
        more = [c for c in lookup.candidates(wider, limit=settings.candidate_limit) if c.account_id not in known]
        if more:
            scored += [score_candidate(profile, c, settings, weigh=False) for c in more]
            _weigh(scored, settings)
    return scored


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
    scored = score_candidates(profile, lookup, settings, list(keys))
    if not scored:
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
    # Within the tie margin, a candidate with as much evidence as the best is as likely.
    equal = [s for s in ranked[1:] if best.score - s.score < TIE_MARGIN and s.support == best.support
             and s.score >= settings.review_threshold]
    rival = next((s for s in equal if not _related(best, s)), None)
    if (rival is None and not best.identified and best.name_support() >= 1.5 and best.domain_evidence != "alias"
            and best.location is not True):
        # A namesake: another account with as good a name, where nothing agrees either and
        # nothing rules it out (a weak disagreement, another switchboard number or a domain
        # nobody has, is not enough to prefer an account that merely has no phone or domain).
        rival = next((s for s in ranked[1:] if not _related(best, s) and not s.identified and not s.contradicted
                      and s.name_support() == best.name_support()), None)
    if (rival is None and not best.identified and best.name_support() >= 2.0
            and best.phone_evidence in ("local", "differ")):
        # A name several accounts have says less (as a common surname does): with the company's
        # phone disagreeing too, it is not enough, even where the namesake is abroad, and a parent
        # and its subsidiary of one name are not told apart by a number neither has.
        namesake = next((s for s in ranked[1:] if s.name_support() >= 2.0), None)
        if namesake is not None:
            return verdict(
                MatchOutcome.UNCERTAIN,
                f"'{profile.name}' is the name of more than one account and the phone disagrees: "
                f"{_describe(best)} ({_evidence(best)}), {_describe(namesake)} ({_evidence(namesake)}); "
                "a person decides",
                best,
            )
    if rival is not None:
        return verdict(
            MatchOutcome.UNCERTAIN,
            f"two unrelated accounts fit equally: {_describe(best)} ({_evidence(best)}) and "
            f"{_describe(rival)} ({_evidence(rival)}); a person decides",
            best,
        )
    if profile.qualifiers and best.location is None:
        # The inquiry names a place; accounts of this name are told apart by place, none by this
        # one ("Spago (Miami)" when the book has Spago's Las Vegas and Beverly Hills branches, and
        # the chain's own account shares their domain).
        other_place = next((s for s in ranked[1:] if s.location is False and _as_identified(s, best)
                            and s.name_support() >= best.name_support()), None)
        if other_place is not None:
            return verdict(
                MatchOutcome.UNCERTAIN,
                f"'{profile.raw_name}' names a place no account of that name has: {_describe(best)} "
                f"({_evidence(best)}) names none, {_describe(other_place)} another; a person decides",
                best,
            )
    kin = next((s for s in equal if _related(best, s)), None)
    if kin is not None and best.score >= settings.match_threshold:
        if kin.candidate.parent_id == best.candidate.account_id:
            pair = (f"parent {_describe(best)} ({_evidence(best)}) and its subsidiary "
                    f"{_describe(kin)} ({_evidence(kin)})")
        elif best.candidate.parent_id == kin.candidate.account_id:
            pair = (f"parent {_describe(kin)} ({_evidence(kin)}) and its subsidiary "
                    f"{_describe(best)} ({_evidence(best)})")
        else:
            pair = f"sister accounts {_describe(best)} ({_evidence(best)}) and {_describe(kin)} ({_evidence(kin)})"
        return verdict(MatchOutcome.UNCERTAIN, f"nothing tells {pair} apart; a person decides", best)
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
