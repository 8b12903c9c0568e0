"""agents.stats_seq: a per-run counter bumped by every write that changes what a selector
sees, so `candidate_stats` can re-read only the agents that changed since its last call.

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
    op.add_column(
        "agents", sa.Column("stats_seq", sa.Integer(), nullable=False, server_default="0")
    )
    op.create_index("ix_agents_run_seq", "agents", ["run_pk", "stats_seq"])


def downgrade() -> None:
    op.drop_index("ix_agents_run_seq", "agents")
    with op.batch_alter_table("agents") as batch:
        batch.drop_column("stats_seq")
