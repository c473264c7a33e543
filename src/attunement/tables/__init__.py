"""The canonical long tables (``measures``, ``episodes`` and ``actions``): checking, reading, writing,
scoring."""

from attunement.tables.courses import course_keys, course_of_rows, has_episode_ids
from attunement.tables.files import read_actions, read_episodes, read_measures, write_episodes, write_measures
from attunement.tables.participants import CASE_ID, ROLE, case_format, fitting_formats
from attunement.tables.schema import (
    ACTIONS_COLUMNS,
    END_REASONS,
    EPISODE_DATES,
    EPISODE_ID,
    EPISODES_COLUMNS,
    MEASURES_COLUMNS,
    ONGOING,
    RATERS,
    ended_episodes,
    normalise_actions,
    normalise_episodes,
    normalise_measures,
)
from attunement.tables.scores import instruments_in, session_scores

__all__ = [
    "ACTIONS_COLUMNS",
    "CASE_ID",
    "END_REASONS",
    "EPISODES_COLUMNS",
    "EPISODE_DATES",
    "EPISODE_ID",
    "MEASURES_COLUMNS",
    "ONGOING",
    "RATERS",
    "ROLE",
    "case_format",
    "course_keys",
    "course_of_rows",
    "ended_episodes",
    "fitting_formats",
    "has_episode_ids",
    "instruments_in",
    "normalise_actions",
    "normalise_episodes",
    "normalise_measures",
    "read_actions",
    "read_episodes",
    "read_measures",
    "session_scores",
    "write_episodes",
    "write_measures",
]
