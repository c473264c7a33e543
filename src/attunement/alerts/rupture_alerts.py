"""Rupture alerts for the latest session, worded from the client's own check-ins."""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from attunement.alerts.fired import Fired, choose, join, latest, text
from attunement.alerts.rupture import DECLINE, DIP, STATE_NAMES, UNREPAIRED, RuptureCourse, rupture_now
from attunement.prediction.histories import Histories

#: Unrepaired ruptures are the ones tied to dropout and poorer outcome: shown as high.
SEVERITY = {DIP: "medium", UNREPAIRED: "high", DECLINE: "medium"}


def rupture_alerts(histories: Histories, now: RuptureCourse | None = None) -> tuple[Fired, np.ndarray]:
    """The rupture alerts, and one bool per client: is a rupture alert raised at the latest session.

    ``now`` is :func:`rupture_now` of the histories (computed when not given).
    """
    checkin = histories.score("checkin")
    now = now or rupture_now(checkin, histories.sessions)
    rows, cols = latest(histories)
    # An episode carries over a session whose check-in was not recorded; an alert needs the
    # latest check-in itself.
    fires = np.isin(now.state[rows], list(SEVERITY)) & ~np.isnan(checkin[rows, cols])
    raised = np.zeros(len(histories), dtype=bool)
    raised[rows[fires]] = True
    r, c = rows[fires], cols[fires]
    st = now.state[r]
    value = checkin[r, c]
    level, drop, onset, onset_value = now.level[r], now.drop[r], now.onset[r], now.onset_value[r]
    n, sd, z = now.level_n[r], now.sd[r], now.z[r]
    session = c + 1

    s, v, lv, dr = (text(session, 0), text(value), text(level), text(drop))
    based_on = choose(
        n == 1,
        pa.array(np.full(len(n), " (from 1 earlier check-in)")),
        join(" (mean of ", text(n, 0), " earlier check-ins)"),
    )
    own = join("this client's own level of ", lv, based_on)
    own_before = join("the level this client had before the fall, ", lv, based_on)
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
        text(onset, 0),
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
        text(onset, 0),
        " (",
        text(onset_value),
        " then, ",
        v,
        " at session ",
        s,
        "), now ",
        dr,
        " points below ",
        own_before,
    )
    reason = choose(st == DIP, dip, choose(st == UNREPAIRED, unrepaired, decline))
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
            "z": np.round(z, 2),
            "onset_session": onset,
        },
    )
    return fired, raised


def _severity(state: np.ndarray) -> np.ndarray:
    out = np.full(len(state), "medium", dtype=object)
    out[state == UNREPAIRED] = "high"
    return out
