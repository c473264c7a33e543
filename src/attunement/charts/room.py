"""The room chart: every participant of a couple, family or group on one measure, on shared axes.

One line per participant, so a therapist sees at a glance whose line moved away from the others
(a split alliance) or fell below the group (falling cohesion). With up to eight or more lines,
colour alone cannot tell them apart: each participant also has their own marker shape and line
dash, the legend names every line in the order of the participants, and every point names its
participant and session in its own ``<title>``. The description writes every value out.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from attunement.charts import style
from attunement.charts.frame import SessionFrame, legend, legend_line
from attunement.charts.svg import (
    as_sessions,
    as_values,
    document,
    element,
    label_number,
    num,
    polyline_path,
    runs,
    tooltip,
)
from attunement.errors import FieldProblem, InvalidInputError

CONTEXT = "room chart"
COLOURS = (style.BLUE, style.VERMILION, style.GREEN, style.ORANGE, style.PURPLE, style.SKY, style.INK)
DASHES = (None, "6 3", "2 3", "8 3 2 3")
MARKERS = ("circle", "square", "diamond", "triangle")


def room_chart(
    sessions: Sequence[int],
    lines: Sequence[tuple[str, Sequence[float | None]]],
    *,
    low: float,
    high: float,
    measure: str,
    higher_is_better: bool,
    chart_id: str = "room-chart",
) -> str:
    """An SVG chart of ``lines`` (participant name, one value per session, None where missing)
    over ``sessions``, on the scale ``low`` to ``high`` of ``measure``."""
    s = as_sessions(sessions, CONTEXT)
    if not lines:
        raise InvalidInputError(CONTEXT, [FieldProblem("lines", [], "at least one participant")])
    if not (math.isfinite(low) and math.isfinite(high) and low < high):
        raise InvalidInputError(CONTEXT, [FieldProblem("range", (low, high), "low below high")])
    series = [(name, as_values(name, values, len(s), CONTEXT)) for name, values in lines]
    frame = SessionFrame.build(s, low, high)
    direction = "higher is better" if higher_is_better else "lower is better"
    body = [frame.axes(f"{measure} ({direction})")]
    entries = []
    for index, (name, values) in enumerate(series):
        colour, dash, marker = _look(index)
        body.append(_series(frame, s, values, name, index, _dodge(frame, s, index, len(series))))
        entries.append((legend_line(colour, dash=dash) + _marker(marker, 13, 0, name, colour, "key"), name))
    key, key_height = legend(entries, frame.legend_top)
    body.append(key)
    return document(
        chart_id=chart_id,
        kind="room",
        title=f"{measure} by session, one line per participant",
        description=_description(measure, direction, s, series),
        height=frame.legend_top + key_height + 6,
        body=body,
    )


def _look(index: int) -> tuple[str, str | None, str]:
    """Colour, dash and marker of the ``index``-th participant: no two of the first 28 alike."""
    return COLOURS[index % len(COLOURS)], DASHES[index // len(COLOURS) % len(DASHES)], MARKERS[index % 4]


def _dodge(frame: SessionFrame, sessions: list[int], index: int, count: int) -> float:
    """A small sideways shift of the ``index``-th line, so that participants giving the same
    answer at a session show side by side instead of one hiding the others."""
    spacing = frame.x(sessions[0] + 1) - frame.x(sessions[0])
    step = min(5.0, 0.6 * spacing / max(count, 1))
    return (index - (count - 1) / 2) * step


def _series(
    frame: SessionFrame, sessions: list[int], values: list[float], name: str, index: int, dx: float
) -> str:
    colour, dash, marker = _look(index)
    parts = [
        element(
            "path",
            d=polyline_path([(frame.x(s) + dx, frame.y(v)) for s, v in run]),
            fill="none",
            stroke=colour,
            stroke_width=2.2,
            stroke_dasharray=dash,
            class_="participant-line",
        )
        for run in runs(sessions, values)
        if len(run) > 1
    ]
    for session, value in zip(sessions, values, strict=True):
        if not math.isnan(value):
            words = f"{name}, session {session}: {label_number(value)}"
            parts.append(
                _marker(
                    marker,
                    frame.x(session) + dx,
                    frame.y(value),
                    words,
                    colour,
                    "point",
                    data_session=session,
                    data_value=label_number(value),
                )
            )
    return element("g", "".join(parts), class_="participant", data_participant=str(index + 1))


def _marker(shape: str, x: float, y: float, name: str, colour: str, class_: str, **data: object) -> str:
    if shape == "circle":
        return style.circle(x, y, name, colour=colour, class_=class_, **data)
    if shape == "square":
        return style.square(x, y, name, colour=colour, class_=class_, **data)
    r = style.MARKER_RADIUS * 1.3
    if shape == "diamond":
        points = [(x, y - r), (x + r, y), (x, y + r), (x - r, y)]
    else:
        points = [(x, y - r), (x + r, y + r * 0.8), (x - r, y + r * 0.8)]
    return element(
        "polygon",
        tooltip(name),
        points=" ".join(f"{num(px)},{num(py)}" for px, py in points),
        fill=colour,
        class_=class_,
        **data,
    )


def _description(measure: str, direction: str, sessions: list[int], series) -> str:
    words = [f"{measure} ({direction}), one line per participant."]
    for name, values in series:
        known = [(s, v) for s, v in zip(sessions, values, strict=True) if not math.isnan(v)]
        listed = "; ".join(f"session {s}: {label_number(v)}" for s, v in known)
        words.append(f"{name}: {listed}." if known else f"{name}: no answers yet.")
    return " ".join(words)
