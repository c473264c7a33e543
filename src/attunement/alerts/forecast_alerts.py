"""Not on track and dropout risk: alerts from a fitted forecast model.

These two kinds need a calibrated model of the expected course and of dropout
(:mod:`attunement.forecast`). Without a model this returns no alerts: the other kinds still work.
"""

from __future__ import annotations

from typing import Any

from attunement.alerts.fired import Fired
from attunement.prediction.histories import Histories


def forecast_alerts(histories: Histories, model: Any | None) -> list[Fired]:
    """Not on track and dropout-risk alerts; none without a model."""
    if model is None:
        return []
    raise NotImplementedError("not on track and dropout alerts need attunement.forecast")
