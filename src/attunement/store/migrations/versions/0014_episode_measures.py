"""Measures per episode: the questionnaires an episode's links carry, chosen by the clinician,
one row per choice (earlier choices are kept, each with the time it took effect).

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-10 12:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "episode_measures",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("client_id", sa.Integer(), nullable=False),
        sa.Column("episode_id", sa.Integer(), nullable=False),
        sa.Column("instruments", sa.String(length=200), nullable=False),
        sa.Column("valid_from", sa.DateTime(timezone=True), nullable=False),
        sa.Column("set_by", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["client_id"], ["clients.id"]),
        sa.ForeignKeyConstraint(["episode_id"], ["episodes.id"]),
        sa.ForeignKeyConstraint(["set_by"], ["users.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_episode_measures_client_id", "episode_measures", ["client_id"])
    op.create_index("ix_episode_measures_episode_id", "episode_measures", ["episode_id"])


def downgrade() -> None:
    op.drop_index("ix_episode_measures_episode_id", table_name="episode_measures")
    op.drop_index("ix_episode_measures_client_id", table_name="episode_measures")
    op.drop_table("episode_measures")
