"""Small building blocks for self-contained SVG charts: escaping, scales, the document frame.

Charts are built as text rather than through a plotting library so that the markup stays small,
needs no fonts or scripts from anywhere, and carries the accessibility attributes (``role``,
``<title>``, ``<desc>``, a ``<title>`` on every mark) that screen readers announce. Every chart
is drawn in a fixed coordinate box (``WIDTH`` units wide) and scales to its container, so text of
``FONT_SIZE`` units stays readable on a 390-pixel phone screen.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import SupportsFloat, SupportsIndex
from xml.sax.saxutils import escape, quoteattr

from attunement.errors import FieldProblem, InvalidInputError

SVG_NS = "http://www.w3.org/2000/svg"
#: Width of the drawing box; close to a phone's CSS width, so one unit is about one pixel there.
WIDTH = 360
FONT_SIZE = 13
SMALL_FONT_SIZE = 12
FONT_FAMILY = "system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif"


def num(x: float) -> str:
    """A coordinate with at most two decimals and no trailing zeros (smaller, stable markup)."""
    text = f"{x:.2f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def attrs(**values: object) -> str:
    """Attributes from keywords; ``class_`` becomes ``class``, ``data_x`` becomes ``data-x``."""
    parts = []
    for key, value in values.items():
        if value is None:
            continue
        name = key.rstrip("_").replace("_", "-")
        text = num(value) if isinstance(value, float) else str(value)
        parts.append(f"{name}={quoteattr(text)}")
    return " ".join(parts)


def element(tag: str, body: str | None = None, **values: object) -> str:
    """One element; ``body`` is markup already escaped by the caller (or None for an empty tag)."""
    opening = f"<{tag} {attrs(**values)}".rstrip()
    return f"{opening}/>" if body is None else f"{opening}>{body}</{tag}>"


def text(x: float, y: float, words: str, **values: object) -> str:
    return element("text", escape(words), x=float(x), y=float(y), **values)


def tooltip(words: str) -> str:
    """A ``<title>`` child: the accessible name of a mark, shown on hover."""
    return f"<title>{escape(words)}</title>"


@dataclass(frozen=True)
class LinearScale:
    """Maps a data interval onto a pixel interval (either may run backwards)."""

    domain: tuple[float, float]
    pixels: tuple[float, float]

    def __call__(self, value: float) -> float:
        d0, d1 = self.domain
        p0, p1 = self.pixels
        if d1 == d0:
            return (p0 + p1) / 2
        return p0 + (value - d0) * (p1 - p0) / (d1 - d0)


@dataclass(frozen=True)
class PlotArea:
    """The rectangle inside the axes."""

    left: float
    top: float
    right: float
    bottom: float

    @property
    def width(self) -> float:
        return self.right - self.left

    @property
    def height(self) -> float:
        return self.bottom - self.top


def document(
    *,
    chart_id: str,
    kind: str,
    title: str,
    description: str,
    height: float,
    body: Iterable[str],
) -> str:
    """The ``<svg>`` root: scalable, labelled by its title and description, with no external parts.

    No ``style`` attribute: pages served with a strict Content-Security-Policy (``style-src
    'self'``) refuse inline styles, so only presentation attributes are used and the page's own
    stylesheet sets the size (``width="100%"`` and the ``viewBox`` keep the aspect ratio).
    """
    title_id, desc_id = f"{chart_id}-title", f"{chart_id}-desc"
    head = attrs(
        xmlns=SVG_NS,
        id=chart_id,
        class_=f"attunement-chart {kind}-chart",
        viewBox=f"0 0 {WIDTH} {num(height)}",
        width="100%",
        preserveAspectRatio="xMidYMin meet",
        role="img",
        aria_labelledby=f"{title_id} {desc_id}",
        font_family=FONT_FAMILY,
        font_size=FONT_SIZE,
    )
    return "".join(
        [
            f"<svg {head}>",
            element("title", escape(title), id=title_id),
            element("desc", escape(description), id=desc_id),
            *body,
            "</svg>",
        ]
    )


def nice_ticks(low: float, high: float, *, most: int = 6) -> list[float]:
    """Round tick values (steps of 1, 2, 2.5 or 5 times a power of ten) covering [low, high]."""
    if high <= low:
        return [low]
    raw = (high - low) / max(most - 1, 1)
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 2.5, 5, 10) if m * power >= raw)
    first = math.ceil(low / step - 1e-9) * step
    ticks = []
    value = first
    while value <= high + 1e-9:
        ticks.append(round(value, 10))
        value += step
    return ticks


def label_number(x: float) -> str:
    """A number as people write it: 10, 2.5, 7.3."""
    if float(x).is_integer():
        return str(int(x))
    return f"{x:.1f}".rstrip("0").rstrip(".")


def as_values(name: str, values: Sequence[object] | None, length: int, context: str) -> list[float]:
    """Numbers (NaN for None/NaN) checked against the number of sessions."""
    if values is None:
        return [math.nan] * length
    out: list[float] = []
    problems: list[FieldProblem] = []
    if len(values) != length:
        problems.append(FieldProblem(name, len(values), f"{length} values, one per session"))
    for value in values:
        if value is None:
            out.append(math.nan)
            continue
        if isinstance(value, bool) or not isinstance(value, int | float) and not hasattr(value, "__float__"):
            problems.append(FieldProblem(name, value, "a number or None"))
            out.append(math.nan)
            continue
        number = float(value)
        if math.isinf(number):
            problems.append(FieldProblem(name, value, "a finite number or None"))
            number = math.nan
        out.append(number)
    if problems:
        raise InvalidInputError(context, problems)
    return out


def _float(value: object) -> float:
    """``float(value)`` for whatever ``float`` takes (numbers, numeric text); TypeError as it gives."""
    if isinstance(value, str | bytes | SupportsFloat | SupportsIndex):
        return float(value)
    raise TypeError(f"float() argument must be a string or a real number, not '{type(value).__name__}'")


def as_sessions(sessions: Sequence[object], context: str) -> list[int]:
    """Session numbers: whole, positive, strictly increasing."""
    problems: list[FieldProblem] = []
    out: list[int] = []
    for s in sessions:
        if isinstance(s, bool) or not _float(s).is_integer() or _float(s) < 0:
            problems.append(FieldProblem("sessions", s, "whole session numbers, 0 or more"))
        else:
            out.append(int(_float(s)))
    if not problems and any(b <= a for a, b in zip(out, out[1:], strict=False)):
        problems.append(FieldProblem("sessions", list(sessions), "session numbers in increasing order"))
    if not sessions:
        problems.append(FieldProblem("sessions", [], "at least one session"))
    if problems:
        raise InvalidInputError(context, problems)
    return out


def runs(sessions: Sequence[int], values: Sequence[float]) -> list[list[tuple[int, float]]]:
    """Stretches of consecutive sessions that all have a value; a line is drawn only within one.

    A missing value, or a session number skipped altogether, ends a stretch, so missed sessions
    show as gaps rather than as a line that pretends to know what happened in between.
    """
    found: list[list[tuple[int, float]]] = []
    current: list[tuple[int, float]] = []
    previous: int | None = None
    for session, value in zip(sessions, values, strict=True):
        if math.isnan(value) or (previous is not None and session != previous + 1):
            if current:
                found.append(current)
            current = []
        if not math.isnan(value):
            current.append((session, value))
        previous = session
    if current:
        found.append(current)
    return found


def polyline_path(points: Sequence[tuple[float, float]]) -> str:
    return " ".join(f"{'M' if i == 0 else 'L'}{num(x)},{num(y)}" for i, (x, y) in enumerate(points))


def missing_sessions(sessions: Sequence[int], values: Sequence[float]) -> list[int]:
    """Sessions with no value, including session numbers skipped between the first and the last."""
    have = {s for s, v in zip(sessions, values, strict=True) if not math.isnan(v)}
    if not sessions:
        return []
    return [s for s in range(sessions[0], sessions[-1] + 1) if s not in have]


def list_words(numbers: Sequence[int]) -> str:
    """1, 2 and 5."""
    words = [str(n) for n in numbers]
    if len(words) <= 1:
        return "".join(words)
    return ", ".join(words[:-1]) + " and " + words[-1]
