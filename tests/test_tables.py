"""The canonical long format: checking, CSV/Parquet round trips and per-session scores."""

from __future__ import annotations

import datetime
import math

import hypothesis.strategies as st
import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings

from attunement.errors import InvalidInputError
from attunement.instruments import answers_from_sequence, get_instrument, score
from attunement.instruments.table_scoring import score_frame
from attunement.tables import (
    END_REASONS,
    MEASURES_COLUMNS,
    normalise_episodes,
    normalise_measures,
    read_episodes,
    read_measures,
    session_scores,
    write_episodes,
    write_measures,
)


def item_rows(client: str, session: int, instrument: str, answers: list[float | None]) -> list[dict]:
    items = get_instrument(instrument).scoring.items
    return [
        {"client_id": client, "session": session, "instrument": instrument, "item": i, "value": v}
        for i, v in zip(items, answers, strict=True)
    ]


def test_item_rows_and_score_rows_give_one_score_per_session():
    rows = item_rows("c1", 1, "phq9", [2, 2, 1, 1, 2, 1, 1, 0, 1])
    rows += [{"client_id": "c1", "session": 2, "instrument": "phq9", "score": 8.0}]
    rows += item_rows("c2", 1, "phq9", [3, 3, 3, 3, 3, 3, 3, 3, None])  # one missing: prorated
    scores = session_scores(normalise_measures(pd.DataFrame(rows)), "phq9")
    assert scores.to_dict("records") == [
        {"client_id": "c1", "session": 1, "score": 11.0},
        {"client_id": "c1", "session": 2, "score": 8.0},
        {"client_id": "c2", "session": 1, "score": 27.0},
    ]


def test_forms_with_too_many_missing_items_get_no_score():
    rows = item_rows("c1", 1, "phq9", [2, None, 1, None, 2, 1, 1, 0, 1])
    assert session_scores(normalise_measures(pd.DataFrame(rows)), "phq9").empty


@pytest.mark.parametrize(
    ("column", "value", "expected"),
    [
        ("session", "two", "a whole number >= 0"),
        ("session", -1, "a whole number >= 0"),
        ("rater", "supervisor", "one of client, therapist"),
        ("score", "high", "a number"),
        ("date", "31/12/2026", "an ISO date"),
        ("client_id", "", "a value"),
    ],
)
def test_bad_cells_are_named_with_row_column_value_and_expectation(column, value, expected):
    frame = pd.DataFrame(
        [
            {
                "client_id": "c1",
                "session": 1,
                "instrument": "phq9",
                "score": 10,
                "rater": "client",
                "date": None,
            }
        ]
        * 2,
        dtype=object,
    )
    frame.loc[1, column] = value
    with pytest.raises(InvalidInputError) as caught:
        normalise_measures(frame)
    message = str(caught.value)
    assert f"row 2, column {column}" in message
    assert expected in message


def test_a_row_must_be_an_item_answer_or_a_score_not_both():
    frame = pd.DataFrame(
        [{"client_id": "c", "session": 1, "instrument": "phq9", "item": "phq9_1", "value": 1, "score": 3}]
    )
    with pytest.raises(InvalidInputError, match="either an item with a value, or a score"):
        normalise_measures(frame)


def test_missing_columns_are_named():
    with pytest.raises(InvalidInputError, match="columns including session"):
        normalise_measures(pd.DataFrame({"client_id": ["a"], "instrument": ["phq9"]}))


def test_episodes_check_end_reason_and_one_row_per_client():
    frame = pd.DataFrame(
        {
            "client_id": ["a", "a", "b"],
            "therapist_id": ["t1", "t1", "t2"],
            "end_reason": ["completed", "dropout", "quit"],
        }
    )
    with pytest.raises(InvalidInputError) as caught:
        normalise_episodes(frame)
    assert "row 3, column end_reason: got 'quit', expected one of completed, dropout, ongoing, other" in str(
        caught.value
    )
    assert "row 2, column client_id" in str(caught.value)


def episodes_of_care(changes: dict | None = None) -> pd.DataFrame:
    """Client a has two episodes (the first ended, the second ongoing), client b one."""
    frame = pd.DataFrame(
        {
            "client_id": ["a", "a", "b"],
            "episode_id": ["1", "2", "1"],
            "therapist_id": ["t1", "t2", "t1"],
            "end_reason": ["completed", "ongoing", "referred"],
            "start_date": ["2025-01-06", "2026-02-02", "2025-03-03"],
            "end_date": ["2025-04-28", None, "2025-05-05"],
        },
        dtype=object,
    )
    for (column, row), value in (changes or {}).items():
        frame.loc[row, column] = value
    return frame


def test_a_client_may_have_several_episodes_each_with_its_own_id_and_dates():
    checked = normalise_episodes(episodes_of_care())
    assert checked.columns[:6].tolist() == [
        "client_id",
        "episode_id",
        "therapist_id",
        "end_reason",
        "start_date",
        "end_date",
    ]
    assert checked["end_date"].tolist() == [datetime.date(2025, 4, 28), None, datetime.date(2025, 5, 5)]
    assert set(END_REASONS) == {"completed", "dropout", "referred", "other", "ongoing"}


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        (
            {("episode_id", 1): "1"},
            "row 2, column episode_id: got '1', expected an episode id not already used for client a",
        ),
        (
            {("episode_id", 1): None},
            "row 2, column episode_id: got None, expected an episode id, because client a has 2 episodes",
        ),
        (
            {("end_date", 1): "2026-03-30"},
            "row 2, column end_date: got '2026-03-30', expected no end date, because end_reason is ongoing",
        ),
        (
            {("end_date", 2): "2025-02-28"},
            "row 3, column end_date: got '2025-02-28', expected a date on or after the start_date 2025-03-03",
        ),
        (
            {("start_date", 0): "06/01/2025"},
            "row 1, column start_date: got '06/01/2025', expected an ISO date (YYYY-MM-DD)",
        ),
        (
            {("end_reason", 2): "transferred"},
            "row 3, column end_reason: got 'transferred', expected one of completed, dropout, ongoing,"
            " other, referred",
        ),
    ],
)
def test_episode_problems_are_named_with_row_column_value_and_expectation(changes, expected):
    with pytest.raises(InvalidInputError) as caught:
        normalise_episodes(episodes_of_care(changes))
    assert str(caught.value).startswith("episodes table: ")
    assert expected in str(caught.value)


def test_without_episode_ids_a_client_has_one_episode():
    frame = episodes_of_care().drop(columns="episode_id")
    with pytest.raises(InvalidInputError, match="row 2, column client_id: got 'a', expected one episode per"):
        normalise_episodes(frame)


def test_tables_without_episode_columns_come_back_as_before():
    frame = pd.DataFrame({"client_id": ["a"], "therapist_id": ["t"], "end_reason": ["ongoing"], "x": [1]})
    assert normalise_episodes(frame).columns.tolist() == ["client_id", "therapist_id", "end_reason", "x"]
    rows = pd.DataFrame([{"client_id": "a", "session": 1, "instrument": "phq9", "score": 3}])
    assert normalise_measures(rows).columns.tolist() == MEASURES_COLUMNS


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_episode_ids_stay_text_through_files(tmp_path, suffix):
    frame = episodes_of_care({("episode_id", 0): "01", ("episode_id", 1): "02"})
    again = read_episodes(write_episodes(frame, tmp_path / f"episodes{suffix}"))
    assert again["episode_id"].tolist() == ["01", "02", "1"]
    assert again.to_dict("records") == normalise_episodes(frame).to_dict("records")
    rows = pd.DataFrame(
        [{"client_id": "a", "episode_id": "02", "session": 1, "instrument": "phq9", "score": 3}]
    )
    measures = read_measures(write_measures(rows, tmp_path / f"measures{suffix}"))
    assert measures.columns[:3].tolist() == ["client_id", "episode_id", "session"]
    assert measures.loc[0, "episode_id"] == "02"


measure_rows = st.lists(
    st.fixed_dictionaries(
        {
            "client_id": st.text("abcdef0123456789", min_size=1, max_size=8),
            "session": st.integers(0, 40),
            "instrument": st.sampled_from(["phq9", "gad7", "bdi"]),
            "rater": st.sampled_from(["client", "therapist"]),
            "score": st.floats(0, 60, allow_nan=False).map(lambda x: round(x, 3)),
            "date": st.dates().map(lambda d: d.isoformat()),
        }
    ),
    min_size=1,
    max_size=30,
)


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=measure_rows)
def test_measures_round_trip_through_files(tmp_path, suffix, rows):
    original = normalise_measures(pd.DataFrame(rows))
    path = write_measures(original, tmp_path / f"measures{suffix}")
    again = read_measures(path)
    assert again["client_id"].tolist() == original["client_id"].tolist()
    assert again["session"].tolist() == original["session"].tolist()
    assert again["rater"].tolist() == original["rater"].tolist()
    assert np.allclose(again["score"], original["score"])
    assert [str(d) for d in again["date"]] == [str(d) for d in original["date"]]


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_episodes_round_trip_and_keep_extra_columns(tmp_path, suffix):
    frame = pd.DataFrame(
        {
            "client_id": ["007", "b"],
            "therapist_id": ["t1", "t2"],
            "end_reason": ["ongoing", "dropout"],
            "group": ["x", "y"],
        }
    )
    again = read_episodes(write_episodes(frame, tmp_path / f"episodes{suffix}"))
    assert again.to_dict("records") == normalise_episodes(frame).to_dict("records")
    assert again.loc[0, "client_id"] == "007"  # ids stay text, leading zeros kept


def test_unknown_file_type_is_refused(tmp_path):
    with pytest.raises(InvalidInputError, match="suffix"):
        read_measures(tmp_path / "measures.xlsx")


phq9_answers = st.lists(st.one_of(st.none(), st.integers(0, 3)), min_size=9, max_size=9)


@settings(max_examples=150, deadline=None)
@given(forms=st.lists(phq9_answers, min_size=1, max_size=10))
def test_vectorised_scoring_matches_form_by_form_scoring(forms):
    phq9 = get_instrument("phq9")
    wide = pd.DataFrame([[np.nan if a is None else a for a in f] for f in forms], columns=phq9.scoring.items)
    table = score_frame(phq9, wide)
    for row, answers in enumerate(forms):
        single = score(phq9, answers_from_sequence(phq9, answers), allow_incomplete=True)
        got = table.loc[row]
        assert got["valid"] == single.valid
        if single.total is None:
            assert math.isnan(got["total"])
        else:
            assert got["total"] == pytest.approx(single.total)
            assert got["band"] == single.band
        endorsed = any(f.kind == "self_harm" for f in single.flags)
        assert bool(got["flag_self_harm"]) == endorsed
        assert bool(got["unanswered_phq9_9"]) == (answers[8] is None)


def test_vectorised_scoring_names_the_bad_cell():
    phq9 = get_instrument("phq9")
    wide = pd.DataFrame([[0] * 9, [0] * 8 + [7]], columns=phq9.scoring.items)
    with pytest.raises(InvalidInputError, match=r"form 1, item phq9_9: got 7, expected one of 0, 1, 2, 3"):
        score_frame(phq9, wide)


def test_a_folder_is_read_the_same_way_by_every_command(tmp_path):
    """One finder for every command: either file, never both (which one would be read?)."""
    from attunement.errors import InvalidInputError
    from attunement.tables.files import find_table

    assert find_table(tmp_path, "measures", required=False) is None
    (tmp_path / "measures.parquet").write_bytes(b"")
    assert find_table(tmp_path, "measures") == tmp_path / "measures.parquet"
    (tmp_path / "measures.csv").write_text("")
    with pytest.raises(InvalidInputError, match="not both"):
        find_table(tmp_path, "measures")
    with pytest.raises(InvalidInputError, match="episodes.csv or episodes.parquet"):
        find_table(tmp_path, "episodes")
