"""Simulated couples, families and groups whose split alliances and cohesion drops are known.

Each participant's latent relationship check-in (0-10) at session s is

    A_i(s) = level_mean + c + p_i - D_i(s) - G(s)

with a case component c ~ N(0, case_share * level_sd^2) shared by everyone in the case, a
personal component p_i ~ N(0, (1 - case_share) * level_sd^2), the participant's own drop D_i
(a split-alliance episode in a couple or family, a cohesion drop of a group member) and, in a
group, a group-wide decline G. What the service records is the individual check-in's noise model:
clip(round(A + e, 1 decimal), 0, 10) with e ~ N(0, noise_sd^2), forms missed at random.

Events (the truth the alerts are measured against):

- **split alliance** (couple, family): one participant, chosen at random, falls by a drawn depth
  from an onset session while the others hold, either at once (a step) or over
  ``drift_sessions`` (they drift apart); some are repaired, shrinking from two sessions after
  the onset;
- **member cohesion drop** (group): the same shape for one member; some of them miss sessions
  and leave the group one to three sessions later;
- **group-wide decline**: every member's check-in falls together from an onset session.

Groups start with 8-10 members; open groups take new members while they run, and members also
leave without a drop. Each participant's standardised outcome (``outcome_z``) is drawn to
correlate with the case's split (couples, families) or the member's cohesion (groups) at the
published figures. Every number is in ``parameters/rooms.json``. Deterministic by seed: each
format has its own random stream, and the individual clinic's streams are untouched.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from attunement.alerts.room import RoomRatings
from attunement.simulation.rooms_parameters import RoomParameters, load_room_parameters

#: Random streams of the room simulation: far from the individual clinic's (0-3), one per format.
ROOM_STREAM = 100
FORMATS = ("couple", "family", "group")
SPLIT, MEMBER_DROP, GROUP_DECLINE = "split_alliance", "cohesion_drop", "group_cohesion_decline"
FAMILY_ROLES = {
    3: ("parent", "parent", "young_person"),
    4: ("parent", "caregiver", "young_person", "young_person"),
}


@dataclass(frozen=True)
class Event:
    """One known event: who (empty for a whole group), what, from when, how deep."""

    case_id: str
    format: str
    participant: str | None
    kind: str
    onset: int
    depth: float
    shape: str
    repaired: bool
    left_session: int | None = None


@dataclass(frozen=True)
class SimulatedCase:
    """One case: participants x sessions arrays of the latent and the recorded check-in."""

    case_id: str
    format: str
    therapist_id: str
    open_group: bool
    participants: tuple[str, ...]
    roles: tuple[str, ...]
    sessions: np.ndarray
    latent: np.ndarray
    observed: np.ndarray
    member: np.ndarray
    level: np.ndarray
    events: tuple[Event, ...]
    outcome_z: np.ndarray

    def names(self) -> tuple[str, ...]:
        """How a reason names each participant: "Participant 2 (partner)"."""
        return tuple(f"Participant {k + 1} ({role.replace('_', ' ')})" for k, role in enumerate(self.roles))

    def ratings(self, latent: bool = False) -> RoomRatings:
        """The case as the room alerts read it: the recorded check-ins, or with ``latent`` the
        noise-free ones (clipped to 0-10, at the sessions answered), with the true membership."""
        values = self.observed
        if latent:
            values = np.where(np.isnan(self.observed), np.nan, np.clip(self.latent, 0.0, 10.0))
        return RoomRatings(
            case_id=self.case_id,
            format=self.format,
            participants=self.participants,
            names=self.names(),
            roles=self.roles,
            sessions=self.sessions,
            values=values,
            member=self.member,
        )


def simulate_rooms(
    cases_per_format: int, seed: int, parameters: RoomParameters | None = None
) -> tuple[SimulatedCase, ...]:
    """``cases_per_format`` couples, families and groups, reproducibly from ``seed``."""
    if cases_per_format < 1:
        raise ValueError("cases_per_format must be at least 1")
    p = parameters or load_room_parameters()
    cases: list[SimulatedCase] = []
    for index, fmt in enumerate(FORMATS):
        rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(ROOM_STREAM, index)))
        drawn = [_draw_case(fmt, n, p, rng) for n in range(cases_per_format)]
        cases.extend(_with_outcomes(drawn, p, rng))
    return tuple(cases)


# -- one case ------------------------------------------------------------------------------------


@dataclass
class _Person:
    role: str
    joined: int
    last: int
    drop: np.ndarray
    missed_from: int = 0  # sessions from here to ``last`` are missed with missed_before_leaving


def _draw_case(fmt: str, number: int, p: RoomParameters, rng: np.random.Generator) -> SimulatedCase:
    case_id = f"{fmt}{number + 1:04d}"
    if fmt == "group":
        low, high = p.group_sessions.value
    else:
        low, high = p.couple_family_sessions.value
    n_sessions = int(rng.integers(int(low), int(high) + 1))
    open_group = fmt == "group" and bool(rng.random() < p.open_group_share.value)
    events: list[Event] = []
    people = _people(fmt, n_sessions, open_group, p, rng)
    ids = tuple(f"{case_id}-{k + 1}" for k in range(len(people)))
    if fmt == "group":
        for pid, person in zip(ids, people, strict=True):
            events.extend(_member_drop(case_id, pid, person, n_sessions, p, rng))
        decline, decline_event = _group_decline(case_id, n_sessions, p, rng)
        events.extend(decline_event)
    else:
        decline = np.zeros(n_sessions)
        if rng.random() < p.split_probability.value:
            who = int(rng.integers(len(people)))
            onset = int(rng.integers(int(p.first_onset.value), n_sessions))  # at most the last but one
            event, curve = _drop_event(case_id, fmt, ids[who], SPLIT, onset, n_sessions, p, rng)
            people[who].drop = curve
            events.append(event)

    size = len(people)
    total_var = p.level_sd.value**2
    shared = rng.normal(0.0, np.sqrt(p.case_share.value * total_var))
    personal = rng.normal(0.0, np.sqrt((1 - p.case_share.value) * total_var), size)
    level = p.level_mean.value + shared + personal
    sessions = np.arange(1, n_sessions + 1)
    member = np.array([(sessions >= person.joined) & (sessions <= person.last) for person in people])
    drops = np.array([person.drop for person in people])
    latent = level[:, None] - drops - decline[None, :]
    noisy = latent + p.noise_sd.value * rng.standard_normal(latent.shape)
    recorded = np.clip(np.round(noisy, 1), 0.0, 10.0)
    missed = rng.random(latent.shape) < p.missed_forms.value
    leaving = rng.random(latent.shape) < p.missed_before_leaving.value
    for k, person in enumerate(people):
        missed[k, person.joined - 1] = False  # a participant's first session is always answered
        if person.missed_from:
            window = (sessions >= person.missed_from) & (sessions <= person.last)
            missed[k] |= window & leaving[k]
    observed = np.where(member & ~missed, recorded, np.nan)
    return SimulatedCase(
        case_id=case_id,
        format=fmt,
        therapist_id=f"t{number // 5 + 1:03d}{fmt[0]}",
        open_group=open_group,
        participants=ids,
        roles=tuple(person.role for person in people),
        sessions=sessions,
        latent=latent,
        observed=observed,
        member=member,
        level=level,
        events=tuple(events),
        outcome_z=np.zeros(size),
    )


def _people(
    fmt: str, n_sessions: int, open_group: bool, p: RoomParameters, rng: np.random.Generator
) -> list[_Person]:
    def person(role: str, joined: int = 1) -> _Person:
        return _Person(role, joined, n_sessions, np.zeros(n_sessions))

    if fmt == "couple":
        return [person("partner"), person("partner")]
    if fmt == "family":
        size = 3 if rng.random() < p.family_sizes.value[0] else 4
        return [person(role) for role in FAMILY_ROLES[size]]
    low, high = p.group_size.value
    first_size = int(rng.integers(int(low), int(high) + 1))
    people = [person("group_member") for _ in range(first_size)]
    leave_draws = rng.random((first_size + n_sessions, n_sessions))
    join_draws = rng.random(n_sessions)
    for session in range(1, n_sessions + 1):
        if open_group and 3 <= session <= n_sessions - 3:
            present = sum(1 for x in people if x.joined <= session <= x.last)
            if present < first_size and join_draws[session - 1] < p.join_probability.value:
                people.append(person("group_member", session))
        for k, x in enumerate(people):
            # leaving after this session: the member's last session is ``session``
            staying = x.joined <= session < n_sessions and x.last == n_sessions
            if staying and leave_draws[k, session - 1] < p.leave_probability.value:
                x.last = session
    return people


def _member_drop(
    case_id: str, pid: str, person: _Person, n_sessions: int, p: RoomParameters, rng: np.random.Generator
) -> list[Event]:
    if rng.random() >= p.member_drop_probability.value:
        return []
    first = person.joined + int(p.first_onset.value) - 1
    if first > person.last - 1:
        return []  # too short a stay for a drop with a session after it
    onset = int(rng.integers(first, person.last))
    event, curve = _drop_event(case_id, "group", pid, MEMBER_DROP, onset, n_sessions, p, rng)
    person.drop = curve
    if rng.random() < p.leave_after_drop.value:
        person.last = min(person.last, onset + int(rng.integers(1, 4)))
        person.missed_from = onset + 1
        event = Event(**{**event.__dict__, "left_session": person.last})
    return [event]


def _group_decline(
    case_id: str, n_sessions: int, p: RoomParameters, rng: np.random.Generator
) -> tuple[np.ndarray, list[Event]]:
    if rng.random() >= p.group_decline_probability.value:
        return np.zeros(n_sessions), []
    onset = int(rng.integers(int(p.first_onset.value) + 1, n_sessions - 1))
    mean, sd, minimum = p.group_decline_depth.value
    depth = max(float(rng.normal(mean, sd)), minimum)
    curve = drop_curve(n_sessions, onset, depth, True, False, p)
    return curve, [Event(case_id, "group", None, GROUP_DECLINE, onset, round(depth, 3), "drift", False)]


def _drop_event(
    case_id: str,
    fmt: str,
    pid: str,
    kind: str,
    onset: int,
    n_sessions: int,
    p: RoomParameters,
    rng: np.random.Generator,
) -> tuple[Event, np.ndarray]:
    mean, sd, minimum = p.drop_depth.value
    depth = max(float(rng.normal(mean, sd)), minimum)
    drift = bool(rng.random() < p.drift_share.value)
    repaired = bool(rng.random() < p.repair_probability.value)
    curve = drop_curve(n_sessions, onset, depth, drift, repaired, p)
    shape = "drift" if drift else "step"
    return Event(case_id, fmt, pid, kind, onset, round(depth, 3), shape, repaired), curve


def drop_curve(
    n_sessions: int, onset: int, depth: float, drift: bool, repaired: bool, p: RoomParameters
) -> np.ndarray:
    """How far below their level a participant sits at each session."""
    after = np.arange(1, n_sessions + 1) - onset
    ramp = np.minimum(1.0, (after + 1) / p.drift_sessions.value) if drift else np.ones(n_sessions)
    repair = p.repair_rate.value ** np.maximum(after - 1, 0) if repaired else np.ones(n_sessions)
    return np.where(after >= 0, depth * ramp * repair, 0.0)


# -- outcomes ------------------------------------------------------------------------------------


def _with_outcomes(
    cases: list[SimulatedCase], p: RoomParameters, rng: np.random.Generator
) -> list[SimulatedCase]:
    """Each participant's standardised outcome, correlated with the case's split (couples,
    families: the split's depth, 0 without one) or the member's mean latent cohesion (groups)."""
    if not cases:
        return cases
    if cases[0].format == "group":
        r = p.cohesion_outcome_correlation.value
        exposure = [
            np.array([case.latent[k, case.member[k]].mean() for k in range(len(case.participants))])
            for case in cases
        ]
    else:
        r = p.split_outcome_correlation.value
        exposure = [
            np.full(len(case.participants), max((e.depth for e in case.events), default=0.0))
            for case in cases
        ]
    flat = np.concatenate(exposure)
    sd = flat.std()
    standard = (flat - flat.mean()) / sd if sd > 0 else np.zeros_like(flat)
    outcome = r * standard + np.sqrt(1 - r**2) * rng.standard_normal(flat.size)
    out, start = [], 0
    for case, values in zip(cases, exposure, strict=True):
        piece = np.round(outcome[start : start + values.size], 4)
        start += values.size
        out.append(SimulatedCase(**{**case.__dict__, "outcome_z": piece}))
    return out
