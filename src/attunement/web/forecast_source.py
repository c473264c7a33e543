"""The bundled forecast model, when installed: it adds not-on-track and dropout alerts and the
expected range on the outcome chart. Without it the pages show what exists without them."""

from __future__ import annotations

import logging
from functools import cache

log = logging.getLogger("attunement.web")


@cache
def forecast_model():
    try:
        from attunement.forecast import default_model
    except ImportError:
        return None
    try:
        return default_model()
    except Exception as exc:  # a missing or unreadable model file must not take the pages down
        log.warning("forecast model not available: %s", type(exc).__name__)
        return None


def expected_band(histories, measure: str):
    """(low, high) arrays (clients x sessions) of the expected course, or None."""
    model = forecast_model()
    if model is None:
        return None
    from attunement.forecast import expected_range

    try:
        band = expected_range(model, histories, measure=measure)
    except Exception as exc:
        log.warning("expected range not available: %s", type(exc).__name__)
        return None
    return band.low, band.high
