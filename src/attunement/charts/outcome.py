"""The clinician's outcome chart: one measure by session, against the expected range and caseness.

It shows, for one client and one measure (PHQ-9 by default):

- the scores by session, with a gap wherever a session has no score;
- the expected range (the band of the personalised expected course), when one is given;
- the caseness line from the instrument's definition, with its verification status;
- which scores are a reliable improvement or deterioration relative to the client's first score,
  by the instrument's published reliable-change threshold.

Everything the chart shows is also written out in its ``<desc>``, so a screen reader user gets the
same facts as a sighted one.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from attunement.change.clinical_significance import Cutoff, cutoff_for
from attunement.change.reliable_change import ChangeThreshold, reliable_flags, threshold_for
from attunement.charts import style
from attunement.charts.frame import SessionFrame, legend, legend_band, legend_line, score_lines
from attunement.charts.svg import (
    SMALL_FONT_SIZE,
    as_sessions,
    as_values,
    document,
    element,
    label_number,
    list_words,
    missing_sessions,
    polyline_path,
    runs,
    text,
    tooltip,
)
from attunement.errors import InvalidInputError
from attunement.instruments.definition import Instrument
from attunement.instruments.registry import get_instrument

CONTEXT = "outcome chart"
NO_CUTOFF = "no caseness cut-off recorded for this total"
_RULE_WORDS = {">=": "or more", ">": "above", "<=": "or less", "<": "below"}


def outcome_chart(
    sessions: Sequence[int],
    scores: Sequence[float | None],
    *,
    instrument: str | Instrument = "phq9",
    expected_low: Sequence[float | None] | None = None,
    expected_high: Sequence[float | None] | None = None,
    cutoff: Cutoff | None = None,
    threshold: ChangeThreshold | None = None,
    chart_id: str = "outcome-chart",
) -> str:
    """An SVG outcome chart for one client and one measure.

    ``scores``, ``expected_low`` and ``expected_high`` hold one value per entry of ``sessions``
    (None or NaN where there is none). ``cutoff`` and ``threshold`` default to the instrument's
    published caseness rule and reliable-change set; an instrument without them gets no line or
    no marks rather than an invented number.
    """
    inst = instrument if isinstance(instrument, Instrument) else get_instrument(instrument)
    s = as_sessions(sessions, CONTEXT)
    y = as_values("scores", scores, len(s), CONTEXT)
    low = as_values("expected_low", expected_low, len(s), CONTEXT)
    high = as_values("expected_high", expected_high, len(s), CONTEXT)
    cut = cutoff if cutoff is not None else _default_cutoff(inst)
    rc = threshold if threshold is not None else _default_threshold(inst)
    improved, deteriorated, first = _reliable_marks(s, y, rc, inst)

    name = inst.short_name
    frame = SessionFrame.build(s, *_value_range(inst, y, low, high, cut))
    body = [frame.axes(f"{name} score{_direction_words(inst)}")]
    entries: list[tuple[str, str]] = []

    band = _expected_band(frame, s, low, high, name)
    if band:
        body.append(band)
        entries.append((legend_band(style.SKY, 0.35), "expected range"))
    if cut is not None:
        body.append(_caseness_line(frame, cut, name))
        entries.append((legend_line(style.MUTED, dash="6 4"), f"caseness: {_cutoff_words(cut)}"))
    else:
        entries.append(("", NO_CUTOFF))
    body.append(_score_line(frame, s, y, name, improved, deteriorated, first))
    entries.insert(
        0,
        (
            legend_line(style.BLUE) + style.circle(13, 0, name, colour=style.BLUE, class_="key"),
            f"{name} score",
        ),
    )
    if rc is not None and first is not None:
        since = f"since session {first}"
        if improved:
            entries.append(
                (
                    style.ring(13, 0, "reliable improvement", colour=style.GREEN, class_="key"),
                    f"reliably better {since}",
                )
            )
        if deteriorated:
            entries.append(
                (
                    style.diamond(13, 0, "reliable deterioration", colour=style.VERMILION, class_="key"),
                    f"reliably worse {since}",
                )
            )
    key, key_height = legend(entries, frame.legend_top)
    body.append(key)
    return document(
        chart_id=chart_id,
        kind="outcome",
        title=f"{name} scores by session",
        description=_description(inst, s, y, low, high, cut, rc, improved, deteriorated, first),
        height=frame.legend_top + key_height + 6,
        body=body,
    )


def _default_cutoff(inst: Instrument) -> Cutoff | None:
    try:
        return cutoff_for(inst)
    except InvalidInputError:
        return None


def _default_threshold(inst: Instrument) -> ChangeThreshold | None:
    if inst.direction == "neither":
        return None
    try:
        return threshold_for(inst)
    except InvalidInputError:
        return None


def _reliable_marks(
    sessions: list[int], scores: list[float], rc: ChangeThreshold | None, inst: Instrument
) -> tuple[list[int], list[int], int | None]:
    """Sessions whose score is reliably better / worse than the first score, and that first session."""
    known = [(s, v) for s, v in zip(sessions, scores, strict=True) if not math.isnan(v)]
    if not known:
        return [], [], None
    first_session, first_score = known[0]
    if rc is None or inst.direction == "neither":
        return [], [], first_session
    later = known[1:]
    post = np.array([v for _, v in later], dtype=float)
    pre = np.full_like(post, first_score)
    up, down, _ = reliable_flags(pre, post, rc, inst.direction)
    improved = [s for (s, _), flag in zip(later, up, strict=True) if flag]
    deteriorated = [s for (s, _), flag in zip(later, down, strict=True) if flag]
    return improved, deteriorated, first_session


def _value_range(
    inst: Instrument, scores: list[float], low: list[float], high: list[float], cut: Cutoff | None
) -> tuple[float, float]:
    """The instrument's possible range, so charts of different clients compare at a glance."""
    if inst.scoring.range is not None:
        return float(inst.scoring.range[0]), float(inst.scoring.range[1])
    seen = [v for v in [*scores, *low, *high] if not math.isnan(v)]
    if cut is not None:
        seen.append(cut.value)
    if not seen:
        return 0.0, 1.0
    lo, hi = min(seen), max(seen)
    return (lo, hi) if hi > lo else (lo - 1, hi + 1)


def _direction_words(inst: Instrument) -> str:
    return {"lower_is_better": " (lower is better)", "higher_is_better": " (higher is better)"}.get(
        inst.direction, ""
    )


def _cutoff_words(cut: Cutoff) -> str:
    return f"{label_number(cut.value)} {_RULE_WORDS[cut.rule]}"


def _expected_band(
    frame: SessionFrame, sessions: list[int], low: list[float], high: list[float], name: str
) -> str:
    """One shaded polygon per stretch of sessions that has both edges of the expected range."""
    both = [
        lo if not (math.isnan(lo) or math.isnan(hi)) else math.nan for lo, hi in zip(low, high, strict=True)
    ]
    upper = dict(zip(sessions, high, strict=True))
    shapes = []
    for run in runs(sessions, both):
        half = 4.0 if len(run) == 1 else 0.0
        top = [
            (frame.x(s) + dx, frame.y(upper[s])) for s, _ in run for dx in ((-half, half) if half else (0,))
        ]
        bottom = [
            (frame.x(s) + dx, frame.y(v))
            for s, v in reversed(run)
            for dx in ((half, -half) if half else (0,))
        ]
        first, last = run[0][0], run[-1][0]
        words = (
            f"expected {name} range, sessions {first} to {last}"
            if last > first
            else f"expected range, session {first}"
        )
        shapes.append(
            element(
                "path",
                tooltip(words),
                d=polyline_path(top + bottom) + " Z",
                fill=style.SKY,
                fill_opacity=0.35,
                stroke=style.SKY,
                stroke_width=1,
                class_="expected-range",
                data_sessions=" ".join(str(s) for s, _ in run),
                data_low=" ".join(label_number(v) for _, v in run),
                data_high=" ".join(label_number(upper[s]) for s, _ in run),
            )
        )
    return element("g", "".join(shapes), class_="expected-ranges") if shapes else ""


def _caseness_line(frame: SessionFrame, cut: Cutoff, name: str) -> str:
    a = frame.area
    py = frame.y(cut.value)
    words = f"{name} caseness: a score of {_cutoff_words(cut)} is in the clinical range"
    if cut.tag:
        words += f" {cut.tag}"
    if cut.source:
        words += f"; source: {cut.source}"
    label = f"caseness {label_number(cut.value)}"
    body = (
        tooltip(words)
        + element(
            "line",
            x1=a.left,
            x2=a.right,
            y1=py,
            y2=py,
            stroke=style.MUTED,
            stroke_width=1.5,
            stroke_dasharray="6 4",
        )
        + text(a.right - 4, py - 4, label, text_anchor="end", fill=style.INK, font_size=SMALL_FONT_SIZE)
    )
    return element("g", body, class_="caseness", data_value=label_number(cut.value), data_rule=cut.rule)


def _score_line(
    frame: SessionFrame,
    sessions: list[int],
    scores: list[float],
    name: str,
    improved: list[int],
    deteriorated: list[int],
    first: int | None,
) -> str:
    parts = score_lines(frame, sessions, scores)
    for session, value in zip(sessions, scores, strict=True):
        if math.isnan(value):
            continue
        px, py = frame.x(session), frame.y(value)
        words = f"session {session}: {name} {label_number(value)}"
        if session in improved:
            words += f", reliably better than session {first}"
            parts.append(
                style.ring(
                    px, py, words, colour=style.GREEN, class_="reliable-improvement", data_session=session
                )
            )
        elif session in deteriorated:
            words += f", reliably worse than session {first}"
            parts.append(
                style.diamond(
                    px,
                    py,
                    words,
                    colour=style.VERMILION,
                    class_="reliable-deterioration",
                    data_session=session,
                )
            )
        parts.append(
            style.circle(
                px,
                py,
                words,
                colour=style.BLUE,
                class_="score",
                data_session=session,
                data_value=label_number(value),
            )
        )
    return element("g", "".join(parts), class_="scores")


def _description(
    inst: Instrument,
    sessions: list[int],
    scores: list[float],
    low: list[float],
    high: list[float],
    cut: Cutoff | None,
    rc: ChangeThreshold | None,
    improved: list[int],
    deteriorated: list[int],
    first: int | None,
) -> str:
    name = inst.short_name
    known = [(s, v) for s, v in zip(sessions, scores, strict=True) if not math.isnan(v)]
    if not known:
        return f"No {name} scores yet (sessions {sessions[0]} to {sessions[-1]})."
    listed = "; ".join(f"session {s}: {label_number(v)}" for s, v in known)
    plural = "s" if len(known) > 1 else ""
    words = [f"{name} scores{_direction_words(inst)} at {len(known)} session{plural}: {listed}."]
    gaps = missing_sessions(sessions, scores)
    if gaps:
        words.append(f"No score at session{'s' if len(gaps) > 1 else ''} {list_words(gaps)}.")
    banded = [
        f"session {s}: {label_number(lo)} to {label_number(hi)}"
        for s, lo, hi in zip(sessions, low, high, strict=True)
        if not (math.isnan(lo) or math.isnan(hi))
    ]
    if banded:
        words.append("Expected range: " + "; ".join(banded) + ".")
    if cut is not None:
        words.append(f"Caseness: {_cutoff_words(cut)}{(' ' + cut.tag) if cut.tag else ''}.")
    else:
        words.append(NO_CUTOFF[0].upper() + NO_CUTOFF[1:] + ".")
    if rc is not None and len(known) > 1:
        points = label_number(rc.points)
        rule = (
            f"a change of {points} points or more"
            if rc.rule == ">="
            else f"a change of more than {points} points"
        )
        words.append(
            f"Reliable change from the first score (session {first}) means {rule}"
            f"{(' ' + rc.tag) if rc.tag else ''}: "
            f"reliably better at {_sessions_or_none(improved)}; "
            f"reliably worse at {_sessions_or_none(deteriorated)}."
        )
    return " ".join(words)


def _sessions_or_none(sessions: list[int]) -> str:
    if not sessions:
        return "no session"
    return f"session{'s' if len(sessions) > 1 else ''} {list_words(sessions)}"
