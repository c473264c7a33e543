"""Alerts for the pages: the early-warning module's alerts, or safety items alone until it exists.

The pages only rely on the fields of the shared ``Alert`` record (kind, severity, session,
probability, reason, figures, support, requires_action), so they show whichever source is
installed.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping
from dataclasses import dataclass, field, replace

from attunement.alerts.support import support_steps
from attunement.instruments import get_instrument
from attunement.prediction.histories import Histories
from attunement.profile import Profile
from attunement.tailoring.support import SupportContext, support_checklist
from attunement.web.forecast_source import forecast_model

log = logging.getLogger("attunement.web")
SEVERITY_ORDER = {"high": 0, "medium": 1, "low": 2}


@dataclass(frozen=True)
class SafetyAlert:
    """The fallback record, with the fields of the shared alert record."""

    client_id: str
    kind: str
    severity: str
    session: int
    probability: float | None
    reason: str
    figures: dict[str, float | int | str] = field(default_factory=dict)
    support: tuple[str, ...] = ()
    requires_action: bool = True


def current_alerts(histories: Histories) -> dict[str, list]:
    """Alerts for the latest session of every client, most urgent first."""
    if len(histories) == 0:
        return {}
    try:
        from attunement.alerts import current_alerts as full_alerts
    except ImportError:
        return safety_alerts(histories)
    model = forecast_model()
    if model is not None:
        try:
            return full_alerts(histories, model)
        except Exception as exc:  # a model that cannot answer must not hide the other alerts
            log.warning("forecast alerts not available: %s", type(exc).__name__)
    return full_alerts(histories)


def safety_alerts(histories: Histories) -> dict[str, list]:
    """An alert for every client whose latest session has an endorsed PHQ-9 item 9."""
    phq9 = get_instrument("phq9")
    critical = next(c for c in phq9.scoring.critical_items if c.item == "phq9_9")
    item9 = histories.score("phq9_item9")
    out: dict[str, list] = {}
    for row, client_id in enumerate(histories.client_id):
        session = int(histories.sessions[row])
        if session < 1 or session > item9.shape[1]:
            continue
        value = item9[row, session - 1]
        if math.isnan(value) or value < critical.min_value:
            continue
        reason = critical.reason.format(value=int(value))
        out[str(client_id)] = [
            SafetyAlert(
                client_id=str(client_id),
                kind="safety",
                severity="high",
                session=session,
                probability=None,
                reason=f"Session {session}: {reason}",
                figures={"phq9_item9": int(value), "session": session},
                support=safety_support(reason),
            )
        ]
    return out


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


def safety_support(reason: str) -> tuple[str, ...]:
    checklist = support_checklist("safety", None, SupportContext(reason=reason))
    return tuple(item.text for item in checklist.items())
