"""The relationship chart: the client's check-in beside the therapist's estimate, with ruptures.

Therapists tend to rate the relationship higher than their clients do and to miss when it dips,
so the two series are drawn on one scale: the client's as filled circles on a solid line, the
therapist's as open squares on a dashed line. A shaded band marks the client's own usual range
(their baseline), because a fall is judged against what is normal for this client rather than
against a population threshold. Possible ruptures are marked at their sessions with a lettered
flag and a vertical line.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from attunement.charts import style
from attunement.charts.frame import SessionFrame, legend, legend_band, legend_line
from attunement.charts.svg import (
    as_sessions,
    as_values,
    document,
    element,
    label_number,
    list_words,
    missing_sessions,
    polyline_path,
    runs,
    tooltip,
)
from attunement.errors import FieldProblem, InvalidInputError
from attunement.instruments.registry import get_instrument

CONTEXT = "relationship chart"
#: Middle of the row above the plot where rupture flags sit, clear of the axis name.
FLAG_ROW = 34.0


def relationship_chart(
    sessions: Sequence[int],
    client: Sequence[float | None],
    therapist: Sequence[float | None] | None = None,
    *,
    ruptures: Sequence[int] = (),
    baseline: tuple[float, float] | None = None,
    instrument: str = "checkin",
    chart_id: str = "relationship-chart",
) -> str:
    """An SVG chart of the check-in by session.

    ``client`` and ``therapist`` hold one value per entry of ``sessions`` (None where missing);
    ``ruptures`` lists the sessions with a possible rupture; ``baseline`` is the (low, high)
    edges of the client's usual range on the check-in scale.
    """
    s = as_sessions(sessions, CONTEXT)
    own = as_values("client", client, len(s), CONTEXT)
    est = as_values("therapist", therapist, len(s), CONTEXT) if therapist is not None else None
    inst = get_instrument(instrument)
    lo, hi = (float(v) for v in inst.scoring.range) if inst.scoring.range else (0.0, 10.0)
    _check(s, ruptures, baseline, lo, hi)
    marked = sorted(set(int(r) for r in ruptures))

    frame = SessionFrame.build(s, lo, hi, top=FLAG_ROW + 10)
    body = [frame.axes(f"{inst.short_name} (higher is better)")]
    entries: list[tuple[str, str]] = [
        (
            legend_line(style.BLUE) + style.circle(13, 0, "client", colour=style.BLUE, class_="key"),
            "client's check-in",
        )
    ]
    if baseline is not None:
        body.append(_baseline_band(frame, baseline))
        entries.append((legend_band(style.GREEN, 0.18), "client's usual range"))
    body.append(_series(frame, s, own, who="client"))
    if est is not None:
        body.append(_series(frame, s, est, who="therapist"))
        entries.append(
            (
                legend_line(style.VERMILION, dash="5 3")
                + style.square(13, 0, "therapist", colour=style.VERMILION, class_="key"),
                "therapist's estimate",
            )
        )
    if marked:
        body.append(_rupture_marks(frame, marked))
        entries.append(
            (style.flag(13, 0, "possible rupture", "R", colour=style.INK, class_="key"), "possible rupture")
        )
    key, key_height = legend(entries, frame.legend_top)
    body.append(key)
    return document(
        chart_id=chart_id,
        kind="relationship",
        title=f"{inst.short_name}: client and therapist by session",
        description=_description(inst.short_name, s, own, est, marked, baseline),
        height=frame.legend_top + key_height + 6,
        body=body,
    )


def _check(
    sessions: list[int], ruptures: Sequence[int], baseline: tuple[float, float] | None, lo: float, hi: float
) -> None:
    problems = [
        FieldProblem("ruptures", r, f"a session between {sessions[0]} and {sessions[-1]}")
        for r in ruptures
        if isinstance(r, bool) or not float(r).is_integer() or not sessions[0] <= r <= sessions[-1]
    ]
    if baseline is not None:
        ok = (
            len(baseline) == 2
            and all(isinstance(v, int | float) and math.isfinite(v) for v in baseline)
            and lo <= baseline[0] <= baseline[1] <= hi
        )
        if not ok:
            problems.append(
                FieldProblem(
                    "baseline",
                    baseline,
                    f"(low, high) with {label_number(lo)} <= low <= high <= {label_number(hi)}",
                )
            )
    if problems:
        raise InvalidInputError(CONTEXT, problems)


def _baseline_band(frame: SessionFrame, baseline: tuple[float, float]) -> str:
    a = frame.area
    low, high = baseline
    top, bottom = frame.y(high), frame.y(low)
    words = f"client's usual range: {label_number(low)} to {label_number(high)}"
    body = tooltip(words) + element(
        "rect",
        x=a.left,
        y=top,
        width=a.width,
        height=max(bottom - top, 1.0),
        fill=style.GREEN,
        fill_opacity=0.18,
    )
    return element("g", body, class_="baseline", data_low=label_number(low), data_high=label_number(high))


def _series(frame: SessionFrame, sessions: list[int], values: list[float], *, who: str) -> str:
    colour = style.BLUE if who == "client" else style.VERMILION
    dash = None if who == "client" else "5 3"
    parts = [
        element(
            "path",
            d=polyline_path([(frame.x(s), frame.y(v)) for s, v in run]),
            fill="none",
            stroke=colour,
            stroke_width=2.5 if who == "client" else 2.0,
            stroke_dasharray=dash,
            class_=f"{who}-line",
            data_sessions=" ".join(str(s) for s, _ in run),
        )
        for run in runs(sessions, values)
        if len(run) > 1
    ]
    marker = style.circle if who == "client" else style.square
    for session, value in zip(sessions, values, strict=True):
        if not math.isnan(value):
            words = f"session {session}: {who} {label_number(value)}"
            parts.append(
                marker(
                    frame.x(session),
                    frame.y(value),
                    words,
                    colour=colour,
                    class_=who,
                    data_session=session,
                    data_value=label_number(value),
                )
            )
    return element("g", "".join(parts), class_=f"{who}-series")


def _rupture_marks(frame: SessionFrame, ruptures: list[int]) -> str:
    a = frame.area
    parts = []
    for session in ruptures:
        px = frame.x(session)
        body = (
            tooltip(f"possible rupture at session {session}")
            + element(
                "line",
                x1=px,
                x2=px,
                y1=FLAG_ROW + 7,
                y2=a.bottom,
                stroke=style.INK,
                stroke_width=1.5,
                stroke_dasharray="2 3",
            )
            + style.flag(
                px, FLAG_ROW, f"possible rupture at session {session}", "R", colour=style.INK, class_="flag"
            )
        )
        parts.append(element("g", body, class_="rupture", data_session=session))
    return element("g", "".join(parts), class_="ruptures")


def _description(
    name: str,
    sessions: list[int],
    client: list[float],
    therapist: list[float] | None,
    ruptures: list[int],
    baseline: tuple[float, float] | None,
) -> str:
    words = []
    for who, values in (("Client", client), ("Therapist", therapist)):
        if values is None:
            continue
        known = [(s, v) for s, v in zip(sessions, values, strict=True) if not math.isnan(v)]
        if known:
            listed = "; ".join(f"session {s}: {label_number(v)}" for s, v in known)
            words.append(f"{who} {name} (higher is better): {listed}.")
        else:
            words.append(f"{who} {name}: no ratings yet.")
        gaps = missing_sessions(sessions, values)
        if gaps and known:
            words.append(
                f"No {who.lower()} rating at session{'s' if len(gaps) > 1 else ''} {list_words(gaps)}."
            )
    if baseline is not None:
        words.append(f"Client's usual range: {label_number(baseline[0])} to {label_number(baseline[1])}.")
    if ruptures:
        words.append(f"Possible rupture at session{'s' if len(ruptures) > 1 else ''} {list_words(ruptures)}.")
    else:
        words.append("No possible ruptures marked.")
    return " ".join(words)
