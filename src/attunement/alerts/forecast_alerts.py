"""Not on track and dropout risk: alerts from a fitted forecast model (:mod:`attunement.forecast`).

The model gives calibrated probabilities for the latest session and its own alert thresholds
(chosen on reference clients and recorded in the model file). Without a model there are no
alerts of these two kinds; the other kinds do not need one.

``not_on_track`` fires for any of three parts (:func:`not_on_track`), and only once the
episode has at least ``minimum_phq9_scores`` PHQ-9 scores (``parameters.json``): at the first
questionnaire the model has nothing but the intake score, so its probability describes the
intake, not the course.

- **deterioration**: the model's deterioration alert (high severity);
- **no improvement**: the model's no-improvement alert, only for a client whose first PHQ-9 is at
  or above the PHQ-9 caseness cut-off (from the PHQ-9 definition). Below it, a reliable
  improvement of the size NHS Talking Therapies counts is hardly possible (from 0 impossible), so
  the model is rightly almost sure it will not happen, and the alert would say nothing about the
  course; the reason says it was not judged when another part fires;
- **above the expected range**: the last ``above_range_scores`` recorded PHQ-9 scores each lie
  above the range expected at their session for clients who started at the same score. This
  plain rule needs no model probability: the model's outcomes count a reliable improvement on
  GAD-7 alone as improvement, so a client whose depression stays high while their anxiety falls
  can be far from both model thresholds.

The reason states what fired, with the probability against its threshold, where the latest
PHQ-9 lies against the expected range, and, when the model was fitted on simulated clients, says
so. ``dropout_risk``: the model's dropout alert (probability of ending without agreement before
the next session); medium.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING

import numpy as np
import pyarrow as pa

from attunement.alerts.fired import Fired, choose, join, latest, listed, prefixed, text, when
from attunement.alerts.parameters import NotOnTrackParameters, load_parameters
from attunement.prediction.histories import Histories

if TYPE_CHECKING:
    from attunement.change.clinical_significance import Cutoff
    from attunement.forecast.model import ForecastModel

SIMULATED_MODEL = "; the forecast model was fitted on simulated clients, not on this clinic's own history"


@dataclass(frozen=True)
class CourseFacts:
    """The facts of each client's tracked outcome measure (aligned with the rows asked about)
    that the rules use: PHQ-9 when the model knows it, else the model's first outcome measure
    (a CORE-10 service's CORE-10; :func:`tracked_measure`).

    ``phq9`` is the last score of that measure recorded at or before the latest session (the
    name is PHQ-9's, the usual measure), at ``phq9_session`` (NaN and 1 when none),
    ``low``/``high`` the expected range there for clients with the same first score
    (``intake``); ``scores`` counts the scores recorded up to the latest session; ``above_run``
    says whether each of the last ``above_range_scores`` of them lay beyond the range expected at
    its own session on the worse side (above it where higher is worse), and ``above_since`` is
    the session of the first of them. ``measure`` is the measure's id.
    """

    phq9: np.ndarray
    phq9_session: np.ndarray
    intake: np.ndarray
    low: np.ndarray
    high: np.ndarray
    scores: np.ndarray
    above_run: np.ndarray
    above_since: np.ndarray
    measure: str = "phq9"

    @property
    def label(self) -> str:
        """The measure's name for people, e.g. ``PHQ-9``."""
        from attunement.prediction.measures import describe

        return describe(self.measure)

    @property
    def worse_side(self) -> str:
        """``above`` where a higher score is worse (PHQ-9, CORE-10), ``below`` where it is better."""
        return "above" if _lower_is_better(self.measure) else "below"

    @property
    def known(self) -> np.ndarray:
        known: np.ndarray = ~np.isnan(self.phq9) & ~np.isnan(self.intake)
        return known


@dataclass(frozen=True)
class NotOnTrack:
    """Which part of the not-on-track rule fires for each client (see the module doc)."""

    deterioration: np.ndarray
    no_improvement: np.ndarray
    above_range: np.ndarray
    improvement_judged: np.ndarray

    @property
    def fires(self) -> np.ndarray:
        fires: np.ndarray = self.deterioration | self.no_improvement | self.above_range
        return fires


@dataclass(frozen=True)
class ForecastNow:
    """Everything the forecast rules need at each client's latest session: ``rows`` and ``cols``
    as :func:`~attunement.alerts.fired.latest` gives them, the model's probabilities and alert
    flags (per client of the histories), the PHQ-9 facts and the not-on-track verdict (per row)."""

    rows: np.ndarray
    cols: np.ndarray
    risks: dict[str, np.ndarray]
    flags: dict[str, np.ndarray]
    facts: CourseFacts
    verdict: NotOnTrack


def forecast_now(
    histories: Histories, model: ForecastModel, params: NotOnTrackParameters | None = None
) -> ForecastNow:
    """The forecast and the not-on-track rule at each client's latest session (also used to
    measure the rule on its own, session by session)."""
    from attunement.forecast import predict_alerts, predict_risks

    params = params or load_parameters().not_on_track
    risks = predict_risks(model, histories)
    flags = predict_alerts(model, risks)
    rows, cols = latest(histories)
    facts = course_facts(histories, model, rows, cols, params)
    verdict = not_on_track(facts, flags["deterioration"][rows], flags["no_improvement"][rows], params)
    return ForecastNow(rows, cols, risks, flags, facts, verdict)


def forecast_alerts(histories: Histories, model: ForecastModel | None) -> list[Fired]:
    """Not on track and dropout-risk alerts; none without a model."""
    if model is None or len(histories) == 0:
        return []
    params = load_parameters().not_on_track
    now = forecast_now(histories, model, params)
    simulated = _simulated(model)
    return [_not_on_track(now, model, params, simulated), _dropout(histories, now, simulated)]


def tracked_measure(model: ForecastModel, histories: Histories) -> str:
    """The outcome measure the not-on-track rule reads: PHQ-9 when the model has an expected
    course for it, else the first outcome measure it has one for and the data holds."""
    known = list(model.expected.tables)
    if "phq9" in known or not known:
        return "phq9"
    return next((m for m in known if m in histories.scores), known[0])


def course_facts(
    histories: Histories,
    model: ForecastModel,
    rows: np.ndarray,
    cols: np.ndarray,
    params: NotOnTrackParameters,
) -> CourseFacts:
    """The facts of :class:`CourseFacts`; the expected range is the band of
    :func:`attunement.forecast.expected_range`, looked up only at the sessions needed."""
    measure = tracked_measure(model, histories)
    worse_high = _lower_is_better(measure)
    phq9 = histories.score(measure)[rows]
    width = phq9.shape[1]
    seen = ~np.isnan(phq9) & (np.arange(width)[None, :] <= cols[:, None])
    intake = histories.first(measure)[rows]
    index = np.arange(len(rows))
    scores = seen.sum(axis=1)
    # The recorded PHQ-9s from the latest backwards, one column per step (-1: no more).
    recent: list[np.ndarray] = []
    remaining = seen
    for _ in range(max(int(params.above_range_scores.value), 1)):
        has = remaining.any(axis=1)
        col = np.where(has, width - 1 - remaining[:, ::-1].argmax(axis=1), -1)
        remaining[index[has], col[has]] = False
        recent.append(col)
    above_run = np.ones(len(rows), dtype=bool)
    for col in recent:
        low_there, _, high_there = model.expected.band(measure, intake, np.maximum(col, 0) + 1)
        there = phq9[index, np.maximum(col, 0)]
        with np.errstate(invalid="ignore"):
            beyond = there > high_there if worse_high else there < low_there
        above_run &= (col >= 0) & beyond
    last = recent[0]
    low, _, high = model.expected.band(measure, intake, np.maximum(last, 0) + 1)
    return CourseFacts(
        phq9=np.where(last >= 0, phq9[index, np.maximum(last, 0)], np.nan),
        phq9_session=np.maximum(last, 0) + 1,
        intake=intake,
        low=low,
        high=high,
        scores=scores,
        above_run=above_run,
        above_since=recent[-1] + 1,
        measure=measure,
    )


def not_on_track(
    facts: CourseFacts, deterioration: np.ndarray, no_improvement: np.ndarray, params: NotOnTrackParameters
) -> NotOnTrack:
    """The rule's parts from the model's own alert flags (``deterioration``, ``no_improvement``)
    and the PHQ-9 facts; nothing fires without ``minimum_phq9_scores`` PHQ-9 scores."""
    enough = facts.scores >= params.minimum_phq9_scores.value
    judged = at_caseness(facts.intake, facts.measure)
    return NotOnTrack(
        deterioration=enough & deterioration,
        no_improvement=enough & judged & no_improvement,
        above_range=enough & facts.above_run,
        improvement_judged=judged,
    )


@cache
def caseness(measure: str = "phq9") -> Cutoff:
    """The caseness cut-off of a measure's instrument definition (value, rule, status)."""
    from attunement.change import cutoff_for
    from attunement.instruments import get_instrument

    return cutoff_for(get_instrument(measure))


def at_caseness(scores: np.ndarray, measure: str = "phq9") -> np.ndarray:
    """Whether each score is at caseness by the definition's rule (False when missing)."""
    return np.asarray(caseness(measure).is_clinical(scores).to_numpy(dtype=bool, na_value=False))


@cache
def _lower_is_better(measure: str) -> bool:
    from attunement.instruments import get_instrument

    return get_instrument(measure).direction != "higher_is_better"


def _simulated(model: object) -> bool:
    """Whether the model's file records that it learnt from simulated clients (see
    :func:`attunement.forecast.model.fitted_on_simulated`); False for other kinds of model."""
    from attunement.forecast.model import ForecastModel, fitted_on_simulated

    return isinstance(model, ForecastModel) and fitted_on_simulated(model)


def _where_in_range(facts: CourseFacts, pick: np.ndarray) -> pa.Array:
    """ "PHQ-9 of 17 at session 4 is above the range expected at that session for clients who
    started at 18 (8 to 14)", or that the PHQ-9 was not recorded (the tracked measure's name)."""
    score, low, high = facts.phq9[pick], facts.low[pick], facts.high[pick]
    described = join(
        f"{facts.label} of ",
        text(score, 0),
        " at session ",
        text(facts.phq9_session[pick], 0),
        " is ",
        pa.array(_position(score, low, high)),
        " the range expected at that session for clients who started at ",
        text(facts.intake[pick], 0),
        " (",
        text(low, 0),
        " to ",
        text(high, 0),
        ")",
    )
    unknown = pa.array(
        np.full(int(pick.sum()), f"no {facts.label} was recorded to compare with the expected course")
    )
    return choose(facts.known[pick], described, unknown)


def _position(score: np.ndarray, low: np.ndarray, high: np.ndarray) -> np.ndarray:
    return np.where(score > high, "above", np.where(score < low, "below", "within"))


def _percent(p: np.ndarray) -> pa.Array:
    """Whole percentages; below 1% says so instead of printing 0%."""
    p = np.asarray(p, dtype=float)
    return choose(p < 0.005, pa.array(np.full(len(p), "under 1%")), join(text(p * 100, 0), "%"))


def _against(p: np.ndarray, threshold: float) -> tuple[pa.Array, pa.Array]:
    """A probability and its alert threshold as percentages, with as many decimals (up to two)
    as it takes for the two not to read the same: "56% ... threshold of 56%" would hide which
    side of the threshold the probability lies."""
    t = np.full(len(p), threshold * 100)
    digits = np.zeros(len(p), dtype=np.int64)
    for d in (0, 1):
        same = np.round(p * 100, d) == np.round(t, d)
        digits = np.where((digits == d) & same, d + 1, digits)
    shown_p = _percent(p)
    shown_t = join(text(t, 0), "%")
    for d in (1, 2):
        close = digits == d
        shown_p = choose(close, join(text(p * 100, d), "%"), shown_p)
        shown_t = choose(close, join(text(t, d), "%"), shown_t)
    return shown_p, shown_t


def _model_part(name: str, p: np.ndarray, threshold: float, fired: np.ndarray) -> pa.Array:
    """ "the estimated chance of ... is 63%, at or above the alert threshold of 56%" where the
    part fired, "chance of ... 3% (alert threshold 14%)" where it did not."""
    shown_p, shown_t = _against(p, threshold)
    return choose(
        fired,
        join(
            "the estimated chance of ",
            name,
            " is ",
            shown_p,
            ", at or above the alert threshold of ",
            shown_t,
        ),
        join("chance of ", name, " ", shown_p, " (alert threshold ", shown_t, ")"),
    )


def _not_on_track(
    now: ForecastNow, model: ForecastModel, params: NotOnTrackParameters, simulated: bool
) -> Fired:
    rows, cols, risks, facts, verdict = now.rows, now.cols, now.risks, now.facts, now.verdict
    pick = verdict.fires
    det, stuck, above = verdict.deterioration[pick], verdict.no_improvement[pick], verdict.above_range[pick]
    judged = verdict.improvement_judged[pick]
    p_det, p_none = risks["deterioration"][rows][pick], risks["no_improvement"][rows][pick]
    t_det = model.outcomes["deterioration"].alert.threshold
    t_none = model.outcomes["no_improvement"].alert.threshold
    det_words = _model_part("reliable deterioration by the end of treatment", p_det, t_det, det)
    none_words = _model_part("ending without reliable improvement", p_none, t_none, stuck)
    k = int(params.above_range_scores.value)
    above_words = join(
        f"it has been {facts.worse_side} the expected range at each of the last {k} recorded "
        f"{facts.label}s (since session ",
        text(facts.above_since[pick], 0),
        ")",
    )
    cut = caseness(facts.measure)
    not_judged = join(
        f"ending without reliable improvement is not judged: the first {facts.label} (",
        text(facts.intake[pick], 0),
        f") was {'below' if facts.worse_side == 'above' else 'above'} the caseness cut-off of "
        f"{cut.value:g}{' ' + cut.tag if cut.tag else ''}",
    )
    position = _position(facts.phq9[pick], facts.low[pick], facts.high[pick])
    reason = join(
        "Not on track at session ",
        text(cols[pick] + 1, 0),
        ": ",
        _where_in_range(facts, pick),
        pa.array(np.where(position == facts.worse_side, ", and ", ", but "), type=pa.string()),
        listed(", and ", (above, above_words), (det, det_words), (stuck, none_words)),
        prefixed("; ", (~det, det_words), (judged & ~stuck, none_words), (~judged, not_judged)),
        when(np.full(len(det), simulated), SIMULATED_MODEL),
    )
    return Fired(
        kind="not_on_track",
        rows=rows[pick],
        session=cols[pick] + 1,
        severity=np.where(det, "high", "medium").astype(object),
        reason=reason,
        probability=np.where(det, p_det, np.where(stuck, p_none, np.nan)),
        figures={
            "fired_by": listed(
                "+", (det, "deterioration"), (stuck, "no_improvement"), (above, "above_expected_range")
            ).to_numpy(zero_copy_only=False),
            facts.measure: facts.phq9[pick],
            f"{facts.measure}_session": facts.phq9_session[pick],
            f"{facts.measure}_first": facts.intake[pick],
            f"{facts.measure}_scores": facts.scores[pick],
            "expected_low": np.round(facts.low[pick], 2),
            "expected_high": np.round(facts.high[pick], 2),
            "above_expected_since": np.where(above, facts.above_since[pick], np.nan),
            "p_deterioration": np.round(p_det, 4),
            "threshold_deterioration": np.full(len(det), round(t_det, 4)),
            "p_no_improvement": np.round(p_none, 4),
            "threshold_no_improvement": np.full(len(det), round(t_none, 4)),
            "caseness_cutoff": np.full(len(det), cut.value),
        },
    )


def _dropout(histories: Histories, now: ForecastNow, simulated: bool) -> Fired:
    rows, cols, risks, facts = now.rows, now.cols, now.risks, now.facts
    pick = now.flags["dropout_next"][rows]
    p = risks["dropout_next"][rows][pick]
    checkin = histories.score("checkin")[rows[pick], cols[pick]]
    reason = join(
        "Estimated chance of ending treatment without agreement before the next session: ",
        _percent(p),
        " (session ",
        text(cols[pick] + 1, 0),
        "; ",
        choose(
            ~np.isnan(checkin),
            join("relationship check-in ", text(checkin)),
            pa.array(np.full(int(pick.sum()), "no relationship check-in this session")),
        ),
        "; ",
        _where_in_range(facts, pick),
        ")",
        when(np.full(int(pick.sum()), simulated), SIMULATED_MODEL),
    )
    return Fired(
        kind="dropout_risk",
        rows=rows[pick],
        session=cols[pick] + 1,
        severity=np.full(int(pick.sum()), "medium", dtype=object),
        reason=reason,
        probability=p,
        figures={
            "p_dropout_next": np.round(p, 4),
            "checkin": np.round(checkin, 2),
            facts.measure: facts.phq9[pick],
            f"{facts.measure}_first": facts.intake[pick],
        },
    )
