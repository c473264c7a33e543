"""The canonical long data format: a ``measures`` table and an ``episodes`` table.

``measures`` has one row per answered item (``item`` + ``value``) or per already-computed score
(``score``, with ``item`` empty), keyed by client, session, instrument and rater. ``episodes`` has
one row per course of treatment. Extra columns are kept as they are, so a service can carry its
own fields (for example a client group for fairness checks).
"""

from __future__ import annotations

import pandas as pd

from attunement.errors import FieldProblem, InvalidInputError

MEASURES_COLUMNS = ["client_id", "session", "date", "instrument", "rater", "item", "value", "score"]
MEASURES_REQUIRED = ["client_id", "session", "instrument"]
EPISODES_COLUMNS = ["client_id", "therapist_id", "end_reason"]
RATERS = ("client", "therapist")
END_REASONS = ("completed", "dropout", "ongoing", "other")
MAX_REPORTED = 20


def normalise_measures(frame: pd.DataFrame) -> pd.DataFrame:
    """Check a measures table and return it with canonical columns and types.

    Raises :class:`InvalidInputError` naming the row, the column, the value and what was expected.
    Row numbers count data rows from 1 (in a CSV file, row N is on line N + 1).
    """
    _require(frame, MEASURES_REQUIRED, "measures")
    out = frame.copy()
    for column in ("date", "rater", "item", "value", "score"):
        if column not in out.columns:
            out[column] = "client" if column == "rater" else None
    out["rater"] = _text(out["rater"], "rater", [], required=False).map(lambda r: r or "client")
    problems: list[FieldProblem] = []
    out["client_id"] = _text(out["client_id"], "client_id", problems, required=True)
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
    out["date"] = _dates(out["date"], problems)
    _raise(problems, "measures")
    ordered = MEASURES_COLUMNS + [c for c in out.columns if c not in MEASURES_COLUMNS]
    return out[ordered].reset_index(drop=True)


def normalise_episodes(frame: pd.DataFrame) -> pd.DataFrame:
    """Check an episodes table (one row per client's course of treatment)."""
    _require(frame, EPISODES_COLUMNS, "episodes")
    out = frame.copy()
    problems: list[FieldProblem] = []
    out["client_id"] = _text(out["client_id"], "client_id", problems, required=True)
    out["therapist_id"] = _text(out["therapist_id"], "therapist_id", problems, required=True)
    _one_of(out["end_reason"], END_REASONS, "end_reason", problems)
    duplicated = out.index[out["client_id"].duplicated()]
    for row in duplicated[:MAX_REPORTED]:
        problems.append(
            FieldProblem(_where(out, row, "client_id"), out.at[row, "client_id"], "one episode per client")
        )
    _raise(problems, "episodes")
    ordered = EPISODES_COLUMNS + [c for c in out.columns if c not in EPISODES_COLUMNS]
    return out[ordered].reset_index(drop=True)


def _require(frame: pd.DataFrame, columns: list[str], table: str) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise InvalidInputError(
            table,
            [
                FieldProblem(
                    "columns", ", ".join(map(str, frame.columns)), f"columns including {', '.join(missing)}"
                )
            ],
        )


def _where(frame: pd.DataFrame, row: int, column: str) -> str:
    return f"row {frame.index.get_loc(row) + 1}, column {column}"


def _text(series: pd.Series, column: str, problems: list[FieldProblem], *, required: bool) -> pd.Series:
    text = series.astype("string").str.strip()
    text = text.mask(text == "")
    if required:
        for row in series.index[text.isna()][:MAX_REPORTED]:
            problems.append(
                FieldProblem(f"row {series.index.get_loc(row) + 1}, column {column}", None, "a value")
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


def _dates(series: pd.Series, problems: list[FieldProblem]) -> pd.Series:
    parsed = pd.to_datetime(series, errors="coerce", format="ISO8601")
    bad = parsed.isna() & series.notna() & (series.astype("string").str.strip() != "")
    for row in series.index[bad][:MAX_REPORTED]:
        problems.append(
            FieldProblem(
                f"row {series.index.get_loc(row) + 1}, column date", series[row], "an ISO date (YYYY-MM-DD)"
            )
        )
    return parsed.dt.date.astype(object).where(parsed.notna(), None)


def _raise(problems: list[FieldProblem], table: str) -> None:
    if problems:
        raise InvalidInputError(f"{table} table", problems[: MAX_REPORTED * 3])
