"""Episodes of care and numbered, dated sessions; nothing is overwritten any more.

Every client gets one episode holding all of its data: active when the client's status was
"ongoing", otherwise ended with that status as its reason (an unknown status becomes "other").
The episode starts on the earliest date known for the client (its record, first link or first
answer) and an ended one ends on the date of its last answer. Every submission, measure row,
link and alert record is attached to that episode, and every session number that was linked,
answered or recorded gets a session row. Answers are no longer unique per session (two links
answered for one session are both kept), so that constraint goes; alert records become unique
per episode, session and kind. The client's ``status`` column is dropped: it lives on in the
episode, and its exact value in the note of the episode's first events.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-30 17:00:00
"""

from datetime import UTC, date, datetime

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

STATUS_TO_END_REASON = {
    "completed": "completed",
    "dropout": "dropout",
    "referred": "referred",
    "other": "other",
}
MIGRATED = "carried over from the record kept before episodes of care"

clients = sa.table(
    "clients",
    sa.column("id", sa.Integer),
    sa.column("therapist_id", sa.Integer),
    sa.column("status", sa.String),
    sa.column("created_at", sa.DateTime(timezone=True)),
)
episodes = sa.table(
    "episodes",
    sa.column("id", sa.Integer),
    sa.column("client_id", sa.Integer),
    sa.column("number", sa.Integer),
    sa.column("therapist_id", sa.Integer),
    sa.column("status", sa.String),
    sa.column("started_on", sa.Date),
    sa.column("end_reason", sa.String),
    sa.column("ended_on", sa.Date),
    sa.column("created_at", sa.DateTime(timezone=True)),
)
episode_events = sa.table(
    "episode_events",
    sa.column("episode_id", sa.Integer),
    sa.column("action", sa.String),
    sa.column("end_reason", sa.String),
    sa.column("on_date", sa.Date),
    sa.column("note", sa.Text),
    sa.column("at", sa.DateTime(timezone=True)),
    sa.column("by_user", sa.Integer),
)
submissions = sa.table(
    "submissions",
    sa.column("client_id", sa.Integer),
    sa.column("submitted_at", sa.DateTime(timezone=True)),
)
link_tokens = sa.table(
    "link_tokens",
    sa.column("client_id", sa.Integer),
    sa.column("created_at", sa.DateTime(timezone=True)),
)


def upgrade() -> None:
    _create_tables()
    _one_episode_per_client()
    for table in ("submissions", "measures", "link_tokens", "alert_records"):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column("episode_id", sa.Integer(), nullable=True))
        op.execute(
            f"UPDATE {table} SET episode_id = "
            f"(SELECT episodes.id FROM episodes WHERE episodes.client_id = {table}.client_id)"
        )
    _session_rows()
    with op.batch_alter_table("submissions", schema=None) as batch_op:
        batch_op.alter_column("episode_id", existing_type=sa.Integer(), nullable=False)
        batch_op.add_column(sa.Column("supersedes_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key("fk_submissions_episode", "episodes", ["episode_id"], ["id"])
        batch_op.create_foreign_key("fk_submissions_supersedes", "submissions", ["supersedes_id"], ["id"])
        batch_op.create_index("ix_submissions_episode_id", ["episode_id"], unique=False)
    with op.batch_alter_table("measures", schema=None) as batch_op:
        batch_op.alter_column("episode_id", existing_type=sa.Integer(), nullable=False)
        batch_op.drop_constraint("uq_measures_answer", type_="unique")
        batch_op.create_foreign_key("fk_measures_episode", "episodes", ["episode_id"], ["id"])
        batch_op.create_index("ix_measures_episode_session", ["episode_id", "session"], unique=False)
    with op.batch_alter_table("link_tokens", schema=None) as batch_op:
        batch_op.alter_column("episode_id", existing_type=sa.Integer(), nullable=False)
        batch_op.create_foreign_key("fk_link_tokens_episode", "episodes", ["episode_id"], ["id"])
        batch_op.create_index("ix_link_tokens_episode_id", ["episode_id"], unique=False)
    with op.batch_alter_table("alert_records", schema=None) as batch_op:
        batch_op.alter_column("episode_id", existing_type=sa.Integer(), nullable=False)
        batch_op.drop_constraint("uq_alert_record", type_="unique")
        batch_op.create_unique_constraint("uq_alert_record_episode", ["episode_id", "session", "kind"])
        batch_op.create_foreign_key("fk_alert_records_episode", "episodes", ["episode_id"], ["id"])
        batch_op.create_index("ix_alert_records_episode_id", ["episode_id"], unique=False)
    with op.batch_alter_table("clients", schema=None) as batch_op:
        batch_op.drop_column("status")


def _create_tables() -> None:
    op.create_table(
        "episodes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("client_id", sa.Integer(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("therapist_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("started_on", sa.Date(), nullable=False),
        sa.Column("end_reason", sa.String(length=20), nullable=True),
        sa.Column("ended_on", sa.Date(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["client_id"], ["clients.id"]),
        sa.ForeignKeyConstraint(["therapist_id"], ["users.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("client_id", "number", name="uq_episode_number"),
    )
    op.create_index("ix_episodes_client_id", "episodes", ["client_id"])
    op.create_table(
        "episode_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("episode_id", sa.Integer(), nullable=False),
        sa.Column("action", sa.String(length=20), nullable=False),
        sa.Column("end_reason", sa.String(length=20), nullable=True),
        sa.Column("on_date", sa.Date(), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("by_user", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["episode_id"], ["episodes.id"]),
        sa.ForeignKeyConstraint(["by_user"], ["users.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_episode_events_episode_id", "episode_events", ["episode_id"])
    op.create_table(
        "therapy_sessions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("episode_id", sa.Integer(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("planned_on", sa.Date(), nullable=True),
        sa.Column("planned_time", sa.Time(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["episode_id"], ["episodes.id"]),
        sa.ForeignKeyConstraint(["created_by"], ["users.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("episode_id", "number", name="uq_therapy_session_number"),
    )
    op.create_index("ix_therapy_sessions_episode_id", "therapy_sessions", ["episode_id"])


def _one_episode_per_client() -> None:
    bind = op.get_bind()
    first_answer = dict(
        bind.execute(
            sa.select(submissions.c.client_id, sa.func.min(submissions.c.submitted_at)).group_by(
                submissions.c.client_id
            )
        ).all()
    )
    last_answer = dict(
        bind.execute(
            sa.select(submissions.c.client_id, sa.func.max(submissions.c.submitted_at)).group_by(
                submissions.c.client_id
            )
        ).all()
    )
    first_link = dict(
        bind.execute(
            sa.select(link_tokens.c.client_id, sa.func.min(link_tokens.c.created_at)).group_by(
                link_tokens.c.client_id
            )
        ).all()
    )
    moment = datetime.now(UTC)
    for client_id, therapist_id, status, created_at in bind.execute(
        sa.select(clients.c.id, clients.c.therapist_id, clients.c.status, clients.c.created_at)
    ).all():
        known = [t for t in (created_at, first_answer.get(client_id), first_link.get(client_id)) if t]
        started = min(_day(t) for t in known) if known else moment.date()
        ended = status not in (None, "", "ongoing")
        end_reason = STATUS_TO_END_REASON.get(status, "other") if ended else None
        ended_on = max(started, _day(last_answer.get(client_id) or created_at or moment)) if ended else None
        episode_id = bind.execute(
            episodes.insert()
            .values(
                client_id=client_id,
                number=1,
                therapist_id=therapist_id,
                status="ended" if ended else "active",
                started_on=started,
                end_reason=end_reason,
                ended_on=ended_on,
                created_at=created_at or moment,
            )
            .returning(episodes.c.id)
        ).scalar_one()
        events = [dict(action="opened", end_reason=None, on_date=started)]
        if ended:
            events.append(dict(action="ended", end_reason=end_reason, on_date=ended_on))
        bind.execute(
            episode_events.insert(),
            [
                {**e, "episode_id": episode_id, "note": MIGRATED, "at": moment, "by_user": None}
                for e in events
            ],
        )


def _session_rows() -> None:
    """A session row for every session number that was linked, answered or recorded."""
    op.execute(
        "INSERT INTO therapy_sessions (episode_id, number, created_at) "
        "SELECT episode_id, session, MIN(at) FROM ("
        " SELECT episode_id, session, submitted_at AS at FROM submissions"
        " UNION ALL SELECT episode_id, session, created_at AS at FROM link_tokens"
        " UNION ALL SELECT episode_id, session, updated_at AS at FROM alert_records"
        ") AS known GROUP BY episode_id, session"
    )


def _day(moment) -> date:
    if isinstance(moment, datetime):
        return moment.date()
    if isinstance(moment, date):
        return moment
    return datetime.fromisoformat(str(moment)).date()


def downgrade() -> None:
    raise NotImplementedError(
        "episodes of care cannot be undone without losing data: restore the backup taken before upgrading"
    )
