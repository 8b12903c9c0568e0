"""Problems and ReEvo: a run's score direction, an evaluation's named metrics, and the
reflections a reflective operator (ReEvo) writes and reads back on resume.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("runs", sa.Column("direction", sa.String(3), nullable=True))
    if op.get_bind().dialect.name == "sqlite":
        # SQLite adds a column with a REFERENCES clause in place; alembic would rebuild the
        # (WITHOUT ROWID) table to add the constraint separately.
        op.execute("ALTER TABLE evaluations ADD COLUMN metrics_pk INTEGER REFERENCES blobs (pk)")
    else:
        op.add_column(
            "evaluations",
            sa.Column("metrics_pk", sa.Integer(), sa.ForeignKey("blobs.pk"), nullable=True),
        )
    op.create_table(
        "reflections",
        sa.Column("pk", sa.Integer(), primary_key=True),
        sa.Column("run_pk", sa.Integer(), sa.ForeignKey("runs.pk"), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("generation", sa.Integer(), nullable=False),
        sa.Column("iteration", sa.Integer(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("agents", sa.Text(), nullable=False),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.UniqueConstraint("run_pk", "kind", "iteration", name="uq_reflections_run_kind_iter"),
    )


def downgrade() -> None:
    op.drop_table("reflections")
    with op.batch_alter_table("evaluations") as batch:
        batch.drop_column("metrics_pk")
    with op.batch_alter_table("runs") as batch:
        batch.drop_column("direction")
