"""The canonical long data format: a ``measures`` table, an ``episodes`` table and an ``actions`` table.

``measures`` has one row per answered item (``item`` + ``value``) or per already-computed score
(``score``, with ``item`` empty), keyed by client, session, instrument and rater. ``episodes`` has
one row per course of treatment: one per client, or several per client told apart by
``episode_id`` (a client who comes back for a second course). Optional ``case_id`` and ``role``
on ``measures`` tie the participants of a couple, family or group together
(:mod:`attunement.tables.participants`). Extra columns are kept as they are,
so a service can carry its own fields (for example a client group for fairness checks).

``actions`` (read by ``attunement alerts --batch``) has one row per action a clinician recorded
for an alert: which course, the alert's kind and session, and what was done.

The episode columns (``episode_id``, ``start_date``, ``end_date``) are optional and appear in the
checked table only when the input has them, so a table without them comes back exactly as before.
How measures rows are matched to episodes is :mod:`attunement.tables.courses`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from attunement.errors import FieldProblem, InvalidInputError
from attunement.tables.participants import CASE_ID, ROLE, check_participants

MEASURES_COLUMNS = ["client_id", "session", "date", "instrument", "rater", "item", "value", "score"]
MEASURES_REQUIRED = ["client_id", "session", "instrument"]
EPISODES_COLUMNS = ["client_id", "therapist_id", "end_reason"]
ACTIONS_COLUMNS = ["client_id", "kind", "session", "action"]
#: Optional episode columns, in the order they take when present.
EPISODE_ID = "episode_id"
EPISODE_DATES = ["start_date", "end_date"]
RATERS = ("client", "therapist")
#: How an episode ended; ``ongoing`` means it has not ended (an active course).
ONGOING = "ongoing"
END_REASONS = ("completed", "dropout", "ongoing", "other", "referred")
MAX_REPORTED = 20


def normalise_measures(frame: pd.DataFrame) -> pd.DataFrame:
    """Check a measures table and return it with canonical columns and types.

    Raises :class:`InvalidInputError` naming the row, the column, the value and what was expected.
    Row numbers count data rows from 1 (in a CSV file, row N is on line N + 1).
    """
    require_columns(frame, MEASURES_REQUIRED, "measures")
    out = frame.copy()
    for column in ("date", "rater", "item", "value", "score"):
        if column not in out.columns:
            out[column] = "client" if column == "rater" else None
    out["rater"] = _text(out["rater"], "rater", [], required=False).map(lambda r: r or "client")
    problems: list[FieldProblem] = []
    out["client_id"] = _text(out["client_id"], "client_id", problems, required=True)
    if EPISODE_ID in out.columns:
        out[EPISODE_ID] = _text(out[EPISODE_ID], EPISODE_ID, problems, required=False)
    out["instrument"] = _text(out["instrument"], "instrument", problems, required=True)
    out["item"] = _text(out["item"], "item", problems, required=False)
    out["session"] = _whole_numbers(out["session"], "session", problems)
    out["value"] = _numbers(out["value"], "value", problems)
    out["score"] = _numbers(out["score"], "score", problems)
    _one_of(out["rater"], RATERS, "rater", problems)
    has_item, has_score = out["item"].notna(), out["score"].notna()
    for row in out.index[has_item & has_score][:MAX_REPORTED]:
        problems.append(
            FieldProblem(_where(out, row, "item/score"), "both", "either an item with a value, or a score")
        )
    for row in out.index[~has_item & ~has_score][:MAX_REPORTED]:
        problems.append(
            FieldProblem(_where(out, row, "item/score"), "neither", "either an item with a value, or a score")
        )
    out["date"] = _dates(out["date"], "date", problems)
    check_participants(out, problems, lambda row, column: _where(out, row, column))
    _raise(problems, "measures")
    return _ordered(out, ["client_id", EPISODE_ID, CASE_ID, ROLE, *MEASURES_COLUMNS[1:]])


def normalise_episodes(frame: pd.DataFrame) -> pd.DataFrame:
    """Check an episodes table: one row per course of treatment.

    Without ``episode_id`` a client has one row. With it a client may have several, each with
    its own ``episode_id`` (a client with a single episode may leave it empty). ``start_date`` and
    ``end_date`` are ISO dates; an ``ongoing`` episode has no end date, and an episode cannot end
    before it started.
    """
    require_columns(frame, EPISODES_COLUMNS, "episodes")
    out = frame.copy()
    problems: list[FieldProblem] = []
    out["client_id"] = _text(out["client_id"], "client_id", problems, required=True)
    out["therapist_id"] = _text(out["therapist_id"], "therapist_id", problems, required=True)
    _one_of(out["end_reason"], END_REASONS, "end_reason", problems)
    if EPISODE_ID in out.columns:
        out[EPISODE_ID] = _text(out[EPISODE_ID], EPISODE_ID, problems, required=False)
        _distinct_episodes(out, problems)
    else:
        duplicated = out.index[out["client_id"].duplicated()]
        for row in duplicated[:MAX_REPORTED]:
            problems.append(
                FieldProblem(
                    _where(out, row, "client_id"),
                    out.at[row, "client_id"],
                    "one episode per client (or an episode_id column telling a client's episodes apart)",
                )
            )
    _episode_dates(out, problems)
    _raise(problems, "episodes")
    return _ordered(out, ["client_id", EPISODE_ID, *EPISODES_COLUMNS[1:], *EPISODE_DATES])


def normalise_actions(frame: pd.DataFrame, kinds: tuple[str, ...]) -> pd.DataFrame:
    """Check an actions table: one row per action a clinician recorded for an alert.

    ``client_id`` and optional ``episode_id`` name the course, ``kind`` the alert's kind (one of
    ``kinds``: the tables know no alert rules, the caller says which kinds there are),
    ``session`` the session of the alert the action was recorded for, ``action`` what was done
    (text) and optional ``date`` when. Raises :class:`InvalidInputError` naming the row, the
    column, the value and what was expected.
    """
    require_columns(frame, ACTIONS_COLUMNS, "actions")
    out = frame.copy()
    problems: list[FieldProblem] = []
    out["client_id"] = _text(out["client_id"], "client_id", problems, required=True)
    if EPISODE_ID in out.columns:
        out[EPISODE_ID] = _text(out[EPISODE_ID], EPISODE_ID, problems, required=False)
    _one_of(out["kind"], kinds, "kind", problems)
    out["session"] = _whole_numbers(out["session"], "session", problems)
    out["action"] = _text(out["action"], "action", problems, required=True, expected="what was done, as text")
    if "date" in out.columns:
        out["date"] = _dates(out["date"], "date", problems)
    _raise(problems, "actions")
    return _ordered(out, ["client_id", EPISODE_ID, *ACTIONS_COLUMNS[1:], "date"])


def ended_episodes(end_reason: pd.Series) -> np.ndarray:
    """Whether each episode has ended: any end reason but ``ongoing``. Refuses values that are not
    end reasons, since an unknown one would silently count as ended."""
    problems: list[FieldProblem] = []
    _one_of(end_reason, END_REASONS, "end_reason", problems)
    _raise(problems, "episodes")
    return (end_reason != ONGOING).to_numpy(dtype=bool)


def _distinct_episodes(out: pd.DataFrame, problems: list[FieldProblem]) -> None:
    """A client with several episodes names each one, and never the same one twice.

    Works on integer codes of the ids: an episodes table can have millions of rows."""
    client, _ = pd.factorize(out["client_id"])
    episode, episode_ids = pd.factorize(out[EPISODE_ID])
    known = client >= 0
    episodes_of_client = np.where(known, np.bincount(client[known], minlength=1)[np.maximum(client, 0)], 0)
    unnamed = (episode < 0) & (episodes_of_client > 1)
    for row in out.index[unnamed][:MAX_REPORTED]:
        problems.append(
            FieldProblem(
                _where(out, row, EPISODE_ID),
                None,
                f"an episode id, because client {out.at[row, 'client_id']} has "
                f"{episodes_of_client[out.index.get_loc(row)]} episodes",
            )
        )
    pair = client.astype(np.int64) * (len(episode_ids) + 1) + episode + 1
    repeated = (episode >= 0) & known & pd.Series(pair).duplicated().to_numpy()
    for row in out.index[repeated][:MAX_REPORTED]:
        problems.append(
            FieldProblem(
                _where(out, row, EPISODE_ID),
                out.at[row, EPISODE_ID],
                f"an episode id not already used for client {out.at[row, 'client_id']} "
                "(each of a client's episodes has its own)",
            )
        )


def _episode_dates(out: pd.DataFrame, problems: list[FieldProblem]) -> None:
    """Parse the optional dates; an ongoing episode has no end date, and none ends before it starts."""
    for column in EPISODE_DATES:
        if column in out.columns:
            out[column] = _dates(out[column], column, problems)
    if "end_date" not in out.columns:
        return
    end = pd.to_datetime(out["end_date"])
    ended_early = end.notna() & (out["end_reason"] == ONGOING)
    for row in out.index[ended_early][:MAX_REPORTED]:
        problems.append(
            FieldProblem(
                _where(out, row, "end_date"),
                out.at[row, "end_date"].isoformat(),
                "no end date, because end_reason is ongoing (the episode has not ended)",
            )
        )
    if "start_date" not in out.columns:
        return
    backwards = end < pd.to_datetime(out["start_date"])  # False where either is missing
    for row in out.index[backwards][:MAX_REPORTED]:
        problems.append(
            FieldProblem(
                _where(out, row, "end_date"),
                out.at[row, "end_date"].isoformat(),
                f"a date on or after the start_date {out.at[row, 'start_date'].isoformat()}",
            )
        )


def _ordered(frame: pd.DataFrame, leading: list[str]) -> pd.DataFrame:
    """The canonical columns that are present, in their order, then any others as they came."""
    first = [c for c in leading if c in frame.columns]
    return frame[first + [c for c in frame.columns if c not in first]].reset_index(drop=True)


def require_columns(frame: pd.DataFrame | list[str], columns: list[str], table: str) -> None:
    """Refuse a table (or a list of its column names) without all of ``columns``."""
    names = list(frame.columns) if isinstance(frame, pd.DataFrame) else list(frame)
    missing = [c for c in columns if c not in names]
    if missing:
        raise InvalidInputError(
            table,
            [FieldProblem("columns", ", ".join(map(str, names)), f"columns including {', '.join(missing)}")],
        )


def _where(frame: pd.DataFrame, row: int, column: str) -> str:
    return f"row {frame.index.get_loc(row) + 1}, column {column}"


def _text(
    series: pd.Series, column: str, problems: list[FieldProblem], *, required: bool, expected: str = "a value"
) -> pd.Series:
    text = series.astype("string").str.strip()
    text = text.mask(text == "")
    if required:
        for row in series.index[text.isna()][:MAX_REPORTED]:
            problems.append(
                FieldProblem(f"row {series.index.get_loc(row) + 1}, column {column}", None, expected)
            )
    return text.astype(object).where(text.notna(), None)


def _numbers(series: pd.Series, column: str, problems: list[FieldProblem]) -> pd.Series:
    numeric = pd.to_numeric(series, errors="coerce").astype("float64")
    blank = series.isna() | (series.astype("string").str.strip() == "")
    bad = numeric.isna() & ~blank
    for row in series.index[bad][:MAX_REPORTED]:
        problems.append(
            FieldProblem(f"row {series.index.get_loc(row) + 1}, column {column}", series[row], "a number")
        )
    return numeric


def _whole_numbers(series: pd.Series, column: str, problems: list[FieldProblem]) -> pd.Series:
    numeric = pd.to_numeric(series, errors="coerce")
    bad = numeric.isna() | (numeric < 0) | (numeric % 1 != 0)
    for row in series.index[bad][:MAX_REPORTED]:
        problems.append(
            FieldProblem(
                f"row {series.index.get_loc(row) + 1}, column {column}", series[row], "a whole number >= 0"
            )
        )
    return numeric.fillna(-1).astype("int64")


def _one_of(series: pd.Series, allowed: tuple[str, ...], column: str, problems: list[FieldProblem]) -> None:
    bad = ~series.isin(allowed)
    for row in series.index[bad][:MAX_REPORTED]:
        problems.append(
            FieldProblem(
                f"row {series.index.get_loc(row) + 1}, column {column}",
                series[row],
                f"one of {', '.join(allowed)}",
            )
        )


def _dates(series: pd.Series, column: str, problems: list[FieldProblem]) -> pd.Series:
    parsed = pd.to_datetime(series, errors="coerce", format="ISO8601")
    bad = parsed.isna() & series.notna() & (series.astype("string").str.strip() != "")
    for row in series.index[bad][:MAX_REPORTED]:
        problems.append(
            FieldProblem(
                f"row {series.index.get_loc(row) + 1}, column {column}",
                series[row],
                "an ISO date (YYYY-MM-DD)",
            )
        )
    return parsed.dt.date.astype(object).where(parsed.notna(), None)


def _raise(problems: list[FieldProblem], table: str) -> None:
    if problems:
        raise InvalidInputError(f"{table} table", problems[: MAX_REPORTED * 3])
