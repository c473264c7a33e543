"""How a kept alert lives: opened once, updated while its condition goes on, resolved when it clears.

The rules (:mod:`attunement.alerts.engine`, :mod:`attunement.alerts.critical`) say what fires at
a client's latest session; a clinician needs an alert that lasts. Given the alerts kept so far
for one episode and what fires now, :func:`next_steps` says what changes:

- a condition that fires while an alert of its kind is live (open, acknowledged, actioned or
  set aside) **updates** that alert: its reason shows the latest figures, and what the clinician
  recorded stays with it, so an action recorded at session 9 is still there at session 10;
- a condition that fires with no live alert of its kind **opens** a new one;
- a live alert whose condition no longer fires is **resolved**, with why, except a safety alert:
  a risk answer is closed only by a clinician recording what was done (its status "actioned").
  A safety alert that was actioned is finished; a risk answer at a later session than the one it
  covered opens a new one, and one at a session it covered raises nothing new.

Pure: the store applies the steps and keeps every one as an event of the alert's history.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike

from attunement.alerts.alert import NEEDS_ACTION, Alert
from attunement.prediction.histories import Histories

#: A kept alert's statuses. "open": new, nobody has looked; "acknowledged": seen; "actioned":
#: something done is recorded; "set_aside": the clinician decided no action is needed, with a
#: reason; "resolved": the condition cleared (or, for safety, never: see above).
STATUSES = ("open", "acknowledged", "actioned", "set_aside", "resolved")
#: Still attached to a condition that may go on (updated rather than opened again).
LIVE = ("open", "acknowledged", "actioned", "set_aside")
#: Waiting for the clinician: shown as open alerts on the caseload.
WAITING = ("open", "acknowledged")
#: The figure of a safety alert that says up to which stored answer (by submission order) it
#: covers: news is what came in after it.
THROUGH = "through_submission"


@dataclass(frozen=True)
class Kept:
    """A stored alert as the lifecycle needs to see it."""

    id: int
    kind: str
    status: str
    opened_session: int
    last_session: int
    reason: str
    #: For a kind that needs an action, the last stored answer it covers (when the caller numbers
    #: answers in the order they came in, as the web app does; None otherwise).
    through: int | None = None


@dataclass(frozen=True)
class Step:
    """One change: open ``alert``; update kept alert ``kept_id`` with ``alert``; or resolve
    ``kept_id`` because of ``note``."""

    op: Literal["open", "update", "resolve"]
    kept_id: int | None
    alert: Alert | None
    note: str = ""


def next_steps(
    kept: Sequence[Kept],
    firing: Iterable[Alert],
    latest_session: int,
    undecided: Collection[str] = (),
    *,
    ended: bool = False,
) -> list[Step]:
    """What changes for one episode, given its kept alerts and the alerts that fire now.

    ``undecided`` names kinds that cannot be judged at the latest session yet (see
    :func:`undecided_kinds`): their live alerts are left as they are rather than resolved, unless
    the episode has ``ended`` (then every course alert is resolved, saying so)."""
    steps: list[Step] = []
    now_firing = {alert.kind: alert for alert in firing}
    live: dict[str, Kept] = {}
    for k in sorted(kept, key=lambda k: k.id):
        if k.status not in LIVE:
            continue
        earlier = live.get(k.kind)
        if earlier is not None and k.kind not in NEEDS_ACTION:  # two live alerts of one kind: one stays
            steps.append(Step("resolve", earlier.id, None, "a later alert of the same kind carries it on"))
        live[k.kind] = k
    for kind, alert in now_firing.items():
        held = live.get(kind)
        if kind in NEEDS_ACTION:
            steps.extend(_needs_action(kept, held, alert))
        elif held is None:
            steps.append(Step("open", None, alert))
        elif (held.last_session, held.reason) != (alert.session, alert.reason):
            steps.append(Step("update", held.id, alert))
    for kind, held in live.items():
        if kind in now_firing or kind in NEEDS_ACTION:
            continue
        if ended:
            steps.append(
                Step("resolve", held.id, None, "the episode has ended: course alerts are not kept after it")
            )
        elif kind not in undecided:
            steps.append(Step("resolve", held.id, None, f"no longer fires at session {latest_session}"))
    return steps


def _needs_action(kept: Sequence[Kept], held: Kept | None, alert: Alert) -> list[Step]:
    if held is not None and held.status != "actioned":
        changed = (held.last_session, held.reason) != (alert.session, alert.reason)
        return [Step("update", held.id, alert)] if changed else []
    through = alert.figures.get(THROUGH)
    if through is not None:  # answers numbered as they came in: news is what came after the action
        done = max(
            (k.through or 0 for k in kept if k.kind == alert.kind and k.status == "actioned"), default=0
        )
        return [Step("open", None, alert)] if int(through) > done else []
    dealt_with = max((k.last_session for k in kept if k.kind == alert.kind), default=None)
    if covered(alert.session, dealt_with):
        return []  # a risk answer an earlier safety alert already covered, and that was dealt with
    return [Step("open", None, alert)]


def covered(session: ArrayLike, action_session: ArrayLike | None) -> np.ndarray:
    """Whether an alert of a kind that needs an action, raised at ``session``, is covered by an
    action recorded for an alert of its kind at ``action_session`` (None or NaN: none).

    An action covers the risk answers up to the session it was recorded for: the alert it closed
    was for the latest risk answer then, so the same or an earlier one raises nothing new, while
    a risk answer at a later session is news and needs its own action. The web app's kept alerts
    and the batch's actions table (:mod:`attunement.alerts.actions`) both go by this; it works on
    single sessions and on whole arrays.
    """
    recorded = np.asarray(np.nan if action_session is None else action_session, dtype=float)
    with np.errstate(invalid="ignore"):
        return np.asarray(session) <= recorded  # NaN (nothing recorded) compares False


def undecided_kinds(histories: Histories) -> dict[str, set[str]]:
    """Per client, the kinds whose rule cannot be judged at the latest session yet. A perception
    gap compares the client's check-in with the therapist's estimate of the same session: the
    client answers before the session and the therapist rates after it, so between the two a gap
    has neither fired nor cleared."""
    out: dict[str, set[str]] = {}
    if len(histories) == 0:
        return out
    last = np.minimum(histories.sessions, histories.max_session) - 1
    rows = np.arange(len(histories))
    ok = last >= 0
    pair = np.zeros(len(histories), dtype=bool)
    client, therapist = histories.score("checkin"), histories.score("checkin_therapist")
    pair[ok] = ~np.isnan(client[rows[ok], last[ok]]) & ~np.isnan(therapist[rows[ok], last[ok]])
    for key, paired in zip(histories.client_id, pair, strict=True):
        if not paired:
            out[str(key)] = {"perception_gap"}
    return out
