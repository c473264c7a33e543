"""The forecast model the pages use: the clinic's active stored model, else the bundled one.

An administrator can activate a model fitted on the clinic's own ended episodes
(:mod:`attunement.store.forecast_models`). Every computation asks which model is active with one
small query (id, name and digest); the model itself is parsed once per process and digest, so an
activation in another worker is picked up at its next computation without reading the model's
JSON again. A stored model that cannot be read falls back to the bundled one (and says so in the
log, without the model's content), so a bad model never takes the pages down. Without any model
the pages show what exists without the forecast.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING

from sqlalchemy.orm import Session

if TYPE_CHECKING:  # the forecast package is optional at run time
    from attunement.forecast.model import ForecastModel

log = logging.getLogger("attunement.web")
BUNDLED_NAME = "Bundled model (simulated clients)"
#: Parsed stored models by digest (the digest names the content, whichever database holds it).
_LOADED: dict[str, ForecastModel] = {}
_LOCK = threading.Lock()


@dataclass(frozen=True)
class ModelInUse:
    """The model the pages use now, its name as shown beside alerts, and a key for the stored
    summaries' basis (changes whenever another model is used)."""

    model: ForecastModel | None
    name: str
    key: str
    stored_id: int | None = None


@cache
def bundled() -> ModelInUse:
    try:
        from attunement.forecast import default_model
        from attunement.forecast.model import DEFAULT_MODEL_FILE
    except ImportError:
        return ModelInUse(None, "none", "no-forecast")
    try:
        model = default_model()
    except Exception as exc:  # a missing or unreadable model file must not take the pages down
        log.warning("forecast model not available: %s", type(exc).__name__)
        return ModelInUse(None, "none", "no-forecast")
    try:
        digest = hashlib.sha256(DEFAULT_MODEL_FILE.read_bytes()).hexdigest()[:16]
    except Exception:  # no readable file: the model still answers, name it by its type
        digest = type(model).__name__
    return ModelInUse(model, BUNDLED_NAME, f"forecast:{digest}")


def model_in_use(db: Session) -> ModelInUse:
    """The active stored model, or the bundled one when none is active or it cannot be read."""
    from attunement.store.forecast_models import active_key, model_text

    try:
        active = active_key(db)
    except Exception as exc:  # a database without the table yet (before its migration)
        log.warning("stored forecast models not readable: %s", type(exc).__name__)
        return bundled()
    if active is None:
        return bundled()
    model_id, name, digest = active
    with _LOCK:
        model = _LOADED.get(digest)
    if model is None:
        try:
            import json

            from attunement.forecast.model import ForecastModel

            model = ForecastModel.from_dict(json.loads(model_text(db, model_id) or "null"), "stored model")
        except Exception as exc:
            log.warning("stored forecast model %s not readable: %s", model_id, type(exc).__name__)
            return bundled()
        with _LOCK:
            _LOADED[digest] = model
    return ModelInUse(model, name, f"stored:{digest[:16]}", model_id)


def forecast_model() -> ForecastModel | None:
    """The bundled model (None when not installed): for code that has no database at hand."""
    return bundled().model


def expected_band(histories, measure: str, model=None):
    """(low, high) arrays (clients x sessions) of the expected course, or None."""
    model = model if model is not None else forecast_model()
    if model is None:
        return None
    from attunement.forecast import expected_range

    try:
        band = expected_range(model, histories, measure=measure)
    except Exception as exc:
        log.warning("expected range not available: %s", type(exc).__name__)
        return None
    return band.low, band.high
