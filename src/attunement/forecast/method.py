"""attunement's forecast as an early-warning method the evaluation harness can compare."""

from __future__ import annotations

from attunement.forecast.fitting import fit_model
from attunement.forecast.model import FORECAST_OUTCOMES, ForecastModel, default_model
from attunement.forecast.predict import features_at
from attunement.forecast.settings import ForecastSettings
from attunement.prediction.histories import Histories
from attunement.prediction.methods import Method, Prediction
from attunement.prediction.outcomes import Labels


class ForecastMethod(Method):
    """Calibrated gradient-boosted forecast on the personalised expected course, early change and
    the relationship trend (docs/forecast.md).

    ``ForecastMethod()`` is unfitted: :meth:`fit` learns a model from a reference cohort (with
    ``settings``, default: the forecast's ``settings.json``). A model made elsewhere is used as it
    is by :meth:`from_model`, and the bundled model by :meth:`bundled`; both are fitted already.
    """

    name = "attunement_forecast"
    kind = "ours"
    outcomes = FORECAST_OUTCOMES
    citation = (
        "attunement forecast: boosted trees on the expected course for the intake severity, "
        "early change and the check-in against the client's own baseline, Platt-calibrated; docs/forecast.md"
    )

    def __init__(self, settings: ForecastSettings | None = None) -> None:
        self.settings = settings

    @classmethod
    def from_model(cls, model: ForecastModel) -> ForecastMethod:
        """The method answering with a model already fitted (a model file, or :func:`fit_model`)."""
        method = cls()
        method.model_ = model
        return method

    @classmethod
    def bundled(cls) -> ForecastMethod:
        """The method answering with the bundled model fitted on simulated data
        (:func:`~attunement.forecast.model.default_model`)."""
        return cls.from_model(default_model())

    def fit(self, reference: Histories, labels: Labels) -> ForecastMethod:
        self.model_ = fit_model(
            reference, labels, source="reference cohort given to ForecastMethod.fit", settings=self.settings
        )
        return self

    def predict(self, histories: Histories) -> Prediction:
        """Probabilities and alerts for a history cut at one session (``histories.upto(s)``)."""
        self.check_fitted()
        model = self.model_
        x = features_at(model, histories)
        risk = {name: model.outcomes[name].probability(x) for name in self.outcomes}
        alert = {name: risk[name] >= model.outcomes[name].alert.threshold for name in self.outcomes}
        return Prediction(risk=risk, alert=alert, is_probability=True)
