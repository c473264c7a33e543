"""What the model pages show: which forecast model is in use, what each was trained on and its
held-out validation figures, read from the model file's own record (``trained_on`` and
``validation``), so the figures shown are those the fitting measured, not worked out again."""

from __future__ import annotations

import json
from dataclasses import dataclass

from sqlalchemy.orm import Session

from attunement.store.forecast_models import ACTIVE, stored_models
from attunement.store.forecast_source import BUNDLED_NAME, bundled, model_in_use

OUTCOME_LABELS = {
    "deterioration": "Deterioration",
    "no_improvement": "No improvement",
    "dropout_next": "Dropout before the next session",
}


@dataclass(frozen=True)
class Figures:
    """One outcome's held-out figures; None where the file has none (e.g. no positives)."""

    outcome: str
    clients: int | None
    positives: int | None
    auc: float | None
    auc_session_3: float | None
    ece: float | None
    brier: float | None
    sensitivity: float | None
    false_alarm_rate: float | None


#: The published baselines by their names in plain words (methods in docs/baselines.md).
BASELINE_LABELS = {
    "rational_rules": "Rational rules (reliable worsening so far)",
    "pcoms_zones": "PCOMS expected-progress zones",
    "oq_expected_recovery": "OQ expected-recovery curves",
    "trier_nearest_neighbours": "Trier nearest-neighbour curves",
}


@dataclass(frozen=True)
class BaselineFigures:
    """One published baseline's figures for one outcome on a model's held-out episodes."""

    method: str
    outcome: str
    auc_session_3: float | None
    sensitivity: float | None
    false_alarm_rate: float | None
    reason: str | None


@dataclass(frozen=True)
class ModelCard:
    id: int | None  # None: the bundled model
    name: str
    status: str  # "active", "candidate", "retired"; the bundled model: "active" or "fallback"
    created_at: object | None
    created_by: str
    source: str
    episodes: int | None
    simulated: bool | None
    fitted_on: str
    outcome_rates: dict
    figures: list[Figures]
    #: The bundled model's figures on this model's own held-out episodes (stored models only;
    #: None when they were not measured).
    bundled_figures: list[Figures] | None = None
    #: The published baselines on the same held-out episodes (stored models fitted since they
    #: were measured; empty otherwise).
    baselines: tuple[BaselineFigures, ...] = ()


def figures_of(validation: dict) -> list[Figures]:
    out = []
    for outcome, label in OUTCOME_LABELS.items():
        part = validation.get(outcome) or {}
        pooled, alert = part.get("pooled") or {}, part.get("alert") or {}
        s3 = (part.get("by_session") or {}).get("3") or {}
        out.append(
            Figures(
                label,
                part.get("clients"),
                pooled.get("positives"),
                pooled.get("auc"),
                s3.get("auc"),
                pooled.get("ece"),
                pooled.get("brier"),
                alert.get("sensitivity_before_last_session", alert.get("sensitivity")),
                alert.get("false_alarm_rate_before_last_session", alert.get("false_alarm_rate")),
            )
        )
    return out


def baselines_of(comparison: dict | None) -> tuple[BaselineFigures, ...]:
    out = []
    for method, outcomes in ((comparison or {}).get("baselines") or {}).items():
        for outcome, figures in outcomes.items():
            out.append(
                BaselineFigures(
                    BASELINE_LABELS.get(method, method),
                    OUTCOME_LABELS.get(outcome, outcome),
                    figures.get("auc_session_3"),
                    figures.get("sensitivity_before_last_session"),
                    figures.get("false_alarm_rate_before_last_session"),
                    figures.get("reason"),
                )
            )
    return tuple(out)


def _card(
    id_,
    name,
    status,
    created_at,
    created_by,
    trained_on: dict,
    validation: dict,
    comparison: dict | None = None,
) -> ModelCard:
    return ModelCard(
        id=id_,
        name=name,
        status=status,
        created_at=created_at,
        created_by=created_by,
        source=str(trained_on.get("source", "")),
        episodes=trained_on.get("clients"),
        simulated=trained_on.get("simulated"),
        fitted_on=str(trained_on.get("date", ""))[:10],
        outcome_rates=dict(trained_on.get("outcome_rates") or {}),
        figures=figures_of(validation),
        bundled_figures=figures_of(comparison["bundled"])
        if comparison and comparison.get("bundled")
        else None,
        baselines=baselines_of(comparison),
    )


def bundled_card(active: bool) -> ModelCard | None:
    model = bundled().model
    if model is None:
        return None
    trained = dict(model.trained_on)
    trained.setdefault("simulated", True)  # the bundled model is fitted on the simulated clinic
    status = "active" if active else "fallback"
    return _card(None, BUNDLED_NAME, status, None, "attunement (shipped)", trained, model.validation)


def models_page(db: Session) -> dict:
    """The bundled model and every stored one, the one in use first."""
    in_use = model_in_use(db)
    stored = [
        _card(
            row.id,
            row.name,
            row.status,
            row.created_at,
            row.created_by,
            json.loads(row.trained_on),
            json.loads(row.validation),
            json.loads(row.comparison) if row.comparison else None,
        )
        for row in stored_models(db)
    ]
    default = bundled_card(active=in_use.stored_id is None)
    cards = [c for c in stored if c.status == ACTIVE and c.id == in_use.stored_id]
    cards += [default] if default is not None else []
    cards += [c for c in stored if c not in cards]
    return {"cards": cards, "in_use": in_use, "active_broken": _broken(stored, in_use)}


def _broken(stored: list[ModelCard], in_use) -> ModelCard | None:
    """An activated model that could not be read, so the bundled one answers in its place."""
    return next((c for c in stored if c.status == ACTIVE and c.id != in_use.stored_id), None)


def in_use_page(db: Session) -> dict:
    """The model in use now (with the bundled one as the fallback), for clinicians and supervisors."""
    page = models_page(db)
    return {"card": page["cards"][0] if page["cards"] else None, **page}
