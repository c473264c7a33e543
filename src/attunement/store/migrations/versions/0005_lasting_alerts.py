"""Alerts as lasting records with a history; the per-session alert records become their events.

Each alert record (episode, session, kind: seen, what was done, what happened next) becomes a
kept alert of that kind opened at that session: "actioned" when an action was recorded,
"acknowledged" when only seen, "open" otherwise. Its reason was never stored, so it says so
until the next computation of the client's alerts updates it. The record's seen, action and
outcome become the alert's events with the times they carry, and the old table goes.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-30 18:00:00
"""

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

CARRIED_OVER = "Recorded before alerts were kept with their history: the reason was not stored."

records = sa.table(
    "alert_records",
    sa.column("id", sa.Integer),
    sa.column("client_id", sa.Integer),
    sa.column("episode_id", sa.Integer),
    sa.column("session", sa.Integer),
    sa.column("kind", sa.String),
    sa.column("seen_at", sa.DateTime(timezone=True)),
    sa.column("seen_by", sa.Integer),
    sa.column("action", sa.Text),
    sa.column("next_outcome", sa.Text),
    sa.column("updated_at", sa.DateTime(timezone=True)),
)
alerts = sa.table(
    "alerts",
    sa.column("id", sa.Integer),
    sa.column("client_id", sa.Integer),
    sa.column("episode_id", sa.Integer),
    sa.column("kind", sa.String),
    sa.column("status", sa.String),
    sa.column("severity", sa.String),
    sa.column("probability", sa.Float),
    sa.column("requires_action", sa.Boolean),
    sa.column("opened_session", sa.Integer),
    sa.column("last_session", sa.Integer),
    sa.column("reason", sa.Text),
    sa.column("figures", sa.Text),
    sa.column("opened_at", sa.DateTime(timezone=True)),
    sa.column("changed_at", sa.DateTime(timezone=True)),
    sa.column("closed_at", sa.DateTime(timezone=True)),
)
events = sa.table(
    "alert_events",
    sa.column("alert_id", sa.Integer),
    sa.column("action", sa.String),
    sa.column("session", sa.Integer),
    sa.column("note", sa.Text),
    sa.column("at", sa.DateTime(timezone=True)),
    sa.column("by_user", sa.Integer),
)


def upgrade() -> None:
    op.create_table(
        "alerts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("client_id", sa.Integer(), nullable=False),
        sa.Column("episode_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("severity", sa.String(length=10), nullable=False),
        sa.Column("probability", sa.Float(), nullable=True),
        sa.Column("requires_action", sa.Boolean(), nullable=False),
        sa.Column("opened_session", sa.Integer(), nullable=False),
        sa.Column("last_session", sa.Integer(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("figures", sa.Text(), nullable=False),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["client_id"], ["clients.id"]),
        sa.ForeignKeyConstraint(["episode_id"], ["episodes.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_alerts_client_id", "alerts", ["client_id"])
    op.create_index("ix_alerts_episode_id", "alerts", ["episode_id"])
    op.create_table(
        "alert_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("alert_id", sa.Integer(), nullable=False),
        sa.Column("action", sa.String(length=30), nullable=False),
        sa.Column("session", sa.Integer(), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("by_user", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["alert_id"], ["alerts.id"]),
        sa.ForeignKeyConstraint(["by_user"], ["users.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_alert_events_alert_id", "alert_events", ["alert_id"])
    _carry_over_records()
    op.drop_table("alert_records")


def _carry_over_records() -> None:
    bind = op.get_bind()
    for row in bind.execute(sa.select(records).order_by(records.c.id)).all():
        status = "actioned" if row.action else "acknowledged" if row.seen_at else "open"
        moment = row.updated_at or datetime.now(UTC)
        alert_id = bind.execute(
            alerts.insert()
            .values(
                client_id=row.client_id,
                episode_id=row.episode_id,
                kind=row.kind,
                status=status,
                severity="high" if row.kind == "safety" else "medium",
                probability=None,
                requires_action=row.kind == "safety",
                opened_session=row.session,
                last_session=row.session,
                reason=CARRIED_OVER,
                figures="{}",
                opened_at=row.seen_at or moment,
                changed_at=moment,
                closed_at=moment if status == "actioned" and row.kind == "safety" else None,
            )
            .returning(alerts.c.id)
        ).scalar_one()
        history = [("opened", None, row.seen_at or moment, None)]
        if row.seen_at:
            history.append(("acknowledged", None, row.seen_at, row.seen_by))
        if row.action:
            history.append(("actioned", row.action, moment, row.seen_by))
        if row.next_outcome:
            history.append(("outcome", row.next_outcome, moment, row.seen_by))
        bind.execute(
            events.insert(),
            [
                {
                    "alert_id": alert_id,
                    "action": action,
                    "session": row.session,
                    "note": note,
                    "at": at,
                    "by_user": by,
                }
                for action, note, at, by in history
            ],
        )


def downgrade() -> None:
    raise NotImplementedError(
        "lasting alerts cannot be undone without losing their history: "
        "restore the backup taken before upgrading"
    )
