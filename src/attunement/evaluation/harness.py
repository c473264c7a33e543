"""Run early-warning methods session by session on held-out clients and measure them.

Each method is fitted on a reference cohort, then asked at every session 1..``course_sessions``
about the held-out clients still in treatment, each time seeing only their data up to that
session (:meth:`Histories.upto`). From those answers come three kinds of rows:

- **session rows** (``session`` = 2, 3, 4, 6): AUC of the risk score, sensitivity and false-alarm
  rate of the method's alert rule, and for probabilities the Brier score and expected
  calibration error, among the clients who attended that session;
- **course rows** (``session`` = ``"course"``, for the course outcomes): the share of clients with
  the outcome flagged at some session before their last one, the share of clients without it
  flagged before their last one (false alarms over the course), the median session of the first
  correct flag, and the false-alarm rate among delayed responders (simulated data only). Only
  clients with at least two sessions count: a one-session course gives no chance to warn;
- **pooled rows** (``session`` = ``"pooled"``, for the per-session outcomes dropout and rupture):
  all session predictions up to ``course_sessions`` together.

A method that cannot be fitted on the cohort, or cannot answer for it (it needs a measure the
cohort lacks, or the cohort has too few clients with an outcome to learn from), raises an
:class:`~attunement.errors.AttunementError`; it is then reported by one **not-applicable row**
per outcome (``session`` = ``"not_applicable"``, ``reason`` = the error in words) and the other
methods are still evaluated. A cohort shaped like a real service's history (PHQ-9 alone, no
therapist ratings, CORE-10) then still gets figures for the methods that apply.

Every row is computed for all clients (``group`` = ``"all"``) and for each client group, so
that a method that works less well for one group shows it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from attunement.errors import AttunementError
from attunement.evaluation import metrics
from attunement.evaluation.cohort import Cohort
from attunement.evaluation.settings import Settings, load_settings
from attunement.prediction.histories import NO_GROUP, Histories
from attunement.prediction.methods import Method, Prediction, attended_sessions

COURSE_OUTCOMES = ("deterioration", "no_improvement")
SESSION_OUTCOMES = ("dropout_next", "rupture")
DELAYED_RESPONDER = "delayed_responder"


@dataclass
class MethodRun:
    """One method's answers on the held-out cohort: per session, the rows asked and the answer."""

    method: Method
    rows: dict[int, np.ndarray] = field(default_factory=dict)
    answers: dict[int, Prediction] = field(default_factory=dict)

    def risk(self, outcome: str, session: int) -> np.ndarray:
        return np.asarray(self.answers[session].risk[outcome], dtype=float)

    def alert(self, outcome: str, session: int) -> np.ndarray:
        return np.asarray(self.answers[session].alert[outcome], dtype=bool)

    @property
    def is_probability(self) -> bool:
        return any(answer.is_probability for answer in self.answers.values())


Progress = Callable[[str, int], None]


def run_method(
    method: Method, histories: Histories, sessions: Sequence[int], progress: Progress | None = None
) -> MethodRun:
    """Ask ``method`` at each session, about the clients who attended it, with data up to it."""
    run = MethodRun(method)
    asked = attended_sessions(histories, sessions)
    answers = method.predict_sessions(histories, asked)
    for session in asked:
        rows = np.flatnonzero(histories.sessions >= session)
        answer = answers.get(session)
        if answer is None:
            raise ValueError(
                f"method {method.name} gave no answer at session {session}, which clients attended"
            )
        _check_answer(method, session, answer, len(rows))
        run.rows[session], run.answers[session] = rows, answer
        if progress is not None:
            progress(method.name, session)
    return run


def evaluate(
    reference: Cohort,
    held_out: Cohort,
    methods: Sequence[Method],
    settings: Settings | None = None,
    progress: Progress | None = None,
) -> tuple[list[dict], list[MethodRun]]:
    """Fit each method on ``reference``, run it on ``held_out`` and return the figure rows."""
    settings = settings or load_settings()
    sessions = list(range(1, int(settings.course_sessions.value) + 1))
    runs, rows = [], []
    for method in methods:
        try:
            method.fit(reference.histories, reference.labels)
            run = run_method(method, held_out.histories, sessions, progress)
        except AttunementError as exc:
            rows += not_applicable_rows(method, str(exc))
            continue
        runs.append(run)
        unavailable = method.unavailable_outcomes()
        for outcome, reason in unavailable.items():
            rows += not_applicable_rows(method, reason, (outcome,))
        rows += figures(run, held_out, settings, skip=tuple(unavailable))
    return rows, runs


NOT_APPLICABLE = "not_applicable"


def not_applicable_rows(method: Method, reason: str, outcomes: tuple[str, ...] | None = None) -> list[dict]:
    """One row per outcome of a method that could not be fitted or run on the cohort, with why
    (``outcomes``: only these of the method's outcomes)."""
    return [
        {
            "method": method.name,
            "kind": method.kind,
            "outcome": outcome,
            "session": NOT_APPLICABLE,
            "group": NO_GROUP,
            "n": 0,
            "positives": 0,
            "auc": None,
            "sensitivity": None,
            "false_alarm_rate": None,
            "brier": None,
            "ece": None,
            "reason": reason,
        }
        for outcome in (method.outcomes if outcomes is None else outcomes)
    ]


def figures(run: MethodRun, cohort: Cohort, settings: Settings, skip: tuple[str, ...] = ()) -> list[dict]:
    """All figure rows of one method (see module doc), leaving out the outcomes in ``skip``."""
    out = []
    groups = [NO_GROUP, *sorted(set(cohort.histories.group) - {NO_GROUP})]
    for outcome in run.method.outcomes:
        if outcome in skip or (outcome == "rupture" and not cohort.labels.has_ruptures):
            continue
        for group in groups:
            members = (
                np.ones(len(cohort), dtype=bool) if group == NO_GROUP else cohort.histories.group == group
            )
            for session in settings.sessions.value:
                if session in run.answers:
                    out.append(_session_row(run, cohort, outcome, session, group, members, settings))
            if outcome in COURSE_OUTCOMES:
                out.append(_course_row(run, cohort, outcome, group, members, settings))
            else:
                out.append(_pooled_row(run, cohort, outcome, group, members, settings))
    return out


def _session_row(run, cohort, outcome, session, group, members, settings) -> dict:
    rows = run.rows[session]
    keep = members[rows]
    labels = cohort.labels.at(outcome, session)[rows][keep]
    risk = run.risk(outcome, session)[keep]
    alert = run.alert(outcome, session)[keep]
    return _row(run, outcome, session, group, labels, risk, alert, settings)


def _pooled_row(run, cohort, outcome, group, members, settings) -> dict:
    labels, risk, alert = [], [], []
    for session, rows in run.rows.items():
        keep = members[rows]
        labels.append(cohort.labels.at(outcome, session)[rows][keep])
        risk.append(run.risk(outcome, session)[keep])
        alert.append(run.alert(outcome, session)[keep])
    return _row(
        run,
        outcome,
        "pooled",
        group,
        np.concatenate(labels),
        np.concatenate(risk),
        np.concatenate(alert),
        settings,
    )


def _row(run, outcome, session, group, labels, risk, alert, settings) -> dict:
    probability = run.is_probability
    bins = int(settings.calibration_bins.value)
    return {
        **_identity(run, outcome, session, group),
        "n": int(labels.size),
        "positives": int(labels.sum()),
        "auc": metrics.auc(labels, risk),
        "sensitivity": metrics.sensitivity(labels, alert),
        "false_alarm_rate": metrics.false_alarm_rate(labels, alert),
        "brier": metrics.brier(labels, risk) if probability else None,
        "ece": metrics.expected_calibration_error(labels, risk, bins) if probability else None,
    }


def first_flags(run: MethodRun, outcome: str, n_clients: int) -> np.ndarray:
    """The first session at which the method alerted, per client (0 = never)."""
    first = np.zeros(n_clients, dtype=np.int64)
    for session in sorted(run.rows):
        rows = run.rows[session]
        new = run.alert(outcome, session) & (first[rows] == 0)
        first[rows[new]] = session
    return first


def peak_risk_before_last(run: MethodRun, outcome: str, end_session: np.ndarray) -> np.ndarray:
    """Each client's highest risk at the sessions before their last one (-inf when none)."""
    peak = np.full(len(end_session), -np.inf)
    for session, rows in run.rows.items():
        before_last = session < end_session[rows]
        risk = np.nan_to_num(run.risk(outcome, session), nan=-np.inf)
        peak[rows] = np.where(before_last, np.maximum(peak[rows], risk), peak[rows])
    return peak


def matched_false_alarms(peak: np.ndarray, positive: np.ndarray, negative: np.ndarray, level: float):
    """False alarms among ``negative`` when the threshold on the peak risk flags ``level`` of
    ``positive`` clients before their last session: compares the ranking of methods at the same
    sensitivity, whatever their own alert rules. ``None`` when the level cannot be reached."""
    reachable = np.sort(peak[positive][np.isfinite(peak[positive])])[::-1]
    needed = int(np.ceil(level * positive.sum() - 1e-9))
    if not negative.any() or needed < 1 or needed > reachable.size:
        return None
    threshold = reachable[needed - 1]
    return _share(peak[negative] >= threshold)


def _course_row(run, cohort, outcome, group, members, settings) -> dict:
    labels = cohort.labels
    first = first_flags(run, outcome, len(cohort))
    eligible = members & (labels.end_session >= 2)
    warned = (first > 0) & (first < labels.end_session)
    positive = labels.at(outcome, 0) & eligible
    negative = ~labels.at(outcome, 0) & eligible
    first_correct = first[positive & warned]
    delayed, matched = None, {}
    if labels.latent_class is not None:
        delayed_negative = negative & (labels.latent_class == DELAYED_RESPONDER)
        delayed = _share(warned[delayed_negative])
        peak = peak_risk_before_last(run, outcome, labels.end_session)
        matched = {
            f"{level:g}": matched_false_alarms(peak, positive, delayed_negative, level)
            for level in settings.matched_sensitivities.value
        }
    return {
        **_identity(run, outcome, "course", group),
        "n": int(eligible.sum()),
        "positives": int(positive.sum()),
        "auc": None,
        "sensitivity": _share(warned[positive]),
        "false_alarm_rate": _share(warned[negative]),
        "brier": None,
        "ece": None,
        "flagged_before_last_session": _share(warned[positive]),
        "median_first_correct_flag_session": float(np.median(first_correct)) if first_correct.size else None,
        "delayed_responder_false_alarm_rate": delayed,
        "delayed_responder_false_alarm_rate_at_sensitivity": matched,
    }


def _identity(run: MethodRun, outcome: str, session: int | str, group: str) -> dict:
    return {
        "method": run.method.name,
        "kind": run.method.kind,
        "outcome": outcome,
        "session": session,
        "group": group,
    }


def _share(flags: np.ndarray) -> float | None:
    return float(flags.mean()) if flags.size else None


def _check_answer(method: Method, session: int, answer: Prediction, expected: int) -> None:
    for part in ("risk", "alert"):
        extra = sorted(set(getattr(answer, part)) - set(method.outcomes))
        if extra:
            raise ValueError(
                f"method {method.name} at session {session}: {part} for {', '.join(extra)}, "
                f"which it does not declare (its outcomes: {', '.join(method.outcomes)})"
            )
    for outcome in method.outcomes:
        for part in ("risk", "alert"):
            values = getattr(answer, part).get(outcome)
            if values is None or len(values) != expected:
                got = "nothing" if values is None else f"{len(values)} values"
                raise ValueError(
                    f"method {method.name} at session {session}: {part} for {outcome} has {got}, "
                    f"expected one value for each of the {expected} clients who attended the session"
                )
