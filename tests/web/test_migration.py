"""Migrating a populated database to episodes of care loses nothing (SQLite and PostgreSQL).

The database is built at revision 0003 (the schema before episodes) and filled with rows as that
schema stored them: an ongoing client with answers on two sessions, a therapist rating, a link
still waiting, an alert record and intake answers; a client who dropped out; a client with no
data at all. After the upgrade every row is still there, each belongs to its client's one
episode, and the episode's status, reason and dates come from what the old record said.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import create_engine, text

from attunement.store import open_database
from attunement.store.database import normalise_url
from attunement.store.migrate import upgrade

T0 = datetime(2026, 9, 1, 9, 0, tzinfo=UTC)


@pytest.fixture(params=["sqlite", "postgresql"])
def old_database_url(request, tmp_path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'old.db'}"
    return request.getfixturevalue("postgres_server").fresh_database_url()


def _fill_revision_0003(url: str) -> None:
    engine = create_engine(normalise_url(url))
    upgrade(engine, "0003")
    rows = {
        "teams": [{"id": 1, "name": "Team", "created_at": T0}],
        "users": [
            {
                "id": 1,
                "username": "clin",
                "display_name": "Clin",
                "password_hash": "x",
                "role": "clinician",
                "team_id": 1,
                "active": True,
                "session_epoch": 0,
                "created_at": T0,
            }
        ],
        "clients": [
            {
                "id": 1,
                "public_id": "p1",
                "label": "C1",
                "therapist_id": 1,
                "client_group": "all",
                "status": "ongoing",
                "created_at": T0,
                "data_version": 3,
            },
            {
                "id": 2,
                "public_id": "p2",
                "label": "C2",
                "therapist_id": 1,
                "client_group": "all",
                "status": "dropout",
                "created_at": T0,
                "data_version": 1,
            },
            {
                "id": 3,
                "public_id": "p3",
                "label": "C3",
                "therapist_id": 1,
                "client_group": "all",
                "status": "ongoing",
                "created_at": T0 + timedelta(days=30),
                "data_version": 0,
            },
        ],
        "link_tokens": [
            {
                "id": 1,
                "token_hash": "a" * 64,
                "client_id": 1,
                "session": 1,
                "instruments": "phq9",
                "created_by": 1,
                "created_at": T0,
                "expires_at": T0 + timedelta(days=7),
                "used_at": T0,
            },
            {
                "id": 2,
                "token_hash": "b" * 64,
                "client_id": 1,
                "session": 3,
                "instruments": "phq9",
                "created_by": 1,
                "created_at": T0 + timedelta(days=14),
                "expires_at": T0 + timedelta(days=21),
                "used_at": None,
            },
        ],
        "submissions": [
            {
                "id": 1,
                "client_id": 1,
                "session": 1,
                "rater": "client",
                "link_token_id": 1,
                "submitted_by": None,
                "comment": "fine",
                "submitted_at": T0 + timedelta(hours=1),
            },
            {
                "id": 2,
                "client_id": 1,
                "session": 2,
                "rater": "therapist",
                "link_token_id": None,
                "submitted_by": 1,
                "comment": None,
                "submitted_at": T0 + timedelta(days=7),
            },
            {
                "id": 3,
                "client_id": 2,
                "session": 1,
                "rater": "client",
                "link_token_id": None,
                "submitted_by": None,
                "comment": None,
                "submitted_at": T0 + timedelta(days=2),
            },
        ],
        "measures": [
            {
                "id": i + 1,
                "client_id": c,
                "submission_id": s,
                "session": n,
                "instrument": inst,
                "rater": r,
                "item": item,
                "value": v,
                "score": None,
                "recorded_at": T0,
            }
            for i, (c, s, n, inst, r, item, v) in enumerate(
                [
                    (1, 1, 1, "phq9", "client", "phq9_9", 2.0),
                    (1, 1, 1, "phq9", "client", "phq9_1", 1.0),
                    (1, 2, 2, "checkin_therapist", "therapist", "checkin_therapist_heard", 7.0),
                    (2, 3, 1, "phq9", "client", "phq9_1", 3.0),
                ]
            )
        ],
        "intake_answers": [{"id": 1, "client_id": 1, "submission_id": 1, "answers": "{}", "recorded_at": T0}],
        "alert_records": [
            {
                "id": 1,
                "client_id": 1,
                "session": 1,
                "kind": "safety",
                "seen_at": T0,
                "seen_by": 1,
                "action": "called",
                "next_outcome": None,
                "updated_at": T0 + timedelta(hours=2),
            }
        ],
    }
    with engine.begin() as connection:
        for table, values in rows.items():
            columns = ", ".join(values[0])
            params = ", ".join(f":{c}" for c in values[0])
            connection.execute(text(f"INSERT INTO {table} ({columns}) VALUES ({params})"), values)
            if engine.dialect.name == "postgresql":  # as if the rows had taken their ids from the sequence
                connection.execute(
                    text(
                        f"SELECT setval(pg_get_serial_sequence('{table}', 'id'),"
                        f" (SELECT MAX(id) FROM {table}))"
                    )
                )
    engine.dispose()


def _all(db, sql: str) -> list:
    with db.session() as session:
        return [tuple(r) for r in session.execute(text(sql)).all()]


def test_a_populated_database_migrates_with_every_row_kept(old_database_url):
    _fill_revision_0003(old_database_url)
    db = open_database(old_database_url)  # upgrades to the newest revision
    try:
        for table, count in {
            "clients": 3,
            "link_tokens": 2,
            "submissions": 3,
            "measures": 4,
            "intake_answers": 1,
            "alerts": 1,
            "users": 1,
        }.items():
            assert _all(db, f"SELECT COUNT(*) FROM {table}") == [(count,)], table
        episodes = _all(
            db,
            "SELECT client_id, number, status, end_reason, started_on, ended_on FROM episodes"
            " ORDER BY client_id",
        )
        assert [e[:4] for e in episodes] == [
            (1, 1, "active", None),
            (2, 1, "ended", "dropout"),
            (3, 1, "active", None),
        ]
        as_date = [date.fromisoformat(str(e[4])[:10]) for e in episodes]
        assert as_date == [T0.date(), T0.date(), (T0 + timedelta(days=30)).date()]
        assert date.fromisoformat(str(episodes[1][5])[:10]) == (T0 + timedelta(days=2)).date()
        # Every row that belongs to a client now belongs to that client's episode.
        for table in ("submissions", "measures", "link_tokens", "alerts"):
            assert _all(
                db,
                f"SELECT COUNT(*) FROM {table} JOIN episodes ON episodes.id = {table}.episode_id "
                f"AND episodes.client_id = {table}.client_id",
            ) == _all(db, f"SELECT COUNT(*) FROM {table}"), table
        # The answers keep their values, the record its action, the comment its text.
        assert _all(db, "SELECT value FROM measures WHERE item = 'phq9_9'") == [(2.0,)]
        # The alert record became a kept alert with its history: seen, then what was done.
        assert _all(db, "SELECT kind, status, opened_session FROM alerts") == [("safety", "actioned", 1)]
        assert _all(db, "SELECT action, note FROM alert_events ORDER BY id") == [
            ("opened", None),
            ("acknowledged", None),
            ("actioned", "called"),
        ]
        assert _all(db, "SELECT comment FROM submissions WHERE id = 1") == [("fine",)]
        # A session row for each session that was linked or answered.
        assert _all(
            db,
            "SELECT episodes.client_id, therapy_sessions.number FROM therapy_sessions "
            "JOIN episodes ON episodes.id = therapy_sessions.episode_id ORDER BY 1, 2",
        ) == [(1, 1), (1, 2), (1, 3), (2, 1)]
        # The ended episode's history says how it ended and that it was carried over.
        events = _all(
            db,
            "SELECT episodes.client_id, action, episode_events.end_reason FROM episode_events "
            "JOIN episodes ON episodes.id = episode_events.episode_id ORDER BY 1, episode_events.id",
        )
        assert events == [
            (1, "opened", None),
            (2, "opened", None),
            (2, "ended", "dropout"),
            (3, "opened", None),
        ]
    finally:
        db.dispose()


def test_the_migrated_database_accepts_a_second_answer_for_a_session(old_database_url):
    """The old one-answer-per-session constraint is gone: two submissions of one session are kept."""
    _fill_revision_0003(old_database_url)
    db = open_database(old_database_url)
    try:
        with db.session() as session:
            session.execute(
                text(
                    "INSERT INTO measures (client_id, episode_id, submission_id, session, instrument, rater,"
                    " item, value, score, recorded_at) SELECT client_id, episode_id, submission_id, session,"
                    " instrument, rater, item, 0, score, recorded_at FROM measures WHERE item = 'phq9_9'"
                )
            )
        assert _all(db, "SELECT COUNT(*) FROM measures WHERE item = 'phq9_9'") == [(2,)]
    finally:
        db.dispose()


def test_supervision_tables_arrive_and_leave_with_revision_0013(old_database_url):
    """From 0012 to 0013 an episode's history keeps its rows (the table gains who treated the
    client before and after a move), the notes and flags tables arrive; downgrading removes them
    and upgrading again works."""
    from alembic import command

    from attunement.store.migrate import alembic_config

    engine = create_engine(normalise_url(old_database_url))
    upgrade(engine, "0012")
    with engine.begin() as c:
        _one_client_with_an_episode(c)
        c.execute(
            text(
                "INSERT INTO episode_events (id, episode_id, action, on_date, note, at, by_user)"
                " VALUES (1, 1, 'opened', :d, 'first', :t, 1)"
            ),
            {"t": T0, "d": T0.date()},
        )
    upgrade(engine)
    with engine.begin() as c:
        assert c.execute(
            text("SELECT action, note, from_therapist_id, to_therapist_id FROM episode_events")
        ).all() == [("opened", "first", None, None)]
        c.execute(
            text(
                "INSERT INTO supervision_notes (client_id, author_id, text, withdrawn, written_at)"
                " VALUES (1, 1, 'n', :f, :t)"
            ),
            {"t": T0, "f": False},
        )
        c.execute(
            text(
                "INSERT INTO supervision_flags (client_id, action, by_user, at) VALUES (1, 'raised', 1, :t)"
            ),
            {"t": T0},
        )
    config = alembic_config()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "0012")
    with engine.begin() as c:
        assert c.execute(text("SELECT action, note FROM episode_events")).all() == [("opened", "first")]
    upgrade(engine)
    with engine.begin() as c:
        assert c.execute(text("SELECT count(*) FROM supervision_notes")).scalar_one() == 0
    engine.dispose()


def test_episode_measures_arrive_with_revision_0014_and_leave_the_links_as_issued(old_database_url):
    """From 0013 to 0014 every row stays; an episode without a choice uses the clinic's default,
    a link already issued keeps its questionnaires, and downgrading removes only the new table."""
    from alembic import command

    from attunement.store.episode_measures import current_measures, set_measures
    from attunement.store.migrate import alembic_config
    from attunement.store.models import Episode, LinkToken, User

    engine = create_engine(normalise_url(old_database_url))
    upgrade(engine, "0013")
    with engine.begin() as c:
        _one_client_with_an_episode(c)
        _one_link(c, "phq9,gad7,checkin")
    upgrade(engine)
    db = open_database(old_database_url)
    try:
        with db.session() as session:
            episode = session.get(Episode, 1)
            assert current_measures(session, episode) == ["phq9", "gad7", "checkin"]
            assert set_measures(session, episode, session.get(User, 1), ["checkin"]) == ["phq9", "checkin"]
            assert session.get(LinkToken, 1).instruments == "phq9,gad7,checkin", (
                "an issued link keeps its set"
            )
        assert _all(db, "SELECT episode_id, instruments FROM episode_measures") == [(1, "phq9,checkin")]
    finally:
        db.dispose()
    config = alembic_config()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "0013")
    with engine.begin() as c:
        assert c.execute(text("SELECT instruments FROM link_tokens")).all() == [("phq9,gad7,checkin",)]
    upgrade(engine)
    with engine.begin() as c:
        assert c.execute(text("SELECT count(*) FROM episode_measures")).scalar_one() == 0
    engine.dispose()


def test_licensed_wordings_arrive_with_revision_0015_and_leave_without_touching_settings(old_database_url):
    """From 0014 to 0015 the clinic's settings stay and the licensed wordings table arrives;
    downgrading removes only that table, and upgrading again works."""
    from alembic import command

    from attunement.store.migrate import alembic_config

    engine = create_engine(normalise_url(old_database_url))
    upgrade(engine, "0014")
    with engine.begin() as c:
        c.execute(text("INSERT INTO settings (key, value) VALUES ('link_instruments', 'phq9,gad7')"))
    upgrade(engine)
    with engine.begin() as c:
        c.execute(
            text(
                "INSERT INTO licensed_wordings (instrument, questionnaire, licence_statement, supplied_by,"
                " supplied_at, uploaded_by) VALUES ('core10', '{}', 'made-up', 'Dr Test', :t, NULL)"
            ),
            {"t": T0},
        )
    config = alembic_config()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "0014")
    with engine.begin() as c:
        assert c.execute(text("SELECT value FROM settings WHERE key = 'link_instruments'")).all() == [
            ("phq9,gad7",)
        ]
    upgrade(engine)
    with engine.begin() as c:
        assert c.execute(text("SELECT count(*) FROM licensed_wordings")).scalar_one() == 0
    engine.dispose()


def test_link_delivery_tables_arrive_with_revision_0016_and_leave_the_links_as_issued(old_database_url):
    """From 0015 to 0016 every row stays and the contact and outbox tables arrive empty; a
    contact and a queued message can be stored; downgrading removes only the new tables."""
    from alembic import command

    from attunement.store.contacts import ContactInput, current_contact, record_contact
    from attunement.store.migrate import alembic_config
    from attunement.store.models import LinkToken, User
    from attunement.store.outbox import queue_message

    engine = create_engine(normalise_url(old_database_url))
    upgrade(engine, "0015")
    with engine.begin() as c:
        _one_client_with_an_episode(c)
        _one_link(c, "phq9,gad7")
    upgrade(engine)
    db = open_database(old_database_url)
    try:
        with db.session() as session:
            user = session.get(User, 1)
            record_contact(session, 1, user, ContactInput("client01@example.org", None, True))
            queue_message(session, session.get(LinkToken, 1), "token", "link", user)
        with db.session() as session:
            assert current_contact(session, 1).email == "client01@example.org"
        assert _all(db, "SELECT idempotency_key, purpose, attempts FROM outbox") == [
            ("link-1-email-link", "link", 0)
        ]
    finally:
        db.dispose()
    config = alembic_config()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "0015")
    with engine.begin() as c:
        assert c.execute(text("SELECT instruments FROM link_tokens")).all() == [("phq9,gad7",)]
    upgrade(engine)
    with engine.begin() as c:
        assert c.execute(text("SELECT count(*) FROM outbox")).scalar_one() == 0
        assert c.execute(text("SELECT count(*) FROM client_contacts")).scalar_one() == 0
    engine.dispose()


def test_link_schedule_tables_arrive_with_revision_0017_and_leave_everything_else(old_database_url):
    """From 0016 to 0017 every row stays and the schedule tables arrive empty; a schedule can be
    stored and one link per slot; downgrading removes only the new tables."""
    from alembic import command
    from sqlalchemy.exc import IntegrityError

    from attunement.store.link_schedules import ScheduleInput, current_schedule, set_schedule
    from attunement.store.migrate import alembic_config
    from attunement.store.models import Episode, ScheduledLink, User

    engine = create_engine(normalise_url(old_database_url))
    upgrade(engine, "0016")
    with engine.begin() as c:
        _one_client_with_an_episode(c)
        _one_link(c, "phq9,gad7")
    upgrade(engine)
    db = open_database(old_database_url)
    try:
        with db.session() as session:
            user = session.get(User, 1)
            set_schedule(session, session.get(Episode, 1), user, ScheduleInput("days", 14, "email"))
        with db.session() as session:
            schedule = current_schedule(session, 1)
            assert (schedule.kind, schedule.every_days) == ("days", 14)
            slot = {"client_id": 1, "episode_id": 1, "slot": "due-x", "link_id": 1}
            slot["schedule_id"] = schedule.id
            session.add(ScheduledLink(**slot, created_at=T0))
        with pytest.raises(IntegrityError), db.session() as session:
            session.add(ScheduledLink(**slot, created_at=T0))
            session.flush()
    finally:
        db.dispose()
    config = alembic_config()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "0016")
    with engine.begin() as c:
        assert c.execute(text("SELECT instruments FROM link_tokens")).all() == [("phq9,gad7",)]
    upgrade(engine)
    with engine.begin() as c:
        assert c.execute(text("SELECT count(*) FROM link_schedules")).scalar_one() == 0
        assert c.execute(text("SELECT count(*) FROM scheduled_links")).scalar_one() == 0
    engine.dispose()


def test_phq4_answers_are_filed_under_the_published_numbering_with_revision_0018(old_database_url):
    """From 0017 to 0018 each stored PHQ-4 answer keeps its value and question, filed under the
    published form's number (anxiety pair 1-2, depression pair 3-4); the scores read the same;
    other instruments' rows are untouched; downgrading files them back."""
    from alembic import command

    from attunement.instruments import get_instrument, score
    from attunement.store.migrate import alembic_config

    engine = create_engine(normalise_url(old_database_url))
    upgrade(engine, "0017")
    # Before: items 1-2 were the depression pair (interest, down), 3-4 the anxiety pair.
    before = {"phq4_1": 3.0, "phq4_2": 2.0, "phq4_3": 0.0, "phq4_4": 1.0, "phq9_1": 2.0}
    with engine.begin() as c:
        _one_client_with_an_episode(c)
        for item, value in before.items():
            c.execute(
                text(
                    "INSERT INTO measures (client_id, episode_id, session, instrument, rater, item, value,"
                    " recorded_at) VALUES (1, 1, 1, :i, 'client', :item, :v, :t)"
                ),
                {"i": item.split("_")[0], "item": item, "v": value, "t": T0},
            )
    upgrade(engine)
    with engine.begin() as c:
        after = dict(c.execute(text("SELECT item, value FROM measures")).all())
    # The depression answers (3, 2) are now items 3-4; the anxiety answers (0, 1) items 1-2.
    assert after == {"phq4_1": 0.0, "phq4_2": 1.0, "phq4_3": 3.0, "phq4_4": 2.0, "phq9_1": 2.0}
    scored = score(get_instrument("phq4"), {k: v for k, v in after.items() if k.startswith("phq4")})
    assert scored.subscales == {"anxiety": 1.0, "depression": 5.0}
    config = alembic_config()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "0017")
    with engine.begin() as c:
        assert dict(c.execute(text("SELECT item, value FROM measures")).all()) == before
    engine.dispose()


def test_case_tables_arrive_with_revision_0019_and_leave_every_client_as_it_was(old_database_url):
    """From 0018 to 0019 the case tables arrive empty, every client stays an individual one and
    every link stays the client's own; a case with a member can be stored; downgrading removes
    only the case tables and the links' rater."""
    from alembic import command

    from attunement.store.migrate import alembic_config

    engine = create_engine(normalise_url(old_database_url))
    upgrade(engine, "0018")
    with engine.begin() as c:
        _one_client_with_an_episode(c)
        _one_link(c, "phq9,gad7")
    upgrade(engine)
    with engine.begin() as c:
        assert c.execute(text("SELECT count(*) FROM case_members")).scalar_one() == 0
        assert c.execute(text("SELECT rater FROM link_tokens")).all() == [("client",)], "the client's own"
        c.execute(
            text(
                "INSERT INTO cases (id, public_id, label, format, team_id, created_by, created_at, status)"
                " VALUES (1, 'k1', 'Couple', 'couple', 1, 1, :t, 'open')"
            ),
            {"t": T0},
        )
        c.execute(
            text(
                "INSERT INTO case_members (case_id, client_id, role, first_session, own_first_session,"
                " joined_on) VALUES (1, 1, 'partner', 1, 1, :d)"
            ),
            {"d": T0.date()},
        )
    config = alembic_config()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "0018")
    with engine.begin() as c:
        assert c.execute(text("SELECT label FROM clients")).all() == [("C1",)]
        assert c.execute(text("SELECT instruments FROM link_tokens")).all() == [("phq9,gad7",)]
    upgrade(engine)
    with engine.begin() as c:
        assert c.execute(text("SELECT count(*) FROM cases")).scalar_one() == 0
    engine.dispose()


def _one_client_with_an_episode(c) -> None:
    """A team, a clinician, one client and their active episode (ids 1), in raw SQL for a
    database at an older revision."""
    c.execute(text("INSERT INTO teams (id, name, created_at) VALUES (1, 'T', :t)"), {"t": T0})
    c.execute(
        text(
            "INSERT INTO users (id, username, display_name, password_hash, role, team_id, active,"
            " session_epoch, created_at) VALUES (1, 'c', 'C', 'x', 'clinician', 1, :y, 0, :t)"
        ),
        {"t": T0, "y": True},
    )
    c.execute(
        text(
            "INSERT INTO clients (id, public_id, label, therapist_id, client_group, created_at,"
            " data_version) VALUES (1, 'p1', 'C1', 1, 'all', :t, 0)"
        ),
        {"t": T0},
    )
    c.execute(
        text(
            "INSERT INTO episodes (id, client_id, number, therapist_id, status, started_on, created_at)"
            " VALUES (1, 1, 1, 1, 'active', :d, :t)"
        ),
        {"t": T0, "d": T0.date()},
    )


def _one_link(c, instruments: str) -> None:
    """Link 1 of that episode, for session 1, issued with ``instruments``."""
    c.execute(
        text(
            "INSERT INTO link_tokens (id, token_hash, client_id, episode_id, session, instruments,"
            " created_by, created_at, expires_at)"
            " VALUES (1, 'h', 1, 1, 1, :instruments, 1, :t, :t)"
        ),
        {"t": T0, "instruments": instruments},
    )


def test_response_identifiers_arrive_with_revision_0020_unique_and_leave_the_answers_as_they_were(
    old_database_url,
):
    """From 0019 to 0020 every stored submission keeps its answers and has no FHIR identifier; an
    identifier can be stored once only; downgrading removes only the identifier."""
    from alembic import command
    from sqlalchemy.exc import IntegrityError

    from attunement.store.migrate import alembic_config

    engine = create_engine(normalise_url(old_database_url))
    upgrade(engine, "0019")
    insert = (
        "INSERT INTO submissions (client_id, episode_id, session, rater, submitted_at{col})"
        " VALUES (1, 1, 1, 'client', :t{val})"
    )
    with engine.begin() as c:
        _one_client_with_an_episode(c)
        c.execute(text(insert.format(col="", val="")), {"t": T0})
    upgrade(engine)
    with engine.begin() as c:
        assert c.execute(text("SELECT source_identifier FROM submissions")).all() == [(None,)]
        c.execute(text(insert.format(col=", source_identifier", val=", 'urn:x|1'")), {"t": T0})
    with pytest.raises(IntegrityError), engine.begin() as c:
        c.execute(text(insert.format(col=", source_identifier", val=", 'urn:x|1'")), {"t": T0})
    config = alembic_config()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "0019")
    with engine.begin() as c:
        assert c.execute(text("SELECT count(*) FROM submissions")).scalar_one() == 2
    upgrade(engine)
    engine.dispose()
