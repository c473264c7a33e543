"""The current alerts of a caseload: every rule run on whole arrays, then sorted per client.

The rules are vectorised over clients (:mod:`attunement.alerts.fired`); this module runs them,
attaches the support steps, and hands the result over either as :class:`Alert` objects per client
(:func:`current_alerts`, for the app) or as one table (:func:`alert_table`, for batch runs).

Once an episode of care has ended there is no course left to be on track, to rupture or to drop
out of, so an ended episode keeps only the kinds of :data:`~attunement.alerts.alert.OUTLAST_EPISODE`
(the rule the app applies too): an answered risk item still needs someone to act on it.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from attunement.alerts.actions import RecordedActions
from attunement.alerts.alert import KINDS, OUTLAST_EPISODE, SEVERITIES, Alert, most_urgent_first
from attunement.alerts.fired import Fired, plain
from attunement.alerts.forecast_alerts import forecast_alerts
from attunement.alerts.negative_process import negative_process_alerts
from attunement.alerts.perception import perception_gap_alerts
from attunement.alerts.rupture_alerts import rupture_alerts
from attunement.alerts.safety import safety_alerts
from attunement.alerts.support import support_steps
from attunement.prediction.histories import Histories

BASE_COLUMNS = (
    "client_id",
    "episode_id",
    "session",
    "kind",
    "severity",
    "probability",
    "requires_action",
    "action_recorded",
    "reason",
)


def fired_alerts(histories: Histories, model: Any | None = None, safety: Fired | None = None) -> list[Fired]:
    """Every rule's alerts for the latest session of each client (safety first).

    ``safety`` gives the safety alerts when the caller has the answers themselves (the batch, from
    the item rows); otherwise they come from what the session arrays show."""
    rupture, rupture_now = rupture_alerts(histories)
    return [
        *(safety_alerts(histories) if safety is None else [safety]),
        rupture,
        negative_process_alerts(histories, rupture_now),
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
                    probability=_probability(fired, k),
                    reason=reason,
                    figures={name: plain(values[k]) for name, values in fired.figures.items()},
                    support=support_steps(fired.kind, reason),
                    requires_action=fired.requires_action,
                )
            )
    return {client: most_urgent_first(alerts) for client, alerts in out.items()}


def alert_table(
    histories: Histories,
    model: Any | None = None,
    ended: np.ndarray | None = None,
    safety: Fired | None = None,
    actions: RecordedActions | None = None,
) -> pd.DataFrame:
    """All current alerts as one table (one row per alert), clients in the order of ``histories``,
    each client's alerts most urgent first.

    ``client_id`` is the client's own id and ``episode_id`` the episode of care (None when the
    tables name none). ``ended`` marks the rows of ``histories`` whose episode has ended: they
    keep only the kinds of :data:`OUTLAST_EPISODE`. ``safety`` replaces the safety alerts the
    session arrays show (:func:`fired_alerts`). ``actions`` (by row of ``histories``) withholds
    the alerts an action covers and fills ``action_recorded``
    (:class:`~attunement.alerts.actions.RecordedActions`). Figures become columns named
    ``<kind>_<figure>`` (empty for the other kinds); support steps are not repeated per row (they
    depend only on the kind and the reason). The columns are assembled as whole arrays and sorted
    once, because a national batch holds hundreds of thousands of alerts.
    """
    fired = withhold_after_ending(fired_alerts(histories, model, safety), ended)
    if actions is not None:
        fired = actions.withhold_covered(fired)
    parts = [f for f in fired if len(f)]
    if not parts:
        return pd.DataFrame(columns=list(BASE_COLUMNS))
    rows = np.concatenate([f.rows for f in parts])
    kind = np.concatenate([np.full(len(f), KINDS.index(f.kind), dtype=np.int8) for f in parts])
    session = np.concatenate([f.session for f in parts])
    severity = np.concatenate([f.severity for f in parts])
    rank = pd.Series(severity).map({s: i for i, s in enumerate(SEVERITIES)}).to_numpy(dtype=np.int8)
    probability = np.concatenate(
        [np.full(len(f), np.nan) if f.probability is None else f.probability for f in parts]
    )
    order = np.lexsort((-np.nan_to_num(probability), kind, rank, kind != KINDS.index("safety"), rows))
    columns: dict[str, Any] = {
        "client_id": histories.clients()[rows],
        "episode_id": histories.episodes()[rows],
        "session": session,
        "kind": np.asarray(KINDS, dtype=object)[kind],
        "severity": severity,
        "probability": probability,
        "requires_action": np.concatenate([np.full(len(f), f.requires_action) for f in parts]),
        "action_recorded": np.zeros(len(rows), dtype=bool)
        if actions is None
        else actions.recorded(rows, kind, session),
        "reason": pa.concat_arrays([f.reason.cast(pa.large_string()) for f in parts]),
    }
    offsets = np.cumsum([0] + [len(f) for f in parts])
    text_like: dict[str, bool] = {}
    for f in parts:
        for name, values in f.figures.items():
            key = f"{f.kind}_{name}"
            text_like[key] = text_like.get(key, False) or np.asarray(values).dtype == object
    for key, is_text in text_like.items():
        columns[key] = np.full(len(rows), None if is_text else np.nan, dtype=object if is_text else float)
    for f, start in zip(parts, offsets, strict=False):
        for name, values in f.figures.items():
            columns[f"{f.kind}_{name}"][start : start + len(f)] = values
    reason = columns.pop("reason").take(pa.array(order))
    table = pd.DataFrame({name: np.asarray(values)[order] for name, values in columns.items()})
    table["episode_id"] = table["episode_id"].astype("string")  # text even when every one is empty
    table.insert(BASE_COLUMNS.index("reason"), "reason", pd.arrays.ArrowStringArray(reason))
    return table


def withhold_after_ending(fired: list[Fired], ended: np.ndarray | None) -> list[Fired]:
    """The alerts that still apply: all of them for a course in progress, only the kinds of
    :data:`OUTLAST_EPISODE` for one whose episode has ended (``ended``, per row of the histories)."""
    if ended is None or not np.any(ended):
        return fired
    return [f if f.kind in OUTLAST_EPISODE else f.keep(~ended[f.rows]) for f in fired]


def _probability(fired: Fired, k: int) -> float | None:
    """The alert's probability, or None when no probability fired it (a rule without a model
    part, such as a not-on-track alert raised by the expected range alone)."""
    if fired.probability is None or np.isnan(fired.probability[k]):
        return None
    return float(fired.probability[k])
