"""The negative-process alert on hand-made histories: the check-in's "judged, criticised or pushed"
answer read on its own, at a level and against the client's own earlier answers."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from attunement.alerts import alert_table, current_alerts
from attunement.alerts.batch import batch_alerts
from attunement.alerts.negative_process import judged_course
from attunement.alerts.parameters import load_parameters
from attunement.prediction.histories import histories_from_tables
from attunement.store.score_rows import ClientRef, build_histories, series_by_client
from test_alerts import histories

NAN = np.nan
PARAMS = load_parameters().negative_process


def negative(h, client: str):
    return [a for a in current_alerts(h)[client] if a.kind == "negative_process"]


def test_the_thresholds_are_project_choices_with_a_note():
    for name in ("judged_level", "judged_level_high", "rise_points", "own_history_answers"):
        number = getattr(PARAMS, name)
        assert number.status == "project choice" and number.note.strip()


def test_a_client_who_rates_everything_well_but_felt_judged_gets_the_alert_quoting_the_answer():
    # Every other item 9-10 and judged 7: the reverse-keyed item costs the total only half a point.
    h = histories(a={"checkin": [9.5, 9.5, 9.2], "checkin_judged": [1, 0, 7]})
    alerts = current_alerts(h)["a"]
    assert [a.kind for a in alerts] == ["negative_process"]  # the total alone raises nothing
    [alert] = alerts
    assert alert.session == 3 and alert.severity == "low"
    assert "answered 7 out of 10" in alert.reason and "I felt judged, criticised or pushed" in alert.reason
    assert f"alert level of {PARAMS.judged_level.value:g}" in alert.reason
    assert "usual answer is 0.5 (mean of 2 earlier answers)" in alert.reason
    assert alert.figures["judged"] == 7 and alert.figures["rule"] == "level"
    assert any("I felt judged" in step for step in alert.support)


def test_a_rise_against_the_clients_own_answers_fires_below_the_level():
    h = histories(a={"checkin": [8, 8, 8, 7.5], "checkin_judged": [1, 1, 1, 5]})
    [alert] = negative(h, "a")
    assert alert.figures["rule"] == "rise_against_own_answers" and alert.figures["rise"] == 4
    assert "answered 5 out of 10" in alert.reason
    assert "4 points above their usual answer of 1 (mean of 3 earlier answers)" in alert.reason
    assert alert.severity == "low"


@pytest.mark.parametrize(
    "judged",
    [
        [2, 3, 2, 3, 2],  # steady and low
        [5, 5, 5, 5, 5],  # steady at the middle: below the level, no rise
        [1, 1, 1, NAN],  # the latest answer is missing: nothing was said
        [NAN, NAN, NAN, NAN],  # never answered
        [0, 3],  # a rise of 3 but only one earlier answer: the rise is not judged yet
    ],
)
def test_no_alert_for_a_steady_client_or_a_missing_answer(judged):
    h = histories(a={"checkin": [8.0] * len(judged), "checkin_judged": judged})
    assert negative(h, "a") == []


def test_an_earlier_high_answer_does_not_fire_once_it_is_no_longer_the_latest():
    h = histories(a={"checkin": [8, 8, 8], "checkin_judged": [1, 8, 1]})
    assert negative(h, "a") == []


def test_a_very_high_answer_or_one_with_a_rupture_is_medium():
    high = histories(a={"checkin": [9, 9, 9], "checkin_judged": [0, 0, 9]})
    assert negative(high, "a")[0].severity == "medium"
    # The check-in total falls well below the client's own level too: a rupture at the same session.
    strained = histories(b={"checkin": [9, 9, 9, 9, 5], "checkin_judged": [0, 0, 0, 0, 6]})
    alerts = current_alerts(strained)["b"]
    assert [a.kind for a in alerts][:2] == ["rupture", "negative_process"]
    assert alerts[1].severity == "medium" and "check-in total also dropped" in alerts[1].reason


def test_the_rule_at_every_session_uses_only_the_answers_up_to_it():
    judged = np.array([[1, 1, 1, 5, 1, 7]], dtype=float)
    state = judged_course(judged)
    assert state.fires[0].tolist() == [False, False, False, True, False, True]
    # Cutting the future off does not change an earlier verdict.
    assert judged_course(judged[:, :4]).fires[0].tolist() == state.fires[0, :4].tolist()


def test_the_table_and_the_alert_objects_agree():
    h = histories(
        a={"checkin": [9, 9, 9], "checkin_judged": [1, 1, 7]}, b={"checkin": [9], "checkin_judged": [1]}
    )
    table = alert_table(h)
    row = table[table["kind"] == "negative_process"]
    assert row["client_id"].tolist() == ["a"]
    assert row["negative_process_judged"].tolist() == [7]
    assert row["reason"].iloc[0] == negative(h, "a")[0].reason


# The same answers on every path: canonical tables, the batch, and the web app's stored rows -------

CODES = ("heard", "topics", "goals", "respected", "fit", "judged")


def checkin_rows(client: str, judged: list[int]) -> list[dict]:
    """A check-in answered item by item at sessions 1, 2, ...: every item 9, "judged" as given."""
    return [
        {
            "client_id": client,
            "session": session,
            "instrument": "checkin",
            "rater": "client",
            "item": f"checkin_{code}",
            "value": float(answer if code == "judged" else 9),
            "score": np.nan,
        }
        for session, answer in enumerate(judged, start=1)
        for code in CODES
    ]


def hand_made() -> tuple[pd.DataFrame, pd.DataFrame]:
    measures = pd.DataFrame(
        checkin_rows("high", [1, 0, 7])
        + checkin_rows("rise", [1, 1, 1, 5])
        + checkin_rows("steady", [2, 3, 2])
    )
    episodes = pd.DataFrame(
        {
            "client_id": ["high", "rise", "steady"],
            "therapist_id": "t1",
            "end_reason": "ongoing",
            "sessions_attended": [3, 4, 3],
        }
    )
    return measures, episodes


def negative_rows(table: pd.DataFrame) -> list[tuple[str, str, str]]:
    rows = table[table["kind"] == "negative_process"]
    return sorted(zip(rows["client_id"].astype(str), rows["severity"], rows["reason"], strict=True))


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_the_batch_and_the_web_app_give_the_same_alerts_as_the_canonical_tables(tmp_path, suffix):
    measures, episodes = hand_made()
    expected = negative_rows(alert_table(histories_from_tables(measures, episodes)))
    assert [client for client, _, _ in expected] == ["high", "rise"]
    assert "answered 7 out of 10" in expected[0][2] and "answered 5 out of 10" in expected[1][2]

    for name, frame in (("measures", measures), ("episodes", episodes)):
        if suffix == ".csv":
            frame.to_csv(tmp_path / f"{name}.csv", index=False)
        else:
            frame.to_parquet(tmp_path / f"{name}.parquet", index=False)
    assert negative_rows(batch_alerts(tmp_path).alerts) == expected

    # The web app scores its stored rows its own way (attunement.store.score_rows).
    numbers = {"high": 1, "rise": 2, "steady": 3}
    stored = [
        (numbers[r.client_id], r.session, r.instrument, r.rater, r.item, r.value, None, 1)
        for r in measures.itertuples()
    ]
    refs = [
        ClientRef(numbers[c], 1, "all", int(n))
        for c, n in zip(episodes["client_id"], episodes["sessions_attended"], strict=True)
    ]
    web = current_alerts(build_histories(refs, series_by_client(stored)))
    names = {str(v): k for k, v in numbers.items()}
    got = sorted(
        (names[client], a.severity, a.reason)
        for client, alerts in web.items()
        for a in alerts
        if a.kind == "negative_process"
    )
    assert got == expected
