"""agents.content_key: a key of the agent's code as the run's duplicate check normalises it
(dgm/novelty.py), stored at admission, so a resumed run rebuilds its index of exact
duplicates without reading every agent's files. NULL for agents recorded before, and for
agents of runs with the check off: a resume reads those files.

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


def upgrade() -> None:
    with op.batch_alter_table("agents") as batch:
        batch.add_column(sa.Column("content_key", sa.String(80), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("agents") as batch:
        batch.drop_column("content_key")
