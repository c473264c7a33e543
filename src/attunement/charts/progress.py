"""The client's own progress chart: their scores over time, in plain words.

Clients see a simpler picture than their clinician: their own scores joined by a line, each score
written beside its point, and one sentence saying which way is better and how far they have come.
No caseness line, expected range or statistical marks, which need explaining in person.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from attunement.charts import style
from attunement.charts.frame import SessionFrame, score_lines
from attunement.charts.svg import (
    SMALL_FONT_SIZE,
    as_sessions,
    as_values,
    document,
    element,
    label_number,
    text,
)
from attunement.instruments.definition import Instrument
from attunement.instruments.registry import get_instrument

CONTEXT = "progress chart"


def progress_chart(
    sessions: Sequence[int],
    scores: Sequence[float | None],
    *,
    instrument: str | Instrument = "phq9",
    label: str | None = None,
    chart_id: str = "progress-chart",
) -> str:
    """An SVG chart of a client's own scores, for the client; ``label`` names the questionnaire."""
    inst = instrument if isinstance(instrument, Instrument) else get_instrument(instrument)
    s = as_sessions(sessions, CONTEXT)
    y = as_values("scores", scores, len(s), CONTEXT)
    name = label or inst.short_name
    low, high = (float(v) for v in inst.scoring.range) if inst.scoring.range else _spread(y)
    frame = SessionFrame.build(s, low, high)
    body = [frame.axes(f"Your {name} answers"), _points(frame, s, y, name)]
    summary = _summary(inst, s, y)
    body.append(
        element(
            "g",
            "".join(
                text(4, frame.legend_top + 12 + i * 16, line, fill=style.INK, font_size=SMALL_FONT_SIZE + 1)
                for i, line in enumerate(summary)
            ),
            class_="summary",
        )
    )
    return document(
        chart_id=chart_id,
        kind="progress",
        title=f"Your {name} answers over time",
        description=" ".join(summary) + " " + _listing(s, y),
        height=frame.legend_top + 16 * len(summary) + 8,
        body=body,
    )


def _spread(values: list[float]) -> tuple[float, float]:
    seen = [v for v in values if not math.isnan(v)]
    if not seen:
        return 0.0, 1.0
    return (min(seen), max(seen)) if max(seen) > min(seen) else (min(seen) - 1, max(seen) + 1)


def _points(frame: SessionFrame, sessions: list[int], values: list[float], name: str) -> str:
    parts = score_lines(frame, sessions, values)
    for session, value in zip(sessions, values, strict=True):
        if math.isnan(value):
            continue
        px, py = frame.x(session), frame.y(value)
        # The value is written above the point (below it near the top edge) so no colour is needed.
        label_y = py - 9 if py - 9 > frame.area.top + 4 else py + 18
        parts.append(
            style.circle(
                px,
                py,
                f"session {session}: {label_number(value)}",
                colour=style.BLUE,
                class_="score",
                data_session=session,
                data_value=label_number(value),
            )
            + text(
                px,
                label_y,
                label_number(value),
                text_anchor="middle",
                fill=style.INK,
                class_="value-label",
                font_size=SMALL_FONT_SIZE,
                font_weight="bold",
            )
        )
    return element("g", "".join(parts), class_="scores")


def _summary(inst: Instrument, sessions: list[int], values: list[float]) -> list[str]:
    known = [(s, v) for s, v in zip(sessions, values, strict=True) if not math.isnan(v)]
    better = {
        "lower_is_better": "Lower scores mean you are feeling better.",
        "higher_is_better": "Higher scores mean you are feeling better.",
    }.get(inst.direction, "")
    lines = [better] if better else []
    if not known:
        return [*lines, "No answers yet."]
    (s0, v0), (s1, v1) = known[0], known[-1]
    if len(known) == 1:
        lines.append(f"Your first score was {label_number(v0)} (session {s0}).")
    else:
        lines.append(f"Session {s0}: {label_number(v0)}. Latest, session {s1}: {label_number(v1)}.")
    return lines


def _listing(sessions: list[int], values: list[float]) -> str:
    known = [
        f"session {s}: {label_number(v)}" for s, v in zip(sessions, values, strict=True) if not math.isnan(v)
    ]
    return ("All scores: " + "; ".join(known) + ".") if known else ""
