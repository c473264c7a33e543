"""Rupture alerts for the latest session, worded from the client's own check-ins."""

from __future__ import annotations

import numpy as np
import pandas as pd

from attunement.alerts.fired import Fired, join, latest, text
from attunement.alerts.rupture import DECLINE, DIP, STATE_NAMES, UNREPAIRED, RuptureCourse, rupture_course
from attunement.prediction.histories import Histories

#: Unrepaired ruptures are the ones tied to dropout and poorer outcome: shown as high.
SEVERITY = {DIP: "medium", UNREPAIRED: "high", DECLINE: "medium"}


def rupture_alerts(histories: Histories, course: RuptureCourse | None = None) -> tuple[Fired, np.ndarray]:
    """The rupture alerts, and one bool per client: is a rupture alert raised at the latest session."""
    checkin = histories.score("checkin")
    course = course or rupture_course(checkin)
    rows, cols = latest(histories)
    state = course.state[rows, cols]
    # An episode carries over a session whose check-in was not recorded; an alert needs the
    # latest check-in itself.
    fires = np.isin(state, list(SEVERITY)) & ~np.isnan(checkin[rows, cols])
    now = np.zeros(len(histories), dtype=bool)
    now[rows[fires]] = True
    r, c, st = rows[fires], cols[fires], state[fires]
    value = checkin[r, c]
    level = course.level[r, c]
    drop = course.drop[r, c]
    onset = course.onset[r, c]
    onset_value = course.onset_value[r, c]
    n = course.level_n[r, c]
    sd = course.sd[r, c]
    session = c + 1

    s, v, lv, dr = (pd.Series(session).astype(str), text(value), text(level), text(drop))
    own = join(
        "this client's own level of ", lv, " (mean of ", pd.Series(n).astype(str), " earlier check-ins)"
    )
    dip = join(
        "Relationship check-in of ",
        v,
        " at session ",
        s,
        " is ",
        dr,
        " points below ",
        own,
        "; a drop at one session so far: ask about it now and see whether it recovers",
    )
    unrepaired = join(
        "Relationship check-in dropped to ",
        text(onset_value),
        " at session ",
        pd.Series(onset).astype(str),
        " and has not recovered: ",
        v,
        " at session ",
        s,
        ", still ",
        dr,
        " points below ",
        own,
    )
    decline = join(
        "Relationship check-in has fallen at every recorded session since session ",
        pd.Series(onset).astype(str),
        " (",
        text(onset_value),
        " then, ",
        v,
        " at session ",
        s,
        "), now ",
        dr,
        " points below ",
        own,
        " before the fall began",
    )
    reason = np.where(st == DIP, dip, np.where(st == UNREPAIRED, unrepaired, decline))
    fired = Fired(
        kind="rupture",
        rows=r,
        session=session,
        severity=_severity(st),
        reason=reason,
        figures={
            "state": np.asarray(STATE_NAMES, dtype=object)[st],
            "checkin": np.round(value, 2),
            "own_level": np.round(level, 2),
            "own_sd": np.round(sd, 2),
            "earlier_checkins": n,
            "drop": np.round(drop, 2),
            "z": np.round(course.z[r, c], 2),
            "onset_session": onset,
        },
    )
    return fired, now


def _severity(state: np.ndarray) -> np.ndarray:
    out = np.full(len(state), "medium", dtype=object)
    out[state == UNREPAIRED] = "high"
    return out
