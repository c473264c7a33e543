"""What the caseload and client pages show, computed from a client's histories (pure).

Scores by session, the latest PHQ-9 band, Jacobson & Truax change from the first to the latest
PHQ-9, and the episode's current alerts as they are kept (:mod:`attunement.store.kept_alerts`),
each with its status and what was recorded. The caseload is ordered by urgency: open safety
alerts first, then other open alerts by severity, then the rest.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from attunement.alerts.alert import SEVERITIES, Alert, urgency
from attunement.alerts.lifecycle import WAITING
from attunement.change import assess_change, cutoff_for, direction_for, threshold_for
from attunement.errors import DefinitionError
from attunement.instruments import get_instrument
from attunement.instruments.roles import room_checkins
from attunement.prediction.histories import Histories
from attunement.prediction.measures import charted_measures


@dataclass(frozen=True)
class AlertView:
    """A kept alert as the pages show it: the alert at its latest session, its status, when it
    opened and last changed, and the latest of what was done and what happened next."""

    alert: Alert
    id: int
    status: str
    opened_session: int
    changed_at: str
    action: str | None = None
    outcome: str | None = None

    @property
    def open(self) -> bool:
        """Waiting for the clinician: new, or seen with nothing done yet."""
        return self.status in WAITING

    @property
    def seen(self) -> bool:
        return self.status != "open"


@dataclass(frozen=True)
class ClientSummary:
    key: str
    sessions: int
    phq9: list[float | None]
    gad7: list[float | None]
    checkin: list[float | None]
    checkin_therapist: list[float | None]
    phq9_band: str | None
    change: str | None
    alerts: list[AlertView]
    phq9_item9: list[float | None] = field(default_factory=list)
    checkin_judged: list[float | None] = field(default_factory=list)
    #: Other charted measures the client answered (CORE-10 of a clinic that imported its
    #: wording, PHQ-4, AUDIT-C, ...), by measure id: the charts and reports show them, and a
    #: clinic model fitted on an outcome measure among them needs it back.
    others: dict[str, list[float | None]] = field(default_factory=dict)

    def series(self) -> dict[str, list[float | None]]:
        """Every stored series by measure: :data:`STORED_SERIES`, then :attr:`others`."""
        return {**{name: getattr(self, name) for name in STORED_SERIES}, **self.others}

    def measures(self, chosen: Sequence[str] = ()) -> list[str]:
        """The charted measures the episode holds, in :func:`charted_measures` order: those with a
        score, and those chosen for the episode (``chosen``) even before their first answer."""
        series = self.series()
        return [m for m in charted_measures() if m in chosen or any(v is not None for v in series.get(m, []))]

    def to_payload(self) -> dict[str, Any]:
        """Plain JSON-ready values, for the stored summary."""
        return {
            "key": self.key,
            "sessions": self.sessions,
            "series": {name: getattr(self, name) for name in STORED_SERIES},
            "others": self.others,
            "phq9_band": self.phq9_band,
            "change": self.change,
            "alerts": [
                {
                    "alert": {k: v for k, v in asdict(_stored(a.alert)).items() if k != "support"},
                    "support": list(a.alert.support),
                    **{k: v for k, v in asdict(a).items() if k != "alert"},
                }
                for a in self.alerts
            ],
        }

    @classmethod
    def from_payload(cls, data: Mapping[str, Any]) -> ClientSummary:
        alerts = []
        for item in data["alerts"]:
            alert = Alert(**item["alert"], support=tuple(item["support"]))
            rest = {k: v for k, v in item.items() if k not in ("alert", "support")}
            alerts.append(AlertView(alert, **rest))
        series = data["series"]
        return cls(
            key=data["key"],
            sessions=data["sessions"],
            phq9=series["phq9"],
            gad7=series["gad7"],
            checkin=series["checkin"],
            checkin_therapist=series["checkin_therapist"],
            phq9_item9=series.get("phq9_item9", []),
            checkin_judged=series.get("checkin_judged", []),
            others=dict(data.get("others") or {}),
            phq9_band=data["phq9_band"],
            change=data["change"],
            alerts=alerts,
        )

    @property
    def first_phq9(self) -> float | None:
        return next((v for v in self.phq9 if v is not None), None)

    @property
    def latest_phq9(self) -> float | None:
        return _last(self.phq9)

    @property
    def latest_gad7(self) -> float | None:
        return _last(self.gad7)

    @property
    def latest_checkin(self) -> float | None:
        """The latest relationship check-in: the individual one, or the one of the client's role
        in a couple, family or group."""
        return next((v for v in map(_last, self.checkin_series()) if v is not None), None)

    def checkin_series(self) -> list[list[float | None]]:
        """The client's check-in series: the individual one first, then their role's."""
        return [self.checkin, *(self.others[m] for m in ROLE_CHECKINS if m in self.others)]

    @property
    def open_alerts(self) -> list[AlertView]:
        return [a for a in self.alerts if a.open]

    @property
    def has_open_safety(self) -> bool:
        return any(a.alert.kind == "safety" for a in self.open_alerts)

    def urgency(self) -> tuple:
        open_alerts = self.open_alerts
        if not open_alerts:
            return (3, 0, 0.0)
        best = min(SEVERITIES.index(a.alert.severity) for a in open_alerts)
        probability = max((a.alert.probability or 0.0) for a in open_alerts)
        return (0 if self.has_open_safety else 1, best, -probability)


def summarise(histories: Histories, alerts: Mapping[str, list[AlertView]]) -> dict[str, ClientSummary]:
    """One summary per client in ``histories``, with the alerts shown for each (by client key)."""
    phq9 = get_instrument("phq9")
    threshold, cutoff, scale = threshold_for(phq9), cutoff_for(phq9), direction_for(phq9)
    bands = phq9.scoring.bands
    if bands is None:
        raise DefinitionError("phq9 has no severity bands")
    out: dict[str, ClientSummary] = {}
    charted = charted_measures()
    others = [m for m in histories.scores if m not in _SERIES and (m in charted or m in ROLE_CHECKINS)]
    for row, key in enumerate(histories.client_id):
        key = str(key)
        sessions = int(histories.sessions[row])
        series = {name: _series(histories.score(name)[row], sessions) for name in _SERIES}
        first, last = histories.first("phq9")[row], histories.last("phq9")[row]
        change = None
        if not math.isnan(first) and not math.isnan(last) and _count(series["phq9"]) >= 2:
            change = assess_change(first, last, threshold, direction=scale, cutoff=cutoff).category
        out[key] = ClientSummary(
            key=key,
            sessions=sessions,
            phq9=series["phq9"],
            gad7=series["gad7"],
            checkin=series["checkin"],
            checkin_therapist=series["checkin_therapist"],
            phq9_item9=series["phq9_item9"],
            checkin_judged=series["checkin_judged"],
            others={
                name: _series(histories.score(name)[row], sessions)
                for name in others
                if not np.isnan(histories.score(name)[row]).all()
            },
            phq9_band=bands.classify(last) if not math.isnan(last) else None,
            change=change,
            alerts=sorted(alerts.get(key, []), key=lambda a: (not a.open, urgency(a.alert))),
        )
    return out


_SERIES = ("phq9", "gad7", "checkin", "checkin_therapist", "phq9_item9", "checkin_judged")
#: The check-ins of a role in a couple, family or group, kept with the other series.
ROLE_CHECKINS = tuple(c for c in room_checkins() if c != "checkin")
STORED_SERIES = _SERIES


def _stored(alert) -> Alert:
    """The alert with plain Python values, as it is kept in a stored summary (JSON)."""
    return Alert(
        client_id=str(alert.client_id),
        kind=alert.kind,
        severity=alert.severity,
        session=int(alert.session),
        probability=None if alert.probability is None else float(alert.probability),
        reason=alert.reason,
        figures=dict(alert.figures),
        support=tuple(alert.support),
        requires_action=bool(alert.requires_action),
    )


def _series(values: np.ndarray, sessions: int) -> list[float | None]:
    return [None if math.isnan(v) else float(v) for v in values[:sessions]]


def _last(values: list[float | None]) -> float | None:
    return next((v for v in reversed(values) if v is not None), None)


def _count(values: list[float | None]) -> int:
    return sum(v is not None for v in values)
