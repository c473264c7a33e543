"""attunement's forecast as an early-warning method the evaluation harness can compare."""

from __future__ import annotations

from dataclasses import dataclass, field

from attunement.forecast.fitting import fit_model
from attunement.forecast.model import FORECAST_OUTCOMES, ForecastModel, default_model
from attunement.forecast.predict import features_at
from attunement.prediction.histories import Histories
from attunement.prediction.methods import Prediction
from attunement.prediction.outcomes import Labels


@dataclass
class ForecastMethod:
    """Calibrated gradient-boosted forecast on the personalised expected course, early change and
    the relationship trend (docs/forecast.md). Until fitted it uses the bundled default model."""

    model: ForecastModel | None = None
    name: str = "attunement_forecast"
    kind: str = "ours"
    outcomes: tuple[str, ...] = FORECAST_OUTCOMES
    citation: str = field(
        default="attunement forecast: boosted trees on the expected course for the intake severity, "
        "early change and the check-in against the client's own baseline, Platt-calibrated; docs/forecast.md"
    )

    def fit(self, reference: Histories, labels: Labels) -> None:
        self.model = fit_model(reference, labels, source="reference cohort given to ForecastMethod.fit")

    def _model(self) -> ForecastModel:
        if self.model is None:
            self.model = default_model()
        return self.model

    def predict(self, histories: Histories) -> Prediction:
        """Probabilities and alerts for a history cut at one session (``histories.upto(s)``)."""
        model = self._model()
        x = features_at(model, histories)
        risk = {name: model.outcomes[name].probability(x) for name in self.outcomes}
        alert = {name: risk[name] >= model.outcomes[name].alert.threshold for name in self.outcomes}
        return Prediction(risk=risk, alert=alert, is_probability=True)

    def predict_sessions(self, histories: Histories, sessions: list[int]) -> dict[int, Prediction]:
        """Answers at each session from that session's cut only (same rows as ``upto(s)``)."""
        return {
            int(s): self.predict(histories.upto(int(s))) for s in sessions if (histories.sessions >= s).any()
        }
