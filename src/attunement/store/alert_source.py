"""Alerts for the pages: the early-warning module's alerts, with the forecast model in use (the
clinic's active model, else the bundled one) when it loads. The forecast's alerts name the model
in their reason, so a clinician can tell which model raised them and the kept alert's history
shows when the model changed."""

from __future__ import annotations

import logging
from dataclasses import replace

from attunement.alerts import Alert
from attunement.alerts import current_alerts as full_alerts
from attunement.prediction.histories import Histories
from attunement.store.forecast_source import ModelInUse, bundled

log = logging.getLogger("attunement.web")
#: The alerts the forecast model raises.
FORECAST_KINDS = ("not_on_track", "dropout_risk")


def current_alerts(histories: Histories, in_use: ModelInUse | None = None) -> dict[str, list[Alert]]:
    """Alerts for the latest session of every client, most urgent first."""
    if len(histories) == 0:
        return {}
    in_use = in_use or bundled()
    if in_use.model is not None:
        try:
            found = full_alerts(histories, in_use.model)
        except Exception as exc:  # a model that cannot answer must not hide the other alerts
            log.warning("forecast alerts not available: %s", type(exc).__name__)
        else:
            return {key: [_named(a, in_use.name) for a in alerts] for key, alerts in found.items()}
    return full_alerts(histories)


def _named(alert: Alert, name: str) -> Alert:
    if alert.kind not in FORECAST_KINDS:
        return alert
    return replace(alert, reason=f"{alert.reason} (forecast model: {name})")
