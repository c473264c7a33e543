"""Sudden gains and sudden losses between consecutive sessions (Tang & DeRubeis 1999).

A sudden gain is a large, stable improvement between one session (n, "pre-gain") and the next
(n + 1, "post-gain"). Clients who have one tend to do better, and a gain that later reverses is
worth a conversation, so the product finds them in routine session-by-session scores. The three
criteria, for a scale on which lower is better:

1. absolute size: ``x_n - x_(n+1) >= cutoff`` (inclusive; 7 BDI points in the original study, or a
   reliable-change value, see :func:`reliable_change_cutoff`);
2. relative size: ``x_n - x_(n+1) >= 25% of x_n`` (inclusive);
3. stability: the mean of sessions n-2..n exceeds the mean of sessions n+1..n+3 by more than the
   two-tailed 5% critical t value times the pooled SD of the two windows.

Missing sessions follow Lutz et al. (2013) and the suddengains R package (Wiedemann et al. 2020):
the windows are fixed session numbers (a gap is not closed up), an interval is evaluated only when
x_n and x_(n+1) exist and each window holds at least two scores, and the critical value uses
``n_pre + n_post - 2`` degrees of freedom (2.776 for 3 + 3, 3.182 for 3 + 2 or 2 + 3, 4.303 for
2 + 2). A gain is *reversed* when a later score goes back beyond ``x_(n+1) + 50%`` of the gain; it
is reported, not dropped. Sudden losses mirror every rule in the direction of deterioration.

The relative, reversal and window parameters live in ``parameters/sudden_gains.json`` with their
sources. The search is vectorised over the whole long table (no loop per client or session), so a
caseload of many thousands of clients is one pass.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict
from scipy import stats

from attunement.change.reliable_change import raw_threshold
from attunement.datafiles import load_json_model
from attunement.errors import FieldProblem, InvalidInputError
from attunement.instruments.definition import CitedNumber

PARAMETERS_FILE = Path(__file__).with_name("parameters") / "sudden_gains.json"
REQUIRED_COLUMNS = ("client_id", "session", "score")
#: The pre-treatment assessment, when a table has one: a baseline (e.g. for a reliable-change
#: cut-off), not a session of treatment, so the change from it to session 1 is never searched.
BASELINE_SESSION = 0

Direction = Literal["lower_is_better", "higher_is_better"]
Kind = Literal["gain", "loss"]

# Inclusive criteria ("at least") must still hold when a change equals the threshold on scores kept
# with decimals, e.g. 10.4 -> 7.8 against 25% of 10.4. This is floating-point slack, not a
# clinical tolerance.
_INCLUSIVE_SLACK = 1e-9

EVENT_COLUMNS = [
    "client_id",
    "kind",
    "pregain_session",
    "postgain_session",
    "pregain_score",
    "postgain_score",
    "size",
    "relative_size",
    "pre_mean",
    "post_mean",
    "n_pre",
    "n_post",
    "critical_value",
    "reversal_threshold",
    "reversal",
    "reversal_session",
]


class SuddenGainParameters(BaseModel):
    """The cited parameters of the sudden-gain criteria, as held in the JSON file."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    description: str
    relative_criterion: CitedNumber
    reversal_fraction: CitedNumber
    original_bdi_cutoff: CitedNumber
    criterion3_alpha: CitedNumber
    window_sessions: CitedNumber
    min_values_per_side: CitedNumber
    reliable_change_z: CitedNumber


@cache
def load_parameters() -> SuddenGainParameters:
    """Read and check ``parameters/sudden_gains.json`` (once per process)."""
    return load_json_model(PARAMETERS_FILE, SuddenGainParameters)


@dataclass(frozen=True)
class SuddenGainRules:
    """The criteria actually applied, so that every result can say how it was found."""

    cutoff: float
    relative: float
    reversal_fraction: float
    alpha: float
    window: int
    min_per_side: int
    adjust_for_missing: bool
    direction: Direction
    critical_values: dict[str, float]


@dataclass(frozen=True)
class SuddenGainSummary:
    """Counts over the table. Gain (loss) counts are ``None`` when gains (losses) were not searched."""

    clients: int
    clients_evaluated: int
    intervals_evaluable: int
    gains: int | None
    losses: int | None
    gain_reversals: int | None
    loss_reversals: int | None
    clients_with_gain: int | None
    clients_with_loss: int | None


@dataclass(frozen=True)
class SuddenGainsResult:
    """One row per sudden gain or loss (``events``, columns :data:`EVENT_COLUMNS`), totals and rules."""

    events: pd.DataFrame
    summary: SuddenGainSummary
    rules: SuddenGainRules


def critical_values(alpha: float, window: int, min_per_side: int) -> dict[tuple[int, int], float]:
    """Two-tailed critical t values for every (n_pre, n_post) window case, df = n_pre + n_post - 2."""
    _check_probability("alpha", alpha)
    sizes = range(min_per_side, window + 1)
    return {
        (n_pre, n_post): float(stats.t.ppf(1 - alpha / 2, n_pre + n_post - 2))
        for n_pre in sizes
        for n_post in sizes
    }


def reliable_change_cutoff(baseline_scores: Iterable[float], reliability: float) -> float:
    """Criterion-1 cut-off from reliable change: ``z * sqrt(2) * SD * sqrt(1 - r)``.

    ``SD`` is the sample SD (n - 1 denominator) of the baseline scores, missing values left out;
    ``z`` (1.96) comes from the parameter file (Jacobson & Truax 1991).
    """
    values = pd.to_numeric(pd.Series(list(baseline_scores), dtype=object), errors="coerce").dropna()
    if len(values) < 2:
        raise InvalidInputError(
            "reliable-change cut-off", [FieldProblem("baseline scores", len(values), "at least 2 scores")]
        )
    sd = float(values.astype(float).std(ddof=1))
    return float(raw_threshold(sd, reliability, z=load_parameters().reliable_change_z.value))


def find_sudden_gains(
    scores: pd.DataFrame,
    cutoff: float,
    *,
    gains: bool = True,
    losses: bool = False,
    direction: Direction = "lower_is_better",
    adjust_for_missing: bool = True,
    relative: float | None = None,
    reversal_fraction: float | None = None,
    alpha: float | None = None,
) -> SuddenGainsResult:
    """Find sudden gains and/or losses in a long table of ``client_id``, ``session``, ``score``.

    ``session`` must hold whole numbers; a session with no row, or with a missing score, is a
    missing session. Session :data:`BASELINE_SESSION` (0), the pre-treatment assessment, is not
    searched: gains are changes between sessions of treatment. ``cutoff`` is criterion 1 in score
    points (positive). ``relative``, ``reversal_fraction`` and ``alpha`` default to the cited
    values of the parameter file.
    With ``adjust_for_missing=False`` the full-window critical value (2.776) is used for every
    window case, as in the original criteria.
    """
    rules = _rules(cutoff, direction, adjust_for_missing, relative, reversal_fraction, alpha)
    if not (gains or losses):
        raise InvalidInputError(
            "sudden gains", [FieldProblem("gains/losses", "neither", "gains, losses or both")]
        )
    table = _checked(scores)
    table = table[table["session"] != BASELINE_SESSION]
    n_clients = int(table["client_id"].nunique())
    table = table[table["score"].notna()]
    try:
        codes, clients = pd.factorize(table["client_id"], sort=True)
    except TypeError:  # client ids of mixed types cannot be ordered: keep the order of the table
        codes, clients = pd.factorize(table["client_id"], sort=False)
    order = np.lexsort((table["session"].to_numpy(), codes))
    code = codes[order]
    session = table["session"].to_numpy(dtype=np.int64)[order]
    score = table["score"].to_numpy(dtype=float)[order]

    windows = _windows(code, session, score, rules.window)
    x_n, x_n1 = windows[:, rules.window - 1], windows[:, rules.window]
    pre, post = windows[:, : rules.window], windows[:, rules.window :]
    n_pre, pre_mean, pre_ss = _window_stats(pre)
    n_post, post_mean, post_ss = _window_stats(post)
    evaluable = ~np.isnan(x_n1) & (n_pre >= rules.min_per_side) & (n_post >= rules.min_per_side)

    df = np.maximum(n_pre + n_post - 2, 1)
    pooled_sd = np.sqrt((pre_ss + post_ss) / df)
    crit = _critical_value_per_interval(n_pre, n_post, rules)

    sign = 1.0 if direction == "lower_is_better" else -1.0
    kinds: list[tuple[Kind, float]] = []
    if gains:
        kinds.append(("gain", sign))
    if losses:
        kinds.append(("loss", -sign))
    parts = []
    for kind, toward in kinds:  # "toward": +1 when a fall in score is the change looked for
        change = toward * (x_n - x_n1)
        with np.errstate(invalid="ignore"):
            found = (
                evaluable
                & _at_least(change, rules.cutoff)
                & _at_least(change, rules.relative * np.abs(x_n))
                & (toward * (pre_mean - post_mean) > crit * pooled_sd)
            )
        rows = np.flatnonzero(found)
        size = change[rows]
        threshold = x_n1[rows] + toward * rules.reversal_fraction * size
        reversed_at = _first_reversal(code, session, score, rows, threshold, toward)
        with np.errstate(divide="ignore", invalid="ignore"):
            relative_size = np.where(x_n[rows] != 0, size / np.abs(x_n[rows]), np.nan)
        parts.append(
            pd.DataFrame(
                {
                    "client_id": clients.take(code[rows]),
                    "kind": kind,
                    "pregain_session": session[rows],
                    "postgain_session": session[rows] + 1,
                    "pregain_score": x_n[rows],
                    "postgain_score": x_n1[rows],
                    "size": size,
                    "relative_size": relative_size,
                    "pre_mean": pre_mean[rows],
                    "post_mean": post_mean[rows],
                    "n_pre": n_pre[rows],
                    "n_post": n_post[rows],
                    "critical_value": crit[rows],
                    "reversal_threshold": threshold,
                    "reversal": ~pd.isna(reversed_at),
                    "reversal_session": reversed_at,
                    "_code": code[rows],
                }
            )
        )
    events = (
        pd.concat(parts, ignore_index=True)
        .sort_values(["_code", "pregain_session", "kind"], kind="stable")
        .drop(columns="_code")
        .reset_index(drop=True)
    )
    events["reversal"] = events["reversal"].astype(bool)
    events["reversal_session"] = events["reversal_session"].astype("Int64")
    summary = _summary(events, code, evaluable, n_clients, gains, losses)
    return SuddenGainsResult(events=events[EVENT_COLUMNS], summary=summary, rules=rules)


def _rules(
    cutoff: float,
    direction: str,
    adjust_for_missing: bool,
    relative: float | None,
    reversal_fraction: float | None,
    alpha: float | None,
) -> SuddenGainRules:
    params = load_parameters()
    problems: list[FieldProblem] = []
    if not _is_number(cutoff) or cutoff <= 0:
        problems.append(FieldProblem("cutoff", cutoff, "a number of score points > 0"))
    checked: Direction = "lower_is_better"
    match direction:
        case "lower_is_better" | "higher_is_better":
            checked = direction
        case _:
            problems.append(FieldProblem("direction", direction, "lower_is_better or higher_is_better"))
    relative = params.relative_criterion.value if relative is None else relative
    reversal_fraction = params.reversal_fraction.value if reversal_fraction is None else reversal_fraction
    alpha = params.criterion3_alpha.value if alpha is None else alpha
    if not _is_number(relative) or relative < 0:
        problems.append(FieldProblem("relative", relative, "a fraction >= 0, e.g. 0.25"))
    if not _is_number(reversal_fraction) or not 0 < reversal_fraction <= 1:
        problems.append(FieldProblem("reversal_fraction", reversal_fraction, "a fraction in (0, 1]"))
    if not _is_number(alpha) or not 0 < alpha < 1:
        problems.append(FieldProblem("alpha", alpha, "a probability between 0 and 1"))
    if problems:
        raise InvalidInputError("sudden gains", problems)
    window = int(params.window_sessions.value)
    min_per_side = int(params.min_values_per_side.value)
    table = critical_values(alpha, window, min_per_side)
    if not adjust_for_missing:
        full = table[(window, window)]
        table = {case: full for case in table}
    return SuddenGainRules(
        cutoff=float(cutoff),
        relative=float(relative),
        reversal_fraction=float(reversal_fraction),
        alpha=float(alpha),
        window=window,
        min_per_side=min_per_side,
        adjust_for_missing=adjust_for_missing,
        direction=checked,
        critical_values={f"{a}+{b}": value for (a, b), value in table.items()},
    )


def _checked(scores: pd.DataFrame) -> pd.DataFrame:
    """The table with numeric sessions and scores, after checking columns, values and duplicates."""
    missing = [c for c in REQUIRED_COLUMNS if c not in scores.columns]
    if missing:
        raise InvalidInputError(
            "session scores",
            [
                FieldProblem(
                    "columns", ", ".join(map(str, scores.columns)), "columns " + ", ".join(REQUIRED_COLUMNS)
                )
            ],
        )
    table = scores.loc[:, list(REQUIRED_COLUMNS)].copy()
    problems: list[FieldProblem] = []
    session = pd.to_numeric(table["session"], errors="coerce")
    bad = session.isna() | (session % 1 != 0)
    problems += [
        FieldProblem(f"row {i + 1}, column session", table["session"].iat[i], "a whole number")
        for i in np.flatnonzero(bad.to_numpy())[:20]
    ]
    score = pd.to_numeric(table["score"], errors="coerce")
    bad = score.isna() & table["score"].notna()
    problems += [
        FieldProblem(f"row {i + 1}, column score", table["score"].iat[i], "a number")
        for i in np.flatnonzero(bad.to_numpy())[:20]
    ]
    bad = table["client_id"].isna()
    problems += [
        FieldProblem(f"row {i + 1}, column client_id", None, "a value")
        for i in np.flatnonzero(bad.to_numpy())[:20]
    ]
    if problems:
        raise InvalidInputError("session scores", problems)
    table["session"] = session.astype(np.int64)
    table["score"] = score.astype(float)
    scored = table[table["score"].notna()]
    twice = scored.duplicated(["client_id", "session"], keep=False)
    if twice.any():
        first = scored[twice].iloc[0]
        raise InvalidInputError(
            "session scores",
            [
                FieldProblem(
                    f"client {first['client_id']}, session {first['session']}",
                    "two scores",
                    "one score per session",
                )
            ],
        )
    return table


def _windows(code: np.ndarray, session: np.ndarray, score: np.ndarray, window: int) -> np.ndarray:
    """Scores at sessions n-window+1 .. n+window for every row n (NaN where a session is missing).

    Rows are sorted by client and session and sessions are unique per client, so the row holding
    session n+k, if any, lies at most |k| rows away: a few shifted comparisons find every neighbour
    without a loop over clients.
    """
    offsets = range(-(window - 1), window + 1)
    out = np.full((len(score), len(offsets)), np.nan)
    rows = np.arange(len(score))
    for column, k in enumerate(offsets):
        if k == 0:
            out[:, column] = score
            continue
        step = 1 if k > 0 else -1
        for j in range(1, abs(k) + 1):
            other = np.clip(rows + step * j, 0, max(len(score) - 1, 0))
            match = (other == rows + step * j) & (code[other] == code) & (session[other] == session + k)
            out[match, column] = score[other[match]]
    return out


def _window_stats(values: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Count, mean and sum of squared deviations of the non-missing values in each row."""
    present = ~np.isnan(values)
    count = present.sum(axis=1)
    filled = np.where(present, values, 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = filled.sum(axis=1) / count
    squares = np.where(present, (values - mean[:, None]) ** 2, 0.0).sum(axis=1)
    return count, mean, squares


def _critical_value_per_interval(n_pre: np.ndarray, n_post: np.ndarray, rules: SuddenGainRules) -> np.ndarray:
    lookup = np.full((rules.window + 1, rules.window + 1), np.nan)
    for case, value in rules.critical_values.items():
        a, b = (int(part) for part in case.split("+"))
        lookup[a, b] = value
    critical: np.ndarray = lookup[np.minimum(n_pre, rules.window), np.minimum(n_post, rules.window)]
    return critical


def _at_least(value: np.ndarray, threshold: np.ndarray | float) -> np.ndarray:
    return value >= threshold - _INCLUSIVE_SLACK * np.maximum(1.0, np.abs(threshold))


def _first_reversal(
    code: np.ndarray,
    session: np.ndarray,
    score: np.ndarray,
    rows: np.ndarray,
    threshold: np.ndarray,
    toward: float,
) -> np.ndarray:
    """The first session after the post-gain session whose score goes back beyond the threshold.

    The post-gain session sits on the row after the pre-gain row; every later row of the same
    client is a candidate. Returns a float array with NaN where the change did not reverse.
    """
    result = np.full(len(rows), np.nan)
    if len(rows) == 0:
        return result
    client_end = np.searchsorted(code, code[rows], side="right")
    start = rows + 2
    counts = np.maximum(client_end - start, 0)
    event = np.repeat(np.arange(len(rows)), counts)
    offset = np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)
    later = start[event] + offset
    back = toward * (score[later] - threshold[event]) > 0
    if back.any():
        first = pd.Series(session[later[back]]).groupby(event[back]).min()
        result[first.index.to_numpy()] = first.to_numpy()
    return result


def _summary(
    events: pd.DataFrame, code: np.ndarray, evaluable: np.ndarray, clients: int, gains: bool, losses: bool
) -> SuddenGainSummary:
    def count(kind: str, searched: bool) -> tuple[int | None, int | None, int | None]:
        if not searched:
            return None, None, None
        rows = events[events["kind"] == kind]
        return len(rows), int(rows["reversal"].sum()), int(rows["client_id"].nunique())

    n_gains, gain_reversals, gain_clients = count("gain", gains)
    n_losses, loss_reversals, loss_clients = count("loss", losses)
    return SuddenGainSummary(
        clients=clients,
        clients_evaluated=int(np.unique(code[evaluable]).size),
        intervals_evaluable=int(evaluable.sum()),
        gains=n_gains,
        losses=n_losses,
        gain_reversals=gain_reversals,
        loss_reversals=loss_reversals,
        clients_with_gain=gain_clients,
        clients_with_loss=loss_clients,
    )


def _is_number(value: object) -> bool:
    return (
        isinstance(value, (int, float, np.integer, np.floating))
        and not isinstance(value, bool)
        and math.isfinite(value)
    )


def _check_probability(name: str, value: float) -> None:
    if not _is_number(value) or not 0 < value < 1:
        raise InvalidInputError("sudden gains", [FieldProblem(name, value, "a probability between 0 and 1")])
