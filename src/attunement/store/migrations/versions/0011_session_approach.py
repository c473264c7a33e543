"""How the therapist worked in a session (the approach), recorded with their rating of it, so the
caseload check for "one approach for everyone" can run on the clinic's own sessions. Kept on the
rating's submission: a corrected rating keeps the approach it corrects in its history.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-01 11:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("submissions", sa.Column("approach", sa.String(length=40), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("submissions", schema=None) as batch_op:
        batch_op.drop_column("approach")
