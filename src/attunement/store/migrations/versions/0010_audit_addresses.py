"""The network address each audit entry came from (empty for the app's own work and commands).

A plain ADD COLUMN: rebuilding the table, as a batch migration may on SQLite, would drop the
triggers that keep the log append-only.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-01 10:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("audit_events", sa.Column("address", sa.String(length=64), nullable=True))


def downgrade() -> None:
    raise NotImplementedError("the audit log is append-only: restore the backup taken before upgrading")
