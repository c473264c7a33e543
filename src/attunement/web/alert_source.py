"""Alerts for the pages: the early-warning module's alerts, with the bundled forecast model when
it loads."""

from __future__ import annotations

import logging

from attunement.alerts import Alert
from attunement.alerts import current_alerts as full_alerts
from attunement.prediction.histories import Histories
from attunement.web.forecast_source import forecast_model

log = logging.getLogger("attunement.web")


def current_alerts(histories: Histories) -> dict[str, list[Alert]]:
    """Alerts for the latest session of every client, most urgent first."""
    if len(histories) == 0:
        return {}
    model = forecast_model()
    if model is not None:
        try:
            return full_alerts(histories, model)
        except Exception as exc:  # a model that cannot answer must not hide the other alerts
            log.warning("forecast alerts not available: %s", type(exc).__name__)
    return full_alerts(histories)
