"""contacts.match_key, name_key, phone_key, merged_into; contact_duplicates; leads.recycled_at

Contacts are matched by ``(account_id, match_key)`` (``hub_contact_key``) instead of the raw
e-mail, and candidate duplicates are looked up by name and phone keys, each through an index.
Existing contacts get ``match_key = lower(trim(email))`` and their name and phone keys here;
``leadhub contacts rekey`` recomputes the match keys with the plugins in force (the built-in
canonical e-mail folds Gmail dots and +tags, which SQL cannot). Existing rejected or recycled
leads get ``recycled_at`` from their audit trail (when sales gave them back).

Revision ID: 0005
Revises: 0004
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from hub.pipeline.contacts import name_key, phone_key

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)
_BATCH = 2000


def upgrade() -> None:
    op.add_column("contacts", sa.Column("match_key", sa.String(length=320), nullable=True))
    op.add_column("contacts", sa.Column("name_key", sa.String(length=400), nullable=True))
    op.add_column("contacts", sa.Column("phone_key", sa.String(length=40), nullable=True))
    op.add_column("contacts", sa.Column("merged_into", sa.String(length=40), nullable=True))
    op.add_column("leads", sa.Column("recycled_at", TS, nullable=True))
    op.create_table(
        "contact_duplicates",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("contact_id", sa.String(length=40), nullable=False),
        sa.Column("other_id", sa.String(length=40), nullable=False),
        sa.Column("confidence", sa.Float(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("decided_at", TS, nullable=True),
        sa.Column("decided_by", sa.String(length=100), nullable=True),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_contact_duplicates")),
        sa.UniqueConstraint("contact_id", "other_id", name=op.f("uq_contact_duplicates_contact_id_other_id")),
    )
    op.create_index("ix_contact_duplicates_status", "contact_duplicates", ["status", "id"])
    op.create_index("ix_contact_duplicates_other", "contact_duplicates", ["other_id"])

    contacts = sa.table("contacts", sa.column("id", sa.String), sa.column("email", sa.String),
                        sa.column("first_name", sa.String), sa.column("last_name", sa.String),
                        sa.column("phone", sa.String), sa.column("match_key", sa.String),
                        sa.column("name_key", sa.String), sa.column("phone_key", sa.String))
    op.execute(contacts.update().where(contacts.c.email.is_not(None))
               .values(match_key=sa.func.lower(sa.func.trim(contacts.c.email))))
    _backfill_blocking_keys(contacts)
    op.create_index("ix_contacts_match_key", "contacts", ["match_key", "account_id"])
    op.create_index("ix_contacts_name_key", "contacts", ["account_id", "name_key"])
    op.create_index("ix_contacts_phone_key", "contacts", ["phone_key"])
    # Replaced: the match key is the e-mail's index, and (account_id, name_key) starts with account_id.
    # Fewer indexes to maintain on every contact the engine writes.
    op.drop_index("ix_contacts_email", table_name="contacts")
    op.drop_index("ix_contacts_account", table_name="contacts")
    _backfill_recycled_at()


def _backfill_blocking_keys(contacts: sa.TableClause) -> None:
    """Name and phone keys as :mod:`hub.pipeline.contacts` computes them, in batches (Python, not SQL)."""
    conn = op.get_bind()
    last = ""
    stmt = sa.update(contacts).where(contacts.c.id == sa.bindparam("b_id")).values(
        name_key=sa.bindparam("b_name"), phone_key=sa.bindparam("b_phone"))
    while True:
        rows = conn.execute(sa.select(contacts.c.id, contacts.c.first_name, contacts.c.last_name, contacts.c.phone)
                            .where(contacts.c.id > last).order_by(contacts.c.id).limit(_BATCH)).all()
        if not rows:
            return
        updates = [{"b_id": r[0], "b_name": name_key(r[1], r[2]), "b_phone": phone_key(r[3])} for r in rows]
        updates = [u for u in updates if u["b_name"] or u["b_phone"]]
        if updates:
            conn.execute(stmt, updates)
        last = rows[-1][0]


def _backfill_recycled_at() -> None:
    """A rejected or nurture lead that sales gave back: the time of the latest give-back in its
    audit trail (``... -> rejected``, ``escalated|qualified -> nurture``, an SLA claw-back)."""
    op.execute(sa.text("""
        UPDATE leads SET recycled_at = (
            SELECT max(audit.at) FROM audit
            WHERE audit.lead_id = leads.id AND (
                (audit.action = 'status' AND audit.reason LIKE '% -> rejected%')
                OR (audit.action = 'status' AND audit.reason LIKE '% -> nurture%'
                    AND audit.reason NOT LIKE 'rejected -> nurture%' AND audit.reason NOT LIKE 'new -> nurture%')
                OR (audit.action = 'sla' AND audit.reason LIKE 'clawed back%')))
        WHERE status IN ('rejected', 'nurture')
    """))


def downgrade() -> None:
    op.create_index("ix_contacts_account", "contacts", ["account_id"])
    op.create_index("ix_contacts_email", "contacts", ["email"])
    op.drop_index("ix_contacts_phone_key", table_name="contacts")
    op.drop_index("ix_contacts_name_key", table_name="contacts")
    op.drop_index("ix_contacts_match_key", table_name="contacts")
    op.drop_index("ix_contact_duplicates_other", table_name="contact_duplicates")
    op.drop_index("ix_contact_duplicates_status", table_name="contact_duplicates")
    op.drop_table("contact_duplicates")
    with op.batch_alter_table("leads") as batch_op:
        batch_op.drop_column("recycled_at")
    with op.batch_alter_table("contacts") as batch_op:
        for column in ("merged_into", "phone_key", "name_key", "match_key"):
            batch_op.drop_column(column)
