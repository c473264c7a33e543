"""The simulated couples, families and groups as tables: canonical ``measures`` and ``episodes``
carrying ``case_id`` and ``role``, and the truth beside them.

- ``measures``: one ``score`` row per answered relationship check-in (the instrument follows from
  the role, :func:`attunement.instruments.roles.checkin_for`; rater ``client``);
- ``episodes``: one row per participant (``client_id``), with the case, its format and the
  participant's role; a group member who left before the group's last session ended by
  ``dropout``, everyone else ``completed``; ``first_session`` and ``last_session`` say when the
  participant was in the case;
- ``truth_room_events``: one row per known event (``case_id``, ``format``, ``participant``
  (empty for a group-wide decline), ``kind``, ``onset_session``, ``depth``, ``shape``,
  ``repaired``, ``left_session``);
- ``truth_room_participants``: per participant, the latent level, whether the group was open,
  and the standardised outcome.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from attunement.instruments.roles import checkin_for
from attunement.simulation.rooms import SimulatedCase

EVENT_COLUMNS = (
    "case_id",
    "format",
    "participant",
    "kind",
    "onset_session",
    "depth",
    "shape",
    "repaired",
    "left_session",
)


def room_measures(cases: Sequence[SimulatedCase]) -> pd.DataFrame:
    """The answered check-ins of every participant, one score row each."""
    frames = []
    for case in cases:
        rows, cols = np.nonzero(~np.isnan(case.observed))
        frames.append(
            pd.DataFrame(
                {
                    "client_id": np.asarray(case.participants, dtype=object)[rows],
                    "case_id": case.case_id,
                    "role": np.asarray(case.roles, dtype=object)[rows],
                    "session": case.sessions[cols],
                    "instrument": [checkin_for(case.roles[r]) for r in rows],
                    "rater": "client",
                    "item": None,
                    "value": np.nan,
                    "score": case.observed[rows, cols],
                }
            )
        )
    frame = pd.concat(frames, ignore_index=True)
    return frame.sort_values(["case_id", "session", "client_id"], kind="stable", ignore_index=True)


def room_episodes(cases: Sequence[SimulatedCase]) -> pd.DataFrame:
    """One episode per participant, with its case, format and role."""
    rows = []
    for case in cases:
        last_of_case = int(case.sessions[-1])
        for k, pid in enumerate(case.participants):
            in_case = case.sessions[case.member[k]]
            first, last = int(in_case[0]), int(in_case[-1])
            rows.append(
                {
                    "client_id": pid,
                    "therapist_id": case.therapist_id,
                    "end_reason": "dropout" if last < last_of_case else "completed",
                    "case_id": case.case_id,
                    "format": case.format,
                    "role": case.roles[k],
                    "first_session": first,
                    "last_session": last,
                    "sessions_attended": int(case.member[k].sum()),
                }
            )
    return pd.DataFrame(rows)


def room_events(cases: Sequence[SimulatedCase]) -> pd.DataFrame:
    """The known events, one row each."""
    rows = [
        {
            "case_id": e.case_id,
            "format": e.format,
            "participant": e.participant,
            "kind": e.kind,
            "onset_session": e.onset,
            "depth": e.depth,
            "shape": e.shape,
            "repaired": e.repaired,
            "left_session": e.left_session,
        }
        for case in cases
        for e in case.events
    ]
    frame = pd.DataFrame(rows, columns=list(EVENT_COLUMNS))
    frame["left_session"] = pd.array(frame["left_session"], dtype="Int64")
    frame["onset_session"] = frame["onset_session"].astype("int64")
    return frame


def room_participants(cases: Sequence[SimulatedCase]) -> pd.DataFrame:
    """Per participant: the latent level and the standardised outcome (the truth behind the ratings)."""
    rows = [
        {
            "case_id": case.case_id,
            "format": case.format,
            "open_group": case.open_group,
            "client_id": pid,
            "role": case.roles[k],
            "level": round(float(case.level[k]), 4),
            "outcome_z": float(case.outcome_z[k]),
        }
        for case in cases
        for k, pid in enumerate(case.participants)
    ]
    return pd.DataFrame(rows)
