"""Alerts for the pages: the early-warning module's alerts, with the bundled forecast model when
it loads, and support steps fitted to each client's intake profile."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import replace

from attunement.alerts import Alert
from attunement.alerts import current_alerts as full_alerts
from attunement.alerts.support import support_steps
from attunement.prediction.histories import Histories
from attunement.profile import Profile
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


def fit_support_to_profiles(alerts: Mapping[str, list], profiles: Mapping[str, Profile]) -> dict[str, list]:
    """The alerts with their support steps filled in from each client's intake profile.

    The alert rules build the steps without a profile (cheap for a whole caseload); a client
    who answered the intake questions gets the checklist items that fit their profile instead.
    """
    return {
        client: [replace(a, support=support_steps(a.kind, a.reason, profiles[client])) for a in items]
        if client in profiles
        else items
        for client, items in alerts.items()
    }
