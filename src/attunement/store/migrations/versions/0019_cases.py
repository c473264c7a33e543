"""Cases with several participants: a couple, a family or a group (``cases``), its therapists
over time (``case_therapists``, co-therapy) and its members over time (``case_members``: each a
client record of their own, in a role, from a case session on; a member who leaves keeps their
row). Existing clients and their data are untouched: they are individual clients, in no case.
Links gain who answers them (``rater``): every existing link is the client's own.

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-16 12:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "cases",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("public_id", sa.String(length=40), nullable=False),
        sa.Column("label", sa.String(length=80), nullable=False),
        sa.Column("format", sa.String(length=20), nullable=False),
        sa.Column("team_id", sa.Integer(), nullable=True),
        sa.Column("created_by", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.ForeignKeyConstraint(["team_id"], ["teams.id"]),
        sa.ForeignKeyConstraint(["created_by"], ["users.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("public_id"),
    )
    op.create_table(
        "case_therapists",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("added_on", sa.Date(), nullable=False),
        sa.Column("added_by", sa.Integer(), nullable=True),
        sa.Column("removed_on", sa.Date(), nullable=True),
        sa.Column("removed_by", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"]),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"]),
        sa.ForeignKeyConstraint(["added_by"], ["users.id"]),
        sa.ForeignKeyConstraint(["removed_by"], ["users.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_case_therapists_case_id", "case_therapists", ["case_id"])
    op.create_index("ix_case_therapists_user_id", "case_therapists", ["user_id"])
    op.create_table(
        "case_members",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("client_id", sa.Integer(), nullable=False),
        sa.Column("role", sa.String(length=20), nullable=False),
        sa.Column("first_session", sa.Integer(), nullable=False),
        sa.Column("own_first_session", sa.Integer(), nullable=False),
        sa.Column("joined_on", sa.Date(), nullable=False),
        sa.Column("left_on", sa.Date(), nullable=True),
        sa.Column("left_reason", sa.Text(), nullable=True),
        sa.Column("last_session", sa.Integer(), nullable=True),
        sa.Column("added_by", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"]),
        sa.ForeignKeyConstraint(["client_id"], ["clients.id"]),
        sa.ForeignKeyConstraint(["added_by"], ["users.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("client_id"),
    )
    op.create_index("ix_case_members_case_id", "case_members", ["case_id"])
    op.add_column(
        "link_tokens", sa.Column("rater", sa.String(length=20), nullable=False, server_default="client")
    )


def downgrade() -> None:
    # In place (SQLite 3.35 and later drop a column themselves): a copied table could not be put
    # back while submissions and messages refer to the links.
    op.drop_column("link_tokens", "rater")
    op.drop_index("ix_case_members_case_id", table_name="case_members")
    op.drop_table("case_members")
    op.drop_index("ix_case_therapists_user_id", table_name="case_therapists")
    op.drop_index("ix_case_therapists_case_id", table_name="case_therapists")
    op.drop_table("case_therapists")
    op.drop_table("cases")
