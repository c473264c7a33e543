"""PCOMS / OpenFIT-style zones: successful and unsuccessful expected curves from the intake score.

Published method (prediction.md section 4): PCOMS plots a client's expected progress from the
first-session ORS score. The newer algorithms (S. D. Miller; 427,744 ORS administrations, 95,478
episodes) give two reference curves, one from successful and one from unsuccessful episodes.
OpenFIT colours every session: grey with one score, green at or beyond the successful curve
(``TargetSessionScore``), orange between the two curves, red beyond the unsuccessful curve
(``nTargetSession``). The SRS rules are red below 36 and red after a drop of 1 point or more
since the last session.

Transfer to attunement's data (see docs/baselines.md): the ORS curves are proprietary and ORS is
not recorded, so the two curves are *fitted on the reference cohort in the published form*: for
each session, the mean score of successful and of unsuccessful reference clients as a linear
function of their intake score, separately for PHQ-9 and GAD-7 (higher = worse, so "beyond" is
above). A client's zone is the worse of the two measures. The risk is the position between the
curves, 0 on the successful curve and 1 on the unsuccessful one. The SRS rules are applied to the
0-10 check-in by rescaling the SRS numbers by the ratio of the two scales' ranges; this is a
transfer, not a validated cut-off.
"""

from __future__ import annotations

import numpy as np

from attunement.baselines.courses import OutcomeMeasure, latest, measures_for
from attunement.baselines.parameters import PcomsParameters, baseline_parameters
from attunement.errors import DefinitionError
from attunement.instruments.registry import get_instrument
from attunement.prediction.histories import Histories
from attunement.prediction.measures import MeasureTable, MissingMeasures
from attunement.prediction.methods import Method, Prediction
from attunement.prediction.outcomes import Labels

CHECKIN = "checkin"

CITATION = (
    "PCOMS expected treatment response (Miller, Duncan et al.; successful/unsuccessful ORS "
    "trajectories of the ICCE normative database) with the OpenFIT zone and SRS alert rules "
    "(OpenFIT support knowledge base); curves refitted on the reference cohort for PHQ-9/GAD-7"
)
ZONES = ("grey", "green", "orange", "red")


class PcomsZones(Method):
    """Successful / unsuccessful expected curves from the intake score, with OpenFIT colours.

    ``parameters``: curve length, minimum group size and the SRS drop (default:
    ``parameters.json``, read by :meth:`fit` with the SRS and check-in definitions).
    """

    name = "pcoms_zones"
    kind = "baseline"
    outcomes = ("deterioration", "no_improvement", "rupture")
    citation = CITATION

    def __init__(self, parameters: PcomsParameters | None = None) -> None:
        self.parameters = parameters

    def fit(self, reference: Histories, labels: Labels) -> PcomsZones:
        params = self.parameters or baseline_parameters().pcoms
        self.curve_sessions_ = int(params.curve_sessions.value)
        self.minimum_group_size_ = int(params.minimum_group_size.value)
        self.checkin_cutoff_, self.checkin_drop_ = _checkin_rules(params)
        self.measures_: tuple[OutcomeMeasure, ...] = measures_for(reference, self.name)
        table = MeasureTable.of(reference)
        # The relationship rule reads the check-in; without it only the outcome zones apply.
        #: outcomes this cohort cannot give (see :meth:`unavailable_outcomes`)
        self.unavailable_: dict[str, str] = (
            {} if table.has(CHECKIN) else {"rupture": str(MissingMeasures(self.name, [CHECKIN], table))}
        )
        #: per measure: arrays (sessions, 2) of [intercept, slope] for the successful and
        #: unsuccessful curves.
        self.success_: dict[str, np.ndarray] = {}
        self.failure_: dict[str, np.ndarray] = {}
        successful = ~labels.no_improvement
        for m in self.measures_:
            values = m.worse_sign * reference.score(m.name)[:, : self.curve_sessions_]
            intake = values[:, 0]
            self.success_[m.name] = self._lines(values, intake, successful)
            self.failure_[m.name] = self._lines(values, intake, ~successful)
        return self

    def unavailable_outcomes(self) -> dict[str, str]:
        self.check_fitted()
        return dict(self.unavailable_)

    def _lines(self, values: np.ndarray, intake: np.ndarray, group: np.ndarray) -> np.ndarray:
        """Least-squares line of the session score on the intake score, session by session."""
        lines = np.zeros((self.curve_sessions_, 2))
        lines[0] = (0.0, 1.0)  # at intake the expected score is the intake score
        for s in range(1, self.curve_sessions_):
            y = values[:, s] if s < values.shape[1] else np.full(len(values), np.nan)
            ok = group & ~np.isnan(y) & ~np.isnan(intake)
            if ok.sum() < self.minimum_group_size_ or np.ptp(intake[ok]) == 0:
                lines[s] = lines[s - 1]
                continue
            slope, intercept = np.polyfit(intake[ok], y[ok], 1)
            lines[s] = (intercept, slope)
        return lines

    def zones(self, histories: Histories) -> tuple[np.ndarray, np.ndarray]:
        """Position between the curves (0 = successful, 1 = unsuccessful) and zone index (see ZONES)."""
        self.check_fitted()
        positions, zones = [], []
        for m in self.measures_:
            values = m.worse_sign * histories.score(m.name)
            course = latest(values)
            at = np.clip(course.session, 1, self.curve_sessions_) - 1
            target = _line(self.success_[m.name][at], course.first)
            failure = _line(self.failure_[m.name][at], course.first)
            gap = np.maximum(failure - target, 1e-6)
            with np.errstate(invalid="ignore"):
                position = (course.value - target) / gap
            zone = np.where(course.value <= target, 1, np.where(course.value <= failure, 2, 3))
            known = (course.count >= 2) & np.isfinite(position)
            positions.append(np.where(known, position, 0.0))
            zones.append(np.where(known, zone, 0))
        return np.maximum.reduce(positions), np.maximum.reduce(zones)

    def predict(self, histories: Histories) -> Prediction:
        self.check_fitted()
        position, zone = self.zones(histories)
        rupture_risk, rupture_alert = self._relationship(histories)
        red = zone == ZONES.index("red")
        return Prediction(
            risk={"deterioration": position, "no_improvement": position, "rupture": rupture_risk},
            alert={"deterioration": red, "no_improvement": red, "rupture": rupture_alert},
            is_probability=False,
        )

    def _relationship(self, histories: Histories) -> tuple[np.ndarray, np.ndarray]:
        """OpenFIT SRS rules on the check-in of the current session, rescaled to its range."""
        self.check_fitted()
        checkin = histories.score("checkin")
        now = checkin[:, -1]
        before = latest(checkin[:, :-1]).value if checkin.shape[1] > 1 else np.full(len(now), np.nan)
        below = self.checkin_cutoff_ - now
        drop = before - now
        with np.errstate(invalid="ignore"):
            alert = (now < self.checkin_cutoff_) | (drop >= self.checkin_drop_)
        risk = np.fmax(below, drop)
        return np.where(np.isnan(risk), 0.0, risk), alert & ~np.isnan(now)


def _checkin_rules(params: PcomsParameters) -> tuple[float, float]:
    """The SRS cut-off and drop rescaled to the check-in's range: (cut-off, drop)."""
    srs, checkin = get_instrument("srs"), get_instrument("checkin")
    srs_range, checkin_range, cutoff = srs.scoring.range, checkin.scoring.range, srs.scoring.caseness
    if srs_range is None or checkin_range is None or cutoff is None:
        raise DefinitionError("PCOMS needs the SRS's range and caseness rule and the check-in's range")
    scale = _span(checkin_range) / _span(srs_range)
    return checkin_range[0] + (cutoff.value - srs_range[0]) * scale, params.srs_drop.value * scale


def _line(coefficients: np.ndarray, intake: np.ndarray) -> np.ndarray:
    return coefficients[:, 0] + coefficients[:, 1] * intake


def _span(bounds: tuple[float, float]) -> float:
    return float(bounds[1] - bounds[0])
