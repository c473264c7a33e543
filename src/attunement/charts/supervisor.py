"""The supervisor's chart: an outcome rate per therapist, each with its 95% interval.

A rate from 12 clients and a rate from 80 are not equally certain, and ranking therapists by raw
rates mostly ranks their luck. So each therapist's rate is drawn with its Wilson score interval
(which stays inside 0-100% and behaves with small counts), the rows are ordered by the number of
clients rather than by the rate, no rank numbers are shown, and a dashed line marks the rate of
all the therapists together for reference.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from statsmodels.stats.proportion import proportion_confint

from attunement.charts import style
from attunement.charts.svg import (
    SMALL_FONT_SIZE,
    WIDTH,
    LinearScale,
    document,
    element,
    text,
    tooltip,
)
from attunement.errors import FieldProblem, InvalidInputError

CONTEXT = "therapist outcomes chart"
#: 95% intervals, the usual convention for showing uncertainty (a display choice, not a clinical
#: number). Every rate a supervisor sees (this chart and the team page's figures) uses it, with the
#: Wilson score interval (Wilson 1927, J Am Stat Assoc 22:209-212) of :func:`wilson_interval`.
ALPHA = 0.05
LEFT, RIGHT = 14.0, WIDTH - 16.0
TOP = 58.0
ROW = 46.0
#: Longest name shown in full on a row at phone width, beside "(n = 120): 45% (36% to 54%)".
LABEL_CHARS = 18
#: A white outline behind row labels keeps them legible where they cross the reference line.
HALO = {"stroke": "#ffffff", "stroke_width": 4, "paint_order": "stroke", "stroke_linejoin": "round"}


@dataclass(frozen=True)
class TherapistOutcome:
    """How many of a therapist's finished courses had the outcome (``successes``) out of ``n``."""

    label: str
    successes: int
    n: int


@dataclass(frozen=True)
class Rate:
    """A proportion with its Wilson interval."""

    successes: int
    n: int
    low: float
    high: float

    @property
    def value(self) -> float:
        return self.successes / self.n


def wilson_interval(successes: int, n: int, *, alpha: float = ALPHA) -> Rate:
    """The proportion ``successes / n`` with its Wilson score interval (statsmodels)."""
    _check_counts([TherapistOutcome("rate", successes, n)], allow_empty=False)
    low, high = proportion_confint(successes, n, alpha=alpha, method="wilson")
    return Rate(successes=successes, n=n, low=float(low), high=float(high))


def therapist_outcomes_chart(
    therapists: Sequence[TherapistOutcome],
    *,
    outcome: str = "reliable improvement",
    chart_id: str = "therapist-outcomes-chart",
) -> str:
    """An SVG chart of each therapist's ``outcome`` rate with its 95% interval, ordered by n."""
    _check_counts(therapists, allow_empty=True)
    rows = sorted(therapists, key=lambda t: (-t.n, t.label))
    x = LinearScale((0.0, 1.0), (LEFT, RIGHT))
    total_n = sum(t.n for t in rows)
    total = wilson_interval(sum(t.successes for t in rows), total_n) if total_n else None
    bottom = TOP + ROW * len(rows)
    heading = text(4, 16, f"{_capital(outcome)}, per therapist", fill=style.INK, font_weight="bold")
    body = [heading, _axis(x, TOP - 8, bottom)]
    if total is not None:
        body.append(_team_line(x, total, TOP - 8, bottom))
    body.extend(_row(x, t, TOP + i * ROW) for i, t in enumerate(rows))
    notes = [
        "Ordered by number of clients, not by rate.",
        "Bars are 95% intervals; where they overlap,",
        "the data cannot tell those rates apart.",
    ]
    body.append(
        element(
            "g",
            "".join(
                text(LEFT, bottom + 34 + i * 16, line, fill=style.INK, font_size=SMALL_FONT_SIZE)
                for i, line in enumerate(notes)
            ),
            class_="notes",
        )
    )
    return document(
        chart_id=chart_id,
        kind="therapist-outcomes",
        title=f"{_capital(outcome)} rate per therapist, with 95% intervals",
        description=_description(rows, total, outcome),
        height=bottom + 34 + 16 * len(notes),
        body=body,
    )


def _row(x: LinearScale, t: TherapistOutcome, top: float) -> str:
    if t.n == 0:
        body = tooltip(f"{t.label}: no finished courses yet") + text(
            LEFT, top + 14, f"{_short(t.label)} (n = 0): no finished courses yet", fill=style.INK, **HALO
        )
        return element("g", body, class_="therapist", data_label=t.label, data_n=0, data_successes=0)
    rate = wilson_interval(t.successes, t.n)
    figures = f"(n = {t.n}): {_pct(rate.value)} ({_pct(rate.low)} to {_pct(rate.high)})"
    words = f"{t.label} {figures}"
    y = top + 30
    lo, hi, mid = x(rate.low), x(rate.high), x(rate.value)
    body = (
        tooltip(words)
        + text(LEFT, top + 14, f"{_short(t.label)} {figures}", fill=style.INK, **HALO)
        + element(
            "line",
            x1=lo,
            x2=hi,
            y1=y,
            y2=y,
            stroke=style.BLUE,
            stroke_width=3,
            class_="interval",
            data_low=f"{rate.low:.6f}",
            data_high=f"{rate.high:.6f}",
        )
        + element("line", x1=lo, x2=lo, y1=y - 6, y2=y + 6, stroke=style.BLUE, stroke_width=2)
        + element("line", x1=hi, x2=hi, y1=y - 6, y2=y + 6, stroke=style.BLUE, stroke_width=2)
        + element(
            "circle",
            cx=mid,
            cy=y,
            r=style.MARKER_RADIUS + 1,
            fill="#ffffff",
            stroke=style.BLUE,
            stroke_width=2.5,
            class_="rate",
            data_value=f"{rate.value:.6f}",
        )
    )
    return element("g", body, class_="therapist", data_label=t.label, data_n=t.n, data_successes=t.successes)


def _axis(x: LinearScale, top: float, bottom: float) -> str:
    parts = []
    for value in (0.0, 0.25, 0.5, 0.75, 1.0):
        px = x(value)
        anchor = {0.0: "start", 1.0: "end"}.get(value, "middle")
        parts.append(
            element("line", x1=px, x2=px, y1=top, y2=bottom, stroke=style.GRID, stroke_width=1)
            + text(
                px,
                bottom + 14,
                _pct(value),
                text_anchor=anchor,
                fill=style.INK,
                class_="tick",
                data_value=f"{value:g}",
            )
        )
    return element("g", "".join(parts), class_="x-axis")


def _team_line(x: LinearScale, total: Rate, top: float, bottom: float) -> str:
    px = x(total.value)
    words = f"all therapists: {_pct(total.value)} of {total.n}"
    anchor = "end" if total.value > 0.5 else "start"
    shift = -4 if anchor == "end" else 4
    body = (
        tooltip(words)
        + element(
            "line",
            x1=px,
            x2=px,
            y1=top,
            y2=bottom,
            stroke=style.MUTED,
            stroke_width=1.5,
            stroke_dasharray="5 4",
        )
        + text(px + shift, top - 6, words, text_anchor=anchor, fill=style.INK, font_size=SMALL_FONT_SIZE)
    )
    return element("g", body, class_="team-rate", data_value=f"{total.value:.6f}")


def _description(rows: list[TherapistOutcome], total: Rate | None, outcome: str) -> str:
    if not rows:
        return f"No therapists to show {outcome} rates for."
    words = [
        f"{_capital(outcome)} rate for each therapist with a 95% Wilson interval, "
        "ordered by number of clients."
    ]
    for t in rows:
        if t.n == 0:
            words.append(f"{t.label}: no finished courses yet.")
        else:
            r = wilson_interval(t.successes, t.n)
            words.append(
                f"{t.label}: {t.successes} of {t.n}, {_pct(r.value)} "
                f"(95% interval {_pct(r.low)} to {_pct(r.high)})."
            )
    if total is not None:
        words.append(f"All therapists together: {total.successes} of {total.n}, {_pct(total.value)}.")
    return " ".join(words)


def _check_counts(therapists: Sequence[TherapistOutcome], *, allow_empty: bool) -> None:
    problems = []
    for t in therapists:
        whole = all(isinstance(v, int) and not isinstance(v, bool) for v in (t.successes, t.n))
        if not whole or t.n < (0 if allow_empty else 1) or not 0 <= t.successes <= t.n:
            low = 0 if allow_empty else 1
            problems.append(
                FieldProblem(
                    t.label, (t.successes, t.n), f"whole counts with 0 <= successes <= n and n >= {low}"
                )
            )
    if problems:
        raise InvalidInputError(CONTEXT, problems)


def _short(label: str) -> str:
    """A long name is shortened on the row so the figures fit a phone; the row's title has it whole."""
    return label if len(label) <= LABEL_CHARS else label[: LABEL_CHARS - 1].rstrip() + "…"


def _pct(p: float) -> str:
    return f"{100 * p:.0f}%"


def _capital(words: str) -> str:
    return words[:1].upper() + words[1:]
