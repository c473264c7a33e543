"""The batch path reads large tables its own way; it must give the same alerts as the ordinary one,
and it keeps episodes of care apart and gives an ended episode only its safety alerts."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from attunement.alerts import alert_table
from attunement.alerts.batch import batch_alerts, read_batch_histories
from attunement.cli import app
from attunement.errors import InvalidInputError
from attunement.instruments import get_instrument
from attunement.prediction.histories import histories_from_tables
from attunement.simulation import simulate


def in_progress(episodes):
    """A simulated clinic's episodes as if every course were still in progress: the simulator
    records how each one ended, and an ended episode keeps only its safety alerts, so comparing
    every kind of alert needs courses that have not ended."""
    return episodes.assign(end_reason="ongoing")


@pytest.fixture(scope="module", params=["items", "totals"])
def folder(tmp_path_factory, request):
    """PHQ-9 as item rows (scored on the ordinary path) or as totals only (the fast path)."""
    sim = simulate(1000, 21, item_rows=request.param == "items")
    path = tmp_path_factory.mktemp("clinic")
    sim.measures.to_parquet(path / "measures.parquet")
    in_progress(sim.episodes).to_parquet(path / "episodes.parquet")
    return path, histories_from_tables(sim.measures, sim.episodes)


def test_batch_histories_equal_the_ordinary_ones(folder):
    path, expected = folder
    got, rows = read_batch_histories(path)
    assert rows > 0 and sorted(got.client_id) == sorted(expected.client_id)
    mine, theirs = np.argsort(got.client_id), np.argsort(expected.client_id)
    np.testing.assert_array_equal(got.sessions[mine], expected.sessions[theirs])
    assert set(got.scores) == set(expected.scores)
    for name in expected.scores:
        np.testing.assert_array_equal(got.scores[name][mine], expected.scores[name][theirs])


def test_batch_alerts_equal_the_ordinary_ones_whatever_the_block_size(folder):
    path, histories = folder
    expected = alert_table(histories).sort_values(["client_id", "kind", "reason"]).reset_index(drop=True)
    for block in (100, 100_000):
        got = batch_alerts(path, block=block).alerts
        got = got.sort_values(["client_id", "kind", "reason"]).reset_index(drop=True)
        assert got[["client_id", "kind", "severity", "reason"]].equals(
            expected[["client_id", "kind", "severity", "reason"]]
        )


def test_alerts_command_counts_and_writes_every_alert(folder, tmp_path):
    path, histories = folder
    out = tmp_path / "alerts.csv"
    result = CliRunner().invoke(app, ["alerts", "--batch", str(path), "--out", str(out), "--json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output)
    assert summary["clients"] == len(histories)
    written = out.read_text().count("\n") - 1
    assert summary["alerts"] == len(alert_table(histories)) > 0
    assert written >= summary["alerts"]  # reasons hold no line breaks; one line per alert at least
    assert summary["by_kind"]["safety"]["high"] == summary["requires_action"]


def test_alerts_command_refuses_a_folder_without_measures(tmp_path):
    result = CliRunner().invoke(app, ["alerts", "--batch", str(tmp_path), "--json"])
    assert result.exit_code != 0 and "measures" in result.output


def test_batch_alerts_with_the_forecast_model_equal_the_ordinary_ones(tmp_path):
    """Blocks of 500 clients walk the trees in numpy, one block of 2,500 in compiled code; both
    must give the alerts that ``current_alerts`` gives client by client."""
    from attunement.alerts import current_alerts
    from attunement.forecast import default_model
    from attunement.forecast.trees import COMPILED_FROM_ROWS

    sim = simulate(2500, 23, item_rows=False)
    sim.measures.to_parquet(tmp_path / "measures.parquet")
    in_progress(sim.episodes).to_parquet(tmp_path / "episodes.parquet")
    histories = histories_from_tables(sim.measures, sim.episodes)
    assert (histories.sessions >= 1).sum() >= COMPILED_FROM_ROWS
    model = default_model()
    expected = sorted(
        (a.client_id, a.kind, a.severity, a.reason, a.probability)
        for alerts in current_alerts(histories, model).values()
        for a in alerts
    )
    assert {kind for _, kind, *_ in expected} >= {"not_on_track", "dropout_risk"}
    for block in (500, 100_000):
        table = batch_alerts(tmp_path, model, block=block).alerts
        got = sorted(
            (
                row.client_id,
                row.kind,
                row.severity,
                row.reason,
                None if np.isnan(row.probability) else row.probability,
            )
            for row in table.itertuples()
        )
        assert got == expected


# Episodes of care ---------------------------------------------------------------------------


def score_rows(client, episode, instrument, rater, scores):
    return [
        {
            "client_id": client,
            "episode_id": episode,
            "session": s,
            "instrument": instrument,
            "rater": rater,
            "score": x,
        }
        for s, x in enumerate(scores, start=1)
    ]


def phq9_rows(client, episode, item9s):
    """PHQ-9 answered item by item at sessions 1, 2, ...: every item 2, item 9 as given."""
    return [
        {
            "client_id": client,
            "episode_id": episode,
            "session": session,
            "instrument": "phq9",
            "item": item,
            "value": item9 if item == "phq9_9" else 2,
        }
        for session, item9 in enumerate(item9s, start=1)
        for item in get_instrument("phq9").scoring.items
    ]


def write(folder, measures, episodes, suffix):
    folder.mkdir(exist_ok=True)
    for name, frame in (("measures", measures), ("episodes", episodes)):
        if suffix == ".csv":
            frame.to_csv(folder / f"{name}.csv", index=False)
        else:
            frame.to_parquet(folder / f"{name}.parquet", index=False)
    return folder


def returning_client(items=False):
    """Client r's first course (ended) had a high, steady relationship check-in; the second
    (ongoing) a steady one of about 7, the therapist seeing 8 and, at the latest session, 9. Read
    on its own, the second course has a perception gap (widened against the pair's usual
    difference of 1 point) and no rupture; read against the first course's level of 9.5, its
    check-ins would look like a rupture. Client s has one episode and a dip. With ``items``,
    PHQ-9 item 9 was answered 2 at the first course's last session (session 5) and 0 throughout
    the second, which has four sessions."""
    first = score_rows("r", "1", "checkin", "client", [9.5, 9.6, 9.4, 9.5, 9.6])
    first += score_rows("r", "1", "checkin_therapist", "therapist", [9.5] * 5)
    second = score_rows("r", "2", "checkin", "client", [7.0, 7.1, 6.9, 7.0])
    second += score_rows("r", "2", "checkin_therapist", "therapist", [8.0, 8.1, 7.9, 9.0])
    if items:
        first += phq9_rows("r", "1", [0, 0, 0, 0, 2])
        second += phq9_rows("r", "2", [0, 0, 0, 0])
    other = score_rows("s", None, "checkin", "client", [9.5, 9.6, 9.4, 9.5, 7.2])
    rows = [row for pair in zip(second, first, strict=False) for row in pair] + first[len(second) :] + other
    episodes = pd.DataFrame(
        {
            "client_id": ["r", "r", "s"],
            "episode_id": ["1", "2", None],
            "therapist_id": ["t1", "t2", "t1"],
            "end_reason": ["completed", "ongoing", "ongoing"],
            "start_date": ["2025-01-06", "2026-01-12", "2026-01-05"],
            "end_date": ["2025-02-03", None, None],
        }
    )
    return pd.DataFrame(rows), episodes


@pytest.mark.parametrize("items", [False, True], ids=["totals", "items"])
@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_a_returning_clients_second_course_has_only_its_own_alerts(tmp_path, suffix, items):
    folder = write(tmp_path / "clinic", *returning_client(items), suffix)
    out = tmp_path / f"alerts{suffix}"
    result = CliRunner().invoke(app, ["alerts", "--batch", str(folder), "--out", str(out), "--json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output)
    assert (summary["clients"], summary["episodes"], summary["ended_episodes"]) == (2, 3, 1)
    table = pd.read_csv(out, dtype={"episode_id": "string"}) if suffix == ".csv" else pd.read_parquet(out)
    assert table.columns[:3].tolist() == ["client_id", "episode_id", "session"]
    mine = table[table["client_id"] == "r"]
    if items:  # the ended first course keeps its safety alert; the second has none of its own
        [safety] = mine[mine["kind"] == "safety"].itertuples()
        assert (safety.episode_id, safety.session) == ("1", 5) and "answered 2 of 3" in safety.reason
        mine = mine[mine["kind"] != "safety"]
    assert mine["episode_id"].tolist() == ["2"]
    [gap] = mine.itertuples()
    assert (gap.kind, gap.session) == ("perception_gap", 4)
    assert "9, 2 points higher than the client's own check-in of 7" in gap.reason
    [dip] = table[table["client_id"] == "s"].itertuples()
    assert dip.kind == "rupture" and pd.isna(dip.episode_id)
    assert "7.2 at session 5" in dip.reason and "own level of 9.5" in dip.reason


def ended_and_ongoing(end_reason):
    """Two clients with the same course: PHQ-9 item 9 answered 2 at the latest session, the
    check-in dropped against the client's own level, and the therapist rating it 9.5. Client e's
    course has ended (``end_reason``); client o's is ongoing. No episode columns: end_reason
    alone decides."""
    rows = []
    for client in ("e", "o"):
        rows += phq9_rows(client, None, [0, 0, 0, 0, 2])
        rows += score_rows(client, None, "checkin", "client", [9.5, 9.6, 9.4, 9.5, 7.0])
        rows += score_rows(client, None, "checkin_therapist", "therapist", [9.5] * 5)
    episodes = pd.DataFrame(
        {"client_id": ["e", "o"], "therapist_id": ["t1", "t1"], "end_reason": [end_reason, "ongoing"]}
    )
    return pd.DataFrame(rows).drop(columns="episode_id"), episodes


@pytest.mark.parametrize("end_reason", ["completed", "dropout", "referred", "other"])
@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_an_ended_episode_keeps_its_safety_alert_and_nothing_else(tmp_path, suffix, end_reason):
    folder = write(tmp_path / "clinic", *ended_and_ongoing(end_reason), suffix)
    result = batch_alerts(folder)
    kinds = result.alerts.groupby("client_id")["kind"].apply(set).to_dict()
    assert kinds == {"o": {"safety", "rupture", "perception_gap"}, "e": {"safety"}}
    assert result.ended_episodes == 1 and result.episodes == result.clients == 2
    assert result.alerts["episode_id"].isna().all()
    safety = result.alerts[result.alerts["client_id"] == "e"].iloc[0]
    assert bool(safety["requires_action"]) and "answered 2 of 3" in safety["reason"]


def test_with_the_simulators_endings_only_safety_alerts_remain(folder):
    path, histories = folder
    (path / "ended").mkdir(exist_ok=True)
    sim_measures = pd.read_parquet(path / "measures.parquet")
    sim_measures.to_parquet(path / "ended" / "measures.parquet")
    episodes = pd.read_parquet(path / "episodes.parquet").assign(end_reason="completed")
    episodes.to_parquet(path / "ended" / "episodes.parquet")
    result = batch_alerts(path / "ended")
    expected = alert_table(histories)
    assert result.ended_episodes == len(histories)
    assert set(result.alerts["kind"]) <= {"safety"}
    assert len(result.alerts) == (expected["kind"] == "safety").sum()


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_measures_naming_an_episode_the_episodes_table_lacks_are_refused(tmp_path, suffix):
    measures, episodes = returning_client()
    measures.loc[3, "episode_id"] = "3"
    folder = write(tmp_path / "clinic", measures, episodes, suffix)
    with pytest.raises(InvalidInputError) as caught:
        batch_alerts(folder)
    assert str(caught.value) == (
        "measures table: row 4, column episode_id: got '3', expected an episode the episodes table lists"
        " for client r (it lists 1, 2)"
    )
    measures.loc[3, "episode_id"] = None
    folder = write(tmp_path / "clinic", measures, episodes, suffix)
    with pytest.raises(
        InvalidInputError, match="row 4, column episode_id: got None, expected the episode_id"
    ):
        batch_alerts(folder)
