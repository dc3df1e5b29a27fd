"""routing: fit score and grade on leads, owners' away periods, the assignment log, partners' channel managers

Revision ID: 0006
Revises: 0005
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("leads", schema=None) as batch_op:
        batch_op.add_column(sa.Column("fit_score", sa.Integer(), nullable=False, server_default="0"))
        batch_op.add_column(sa.Column("grade", sa.String(length=2), nullable=True))
    with op.batch_alter_table("partners", schema=None) as batch_op:
        batch_op.add_column(sa.Column("channel_manager_id", sa.String(length=100), nullable=True))
    op.create_table(
        "owner_away",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("owner_id", sa.String(length=100), nullable=False),
        sa.Column("starts_at", TS, nullable=False),
        sa.Column("ends_at", TS, nullable=True),
        sa.Column("reason", sa.String(length=500), nullable=False, server_default=""),
        sa.Column("created_by", sa.String(length=100), nullable=False, server_default=""),
        sa.Column("created_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_owner_away")),
    )
    with op.batch_alter_table("owner_away", schema=None) as batch_op:
        batch_op.create_index("ix_owner_away_owner", ["owner_id", "starts_at"], unique=False)
    op.create_table(
        "routing_assignments",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("lead_id", sa.String(length=40), nullable=False),
        sa.Column("owner_id", sa.String(length=100), nullable=False),
        sa.Column("team", sa.String(length=100), nullable=True),
        sa.Column("rule", sa.String(length=100), nullable=True),
        sa.Column("at", TS, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_routing_assignments")),
    )
    with op.batch_alter_table("routing_assignments", schema=None) as batch_op:
        batch_op.create_index("ix_routing_assignments_owner", ["owner_id", "at"], unique=False)
        batch_op.create_index("ix_routing_assignments_team", ["team", "at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("routing_assignments", schema=None) as batch_op:
        batch_op.drop_index("ix_routing_assignments_team")
        batch_op.drop_index("ix_routing_assignments_owner")
    op.drop_table("routing_assignments")
    with op.batch_alter_table("owner_away", schema=None) as batch_op:
        batch_op.drop_index("ix_owner_away_owner")
    op.drop_table("owner_away")
    with op.batch_alter_table("partners", schema=None) as batch_op:
        batch_op.drop_column("channel_manager_id")
    with op.batch_alter_table("leads", schema=None) as batch_op:
        batch_op.drop_column("grade")
        batch_op.drop_column("fit_score")
