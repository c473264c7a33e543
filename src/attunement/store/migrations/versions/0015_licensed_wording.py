"""Licensed wording: a clinic's own FHIR Questionnaire for a measure whose wording attunement does
not ship, one row per upload (earlier uploads are kept; the newest is used).

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-14 12:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "licensed_wordings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("instrument", sa.String(length=40), nullable=False),
        sa.Column("questionnaire", sa.Text(), nullable=False),
        sa.Column("licence_statement", sa.Text(), nullable=False),
        sa.Column("supplied_by", sa.String(length=120), nullable=False),
        sa.Column("supplied_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("uploaded_by", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["uploaded_by"], ["users.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_licensed_wordings_instrument", "licensed_wordings", ["instrument"])


def downgrade() -> None:
    op.drop_index("ix_licensed_wordings_instrument", table_name="licensed_wordings")
    op.drop_table("licensed_wordings")
