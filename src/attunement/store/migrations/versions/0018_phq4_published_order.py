"""PHQ-4 items numbered as the published form numbers them: the anxiety pair (GAD-2) is items 1-2
and the depression pair (PHQ-2) items 3-4 (Kroenke et al. 2009). Stored PHQ-4 answers keep their
values and meaning; only the item ids they are filed under change, so that "phq4_1" means the
first question of the published form everywhere, in tables a clinic imports as in the database.
A table exported before this revision with PHQ-4 item columns must be renamed the same way
(docs/data-format.md).

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-12 12:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None

#: Old item id -> new item id: the same question, renumbered.
RENUMBERED = {"phq4_1": "phq4_3", "phq4_2": "phq4_4", "phq4_3": "phq4_1", "phq4_4": "phq4_2"}


def _rename(mapping: dict[str, str]) -> None:
    """One statement, so no row is ever filed under another question's id in between."""
    cases = " ".join(f"WHEN '{old}' THEN '{new}'" for old, new in mapping.items())
    listed = ", ".join(f"'{old}'" for old in mapping)
    op.execute(
        sa.text(
            f"UPDATE measures SET item = CASE item {cases} END "
            f"WHERE instrument = 'phq4' AND item IN ({listed})"
        )
    )


def upgrade() -> None:
    _rename(RENUMBERED)


def downgrade() -> None:
    _rename({new: old for old, new in RENUMBERED.items()})
