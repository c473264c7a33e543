"""Supervision that can act: supervisors' notes on a client (never changed: corrections and
withdrawals are rows of their own), the "for supervision" flag's history, and who treated the
client before and after a change of therapist (episode events "reassigned").

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-08 12:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "supervision_notes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("client_id", sa.Integer(), nullable=False),
        sa.Column("corrects_id", sa.Integer(), nullable=True),
        sa.Column("author_id", sa.Integer(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("withdrawn", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("written_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["client_id"], ["clients.id"]),
        sa.ForeignKeyConstraint(["corrects_id"], ["supervision_notes.id"]),
        sa.ForeignKeyConstraint(["author_id"], ["users.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("corrects_id"),
    )
    op.create_index("ix_supervision_notes_client_id", "supervision_notes", ["client_id"])
    op.create_table(
        "supervision_flags",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("client_id", sa.Integer(), nullable=False),
        sa.Column("action", sa.String(length=10), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("by_user", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["client_id"], ["clients.id"]),
        sa.ForeignKeyConstraint(["by_user"], ["users.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_supervision_flags_client_id", "supervision_flags", ["client_id"])
    with op.batch_alter_table("episode_events", schema=None) as batch_op:
        batch_op.add_column(sa.Column("from_therapist_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("to_therapist_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            "fk_episode_events_from_therapist_id_users", "users", ["from_therapist_id"], ["id"]
        )
        batch_op.create_foreign_key(
            "fk_episode_events_to_therapist_id_users", "users", ["to_therapist_id"], ["id"]
        )


def downgrade() -> None:
    with op.batch_alter_table("episode_events", schema=None) as batch_op:
        batch_op.drop_constraint("fk_episode_events_to_therapist_id_users", type_="foreignkey")
        batch_op.drop_constraint("fk_episode_events_from_therapist_id_users", type_="foreignkey")
        batch_op.drop_column("to_therapist_id")
        batch_op.drop_column("from_therapist_id")
    op.drop_index("ix_supervision_flags_client_id", table_name="supervision_flags")
    op.drop_table("supervision_flags")
    op.drop_index("ix_supervision_notes_client_id", table_name="supervision_notes")
    op.drop_table("supervision_notes")
