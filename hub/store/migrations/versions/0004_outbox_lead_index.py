"""outbox(lead_id, kind) index: a lead's destinations are read without scanning the outbox

Revision ID: 0004
Revises: 0003
"""
from __future__ import annotations

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_outbox_lead", "outbox", ["lead_id", "kind"])


def downgrade() -> None:
    op.drop_index("ix_outbox_lead", table_name="outbox")
