"""How well the room alerts find the simulator's known split alliances and cohesion drops.

Each rule is run on every case session by session with only the sessions up to each one
(:func:`attunement.alerts.room.room_course`), then matched to the known events
(``truth_room_events``) episode by episode, with a window of W sessions (``room_window`` in
``settings.json``):

- **recall**: an event counts as detected when an alert of its kind falls on its participant at
  its onset session or within W sessions after it. Only events whose participant was still in
  the case at the onset count;
- **precision**: an alert episode is a participant's alert at a session after one without (runs of
  alerts on consecutive sessions are one episode). It is correct when it begins while an event
  of its kind on that participant is in progress: from its onset to W sessions later for a
  repaired one, to the end for an unrepaired one; a cohesion alert is also correct from the onset
  of a group-wide decline of its group on;
- **false alert episodes per 100 participant-sessions** without an event in progress.

**At risk of leaving**: of the members who left the group after a cohesion drop (before the group
ended), the share the rule called at risk of leaving (a cohesion alert with ``at_risk_of_leaving``)
between the drop's onset and their last session; an at-risk alert episode is correct when it
begins in such a span. The naive rule's "at risk" is its cut-off again.

A group-wide decline is a group-level event, so its row reads the group's falling trend
(:func:`attunement.alerts.room.cohesion_summary`, ``falling``) session by session instead: detected
when the trend shows falling within the window; a falling episode is correct when it begins at
or after the decline's onset.

Three rules are compared: attunement's (``core``); a ``naive`` one, any participant below a fixed
cut-off (``room_naive_cutoff``; for the group trend, the group's mean below it); and an ``oracle``,
attunement's own rules on the noise-free ratings (the latent values, clipped to 0-10, at the
sessions answered): what the same rules could do without measurement noise. It is not the best
any rule could do. 95% intervals are Clopper-Pearson (scipy's ``binomtest``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.stats import binomtest

from attunement.alerts.room import RoomParameters, RoomRatings, cohesion_summary, room_course
from attunement.evaluation.room_cohort import RoomCohort
from attunement.simulation.rooms import GROUP_DECLINE, MEMBER_DROP, SPLIT

RULES = ("core", "naive", "oracle")
#: (row name, alert kind, event kinds matched, formats)
ROWS = (
    ("split alliance, couples", "split_alliance", (SPLIT,), ("couple",)),
    ("split alliance, families", "split_alliance", (SPLIT,), ("family",)),
    ("cohesion, member drops", "cohesion", (MEMBER_DROP,), ("group",)),
)
GROUP_ROW = "group falling trend, group-wide declines"
LEAVING_ROW = "at risk of leaving, members who left after a drop"


@dataclass(frozen=True)
class RoomFigures:
    """One row of the room evaluation."""

    truth: str
    rule: str
    cases: int
    events: int
    detected: int
    recall: float | None
    recall_low: float | None
    recall_high: float | None
    alert_episodes: int
    correct: int
    precision: float | None
    precision_low: float | None
    precision_high: float | None
    false_per_100: float | None


def evaluate_rooms(
    cohort: RoomCohort, window: int, cutoff: float, parameters: RoomParameters | None = None
) -> list[RoomFigures]:
    """Every row for every rule (see module doc); ``parameters`` are the room alerts' thresholds
    (the bundled ``room_parameters.json`` without them)."""
    flags = {
        "core": [_core_flags(room, parameters) for room in cohort.rooms],
        "naive": [_naive_flags(room, cutoff) for room in cohort.rooms],
        "oracle": [_core_flags(room, parameters) for room in cohort.latent],
    }
    events = cohort.events
    out = []
    for name, kind, event_kinds, fmts in ROWS:
        chosen = [k for k, room in enumerate(cohort.rooms) if room.format in fmts]
        for rule in RULES:
            tally = _Tally()
            for k in chosen:
                room = cohort.rooms[k]
                mine = events[events["case_id"] == room.case_id]
                _match(tally, room, flags[rule][k][kind], mine, event_kinds, window, kind == "cohesion")
            out.append(tally.figures(name, rule, len(chosen)))
    groups = [k for k, room in enumerate(cohort.rooms) if room.format == "group"]
    for rule in RULES:
        tally = _Tally()
        for k in groups:
            source = cohort.latent[k] if rule == "oracle" else cohort.rooms[k]
            falling = _falling(source, parameters) if rule != "naive" else _group_below(source, cutoff)
            declines = events[(events["case_id"] == source.case_id) & (events["kind"] == GROUP_DECLINE)]
            _match_group(tally, source, falling, declines, window)
        out.append(tally.figures(GROUP_ROW, rule, len(groups)))
    for rule in RULES:
        tally = _Tally()
        for k in groups:
            room = cohort.rooms[k]
            mine = events[(events["case_id"] == room.case_id) & (events["kind"] == MEMBER_DROP)]
            _match_leaving(tally, room, flags[rule][k]["leaving"], mine)
        out.append(tally.figures(LEAVING_ROW, rule, len(groups)))
    return out


# -- what each rule flags: participants x sessions --------------------------------------------


def _core_flags(room: RoomRatings, parameters: RoomParameters | None) -> dict[str, np.ndarray]:
    kinds = ("split_alliance", "cohesion", "leaving")
    flags = {kind: np.zeros(room.values.shape, dtype=bool) for kind in kinds}
    column = {int(s): c for c, s in enumerate(room.sessions)}
    row = {p: k for k, p in enumerate(room.participants)}
    for alert in room_course(room, parameters):
        where = row[alert.participant], column[alert.session]
        flags[alert.kind][where] = True
        if alert.figures.get("at_risk_of_leaving"):
            flags["leaving"][where] = True
    return flags


def _naive_flags(room: RoomRatings, cutoff: float) -> dict[str, np.ndarray]:
    with np.errstate(invalid="ignore"):
        below = room.members() & (room.values < cutoff)
    none = np.zeros(room.values.shape, dtype=bool)
    if room.format == "group":
        return {"split_alliance": none, "cohesion": below, "leaving": below}
    return {"split_alliance": below, "cohesion": none, "leaving": none}


def _falling(room: RoomRatings, parameters: RoomParameters | None) -> np.ndarray:
    """Whether the group's trend showed falling at each session, from the sessions up to it."""
    out = np.zeros(len(room.sessions), dtype=bool)
    for col in range(len(room.sessions)):
        upto = RoomRatings(
            room.case_id,
            room.format,
            room.participants,
            room.names,
            room.roles,
            room.sessions[: col + 1],
            room.values[:, : col + 1],
            room.members()[:, : col + 1],
        )
        out[col] = cohesion_summary(upto, parameters).falling
    return out


def _group_below(room: RoomRatings, cutoff: float) -> np.ndarray:
    values = np.where(room.members(), room.values, np.nan)
    answered = (~np.isnan(values)).sum(axis=0)
    level = np.nansum(values, axis=0) / np.maximum(answered, 1)
    return (answered > 0) & (level < cutoff)


# -- matching ------------------------------------------------------------------------------------


@dataclass
class _Tally:
    events: int = 0
    detected: int = 0
    episodes: int = 0
    correct: int = 0
    quiet_sessions: int = 0
    false_episodes: int = 0

    def figures(self, truth: str, rule: str, cases: int) -> RoomFigures:
        recall = _rate(self.detected, self.events)
        precision = _rate(self.correct, self.episodes)
        return RoomFigures(
            truth=truth,
            rule=rule,
            cases=cases,
            events=self.events,
            detected=self.detected,
            recall=recall[0],
            recall_low=recall[1],
            recall_high=recall[2],
            alert_episodes=self.episodes,
            correct=self.correct,
            precision=precision[0],
            precision_low=precision[1],
            precision_high=precision[2],
            false_per_100=None
            if self.quiet_sessions == 0
            else round(100 * self.false_episodes / self.quiet_sessions, 3),
        )


def _rate(hits: int, total: int) -> tuple[float | None, float | None, float | None]:
    if total == 0:
        return None, None, None
    interval = binomtest(hits, total).proportion_ci(confidence_level=0.95, method="exact")
    return hits / total, float(interval.low), float(interval.high)


def _onsets(flags: np.ndarray) -> np.ndarray:
    """The first session of each run of alerts (per row)."""
    out = flags.copy()
    out[..., 1:] &= ~flags[..., :-1]
    return out


def _match(
    tally: _Tally,
    room: RoomRatings,
    flags: np.ndarray,
    events: pd.DataFrame,
    kinds: tuple[str, ...],
    window: int,
    group_decline_counts: bool,
) -> None:
    sessions = room.sessions
    members = room.members()
    in_progress = np.zeros(flags.shape, dtype=bool)
    for event in events.itertuples(index=False):
        onset = int(event.onset_session)
        if event.kind == GROUP_DECLINE and group_decline_counts:
            in_progress |= (sessions >= onset)[None, :]
            continue
        if event.kind not in kinds or event.participant not in room.participants:
            continue
        k = room.participants.index(event.participant)
        if not members[k, sessions == onset].any():
            continue  # the participant had left before the onset
        near = (sessions >= onset) & (sessions <= onset + window)
        tally.events += 1
        tally.detected += int(flags[k, near].any())
        end = onset + window if bool(event.repaired) else int(sessions[-1])
        in_progress[k] |= (sessions >= onset) & (sessions <= end)
    onsets = _onsets(flags & members)
    tally.episodes += int(onsets.sum())
    tally.correct += int((onsets & in_progress).sum())
    tally.quiet_sessions += int((members & ~in_progress).sum())
    tally.false_episodes += int((onsets & ~in_progress).sum())


def _match_leaving(tally: _Tally, room: RoomRatings, flags: np.ndarray, drops: pd.DataFrame) -> None:
    """Members who left the group after a cohesion drop, before it ended: detected when the rule
    said "at risk of leaving" between the drop's onset and their last session; an at-risk alert
    episode is correct when it begins in that span."""
    sessions, members = room.sessions, room.members()
    span = np.zeros(flags.shape, dtype=bool)
    for event in drops.itertuples(index=False):
        if pd.isna(event.left_session) or event.participant not in room.participants:
            continue
        onset, left = int(event.onset_session), int(event.left_session)
        k = room.participants.index(event.participant)
        if left >= int(sessions[-1]) or not members[k, sessions == onset].any():
            continue  # stayed to the group's end, or had left before the onset
        near = (sessions >= onset) & (sessions <= left)
        tally.events += 1
        tally.detected += int(flags[k, near].any())
        span[k] |= near
    onsets = _onsets(flags & members)
    tally.episodes += int(onsets.sum())
    tally.correct += int((onsets & span).sum())
    tally.quiet_sessions += int((members & ~span).sum())
    tally.false_episodes += int((onsets & ~span).sum())


def _match_group(
    tally: _Tally, room: RoomRatings, falling: np.ndarray, declines: pd.DataFrame, window: int
) -> None:
    sessions = room.sessions
    in_progress = np.zeros(len(sessions), dtype=bool)
    for event in declines.itertuples(index=False):
        onset = int(event.onset_session)
        near = (sessions >= onset) & (sessions <= onset + window)
        tally.events += 1
        tally.detected += int(falling[near].any())
        in_progress |= sessions >= onset
    onsets = _onsets(falling)
    tally.episodes += int(onsets.sum())
    tally.correct += int((onsets & in_progress).sum())
    tally.quiet_sessions += int((~in_progress).sum())
    tally.false_episodes += int((onsets & ~in_progress).sum())
