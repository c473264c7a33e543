"""Alerts for the room: a split alliance between partners or family members, and a group member's
falling cohesion.

The task forces found that in couple and family work a split alliance (members feeling
differently about the therapy) goes with poorer outcome, and that in groups cohesion goes with
outcome and is built early. Neither shows in one person's ratings alone: a split is two people
moving apart, a member drifting from a group is one rating against the rest. So these rules read
every participant of a case together.

Each participant is still judged against their OWN level first (the mean of their earlier,
undisturbed check-ins, with a variation pooled from a prior, as the individual rupture rule does),
because most of the spread in relationship ratings lies between people: one partner who always
answers 6 and another who always answers 9 are not split, they are themselves. What fires:

- ``split_alliance`` (couple, family), on the participant whose rating moved: one participant's
  rating falls from their own level while at least one other holds theirs; or the gap between the
  highest and lowest rating exceeds the participants' usual gap by a margin. Kept at high severity
  while the same participant stays split at their next answer (an unrepaired split).
- ``cohesion`` (group), on the member: their rating falls from their own level, or lies well
  below the rest of the group answering the same session (judged more sensitively in the group's
  early sessions, when cohesion is built); at risk of leaving when they have also missed recent
  sessions, or have stopped answering since a fall.

Cases are small (a few people, tens of sessions), so the walk is a plain loop, session by
session, that sees only the sessions up to the one it judges: :func:`room_course` is what every
session would have raised at the time, and :func:`room_alerts` the latest session's alerts.
Thresholds are data (``room_parameters.json``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import numpy as np
from scipy import stats

from attunement.alerts.alert import Alert
from attunement.alerts.support import support_steps
from attunement.datafiles import StrictModel, load_json_model
from attunement.instruments.definition import CitedNumber
from attunement.instruments.roles import format_of

PARAMETERS_FILE = Path(__file__).with_name("room_parameters.json")
ROOM_KINDS = ("split_alliance", "cohesion")


class OwnLevelParameters(StrictModel):
    prior_sd: CitedNumber
    prior_weight: CitedNumber
    minimum_sd: CitedNumber
    drop_z: CitedNumber
    minimum_drop: CitedNumber


class SplitParameters(StrictModel):
    hold_points: CitedNumber
    gap_increase_points: CitedNumber
    prior_gap: CitedNumber
    first_gap_points: CitedNumber


class CohesionParameters(StrictModel):
    early_sessions: CitedNumber
    minimum_drop_early: CitedNumber
    below_group_points: CitedNumber
    below_group_points_early: CitedNumber
    below_group_z: CitedNumber
    minimum_others: CitedNumber
    recent_sessions: CitedNumber
    missed_for_leaving: CitedNumber
    silent_sessions: CitedNumber
    trend_sessions: CitedNumber
    falling_slope: CitedNumber


class RoomParameters(StrictModel):
    description: str
    own_level: OwnLevelParameters
    split: SplitParameters
    cohesion: CohesionParameters


@cache
def load_room_parameters(path: Path = PARAMETERS_FILE) -> RoomParameters:
    return load_json_model(path, RoomParameters)


@dataclass(frozen=True)
class RoomRatings:
    """The relationship check-ins of every participant of one case, on the check-ins' 0-10 scale.

    ``values`` is participants x sessions (NaN: not answered); ``sessions`` are the case's
    session numbers, ascending. ``member`` says who was in the group at each session (None: every
    participant throughout), so a member who joined late or left is neither compared nor counted
    as missing outside their time. ``names`` are how a reason names each participant.
    """

    case_id: str
    format: str
    participants: tuple[str, ...]
    names: tuple[str, ...]
    roles: tuple[str, ...]
    sessions: np.ndarray
    values: np.ndarray
    member: np.ndarray | None = None

    def __post_init__(self) -> None:
        shape = (len(self.participants), len(self.sessions))
        if np.shape(self.values) != shape or (self.member is not None and np.shape(self.member) != shape):
            raise ValueError(f"ratings of case {self.case_id} must be participants x sessions {shape}")
        if len(self.names) != len(self.participants) or len(self.roles) != len(self.participants):
            raise ValueError(f"case {self.case_id}: one name and one role per participant")
        if np.any(np.diff(self.sessions) <= 0):
            raise ValueError(f"case {self.case_id}: sessions must be ascending")
        format_of(self.format)  # a KeyError names an unknown format

    def members(self) -> np.ndarray:
        return np.ones(np.shape(self.values), dtype=bool) if self.member is None else self.member


@dataclass(frozen=True)
class RoomAlert:
    """One room alert on one participant at one case session."""

    kind: str
    participant: str
    session: int
    severity: str
    reason: str
    figures: dict[str, float | int | str] = field(default_factory=dict)

    def alert(self, session: int | None = None) -> Alert:
        """As an :class:`Alert` on the participant; ``session`` is the participant's own session
        number when it differs from the case's (a member who joined a group late)."""
        return Alert(
            client_id=self.participant,
            kind=self.kind,
            severity=self.severity,
            session=self.session if session is None else session,
            probability=None,
            reason=self.reason,
            figures=dict(self.figures),
            support=support_steps(self.kind, self.reason),
        )


@dataclass(frozen=True)
class CohesionSummary:
    """The group's level (mean rating of the members answering) per session, how many answered
    of how many members, and the trend over the latest sessions (points per session; None with
    fewer than three sessions rated)."""

    sessions: np.ndarray
    level: np.ndarray
    answered: np.ndarray
    members: np.ndarray
    trend: float | None
    falling: bool


def room_alerts(room: RoomRatings, parameters: RoomParameters | None = None) -> list[RoomAlert]:
    """The alerts at the room's latest session."""
    if not len(room.sessions):
        return []
    latest = int(room.sessions[-1])
    return [a for a in room_course(room, parameters) if a.session == latest]


def room_course(room: RoomRatings, parameters: RoomParameters | None = None) -> list[RoomAlert]:
    """The alerts every session would have raised, each judged on the sessions up to it."""
    p = parameters or load_room_parameters()
    kind = format_of(room.format).alert
    if kind == "split_alliance":
        return _SplitWalk(room, p).run()
    if kind == "cohesion":
        return _CohesionWalk(room, p).run()
    return []


def cohesion_summary(room: RoomRatings, parameters: RoomParameters | None = None) -> CohesionSummary:
    p = (parameters or load_room_parameters()).cohesion
    members = room.members()
    values = np.where(members, room.values, np.nan)
    answered = np.sum(~np.isnan(values), axis=0)
    with np.errstate(invalid="ignore"):
        level = np.where(answered > 0, np.nansum(values, axis=0) / np.maximum(answered, 1), np.nan)
    rated = ~np.isnan(level)
    window = int(p.trend_sessions.value)
    x, y = room.sessions[rated][-window:], level[rated][-window:]
    trend = float(stats.linregress(x, y).slope) if len(x) >= 3 else None
    return CohesionSummary(
        sessions=room.sessions,
        level=level,
        answered=answered,
        members=np.sum(members, axis=0),
        trend=trend,
        falling=trend is not None and trend <= -p.falling_slope.value,
    )


class _OwnLevel:
    """One participant's own level: the mean of their earlier undisturbed ratings, with an SD
    pooled from the prior; a rating that falls from it is kept out of it."""

    def __init__(self, p: OwnLevelParameters) -> None:
        self.p = p
        self.kept: list[float] = []

    @property
    def level(self) -> float:
        return float(np.mean(self.kept)) if self.kept else math.nan

    def threshold(self, minimum_drop: float, z: float | None = None) -> float:
        n = len(self.kept)
        prior = self.p.prior_weight.value
        own = float(np.var(self.kept, ddof=1)) if n >= 2 else 0.0
        sd = math.sqrt((prior * self.p.prior_sd.value**2 + max(n - 1, 0) * own) / (prior + max(n - 1, 0)))
        sd = max(sd, self.p.minimum_sd.value)
        z = self.p.drop_z.value if z is None else z
        return max(minimum_drop, z * sd * math.sqrt(1 + 1 / max(n, 1)))

    def drop(self, value: float) -> float:
        """How far ``value`` lies below the level (NaN with no level yet)."""
        return self.level - value if self.kept else math.nan

    def fell(self, value: float, minimum_drop: float, z: float | None = None) -> bool:
        return bool(self.kept) and self.drop(value) >= self.threshold(minimum_drop, z)

    def add(self, value: float) -> None:
        self.kept.append(value)


def _n(x: float) -> str:
    return f"{x:.1f}"


def _room_z(z: float, answering: int) -> float:
    """The z at which one of ``answering`` participants' falls is as rare by chance as one
    person's fall at ``z`` (Sidak): with three or four people rating every session, some rating
    would otherwise fall 2 SDs by chance two or three times as often as one person's does."""
    alpha = float(stats.norm.sf(z))
    return float(stats.norm.isf(1 - (1 - alpha) ** (1 / max(answering, 1))))


def _plural(n: int) -> str:
    return "" if n == 1 else "s"


def _earlier(n: int) -> str:
    return "1 earlier check-in" if n == 1 else f"{n} earlier check-ins"


class _SplitWalk:
    def __init__(self, room: RoomRatings, p: RoomParameters) -> None:
        self.room, self.p = room, p
        self.own = [_OwnLevel(p.own_level) for _ in room.participants]
        self.gaps: list[float] = []
        self.split_before: set[int] = set()

    def run(self) -> list[RoomAlert]:
        out: list[RoomAlert] = []
        members = self.room.members()
        for col, session in enumerate(self.room.sessions):
            answering = [
                i
                for i in range(len(self.room.participants))
                if members[i, col] and not np.isnan(self.room.values[i, col])
            ]
            out.extend(self._session(int(session), col, answering))
        return out

    def _session(self, session: int, col: int, answering: list[int]) -> list[RoomAlert]:
        p, values = self.p, self.room.values[:, col]
        minimum = p.own_level.minimum_drop.value
        z = _room_z(p.own_level.drop_z.value, len(answering))
        fell = {i for i in answering if self.own[i].fell(values[i], minimum, z)}
        holds = [
            i
            for i in answering
            if i not in fell and not (self.own[i].drop(values[i]) >= p.split.hold_points.value)
        ]
        reasons: dict[int, tuple[str, dict[str, float | int | str]]] = {}
        if len(answering) >= 2:
            for i in sorted(fell):
                if holds:
                    reasons[i] = self._fell_reason(i, session, values, holds)
            gap_reason = self._gap(session, values, answering)
            if gap_reason is not None:
                mover, text, short, figures = gap_reason
                if mover in reasons:
                    first, first_figures = reasons[mover]
                    reasons[mover] = (f"{first} {short}", {**figures, **first_figures})
                else:
                    reasons[mover] = (text, figures)
        alerts = []
        for i, (text, figures) in reasons.items():
            unrepaired = i in self.split_before
            if unrepaired:
                text += " Still split since an earlier session: not yet repaired."
            alerts.append(
                RoomAlert(
                    kind="split_alliance",
                    participant=self.room.participants[i],
                    session=session,
                    severity="high" if unrepaired else "medium",
                    reason=text,
                    figures={**figures, "unrepaired": int(unrepaired)},
                )
            )
        for i in answering:
            if i not in fell:
                self.own[i].add(float(values[i]))
        self.split_before = (self.split_before - set(answering)) | set(reasons)
        return alerts

    def _fell_reason(
        self, i: int, session: int, values: np.ndarray, holds: list[int]
    ) -> tuple[str, dict[str, float | int | str]]:
        own = self.own[i]
        others = "; ".join(
            f"{self.room.names[j]} held at {_n(values[j])} (own level {_n(self.own[j].level)})"
            if self.own[j].kept
            else f"{self.room.names[j]} answered {_n(values[j])}"
            for j in holds
        )
        text = (
            f"{self.room.names[i]} rated the relationship {_n(values[i])} at session {session}, "
            f"{_n(own.drop(values[i]))} points below their own level of {_n(own.level)} "
            f"(mean of {_earlier(len(own.kept))}), while {others}."
        )
        figures: dict[str, float | int | str] = {
            "rule": "one_fell",
            "rating": round(float(values[i]), 2),
            "own_level": round(own.level, 2),
            "drop": round(float(own.drop(values[i])), 2),
            "others_mean": round(float(np.mean(values[holds])), 2),
        }
        return text, figures

    def _gap(
        self, session: int, values: np.ndarray, answering: list[int]
    ) -> tuple[int, str, str, dict[str, float | int | str]] | None:
        """The participant at the end of a gap grown beyond the usual, with the reason in full and
        the short form added to a reason that already says how their rating fell."""
        sp = self.p.split
        low = min(answering, key=lambda i: values[i])
        high = max(answering, key=lambda i: values[i])
        gap = float(values[high] - values[low])
        usual = float(np.mean(self.gaps)) if self.gaps else sp.prior_gap.value
        # With no earlier shared session the usual gap is unknown: a stricter absolute margin.
        split = gap - usual >= sp.gap_increase_points.value if self.gaps else gap >= sp.first_gap_points.value
        if not split:
            self.gaps.append(gap)
            return None

        def moved(i: int) -> float:
            return abs(values[i] - self.own[i].level) if self.own[i].kept else -1.0

        mover = low if moved(low) >= moved(high) else high
        other = high if mover == low else low
        usual_text = (
            f"usually {_n(usual)} over {len(self.gaps)} earlier shared session{_plural(len(self.gaps))}"
            if self.gaps
            else "the first session they both answered"
        )
        short = f"The gap between the highest and lowest rating is {_n(gap)} points ({usual_text})."
        text = (
            f"The ratings have drifted apart: {self.room.names[high]} {_n(values[high])} and "
            f"{self.room.names[low]} {_n(values[low])} at session {session}, a gap of {_n(gap)} points "
            f"({usual_text})."
        )
        if self.own[mover].kept:
            direction = "below" if values[mover] < self.own[mover].level else "above"
            change = abs(values[mover] - self.own[mover].level)
            name = self.room.names[mover]
            text += f" {name}'s rating moved most: {_n(change)} points {direction} their own level."
        figures: dict[str, float | int | str] = {
            "rule": "drifted_apart",
            "rating": round(float(values[mover]), 2),
            "other_rating": round(float(values[other]), 2),
            "gap": round(gap, 2),
            "usual_gap": round(usual, 2),
        }
        return mover, text, short, figures


class _CohesionWalk:
    def __init__(self, room: RoomRatings, p: RoomParameters) -> None:
        self.room, self.p = room, p
        self.own = [_OwnLevel(p.own_level) for _ in room.participants]
        #: Each member's earlier distances below the rest of the group (points), but for sessions
        #: in which they fell from their own level.
        self.distances: list[list[float]] = [[] for _ in room.participants]
        #: Members whose last answer raised a cohesion alert (for those who then stop answering).
        self.fell_last: set[int] = set()

    def run(self) -> list[RoomAlert]:
        out: list[RoomAlert] = []
        for col, session in enumerate(self.room.sessions):
            out.extend(self._session(int(session), col))
        return out

    def _session(self, session: int, col: int) -> list[RoomAlert]:
        cp, room = self.p.cohesion, self.room
        members = room.members()
        values = room.values[:, col]
        early = session <= cp.early_sessions.value
        minimum = cp.minimum_drop_early.value if early else self.p.own_level.minimum_drop.value
        below_points = cp.below_group_points_early.value if early else cp.below_group_points.value
        answering = [i for i in range(len(room.participants)) if members[i, col] and not np.isnan(values[i])]
        alerts: list[RoomAlert] = []
        fell_now: set[int] = set()
        fell_own: set[int] = set()
        for i in answering:
            own = self.own[i]
            fell = own.fell(values[i], minimum)
            others = [j for j in answering if j != i]
            others_mean = float(np.mean(values[others])) if others else math.nan
            below, distance = False, math.nan
            if len(others) >= cp.minimum_others.value:
                # A member who always sits a little below the others is themselves: their distance
                # is read against their own usual distance, once they have one.
                spread = float(np.std(values[others], ddof=1))
                distance = others_mean - values[i]
                excess = distance - self._usual_distance(i)
                below = excess >= max(below_points, cp.below_group_z.value * spread)
            if fell:
                fell_own.add(i)
            if fell or below:
                fell_now.add(i)
                alerts.append(self._alert(i, session, col, values[i], fell, below, others_mean, early))
            if not fell and not math.isnan(distance):
                # Kept out only when the member fell from their own level: a fall is measured
                # against the level before it, while sitting apart from the group becomes usual.
                self.distances[i].append(distance)
        for i in range(len(room.participants)):
            if members[i, col] and np.isnan(values[i]) and i in self.fell_last:
                silent = self._silent_run(i, col)
                if silent == cp.silent_sessions.value:
                    alerts.append(self._silent_alert(i, session, silent))
        for i in answering:
            if i not in fell_own:
                self.own[i].add(float(values[i]))
        self.fell_last = (self.fell_last - set(answering)) | fell_now
        return alerts

    def _usual_distance(self, i: int) -> float:
        """How far below the rest of the group the member usually sits (0 before they have a
        session to tell; never negative, so a member usually above the group is compared with the
        group itself)."""
        return max(0.0, float(np.mean(self.distances[i]))) if self.distances[i] else 0.0

    def _missed(self, i: int, col: int) -> tuple[int, int]:
        """Of the member's recent sessions before ``col`` (as a member), how many went unanswered."""
        members, window = self.room.members(), int(self.p.cohesion.recent_sessions.value)
        cols = [c for c in range(max(0, col - window), col) if members[i, c]]
        return sum(1 for c in cols if np.isnan(self.room.values[i, c])), len(cols)

    def _silent_run(self, i: int, col: int) -> int:
        run = 0
        members = self.room.members()
        for c in range(col, -1, -1):
            if not members[i, c] or not np.isnan(self.room.values[i, c]):
                break
            run += 1
        return run

    def _alert(
        self,
        i: int,
        session: int,
        col: int,
        value: float,
        fell: bool,
        below: bool,
        others: float,
        early: bool,
    ) -> RoomAlert:
        own, name = self.own[i], self.room.names[i]
        parts = [f"{name} rated the group {_n(value)} at session {session}"]
        if fell:
            parts.append(
                f"{_n(own.drop(value))} points below their own level of {_n(own.level)} "
                f"(mean of {_earlier(len(own.kept))})"
            )
        if not math.isnan(others):
            usual = self._usual_distance(i)
            usually = f" (usually {_n(usual)} below it)" if below and usual > 0 else ""
            where = "well below" if below else "against"
            parts.append(f"{where} the rest of the group's {_n(others)}{usually}")
        text = ", ".join(parts) + "."
        if early:
            text += " This is one of the group's first sessions, when cohesion is built."
        missed, of = self._missed(i, col)
        leaving = of > 0 and missed >= self.p.cohesion.missed_for_leaving.value
        if leaving:
            text += f" They also missed {missed} of the last {of} sessions: at risk of leaving the group."
        figures: dict[str, float | int | str] = {
            "rule": "below_own_level" if fell and not below else "below_group" if not fell else "both",
            "rating": round(float(value), 2),
            **({"own_level": round(own.level, 2)} if own.kept else {}),
            **({} if math.isnan(others) else {"group_mean": round(others, 2)}),
            "early": int(early),
            "missed": missed,
            "at_risk_of_leaving": int(leaving),
        }
        return RoomAlert(
            kind="cohesion",
            participant=self.room.participants[i],
            session=session,
            severity="high" if leaving else "medium",
            reason=text,
            figures=figures,
        )

    def _silent_alert(self, i: int, session: int, silent: int) -> RoomAlert:
        text = (
            f"{self.room.names[i]} has not answered the last {silent} sessions (to session {session}) "
            f"since their rating of the group fell: at risk of leaving the group."
        )
        return RoomAlert(
            kind="cohesion",
            participant=self.room.participants[i],
            session=session,
            severity="high",
            reason=text,
            figures={"rule": "stopped_answering", "missed": silent, "at_risk_of_leaving": 1},
        )
