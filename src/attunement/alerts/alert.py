"""What an alert is, and the order in which a clinician should see them.

An alert is about one client's latest session. It carries its reason in plain words built from
the client's own numbers, the numbers themselves (``figures``, so a display or an audit can show
them without parsing text), and the support steps to go through. A safety alert can never be
dismissed without a recorded action (``requires_action``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from attunement.alerts.kinds import alert_kinds

#: Alert kinds, in the order of urgency used to break ties between alerts of equal severity
#: (``kinds.json``).
KINDS = tuple(k.id for k in alert_kinds())
SEVERITIES = ("high", "medium", "low")
#: Kinds that outlast the end of an episode of care (safety: a risk answer is never dropped).
#: The others are about a course in progress and are not raised once it has ended.
OUTLAST_EPISODE = tuple(k.id for k in alert_kinds() if k.outlasts_episode)
#: Kinds closed only by a recorded action: never resolved by themselves, never only seen or set aside.
NEEDS_ACTION = tuple(k.id for k in alert_kinds() if k.needs_action)


@dataclass(frozen=True)
class Alert:
    """One alert for one client's latest session."""

    client_id: str
    kind: str
    severity: str
    session: int
    probability: float | None
    reason: str
    figures: dict[str, float | int | str] = field(default_factory=dict)
    support: tuple[str, ...] = ()
    requires_action: bool = False


def urgency(alert: Alert) -> tuple[int, int, int, float]:
    """Sort key: safety always first, then by severity, kind and (higher first) probability."""
    probability = alert.probability if alert.probability is not None else 0.0
    return (
        0 if alert.kind == "safety" else 1,
        SEVERITIES.index(alert.severity),
        KINDS.index(alert.kind),
        -probability,
    )


def most_urgent_first(alerts: list[Alert]) -> list[Alert]:
    return sorted(alerts, key=urgency)


def for_episode(alerts: list[Alert], *, active: bool) -> list[Alert]:
    """The alerts that apply to an episode: all of them while it is active, safety once ended."""
    return list(alerts) if active else [a for a in alerts if a.kind in OUTLAST_EPISODE]
