"""Answers imported as FHIR QuestionnaireResponses keep the response's identifier
(``submissions.source_identifier``, "system|value"), unique, so importing the same response again
stores nothing and a different response under the same identifier is refused. Submissions made in
the app have none; nothing stored changes.

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-20 12:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("submissions", sa.Column("source_identifier", sa.String(length=300), nullable=True))
    op.create_index("ix_submissions_source_identifier", "submissions", ["source_identifier"], unique=True)


def downgrade() -> None:
    op.drop_index("ix_submissions_source_identifier", table_name="submissions")
    with op.batch_alter_table("submissions") as batch:
        batch.drop_column("source_identifier")
