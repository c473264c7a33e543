"""Early warnings for the latest session of each client: safety items, ruptures, perception gaps,
and (with a forecast model) not on track and dropout risk, each with a reason built from the
client's own numbers and the support steps to go through."""

from attunement.alerts.alert import KINDS, OUTLAST_EPISODE, Alert, for_episode, most_urgent_first
from attunement.alerts.engine import alert_table, current_alerts
from attunement.alerts.method import RuptureMethod

__all__ = [
    "KINDS",
    "OUTLAST_EPISODE",
    "Alert",
    "for_episode",
    "RuptureMethod",
    "alert_table",
    "current_alerts",
    "most_urgent_first",
]
