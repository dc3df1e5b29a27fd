"""referrals: partner referrals and ops decisions on channel conflicts

Revision ID: 0002
Revises: 0001
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "referrals",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("partner_id", sa.String(length=40), nullable=False),
        sa.Column("connector", sa.String(length=100), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("company_name", sa.String(length=500), nullable=False),
        sa.Column("company_key", sa.String(length=500), nullable=False),
        sa.Column("account_id", sa.String(length=40), nullable=True),
        sa.Column("product_line", sa.String(length=100), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("conflict_reason", sa.Text(), nullable=True),
        sa.Column("conflict_detail", sa.Text(), nullable=True),
        sa.Column("decision_reason", sa.Text(), nullable=True),
        sa.Column("decided_by", sa.String(length=100), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_referrals")),
    )
    with op.batch_alter_table("referrals", schema=None) as batch_op:
        batch_op.create_index("ix_referrals_partner", ["partner_id", "created_at"], unique=False)
        batch_op.create_index("ix_referrals_company_key", ["company_key", "created_at"], unique=False)
        batch_op.create_index("ix_referrals_account", ["account_id"], unique=False)
        batch_op.create_index("ix_referrals_status", ["status"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("referrals", schema=None) as batch_op:
        batch_op.drop_index("ix_referrals_status")
        batch_op.drop_index("ix_referrals_account")
        batch_op.drop_index("ix_referrals_company_key")
        batch_op.drop_index("ix_referrals_partner")
    op.drop_table("referrals")
