"""The store's tables (SQLAlchemy Core). Alembic migrations in ``migrations/`` create them.

One code path for SQLite and PostgreSQL: portable types only (JSON, timezone-aware DateTime,
autoincrement integer keys where order matters: inbox, outbox, audit).
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

# Integer primary keys that autoincrement on both SQLite (INTEGER PRIMARY KEY) and PostgreSQL.
Serial = BigInteger().with_variant(Integer(), "sqlite")

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

TS = DateTime(timezone=True)

#: Every inbound record, committed before it is acknowledged. Status: pending -> done | quarantined.
inbox = Table(
    "inbox",
    metadata,
    Column("id", Serial, primary_key=True, autoincrement=True),
    Column("connector", String(100), nullable=False),
    Column("stream", String(200), nullable=False),
    Column("external_id", String(255), nullable=False),
    Column("version", String(100), nullable=False, default=""),
    Column("payload", JSON, nullable=False),
    Column("updated_at", TS),
    Column("received_at", TS, nullable=False),
    Column("deleted", Boolean, nullable=False, default=False),
    Column("status", String(20), nullable=False, default="pending"),
    Column("processed_at", TS),
    Column("lead_id", String(40)),
    UniqueConstraint("connector", "stream", "external_id", "version"),
)
Index("ix_inbox_pending", inbox.c.status, inbox.c.id)

#: Records that could not be processed, with a reason a person can read. Replayable.
quarantine = Table(
    "quarantine",
    metadata,
    Column("id", Serial, primary_key=True, autoincrement=True),
    Column("inbox_id", ForeignKey("inbox.id"), nullable=True),
    Column("connector", String(100), nullable=False),
    Column("stream", String(200), nullable=False),
    Column("source_ref", String(500), nullable=False, default=""),  # e.g. leads.csv:17
    Column("raw", JSON, nullable=False),
    Column("reason", Text, nullable=False),
    Column("field", String(200)),
    Column("created_at", TS, nullable=False),
    Column("status", String(20), nullable=False, default="open"),  # open | replayed
    Column("resolved_at", TS),
)
Index("ix_quarantine_status", quarantine.c.status, quarantine.c.id)

accounts = Table(
    "accounts",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("name", String(500), nullable=False),
    Column("domain", String(255)),
    Column("country", String(2)),
    Column("parent_id", String(40)),
    Column("owner_id", String(100)),
    Column("created_at", TS, nullable=False),
    Column("updated_at", TS, nullable=False),
)

#: Indexed match keys: how an inbound record finds its account without scanning them all.
account_keys = Table(
    "account_keys",
    metadata,
    Column("kind", String(30), primary_key=True),
    Column("value", String(500), primary_key=True),
    Column("account_id", String(40), primary_key=True),
)
Index("ix_account_keys_account", account_keys.c.account_id)

contacts = Table(
    "contacts",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("account_id", String(40), nullable=False),
    Column("email", String(320)),
    Column("first_name", String(200)),
    Column("last_name", String(200)),
    Column("phone", String(40)),
    Column("title", String(300)),
    Column("country", String(2)),
    Column("created_at", TS, nullable=False),
    #: The key under which two contacts are one person (``hub_contact_key``: canonical e-mail).
    Column("match_key", String(320)),
    #: Blocking keys for candidate duplicates: normalised full name, phone digits (hub/pipeline/contacts.py).
    Column("name_key", String(400)),
    Column("phone_key", String(40)),
    #: Set when a person merged this contact into another (``leadhub contacts merge``).
    Column("merged_into", String(40)),
)
# By key within an account (the engine); by name within an account (candidates, and an account's
# contacts: account_id leads the index); by phone (candidates). No e-mail index: the match key is it.
Index("ix_contacts_match_key", contacts.c.match_key, contacts.c.account_id)
Index("ix_contacts_name_key", contacts.c.account_id, contacts.c.name_key)
Index("ix_contacts_phone_key", contacts.c.phone_key)

#: Pairs of contacts that may be one person, waiting for a person (``leadhub contacts duplicates``).
contact_duplicates = Table(
    "contact_duplicates",
    metadata,
    Column("id", Serial, primary_key=True, autoincrement=True),
    Column("contact_id", String(40), nullable=False),  # the contact created when the pair was found
    Column("other_id", String(40), nullable=False),  # the contact it may be
    Column("confidence", Float, nullable=False),
    Column("reason", Text, nullable=False),
    Column("status", String(20), nullable=False, default="open"),  # open | merged | kept_apart
    Column("created_at", TS, nullable=False),
    Column("decided_at", TS),
    Column("decided_by", String(100)),
    #: What a merge changed, so that ``leadhub contacts unmerge`` can put it back.
    Column("details", JSON, nullable=False, default=dict),
    UniqueConstraint("contact_id", "other_id"),
)
Index("ix_contact_duplicates_status", contact_duplicates.c.status, contact_duplicates.c.id)
Index("ix_contact_duplicates_other", contact_duplicates.c.other_id)

leads = Table(
    "leads",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("account_id", String(40), nullable=False),
    Column("product_line", String(100), nullable=False),
    Column("status", String(20), nullable=False),
    Column("score", Integer, nullable=False, default=0),
    Column("owner_id", String(100)),
    Column("sla_due_at", TS),
    Column("source_connector", String(100), nullable=False, default=""),
    Column("partner_id", String(40)),
    Column("is_open", Boolean, nullable=False, default=True),
    Column("created_at", TS, nullable=False),
    Column("updated_at", TS, nullable=False),
    Column("version", Integer, nullable=False, default=1),
    #: When sales gave the lead back (rejected, clawed back to nurture); the recycle window runs from here.
    Column("recycled_at", TS),
    #: Who the account's people are (fit), beside ``score`` (what they did); ``grade`` is fit's letter.
    Column("fit_score", Integer, nullable=False, default=0, server_default="0"),
    Column("grade", String(2)),
)
Index("ix_leads_open", leads.c.account_id, leads.c.product_line, leads.c.is_open)
Index("ix_leads_sla", leads.c.status, leads.c.sla_due_at)
Index("ix_leads_partner", leads.c.partner_id)

lead_contacts = Table(
    "lead_contacts",
    metadata,
    Column("lead_id", String(40), primary_key=True),
    Column("contact_id", String(40), primary_key=True),
    Column("position", Integer, nullable=False, default=0),
)

activities = Table(
    "activities",
    metadata,
    Column("id", Serial, primary_key=True, autoincrement=True),
    Column("lead_id", String(40), nullable=False),
    Column("contact_id", String(40)),
    Column("inbox_id", BigInteger),
    Column("kind", String(100), nullable=False),
    Column("at", TS, nullable=False),
    Column("source", String(200), nullable=False, default=""),
    Column("details", JSON, nullable=False, default=dict),
)
Index("ix_activities_lead", activities.c.lead_id)

#: Cross-references: this hub entity is that id in that system; version for echo suppression.
xrefs = Table(
    "xrefs",
    metadata,
    Column("entity", String(20), primary_key=True),  # lead | account | contact
    Column("system", String(100), primary_key=True),  # connector instance name
    Column("external_id", String(255), primary_key=True),
    Column("hub_id", String(40), nullable=False),
    Column("version", String(100)),
    Column("updated_at", TS, nullable=False),
)
Index("ix_xrefs_hub", xrefs.c.hub_id, xrefs.c.system)

cursors = Table(
    "cursors",
    metadata,
    Column("connector", String(100), primary_key=True),
    Column("stream", String(200), primary_key=True),
    Column("value", JSON, nullable=False),
    Column("updated_at", TS, nullable=False),
)

#: What must be delivered where. Status: pending -> done | dead.
outbox = Table(
    "outbox",
    metadata,
    Column("id", Serial, primary_key=True, autoincrement=True),
    Column("destination", String(100), nullable=False),
    Column("kind", String(20), nullable=False),  # lead | outcome
    Column("lead_id", String(40), nullable=False),
    Column("payload", JSON, nullable=False, default=dict),
    Column("status", String(20), nullable=False, default="pending"),
    Column("attempts", Integer, nullable=False, default=0),
    Column("next_attempt_at", TS, nullable=False),
    Column("last_error", Text),
    Column("created_at", TS, nullable=False),
    Column("delivered_at", TS),
)
Index("ix_outbox_due", outbox.c.status, outbox.c.destination, outbox.c.next_attempt_at)
Index("ix_outbox_lead", outbox.c.lead_id, outbox.c.kind)

dead_letters = Table(
    "dead_letters",
    metadata,
    Column("id", Serial, primary_key=True, autoincrement=True),
    Column("outbox_id", BigInteger, nullable=False),
    Column("destination", String(100), nullable=False),
    Column("kind", String(20), nullable=False),
    Column("lead_id", String(40), nullable=False),
    Column("error", Text, nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("created_at", TS, nullable=False),
    Column("status", String(20), nullable=False, default="open"),  # open | replayed
    Column("replayed_at", TS),
)

#: Every decision with its reason: what `leadhub leads show ID` explains.
audit = Table(
    "audit",
    metadata,
    Column("id", Serial, primary_key=True, autoincrement=True),
    Column("lead_id", String(40)),
    Column("account_id", String(40)),
    Column("at", TS, nullable=False),
    Column("action", String(40), nullable=False),  # match, merge, score, qualify, route, status...
    Column("actor", String(100), nullable=False, default="hub"),
    Column("reason", Text, nullable=False),
    Column("details", JSON, nullable=False, default=dict),
)
Index("ix_audit_lead", audit.c.lead_id, audit.c.id)

outcomes = Table(
    "outcomes",
    metadata,
    Column("id", Serial, primary_key=True, autoincrement=True),
    Column("lead_id", String(40), nullable=False),
    Column("status", String(20), nullable=False),
    Column("reason", Text, nullable=False, default=""),
    Column("amount", Float),
    Column("at", TS, nullable=False),
    Column("reported_by", String(100), nullable=False, default=""),
)
Index("ix_outcomes_lead", outcomes.c.lead_id)

owners = Table(
    "owners",
    metadata,
    Column("id", String(100), primary_key=True),
    Column("name", String(300), nullable=False),
    Column("email", String(320), nullable=False, default=""),
    Column("crm_ids", JSON, nullable=False, default=dict),
    Column("destination", String(100)),
    Column("active", Boolean, nullable=False, default=True),
)

partners = Table(
    "partners",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("name", String(300), nullable=False),
    Column("email", String(320), nullable=False),
    Column("key_hash", String(200), nullable=False),
    Column("key_prefix", String(20), nullable=False),
    Column("callback_url", String(2000)),
    Column("callback_secret", String(200)),
    Column("status", String(20), nullable=False, default="active"),
    Column("created_at", TS, nullable=False),
    #: The owner who gets this partner's referrals (routing's partner rule).
    Column("channel_manager_id", String(100)),
)
Index("ix_partners_key_prefix", partners.c.key_prefix)

#: An owner's time away (vacation, sick, offline): routing skips them from ``starts_at`` until
#: ``ends_at`` (open-ended while ``None``). Kept in the store, so it survives a restart; audited.
owner_away = Table(
    "owner_away",
    metadata,
    Column("id", Serial, primary_key=True, autoincrement=True),
    Column("owner_id", String(100), nullable=False),
    Column("starts_at", TS, nullable=False),
    Column("ends_at", TS),
    Column("reason", String(500), nullable=False, default="", server_default=""),
    Column("created_by", String(100), nullable=False, default="", server_default=""),
    Column("created_at", TS, nullable=False),
)
Index("ix_owner_away_owner", owner_away.c.owner_id, owner_away.c.starts_at)

#: Every routing assignment (who got which lead, by which team and rule, when): fairness between
#: weighted team members and capacity per period are counted from here.
routing_assignments = Table(
    "routing_assignments",
    metadata,
    Column("id", Serial, primary_key=True, autoincrement=True),
    Column("lead_id", String(40), nullable=False),
    Column("owner_id", String(100), nullable=False),
    Column("team", String(100)),
    Column("rule", String(100)),
    Column("at", TS, nullable=False),
)
Index("ix_routing_assignments_owner", routing_assignments.c.owner_id, routing_assignments.c.at)
Index("ix_routing_assignments_team", routing_assignments.c.team, routing_assignments.c.at)

#: Named counters (round-robin positions) and small key/value state.
counters = Table(
    "counters",
    metadata,
    Column("name", String(200), primary_key=True),
    Column("value", BigInteger, nullable=False, default=0),
)

#: Uncertain matches waiting for a person (`leadhub matches review`).
match_reviews = Table(
    "match_reviews",
    metadata,
    Column("id", Serial, primary_key=True, autoincrement=True),
    Column("lead_id", String(40), nullable=False),
    Column("account_id", String(40), nullable=False),  # the account opened meanwhile
    Column("candidate_id", String(40), nullable=False),  # the account it may be
    Column("score", Float, nullable=False),
    Column("reason", Text, nullable=False),
    Column("status", String(20), nullable=False, default="open"),  # open | accepted | rejected
    Column("decided_at", TS),
    Column("decided_by", String(100)),
    Column("created_at", TS, nullable=False),
)

