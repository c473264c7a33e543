"""Link schedules: an episode's choice of when links are created and sent without a clinician
(one row per change), and the links the schedule created, one per slot (unique per episode).

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-14 12:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "link_schedules",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("client_id", sa.Integer(), nullable=False),
        sa.Column("episode_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("every_days", sa.Integer(), nullable=True),
        sa.Column("channel", sa.String(length=10), nullable=False),
        sa.Column("valid_from", sa.DateTime(timezone=True), nullable=False),
        sa.Column("set_by", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["client_id"], ["clients.id"]),
        sa.ForeignKeyConstraint(["episode_id"], ["episodes.id"]),
        sa.ForeignKeyConstraint(["set_by"], ["users.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_link_schedules_client_id", "link_schedules", ["client_id"])
    op.create_index("ix_link_schedules_episode_id", "link_schedules", ["episode_id"])
    op.create_table(
        "scheduled_links",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("client_id", sa.Integer(), nullable=False),
        sa.Column("episode_id", sa.Integer(), nullable=False),
        sa.Column("slot", sa.String(length=40), nullable=False),
        sa.Column("link_id", sa.Integer(), nullable=False),
        sa.Column("schedule_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["client_id"], ["clients.id"]),
        sa.ForeignKeyConstraint(["episode_id"], ["episodes.id"]),
        sa.ForeignKeyConstraint(["link_id"], ["link_tokens.id"]),
        sa.ForeignKeyConstraint(["schedule_id"], ["link_schedules.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("episode_id", "slot", name="uq_scheduled_link_slot"),
    )
    op.create_index("ix_scheduled_links_client_id", "scheduled_links", ["client_id"])
    op.create_index("ix_scheduled_links_link_id", "scheduled_links", ["link_id"])


def downgrade() -> None:
    op.drop_index("ix_scheduled_links_link_id", table_name="scheduled_links")
    op.drop_index("ix_scheduled_links_client_id", table_name="scheduled_links")
    op.drop_table("scheduled_links")
    op.drop_index("ix_link_schedules_episode_id", table_name="link_schedules")
    op.drop_index("ix_link_schedules_client_id", table_name="link_schedules")
    op.drop_table("link_schedules")
