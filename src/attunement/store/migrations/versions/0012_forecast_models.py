"""Forecast models fitted on the clinic's own ended episodes, kept as candidates until an
administrator activates one (see store/forecast_models.py). A new table: nothing is rebuilt.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-01 12:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "forecast_models",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=80), nullable=False),
        sa.Column("trained_on", sa.Text(), nullable=False),
        sa.Column("validation", sa.Text(), nullable=False),
        sa.Column("model", sa.Text(), nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("activated_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("comparison", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    # At most one active model, even when two administrators activate at once.
    op.create_index(
        "uq_forecast_models_one_active",
        "forecast_models",
        ["status"],
        unique=True,
        sqlite_where=sa.text("status = 'active'"),
        postgresql_where=sa.text("status = 'active'"),
    )


def downgrade() -> None:
    op.drop_index("uq_forecast_models_one_active", table_name="forecast_models")
    op.drop_table("forecast_models")
