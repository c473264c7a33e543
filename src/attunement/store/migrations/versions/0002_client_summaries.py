"""Derived client summaries and the change counter that tells when one is current.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26 11:20:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("clients", schema=None) as batch_op:
        batch_op.add_column(sa.Column("data_version", sa.Integer(), nullable=False, server_default="0"))
    op.create_table(
        "client_summaries",
        sa.Column("client_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("basis", sa.String(length=80), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["client_id"], ["clients.id"]),
        sa.PrimaryKeyConstraint("client_id"),
    )


def downgrade() -> None:
    op.drop_table("client_summaries")
    with op.batch_alter_table("clients", schema=None) as batch_op:
        batch_op.drop_column("data_version")
