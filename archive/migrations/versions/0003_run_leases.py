"""run_leases: one owner per run. A run's row names the process that holds it (host:pid:token)
and until when; taking it is one conditional write, so two processes never both own a run.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "run_leases",
        sa.Column("run_pk", sa.Integer(), sa.ForeignKey("runs.pk"), primary_key=True),
        sa.Column("holder", sa.String(300), nullable=False),
        sa.Column("acquired_at", sa.Float(), nullable=False),
        sa.Column("expires_at", sa.Float(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("run_leases")
