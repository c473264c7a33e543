"""Episodes of care: measures rows matched to episodes, and one history per course of treatment."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from attunement.errors import InvalidInputError
from attunement.prediction.histories import histories_from_tables
from attunement.prediction.outcomes import labels_from_tables
from attunement.tables import normalise_episodes, normalise_measures


def measures(rows: list[tuple]) -> pd.DataFrame:
    """Rows of (client, episode, session, PHQ-9 total)."""
    return normalise_measures(
        pd.DataFrame(
            [
                {"client_id": c, "episode_id": e, "session": s, "instrument": "phq9", "score": x}
                for c, e, s, x in rows
            ]
        )
    )


EPISODES = normalise_episodes(
    pd.DataFrame(
        {
            "client_id": ["a", "a", "b"],
            "episode_id": ["1", "2", None],
            "therapist_id": ["t1", "t2", "t1"],
            "end_reason": ["dropout", "ongoing", "completed"],
        }
    )
)
ROWS = [
    ("a", "1", 1, 22.0),
    ("a", "1", 2, 23.0),
    ("a", "1", 3, 24.0),
    ("a", "2", 1, 12.0),
    ("a", "2", 2, 9.0),
    ("b", None, 1, 15.0),
]


def test_each_episode_is_a_course_of_its_own():
    h = histories_from_tables(measures(ROWS), EPISODES)
    assert h.client_id.tolist() == ["a/1", "a/2", "b"]
    assert h.clients().tolist() == ["a", "a", "b"]
    assert h.episodes().tolist() == ["1", "2", None]
    assert h.therapist_id.tolist() == ["t1", "t2", "t1"]
    assert h.sessions.tolist() == [3, 2, 1]
    np.testing.assert_array_equal(h.score("phq9")[1], [12.0, 9.0, np.nan])  # never the first course's
    cut = h.upto(2)
    assert cut.client_id.tolist() == ["a/1", "a/2"] and cut.episodes().tolist() == ["1", "2"]
    assert h.subset(np.array([False, True, False])).clients().tolist() == ["a"]


def test_labels_follow_each_episodes_own_ending():
    h = histories_from_tables(measures(ROWS), EPISODES)
    labels = labels_from_tables(h, EPISODES)
    assert labels.dropout.tolist() == [True, False, False]
    assert labels.end_session.tolist() == [3, 2, 1]


def test_rows_of_a_client_with_one_episode_need_not_name_it():
    episodes = normalise_episodes(EPISODES.assign(episode_id=["1", "2", "only"]))
    h = histories_from_tables(measures(ROWS), episodes)
    assert h.client_id.tolist() == ["a/1", "a/2", "b/only"]
    assert h.score("phq9")[2, 0] == 15.0


def test_without_an_episodes_table_each_named_episode_is_a_course():
    h = histories_from_tables(measures([*ROWS, ("b", "7", 1, 3.0)]))
    assert h.client_id.tolist() == ["a/1", "a/2", "b", "b/7"]
    assert h.sessions.tolist() == [3, 2, 1, 1]


def test_tables_without_episode_ids_keep_one_course_per_client():
    plain = measures([(c, None, s, x) for c, e, s, x in ROWS if e != "2"]).drop(columns="episode_id")
    h = histories_from_tables(plain, EPISODES.drop(columns="episode_id").iloc[[0, 2]])
    assert h.client_id.tolist() == ["a", "b"] and h.episode_id is None
    assert h.clients().tolist() == ["a", "b"] and h.episodes().tolist() == [None, None]
    assert h.sessions.tolist() == [3, 1]


@pytest.mark.parametrize(
    ("row", "expected"),
    [
        (
            ("a", None, 3, 8.0),
            "row 7, column episode_id: got None, expected the episode_id of one of client a's 2 episodes"
            " (1, 2)",
        ),
        (
            ("a", "3", 3, 8.0),
            "row 7, column episode_id: got '3', expected an episode the episodes table lists for client a"
            " (it lists 1, 2)",
        ),
        (
            ("c", "1", 1, 8.0),
            "row 7, column episode_id: got '1', expected an episode the episodes table lists for client c"
            " (it lists no episode_id for client c)",
        ),
    ],
)
def test_measures_rows_must_name_a_listed_episode(row, expected):
    with pytest.raises(InvalidInputError) as caught:
        histories_from_tables(measures([*ROWS, row]), EPISODES)
    assert str(caught.value) == f"measures table: {expected}"
