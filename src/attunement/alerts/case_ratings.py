"""The relationship check-ins of each case in the canonical tables, as :class:`RoomRatings`.

The measures table ties the participants of a couple, family or group together by ``case_id``
and names each one's ``role`` (:mod:`attunement.tables.participants`). Each role answers its own
check-in (:func:`attunement.instruments.roles.checkin_for`), rated by the participant
(``client``); score rows are taken as they are and item rows scored by the instrument's
definition. A case's sessions are every session any participant has a row at, so a participant
with other rows but no check-in at a session shows as not answering it.

A participant counts as in the case from their first row to their last: that is all a measures
table says about a group member who left. With an episodes table, a participant whose episode is
``ongoing`` is in the case to its latest session, so sessions they have since missed show (a
member at risk of leaving). Cases of one participant in an individual role have no room alert and
are left out.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from attunement.alerts.room import RoomRatings
from attunement.instruments.roles import checkin_for, role
from attunement.tables import CASE_ID, ONGOING, ROLE, case_format, session_scores


def has_cases(measures: pd.DataFrame) -> bool:
    """Whether a (checked) measures table holds any case rows."""
    return CASE_ID in measures.columns and bool(measures[CASE_ID].notna().any())


def case_ratings(measures: pd.DataFrame, episodes: pd.DataFrame | None = None) -> list[RoomRatings]:
    """Every couple, family and group of a checked measures table, in order of ``case_id``."""
    if not has_cases(measures):
        return []
    rows = measures[measures[CASE_ID].notna()]
    scores = _checkin_scores(rows)
    by_client = {
        str(client): (part["session"].to_numpy(dtype=np.int64), part["score"].to_numpy(dtype=float))
        for client, part in scores.groupby("client_id", sort=False)
    }
    ongoing = _ongoing_participants(episodes)
    rooms = []
    for case_id, case_rows in rows.groupby(CASE_ID, sort=True):
        room = _room(str(case_id), case_rows, by_client, ongoing)
        if room is not None:
            rooms.append(room)
    return rooms


def _checkin_scores(rows: pd.DataFrame) -> pd.DataFrame:
    """Per participant and session, the score of the check-in their role answers."""
    wanted = rows[ROLE].map(checkin_for)
    own = rows[(rows["instrument"] == wanted) & (rows["rater"] == "client")]
    parts = [session_scores(own, instrument) for instrument in sorted(own["instrument"].unique())]
    if not parts:
        return pd.DataFrame({"client_id": [], "session": [], "score": []})
    return pd.concat(parts, ignore_index=True)


def _ongoing_participants(episodes: pd.DataFrame | None) -> set[str]:
    if episodes is None:
        return set()
    return set(episodes.loc[episodes["end_reason"] == ONGOING, "client_id"].astype(str))


def _room(
    case_id: str,
    rows: pd.DataFrame,
    scores: dict[str, tuple[np.ndarray, np.ndarray]],
    ongoing: set[str],
) -> RoomRatings | None:
    people = rows.drop_duplicates("client_id")[["client_id", ROLE]]
    participants = tuple(str(p) for p in people["client_id"])
    roles = tuple(str(r) for r in people[ROLE])
    fmt = case_format(roles, len(participants))
    if fmt is None or fmt == "individual":
        return None
    sessions = np.unique(rows["session"].to_numpy(dtype=np.int64))
    index = {p: k for k, p in enumerate(participants)}
    values = np.full((len(participants), len(sessions)), np.nan)
    for client, k in index.items():
        if client in scores:
            answered, score = scores[client]
            where = np.searchsorted(sessions, answered)
            ok = (where < len(sessions)) & (sessions[np.minimum(where, len(sessions) - 1)] == answered)
            values[k, where[ok]] = score[ok]
    member = np.zeros_like(values, dtype=bool)
    spans = rows.groupby("client_id")["session"].agg(["min", "max"])
    for client, k in index.items():
        first, last = int(spans.at[client, "min"]), int(spans.at[client, "max"])
        if client in ongoing:
            last = int(sessions[-1])
        member[k] = (sessions >= first) & (sessions <= last)
    names = tuple(f"{p} ({role(r).label.lower()})" for p, r in zip(participants, roles, strict=True))
    return RoomRatings(
        case_id=case_id,
        format=fmt,
        participants=participants,
        names=names,
        roles=roles,
        sessions=sessions,
        values=values,
        member=member,
    )
