"""The ``[plugins.matching]`` table of hub.toml, validated, with defaults tuned by bench/matching.py.

Example::

    [plugins.matching]
    match_threshold = 0.9      # at or above: the inquiry joins the best account
    review_threshold = 0.75    # between the two: uncertain, a person decides (review queue)
    candidate_limit = 20
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, model_validator


class MatchingSettings(BaseModel):
    """Thresholds and limits of the account matcher."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    #: A candidate scoring at least this is the inquiry's account.
    match_threshold: float = Field(0.9, ge=0.0, le=1.0)
    #: Below ``match_threshold`` but at least this: uncertain, sent to the review queue.
    review_threshold: float = Field(0.75, ge=0.0, le=1.0)
    #: How many candidates to ask the store for (the most keys shared first).
    candidate_limit: int = Field(20, ge=1, le=1000)
    #: Score taken off when both sides have a domain, none agrees, and no account has the inquiry's.
    domain_conflict_penalty: float = Field(0.15, ge=0.0, le=1.0)
    #: ... when the inquiry's domain is another (unrelated) account's.
    domain_owned_penalty: float = Field(0.3, ge=0.0, le=1.0)
    #: ... when no account has the inquiry's domain and it is close to the candidate's (another
    #: TLD, a group form, a slip): likely the company's second domain, or a typo.
    domain_alias_penalty: float = Field(0.03, ge=0.0, le=1.0)
    #: ... when the inquiry's phone is another (unrelated) account's.
    phone_owned_penalty: float = Field(0.3, ge=0.0, le=1.0)
    #: ... when the inquiry gives the company's phone, the account has phones, and none agrees (a
    #: contact's direct line that differs costs nothing: it is seldom the switchboard).
    phone_conflict_penalty: float = Field(0.1, ge=0.0, le=1.0)
    #: ... the same, when the numbers share an area code (another line of the same site, often).
    phone_local_penalty: float = Field(0.03, ge=0.0, le=1.0)
    #: ... when an inexact name's legal form is of other countries' law than the account's
    #: ("Taller Energy plc" vs "Taler Energy S.A."): a look-alike abroad more often than a typo.
    legal_form_conflict_penalty: float = Field(0.06, ge=0.0, le=1.0)
    #: ... when both names say where the company is ("Spago (Las Vegas)") and the places differ.
    location_conflict_penalty: float = Field(0.15, ge=0.0, le=1.0)
    #: Score taken off when both sides have a country and they differ.
    country_conflict_penalty: float = Field(0.1, ge=0.0, le=1.0)
    #: Score of a candidate whose phone agrees, before its name similarity adds the rest to 1.
    phone_base: float = Field(0.85, ge=0.0, le=1.0)

    @model_validator(mode="after")
    def _ordered(self) -> MatchingSettings:
        if self.review_threshold > self.match_threshold:
            raise ValueError(
                f"review_threshold ({self.review_threshold}) must not exceed "
                f"match_threshold ({self.match_threshold})"
            )
        return self

