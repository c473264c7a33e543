"""What clinicians recorded for alerts, as a batch run reads it from an ``actions`` table.

In the web app a safety alert stays open until someone records what was done
(:mod:`attunement.alerts.lifecycle`). A batch run over exported tables has no kept alerts, so a
service exports what was recorded instead (``actions``: client, episode, kind, the session of the
alert, what was done; docs/data-format.md), and the batch applies the same rules:

- an alert of a kind that needs an action (``needs_action`` in kinds.json: safety) is not output
  when an action was recorded for an alert of that kind of the same course at the same or a later
  session (:func:`~attunement.alerts.lifecycle.covered`); a risk answer at a later session than
  any action gives a new alert;
- any other alert is still output, marked ``action_recorded`` when an action was recorded for
  that kind at the alert's session: its condition goes on, and the clinician sees it was seen to.

Actions are matched to courses by the rules the measures rows follow (docs/data-format.md): by
client and episode, an action naming no episode belonging to the client's only course.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from attunement.alerts.alert import KINDS, NEEDS_ACTION
from attunement.alerts.fired import Fired, positions_in
from attunement.alerts.lifecycle import covered
from attunement.errors import FieldProblem, InvalidInputError
from attunement.tables.schema import EPISODE_ID, MAX_REPORTED


@dataclass(frozen=True)
class RecordedActions:
    """The actions of a table, by course code: per kind that needs an action, the latest session
    of such an alert each course had an action recorded for (NaN: none); and the course, kind (its
    index in :data:`KINDS`) and session of every action recorded for another kind."""

    covered_up_to: dict[str, np.ndarray]
    course: np.ndarray
    kind: np.ndarray
    session: np.ndarray

    def subset(self, chosen: np.ndarray) -> RecordedActions:
        """The actions of the courses ``chosen`` (codes), renumbered 0..len(chosen)-1 as a block
        of the batch numbers them."""
        local = positions_in(self.course, chosen)
        mine = local >= 0
        return RecordedActions(
            covered_up_to={k: up_to[chosen] for k, up_to in self.covered_up_to.items()},
            course=local[mine],
            kind=self.kind[mine],
            session=self.session[mine],
        )

    def withhold_covered(self, fired: list[Fired]) -> list[Fired]:
        """The alerts without those an action covers (kinds that need an action only)."""
        return [
            f.keep(~covered(f.session, self.covered_up_to[f.kind][f.rows]))
            if f.kind in self.covered_up_to
            else f
            for f in fired
        ]

    def recorded(self, course: np.ndarray, kind: np.ndarray, session: np.ndarray) -> np.ndarray:
        """Whether an action was recorded for each alert (course code, kind index, session)."""
        if not len(self.course) or not len(course):
            return np.zeros(len(course), dtype=bool)
        span = int(max(session.max(), self.session.max())) + 1
        key = (course.astype(np.int64) * len(KINDS) + kind) * span + session
        given = (self.course * len(KINDS) + self.kind) * span + self.session
        return np.isin(key, given)


def no_actions(courses: int) -> RecordedActions:
    return RecordedActions(
        covered_up_to={k: np.full(courses, np.nan) for k in NEEDS_ACTION},
        course=np.zeros(0, dtype=np.int64),
        kind=np.zeros(0, dtype=np.int8),
        session=np.zeros(0, dtype=np.int64),
    )


def match_actions(actions: pd.DataFrame, clients: np.ndarray, episodes: np.ndarray | None) -> RecordedActions:
    """The actions of a checked table (:func:`attunement.tables.normalise_actions`) matched to the
    batch's courses, given each course's client id and episode id (None where it has none).

    Refuses, naming the row, an action for a client the measures do not hold, for an episode of
    that client they do not hold, or naming no episode for a client with several."""
    out = no_actions(len(clients))
    if actions.empty:
        return out
    course = _course_of_actions(actions, np.asarray(clients, dtype=object), episodes)
    kind = actions["kind"].to_numpy(dtype=object)
    session = actions["session"].to_numpy(dtype=np.int64)
    for name in NEEDS_ACTION:
        mine = kind == name
        np.fmax.at(out.covered_up_to[name], course[mine], session[mine].astype(float))
    other = ~np.isin(kind, NEEDS_ACTION)
    return replace(
        out,
        course=course[other],
        kind=np.array([KINDS.index(k) for k in kind[other]], dtype=np.int8),
        session=session[other],
    )


def _course_of_actions(actions: pd.DataFrame, clients: np.ndarray, episodes: np.ndarray | None) -> np.ndarray:
    """Each action's course code. Only the courses of clients named in the actions are looked
    at, so a national table of courses is not turned into Python objects (the loop is over the
    actions, a small table)."""
    wanted = set(actions["client_id"])
    codes = np.flatnonzero(pd.Series(clients, dtype=object).isin(wanted).to_numpy())
    own: dict[str, dict[str | None, int]] = {}
    for code in codes:
        episode = None if episodes is None else episodes[code]
        own.setdefault(clients[code], {})[None if pd.isna(episode) else str(episode)] = int(code)
    has_episode = EPISODE_ID in actions.columns
    found = np.full(len(actions), -1, dtype=np.int64)
    problems: list[FieldProblem] = []
    for row, client in enumerate(actions["client_id"]):
        episode = actions[EPISODE_ID].iat[row] if has_episode else None
        courses = own.get(client)
        if courses is None:
            problems.append(
                FieldProblem(f"row {row + 1}, column client_id", client, "a client of the measures table")
            )
        elif episode in courses:
            found[row] = courses[episode]
        elif episode is None and len(courses) == 1:
            found[row] = next(iter(courses.values()))
        else:
            named = ", ".join(sorted(str(e) for e in courses if e is not None)) or "none"
            expected = (
                f"the episode_id of one of client {client}'s {len(courses)} episodes ({named})"
                if episode is None
                else f"an episode of client {client} that the measures table holds ({named})"
            )
            problems.append(FieldProblem(f"row {row + 1}, column {EPISODE_ID}", episode, expected))
        if len(problems) >= MAX_REPORTED:
            break
    if problems:
        raise InvalidInputError("actions table", problems)
    return found
