"""A folder of simulated couples, families and groups (``attunement simulate --rooms``), read for
the room evaluation: each case's ratings from the canonical tables, the known events, and the
noise-free ratings the oracle reads.

Membership: a folder's episodes table may carry ``first_session`` and ``last_session`` per
participant (the simulator's does): when each participant was in the case, as the app's case
members record it. Then a member's sessions between their last answer and their leaving count as
missed, which is what "at risk of leaving" reads.

The noise-free ratings are rebuilt from the truth, not stored: each participant's latent level
(``truth_room_participants``) minus their own event's drop and any group-wide decline
(``truth_room_events``), with the shapes of the parameters the folder was simulated with
(``room_parameters.json``), clipped to 0-10 and kept only where the participant did answer.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pandas as pd

from attunement.alerts.case_ratings import case_ratings
from attunement.alerts.room import RoomRatings
from attunement.errors import FieldProblem, InvalidInputError
from attunement.simulation.rooms import GROUP_DECLINE, drop_curve
from attunement.simulation.rooms_parameters import RoomParameters, load_room_parameters
from attunement.tables.files import find_table, read_episodes, read_measures, read_table

CONTEXT = "rooms cohort folder"
PARAMETERS_FILE = "room_parameters.json"


@dataclass(frozen=True)
class RoomCohort:
    rooms: tuple[RoomRatings, ...]
    #: The same cases with their noise-free ratings (the oracle's input).
    latent: tuple[RoomRatings, ...]
    events: pd.DataFrame


def load_room_cohort(folder: str | Path) -> RoomCohort:
    """Read a folder written by ``attunement simulate --rooms`` (see module doc)."""
    folder = Path(folder)
    if not folder.is_dir():
        raise InvalidInputError(CONTEXT, [FieldProblem("folder", str(folder), "an existing folder")])
    measures = read_measures(find_table(folder, "measures", context=CONTEXT))
    episodes_path = find_table(folder, "episodes", required=False, context=CONTEXT)
    episodes = read_episodes(episodes_path) if episodes_path else None
    spans = _spans(episodes)
    rooms = tuple(_with_membership(room, spans) for room in case_ratings(measures, episodes))
    if not rooms:
        raise InvalidInputError(
            CONTEXT,
            [FieldProblem("measures", "no couple, family or group", "rows with case_id and role")],
        )
    events = read_table(find_table(folder, "truth_room_events", context=CONTEXT))
    participants = read_table(find_table(folder, "truth_room_participants", context=CONTEXT))
    parameters_path = folder / PARAMETERS_FILE
    parameters = load_room_parameters(parameters_path if parameters_path.exists() else None)
    ids, level = participants["client_id"].astype(str), participants["level"].astype(float)
    levels = dict(zip(ids, level, strict=True))
    by_case = {str(case): part for case, part in events.groupby("case_id", sort=False)}
    latent = tuple(_latent(room, by_case.get(room.case_id), levels, parameters) for room in rooms)
    return RoomCohort(rooms, latent, events)


def _spans(episodes: pd.DataFrame | None) -> dict[str, tuple[int, int]]:
    """Each participant's first and last session in the case, when the episodes say so."""
    if episodes is None or not {"first_session", "last_session"} <= set(episodes.columns):
        return {}
    return {
        str(client): (int(first), int(last))
        for client, first, last in zip(
            episodes["client_id"], episodes["first_session"], episodes["last_session"], strict=True
        )
    }


def _with_membership(room: RoomRatings, spans: dict[str, tuple[int, int]]) -> RoomRatings:
    """With the episodes' ``first_session`` and ``last_session`` (written by the simulator, as a
    service's case membership records who is in a group), each participant is in the case over
    that span, so sessions they attended without answering show as missed; without them, from
    their first row to their last (:mod:`attunement.alerts.case_ratings`)."""
    if not spans:
        return room
    member = room.members().copy()
    for k, pid in enumerate(room.participants):
        if pid in spans:
            first, last = spans[pid]
            member[k] = (room.sessions >= first) & (room.sessions <= last)
    return replace(room, member=member)


def _latent(
    room: RoomRatings, events: pd.DataFrame | None, levels: dict[str, float], p: RoomParameters
) -> RoomRatings:
    width = int(room.sessions[-1])
    latent = np.array([np.full(width, levels[pid]) for pid in room.participants])
    for event in () if events is None else events.itertuples(index=False):
        curve = drop_curve(
            width,
            int(event.onset_session),
            float(event.depth),
            event.shape == "drift",
            bool(event.repaired),
            p,
        )
        if event.kind == GROUP_DECLINE:
            latent -= curve[None, :]
        elif event.participant in room.participants:
            latent[room.participants.index(event.participant)] -= curve
    values = np.clip(latent[:, room.sessions - 1], 0.0, 10.0)
    return replace(room, values=np.where(np.isnan(room.values), np.nan, values))
