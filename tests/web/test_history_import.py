"""Importing a service's history (``attunement import-history``) on SQLite and PostgreSQL: matched
to clients and clinicians, every problem reported by row, column, value and what was expected,
nothing stored while any is found (unless --skip-invalid), the same files again change nothing,
conflicts are refused, and imported risk answers raise the safety alert as the app's own do."""

from __future__ import annotations

import json
from datetime import date, timedelta

import pandas as pd
from sqlalchemy import select, text
from typer.testing import CliRunner

from attunement.cli import app
from attunement.store.client_record import CLIENT_TABLES, erase
from attunement.store.clock import aware
from attunement.store.kept_alerts import alert_history
from attunement.store.models import (
    Client,
    Episode,
    ImportSource,
    KeptAlert,
    Notification,
    TherapySession,
    User,
)
from attunement.store.summary_store import summaries_for

TODAY = date.today()
PHQ9 = [f"phq9_{i}" for i in range(1, 10)]


def _day(days_ago: int) -> str:
    return (TODAY - timedelta(days=days_ago)).isoformat()


def _phq9(client: str, episode: str, session: int, day: str, answer: int, item9: int = 0) -> list[dict]:
    return [
        {
            "client_id": client,
            "episode_id": episode,
            "session": session,
            "date": day,
            "instrument": "phq9",
            "rater": "client",
            "item": item,
            "value": item9 if item == "phq9_9" else answer,
            "score": None,
        }
        for item in PHQ9
    ]


def history() -> tuple[pd.DataFrame, pd.DataFrame]:
    """Client h1: an ended first episode and an ongoing second one whose latest PHQ-9 endorses
    the risk item (clin_a); client h2: one ended episode (clin_b), answered by scores."""
    episodes = pd.DataFrame(
        [
            ("h1", "1", "clin_a", "completed", _day(120), _day(60)),
            ("h1", "2", "clin_a", "ongoing", _day(30), None),
            ("h2", None, "clin_b", "dropout", _day(90), _day(70)),
        ],
        columns=["client_id", "episode_id", "therapist_id", "end_reason", "start_date", "end_date"],
    )
    rows = []
    for session in (1, 2, 3):
        rows += _phq9("h1", "1", session, _day(120 - 7 * (session - 1)), 3 - session)
    rows += _phq9("h1", "2", 1, _day(30), 2)
    rows += _phq9("h1", "2", 2, _day(23), 2, item9=2)
    rows.append(
        {
            "client_id": "h1",
            "episode_id": "2",
            "session": 2,
            "date": _day(23),
            "instrument": "checkin_therapist",
            "rater": "therapist",
            "item": None,
            "value": None,
            "score": 8.0,
        }
    )
    for session in (1, 2):
        rows.append(
            {
                "client_id": "h2",
                "episode_id": None,
                "session": session,
                "date": _day(90 - 7 * (session - 1)),
                "instrument": "gad7",
                "rater": "client",
                "item": None,
                "value": None,
                "score": 12.0 - session,
            }
        )
    return pd.DataFrame(rows), episodes


def write(tmp_path, measures: pd.DataFrame, episodes: pd.DataFrame, suffix: str = "csv") -> list[str]:
    paths = []
    for name, frame in (("measures", measures), ("episodes", episodes)):
        path = tmp_path / f"{name}.{suffix}"
        frame.to_csv(path, index=False) if suffix == "csv" else frame.to_parquet(path, index=False)
        paths.append(str(path))
    return ["--measures", paths[0], "--episodes", paths[1]]


def run_import(clinic, args: list[str], *more: str):
    url = clinic.db.engine.url.render_as_string(hide_password=False)
    result = CliRunner().invoke(app, ["import-history", *args, "--database", url, "--json", *more])
    assert result.output, result.exception
    return result, json.loads(result.output)


def totals(clinic) -> dict[str, int]:
    with clinic.db.session() as db:
        return {name: db.scalar(text(f"SELECT count(*) FROM {name}")) for name in CLIENT_TABLES}


def test_a_history_is_stored_matched_to_clinicians_and_importing_it_again_changes_nothing(clinic, tmp_path):
    measures, episodes = history()
    args = write(tmp_path, measures, episodes, "parquet")
    done, report = run_import(clinic, args)
    assert done.exit_code == 0, done.output
    assert report["problems"] == [] and report["stored"] is True
    assert report["imported"] == {
        "clients": 2,
        "episodes": 3,
        "forms": 8,
        "measures": len(measures),
        "actions": 0,
    }
    with clinic.db.session() as db:
        h1 = db.scalar(select(Client).where(Client.label == "h1"))
        h2 = db.scalar(select(Client).where(Client.label == "h2"))
        clin_a = db.scalar(select(User).where(User.username == "clin_a"))
        assert h1.therapist_id == clin_a.id and h1.public_id != "h1"
        found = [
            (e.number, e.status, e.end_reason, e.started_on.isoformat())
            for e in db.scalars(select(Episode).where(Episode.client_id == h1.id).order_by(Episode.number))
        ]
        assert found == [(1, "ended", "completed", _day(120)), (2, "active", None, _day(30))]
        sessions = db.scalars(
            select(TherapySession.number).join(Episode).where(Episode.client_id == h2.id)
        ).all()
        assert sorted(sessions) == [1, 2]
    before = totals(clinic)
    again, report = run_import(clinic, args)
    assert again.exit_code == 0
    assert report["stored"] is False
    assert report["already_imported"] == {"episodes": 3, "measures": len(measures), "actions": 0}
    assert report["imported"] == {"clients": 0, "episodes": 0, "forms": 0, "measures": 0, "actions": 0}
    assert totals(clinic) == before, "the same files again change nothing"
    text_run = CliRunner().invoke(
        app,
        ["import-history", *args, "--database", clinic.db.engine.url.render_as_string(hide_password=False)],
    )
    assert f"Already imported: {len(measures)} measures rows" in " ".join(text_run.output.split())


def test_an_endorsed_risk_item_in_an_ongoing_episode_raises_the_safety_alert(clinic, tmp_path):
    measures, episodes = history()
    done, _ = run_import(clinic, write(tmp_path, measures, episodes))
    assert done.exit_code == 0, done.output
    with clinic.db.session() as db:
        h1 = db.scalar(select(Client).where(Client.label == "h1"))
        alert = db.scalar(select(KeptAlert).where(KeptAlert.client_id == h1.id, KeptAlert.kind == "safety"))
        assert alert is not None and alert.status == "open" and alert.opened_session == 2
        assert db.scalar(select(Notification).where(Notification.alert_id == alert.id)) is not None
        shown = summaries_for(db, [h1])[h1.id]
        assert "safety" in [view.alert.kind for view in shown.alerts]
        public_id = h1.public_id
    page = clinic.login("clin_a").get(f"/clients/{public_id}")
    assert page.status_code == 200 and "safety" in page.text.lower()


def test_every_problem_is_reported_by_row_column_value_and_expected_and_nothing_is_stored(clinic, tmp_path):
    measures, episodes = history()
    episodes.loc[2, "therapist_id"] = "nobody"  # h2
    measures.loc[0, "value"] = 7  # phq9_1 of h1's first session
    measures.loc[1, "instrument"] = "not_a_measure"
    measures.loc[2, "date"] = None
    measures["session"] = measures["session"].astype(object)
    measures.loc[3, "session"] = "first"
    before = totals(clinic)
    done, report = run_import(clinic, write(tmp_path, measures, episodes))
    assert done.exit_code == 1
    assert report["stored"] is False
    problems = {(p["table"], p["row"], p["column"]): p for p in report["problems"]}
    assert problems[("episodes", 3, "therapist_id")]["value"] == "nobody"
    clinician = "the user name of an active clinician of the app"
    assert problems[("episodes", 3, "therapist_id")]["expected"] == clinician
    assert problems[("measures", 1, "value")]["value"] == 7
    assert problems[("measures", 1, "value")]["expected"] == "one of 0, 1, 2, 3"
    assert problems[("measures", 2, "instrument")]["value"] == "not_a_measure"
    assert problems[("measures", 3, "date")]["expected"] == "the date the form was answered (YYYY-MM-DD)"
    assert problems[("measures", 4, "session")]["value"] == "first"
    assert len(report["problems"]) == 5
    assert totals(clinic) == before, "nothing stored"
    said = CliRunner().invoke(
        app,
        [
            "import-history",
            *write(tmp_path, measures, episodes),
            "--database",
            clinic.db.engine.url.render_as_string(hide_password=False),
        ],
    )
    flat = " ".join(said.output.split())
    assert f"episodes row 3, column therapist_id: got 'nobody', expected {clinician}" in flat
    assert "Nothing imported: 5 problems" in flat


def test_skip_invalid_leaves_out_exactly_the_invalid_rows_and_what_depends_on_them(clinic, tmp_path):
    measures, episodes = history()
    episodes.loc[2, "therapist_id"] = "nobody"  # h2 and its 2 measures rows
    measures.loc[0, "value"] = 7
    measures["session"] = measures["session"].astype(object)
    measures.loc[3, "session"] = "first"
    done, report = run_import(clinic, write(tmp_path, measures, episodes), "--skip-invalid")
    assert done.exit_code == 0, done.output
    assert report["stored"] is True
    assert report["skipped"] == {"episodes": 1, "measures": 2 + 2, "actions": 0}
    assert report["imported"]["measures"] == len(measures) - 4
    assert report["imported"]["clients"] == 1
    assert len(report["problems"]) == 3
    with clinic.db.session() as db:
        assert db.scalar(select(Client).where(Client.label == "h2")) is None
        rows = db.scalar(text("SELECT count(*) FROM measures WHERE value = 7"))
        assert rows == 0


def test_a_conflicting_import_is_refused_and_never_replaces_what_is_stored(clinic, tmp_path):
    measures, episodes = history()
    assert run_import(clinic, write(tmp_path, measures, episodes))[0].exit_code == 0
    before = totals(clinic)
    changed = measures.copy()
    changed.loc[0, "value"] = 1  # another answer for a stored form
    ended = episodes.copy()
    ended.loc[2, "end_reason"] = "completed"  # another ending for a stored episode
    done, report = run_import(clinic, write(tmp_path, changed, ended))
    assert done.exit_code == 1
    columns = {(p["table"], p["row"], p["column"]) for p in report["problems"]}
    assert columns == {("measures", 1, "session"), ("episodes", 3, "episode_id")}
    assert totals(clinic) == before
    with clinic.db.session() as db:
        first = (
            "SELECT value FROM measures JOIN episodes ON episodes.id = measures.episode_id "
            "WHERE episodes.number = 1 AND measures.session = 1 AND item = 'phq9_1'"
            " AND measures.client_id = (SELECT id FROM clients WHERE label = 'h1')"
        )
        assert db.scalar(text(first)) == 2, "the stored answer stays"


def test_a_client_id_already_a_reference_in_the_caseload_is_refused(clinic, tmp_path):
    measures, episodes = history()
    measures["client_id"] = measures["client_id"].replace({"h2": "A-1"})
    episodes["client_id"] = episodes["client_id"].replace({"h2": "A-1"})
    episodes.loc[2, "therapist_id"] = "clin_a"  # clin_a already has a client "A-1"
    done, report = run_import(clinic, write(tmp_path, measures, episodes))
    assert done.exit_code == 1
    assert [(p["row"], p["column"], p["value"]) for p in report["problems"]] == [(3, "client_id", "A-1")]


def test_erasing_an_imported_client_removes_what_the_import_kept_of_them(clinic, tmp_path):
    measures, episodes = history()
    assert run_import(clinic, write(tmp_path, measures, episodes))[0].exit_code == 0
    with clinic.db.session() as db:
        h2 = db.scalar(select(Client).where(Client.label == "h2"))
        assert db.scalar(select(ImportSource).where(ImportSource.client_id == h2.id)) is not None
        erased = erase(db, h2, "operator", "operator")
        assert erased.rows["import_sources"] == 1 + 1 + 2  # the client, its episode, its two forms
    with clinic.db.session() as db:
        assert db.scalar(select(ImportSource).where(ImportSource.client_id == h2.id)) is None


def test_a_refused_episode_row_leaves_its_clients_answers_out_without_a_problem_each(clinic, tmp_path):
    measures, episodes = history()
    episodes.loc[2, "end_reason"] = "finished"  # not an end reason: h2's only episode
    done, report = run_import(clinic, write(tmp_path, measures, episodes), "--skip-invalid")
    assert done.exit_code == 0, done.output
    assert [(p["table"], p["row"], p["column"], p["value"]) for p in report["problems"]] == [
        ("episodes", 3, "end_reason", "finished")
    ]
    assert report["skipped"] == {"episodes": 1, "measures": 2, "actions": 0}
    assert report["imported"]["clients"] == 1


def test_a_later_file_adds_the_new_episode_and_sessions_of_a_client_already_imported(clinic, tmp_path):
    measures, episodes = history()
    first_episode = measures["episode_id"] != "2"
    ended_only = episodes[episodes["episode_id"] != "2"]
    assert run_import(clinic, write(tmp_path, measures[first_episode], ended_only))[0].exit_code == 0
    done, report = run_import(clinic, write(tmp_path, measures, episodes))
    assert done.exit_code == 0, done.output
    assert report["imported"]["clients"] == 0 and report["imported"]["episodes"] == 1
    assert report["already_imported"] == {"episodes": 2, "measures": int(first_episode.sum()), "actions": 0}
    with clinic.db.session() as db:
        h1 = db.scalar(select(Client).where(Client.label == "h1"))
        numbers = db.scalars(select(Episode.number).where(Episode.client_id == h1.id)).all()
        assert sorted(numbers) == [1, 2]


def test_a_table_without_a_required_column_is_refused_whole(clinic, tmp_path):
    measures, episodes = history()
    args = write(tmp_path, measures.drop(columns="session"), episodes)
    done, report = run_import(clinic, args, "--skip-invalid")
    assert done.exit_code == 1 and report["refused"] is True, "nothing to skip to: no row can be read"
    assert [(p["table"], p["row"], p["column"]) for p in report["problems"]] == [
        ("measures", None, "columns")
    ]
    assert "columns including session" in report["problems"][0]["expected"]


def ended_risk() -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """The history, and client h3: one ended episode whose second PHQ-9 endorses the risk item;
    the actions table says what was done for that safety alert at the time."""
    measures, episodes = history()
    rows = []
    for session in (1, 2, 3):
        rows += _phq9("h3", "1", session, _day(100 - 7 * (session - 1)), 1, item9=1 if session == 2 else 0)
    episodes = pd.concat(
        [
            episodes,
            pd.DataFrame(
                [("h3", "1", "clin_a", "completed", _day(100), _day(80))], columns=list(episodes.columns)
            ),
        ],
        ignore_index=True,
    )
    actions = pd.DataFrame(
        [("h3", "1", "safety", 2, "Phoned the client the same day; safety plan agreed", _day(93))],
        columns=["client_id", "episode_id", "kind", "session", "action", "date"],
    )
    return pd.concat([measures, pd.DataFrame(rows)], ignore_index=True), episodes, actions


def with_actions(
    tmp_path, measures: pd.DataFrame, episodes: pd.DataFrame, actions: pd.DataFrame
) -> list[str]:
    path = tmp_path / "actions.csv"
    actions.to_csv(path, index=False)
    return [*write(tmp_path, measures, episodes), "--actions", str(path)]


def safety_of(db, label: str) -> KeptAlert:
    client = db.scalar(select(Client).where(Client.label == label))
    return db.scalar(select(KeptAlert).where(KeptAlert.client_id == client.id, KeptAlert.kind == "safety"))


def test_a_recorded_action_closes_the_safety_alert_of_an_ended_episode_without_a_notice(clinic, tmp_path):
    measures, episodes, actions = ended_risk()
    done, report = run_import(clinic, with_actions(tmp_path, measures, episodes, actions))
    assert done.exit_code == 0, done.output
    assert report["imported"]["actions"] == 1
    assert report["safety_alerts"] == {"opened": 2, "open": 1}, "h3's closed by its action, h1's open"
    with clinic.db.session() as db:
        alert = safety_of(db, "h3")
        assert alert.status == "actioned" and alert.closed_at is not None and alert.opened_session == 2
        events = alert_history(db, [alert.id])[alert.id]
        acted = [e for e in events if e.action == "actioned"]
        assert [(e.note, e.session, e.by_user) for e in acted] == [
            ("Phoned the client the same day; safety plan agreed", 2, None)
        ]
        assert aware(acted[0].at).date() == date.fromisoformat(_day(93))
        assert db.scalar(select(Notification).where(Notification.alert_id == alert.id)) is None
        still = safety_of(db, "h1")
        assert still.status == "open"
        assert db.scalar(select(Notification).where(Notification.alert_id == still.id)) is not None
        h3 = db.scalar(select(Client).where(Client.label == "h3"))
        assert "safety" not in [view.alert.kind for view in summaries_for(db, [h3])[h3.id].alerts]
    said = CliRunner().invoke(
        app,
        [
            "import-history",
            *with_actions(tmp_path, measures, episodes, actions),
            "--database",
            clinic.db.engine.url.render_as_string(hide_password=False),
        ],
    )
    assert "Already imported" in said.output and "1 actions" in " ".join(said.output.split())


def test_without_its_action_the_safety_alert_of_an_ended_episode_stays_open_with_its_notice(clinic, tmp_path):
    measures, episodes, actions = ended_risk()
    said = CliRunner().invoke(
        app,
        [
            "import-history",
            *with_actions(tmp_path, measures, episodes, actions.iloc[:0]),
            "--database",
            clinic.db.engine.url.render_as_string(hide_password=False),
        ],
    )
    assert said.exit_code == 0, said.output
    flat = " ".join(said.output.split())
    assert "Recorded 0 actions on alerts." in flat
    assert "Safety alerts opened: 2; still open: 2" in flat
    with clinic.db.session() as db:
        alert = safety_of(db, "h3")
        assert alert.status == "open" and alert.closed_at is None
        assert db.scalar(select(Notification).where(Notification.alert_id == alert.id)) is not None


def test_a_bad_actions_row_is_reported_by_row_column_value_and_expected_and_nothing_is_stored(
    clinic, tmp_path
):
    measures, episodes, actions = ended_risk()
    bad = pd.concat(
        [
            actions,
            pd.DataFrame(
                [
                    ("nobody", None, "safety", 2, "Phoned", None),
                    ("h3", "1", "safty", 2, "Phoned", None),
                    ("h3", "1", "safety", 2, "Phoned. " * 300, None),
                ],
                columns=list(actions.columns),
            ),
        ],
        ignore_index=True,
    )
    before = totals(clinic)
    done, report = run_import(clinic, with_actions(tmp_path, measures, episodes, bad))
    assert done.exit_code == 1 and report["stored"] is False
    found = {(p["table"], p["row"], p["column"], p["value"]) for p in report["problems"]}
    assert found == {
        ("actions", 3, "kind", "safty"),
        ("actions", 2, "client_id", "nobody"),
        ("actions", 4, "action", ("Phoned. " * 300).strip()),
    }
    assert totals(clinic) == before
    # A session without such an alert is known only once the answers are stored: all rolled back.
    late = actions.assign(session=3)
    done, report = run_import(clinic, with_actions(tmp_path, measures, episodes, late))
    assert done.exit_code == 1 and report["stored"] is False
    [problem] = report["problems"]
    assert (problem["table"], problem["row"], problem["column"], problem["value"]) == (
        "actions",
        1,
        "session",
        3,
    )
    assert problem["expected"].startswith("an alert of this kind opened at this session: none opened")
    assert totals(clinic) == before, "nothing stored"
    said = CliRunner().invoke(
        app,
        [
            "import-history",
            *with_actions(tmp_path, measures, episodes, late),
            "--database",
            clinic.db.engine.url.render_as_string(hide_password=False),
        ],
    )
    flat = " ".join(said.output.split())
    assert (
        "actions row 1, column session: got 3, expected an alert of this kind opened at this session" in flat
    )
    assert totals(clinic) == before


def test_importing_the_three_files_again_changes_nothing(clinic, tmp_path):
    measures, episodes, actions = ended_risk()
    args = with_actions(tmp_path, measures, episodes, actions)
    assert run_import(clinic, args)[0].exit_code == 0
    before = totals(clinic)
    with clinic.db.session() as db:
        events = db.scalar(text("SELECT count(*) FROM alert_events"))
    done, report = run_import(clinic, args)
    assert done.exit_code == 0, done.output
    assert report["stored"] is False and report["imported"]["actions"] == 0
    assert report["already_imported"]["actions"] == 1
    assert totals(clinic) == before
    with clinic.db.session() as db:
        assert db.scalar(text("SELECT count(*) FROM alert_events")) == events


def test_actions_added_to_a_history_already_imported_close_its_alert(clinic, tmp_path):
    measures, episodes, actions = ended_risk()
    assert run_import(clinic, write(tmp_path, measures, episodes))[0].exit_code == 0
    done, report = run_import(clinic, with_actions(tmp_path, measures, episodes, actions))
    assert done.exit_code == 0, done.output
    assert report["imported"]["actions"] == 1 and report["stored"] is True
    with clinic.db.session() as db:
        alert = safety_of(db, "h3")
        assert alert.status == "actioned"
        assert db.scalar(select(Notification).where(Notification.alert_id == alert.id)) is not None, (
            "the notice an earlier import gave stays"
        )


def test_skip_invalid_leaves_out_an_action_without_its_alert_and_records_the_others(clinic, tmp_path):
    measures, episodes, actions = ended_risk()
    more = pd.DataFrame(
        [("h3", "1", "safety", 3, "Phoned again", None), ("h3", "9", "safety", 2, "Phoned", None)],
        columns=list(actions.columns),
    )
    args = with_actions(tmp_path, measures, episodes, pd.concat([actions, more], ignore_index=True))
    done, report = run_import(clinic, args, "--skip-invalid")
    assert done.exit_code == 0, done.output
    assert [(p["row"], p["column"], p["value"]) for p in report["problems"]] == [
        (2, "session", 3),
        (3, "episode_id", "9"),
    ]
    assert report["problems"][1]["expected"] == "an episode the episodes table lists for client h3"
    assert report["imported"]["actions"] == 1 and report["skipped"]["actions"] == 2
    assert report["safety_alerts"] == {"opened": 2, "open": 1}
    with clinic.db.session() as db:
        assert safety_of(db, "h3").status == "actioned"
