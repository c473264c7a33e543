"""The current alerts of a caseload: every rule run on whole arrays, then sorted per client.

The rules are vectorised over clients (:mod:`attunement.alerts.fired`); this module runs them,
attaches the support steps, and hands the result over either as :class:`Alert` objects per client
(:func:`current_alerts`, for the app) or as one table (:func:`alert_table`, for batch runs).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from attunement.alerts.alert import KINDS, SEVERITIES, Alert, most_urgent_first
from attunement.alerts.fired import Fired
from attunement.alerts.forecast_alerts import forecast_alerts
from attunement.alerts.perception import perception_gap_alerts
from attunement.alerts.rupture_alerts import rupture_alerts
from attunement.alerts.safety import safety_alerts
from attunement.alerts.support import support_steps
from attunement.prediction.histories import Histories


def fired_alerts(histories: Histories, model: Any | None = None) -> list[Fired]:
    """Every rule's alerts for the latest session of each client (safety first)."""
    rupture, rupture_now = rupture_alerts(histories)
    return [
        *safety_alerts(histories),
        rupture,
        *forecast_alerts(histories, model),
        perception_gap_alerts(histories, rupture_now),
    ]


def current_alerts(histories: Histories, model: Any | None = None) -> dict[str, list[Alert]]:
    """Alerts for the latest session of every client, keyed by client id, most urgent first.

    Every client of ``histories`` has an entry (an empty list when nothing fires).
    """
    out: dict[str, list[Alert]] = {str(c): [] for c in histories.client_id}
    for fired in fired_alerts(histories, model):
        reasons = fired.reason.to_pylist()
        for k, row in enumerate(fired.rows):
            client = str(histories.client_id[row])
            reason = reasons[k]
            out[client].append(
                Alert(
                    client_id=client,
                    kind=fired.kind,
                    severity=str(fired.severity[k]),
                    session=int(fired.session[k]),
                    probability=None if fired.probability is None else float(fired.probability[k]),
                    reason=reason,
                    figures={name: _plain(values[k]) for name, values in fired.figures.items()},
                    support=support_steps(fired.kind, reason),
                    requires_action=fired.requires_action,
                )
            )
    return {client: most_urgent_first(alerts) for client, alerts in out.items()}


def alert_table(histories: Histories, model: Any | None = None) -> pd.DataFrame:
    """All current alerts as one table (one row per alert), clients in the order of ``histories``,
    each client's alerts most urgent first.

    Figures become columns named after the figure (empty where a kind has no such figure);
    support steps are not repeated per row (they depend only on the kind and the reason).
    """
    parts = []
    for fired in fired_alerts(histories, model):
        if len(fired) == 0:
            continue
        frame = pd.DataFrame(
            {
                "row": fired.rows,
                "client_id": histories.client_id[fired.rows],
                "session": fired.session,
                "kind": fired.kind,
                "severity": fired.severity,
                "probability": np.nan if fired.probability is None else fired.probability,
                "requires_action": fired.requires_action,
                "reason": fired.reason.to_numpy(zero_copy_only=False),
            }
        )
        for name, values in fired.figures.items():
            frame[f"{fired.kind}_{name}"] = values
        parts.append(frame)
    if not parts:
        return pd.DataFrame(
            columns=["client_id", "session", "kind", "severity", "probability", "requires_action", "reason"]
        )
    table = pd.concat(parts, ignore_index=True)
    order = pd.DataFrame(
        {
            "client": table.pop("row"),
            "safety": table["kind"] != "safety",
            "severity": table["severity"].map({s: i for i, s in enumerate(SEVERITIES)}),
            "kind": table["kind"].map({k: i for i, k in enumerate(KINDS)}),
            "probability": -table["probability"].fillna(0.0),
        }
    ).sort_values(["client", "safety", "severity", "kind", "probability"], kind="stable")
    return table.loc[order.index].reset_index(drop=True)


def _plain(value: Any) -> float | int | str:
    if isinstance(value, (np.integer, int)) and not isinstance(value, bool):
        return int(value)
    if isinstance(value, (np.floating, float)):
        return float(value)
    return str(value)
