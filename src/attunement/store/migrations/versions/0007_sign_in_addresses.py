"""Where each sign-in attempt came from, so that guessing is slowed by address as well as by
account.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-30 19:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("login_attempts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("address", sa.String(length=64), nullable=True))
    op.create_index("ix_login_attempts_address", "login_attempts", ["address"])


def downgrade() -> None:
    op.drop_index("ix_login_attempts_address", table_name="login_attempts")
    with op.batch_alter_table("login_attempts", schema=None) as batch_op:
        batch_op.drop_column("address")
