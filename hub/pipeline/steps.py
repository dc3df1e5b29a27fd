"""What the pipeline's steps return (:class:`hub.pipeline.engine.Pipeline`): typed results a
review tool or a later step reads, instead of tuples."""

from __future__ import annotations

from dataclasses import dataclass

from hub.decisions import AccountMatch, ScorePart
from hub.schema import Account, Lead


@dataclass(frozen=True)
class Placement:
    """Step *place*: the matcher's verdict and the inquiry's account (matched, or opened for it)."""

    match: AccountMatch
    account_id: str
    #: The account opened for this inquiry (``None``: an existing one was matched).
    new_account: Account | None = None


@dataclass(frozen=True)
class Merged:
    """Step *merge*: the lead the inquiry joined or opened, with its account and contact."""

    lead: Lead
    account: Account
    created: bool
    contact_id: str | None


@dataclass(frozen=True)
class Scored:
    """Step *score*: the lead's new scores and the parts they are the sums of."""

    points: int  # engagement (``Lead.score``)
    parts: tuple[ScorePart, ...]
    fit: int = 0  # ``Lead.fit_score``
    grade: str | None = None
