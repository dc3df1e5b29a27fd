"""Tables of the partner channel: referrals and what ops decided about them.

Partners themselves live in :data:`hub.store.tables.partners` (from the initial schema). A
referral is kept here from the moment it is received, because a referral in channel conflict is
*not* handed to the pipeline until ops approve it (``leadhub referrals approve``), and because a
partner asks about "my referral" by the id we gave them, not by a lead id. Once submitted, its
lead is found through the cross-reference ``xrefs(entity="lead", system=<instance>,
external_id=<referral id>)`` that the mapping's ``source_ref`` writes.

Some news for a partner has no lead to hang on: a referral ops *reject* while it is held never
reaches the pipeline, so the hub's outbox (one row per lead) cannot carry its callback.
:data:`referral_events` is the partner channel's own small outbox for those: written in the
transaction of the decision, sent (signed, retried, leased) by the partner connector.

Import this module before :data:`hub.store.tables.metadata` is used for autogenerate.
"""

from __future__ import annotations

from sqlalchemy import JSON, Column, Index, Integer, String, Table, Text

from hub.api import TS, Serial, metadata

#: Status: submitted (in the pipeline) | conflict (waits for ops) | approved (submitted by ops)
#: | rejected (by ops, with a reason the partner sees).
referrals = Table(
    "referrals",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("partner_id", String(40), nullable=False),
    Column("connector", String(100), nullable=False),  # the connector instance that received it
    Column("status", String(20), nullable=False),
    Column("company_name", String(500), nullable=False),
    Column("company_key", String(500), nullable=False),  # domain, else normalised name: conflict look-ups
    Column("account_id", String(40)),  # the matched account at submission, if any
    Column("product_line", String(100), nullable=False, default="default"),
    Column("payload", JSON, nullable=False),  # exactly what goes (or went) to the inbox
    Column("conflict_reason", Text),  # shown to the partner: never names another partner
    Column("conflict_detail", Text),  # for ops only: which lead / referral it conflicts with
    Column("decision_reason", Text),
    Column("decided_by", String(100)),
    Column("decided_at", TS),
    Column("created_at", TS, nullable=False),
)
Index("ix_referrals_partner", referrals.c.partner_id, referrals.c.created_at)
Index("ix_referrals_company_key", referrals.c.company_key, referrals.c.created_at)
Index("ix_referrals_account", referrals.c.account_id)
Index("ix_referrals_status", referrals.c.status)

#: Callbacks about referrals that have no lead (ops rejected them). Status: pending | done | dead.
referral_events = Table(
    "referral_events",
    metadata,
    Column("id", Serial, primary_key=True, autoincrement=True),
    Column("referral_id", String(40), nullable=False),
    Column("partner_id", String(40), nullable=False),
    Column("connector", String(100), nullable=False),  # the instance that sends it
    Column("event", String(50), nullable=False),  # e.g. referral.status_changed
    Column("payload", JSON, nullable=False),  # the callback body, as the partner receives it
    Column("status", String(20), nullable=False, default="pending"),
    Column("attempts", Integer, nullable=False, default=0),
    Column("next_attempt_at", TS, nullable=False),  # also the lease of a claimed row
    Column("last_error", Text),  # never holds a secret: the sender's messages name none
    Column("created_at", TS, nullable=False),
    Column("delivered_at", TS),
)
Index("ix_referral_events_due", referral_events.c.status, referral_events.c.connector,
      referral_events.c.next_attempt_at)
Index("ix_referral_events_referral", referral_events.c.referral_id)
