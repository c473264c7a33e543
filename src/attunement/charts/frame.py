"""The frame shared by charts drawn over session numbers: scales, axes, gridlines and a legend.

The y-axis name sits above the plot rather than rotated beside it, and the legend sits below the
plot in rows, so that nothing needs to be read sideways or squeezed on a narrow phone screen.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from attunement.charts import style
from attunement.charts.svg import (
    SMALL_FONT_SIZE,
    WIDTH,
    LinearScale,
    PlotArea,
    element,
    label_number,
    nice_ticks,
    polyline_path,
    runs,
    text,
)

PLOT_TOP = 28.0
PLOT_HEIGHT = 160.0
LEFT = 34.0
RIGHT_MARGIN = 14.0
AXIS_BAND = 34.0
LEGEND_ROW = 20.0


@dataclass(frozen=True)
class SessionFrame:
    """Scales from session number and score to drawing units, and the plot rectangle."""

    area: PlotArea
    x: LinearScale
    y: LinearScale
    sessions: tuple[int, int]
    values: tuple[float, float]

    @classmethod
    def build(
        cls, sessions: Sequence[int], low: float, high: float, *, top: float = PLOT_TOP
    ) -> SessionFrame:
        """``top`` leaves room above the plot for the axis name (and any flags drawn there)."""
        area = PlotArea(left=LEFT, top=top, right=WIDTH - RIGHT_MARGIN, bottom=top + PLOT_HEIGHT)
        first, last = sessions[0], sessions[-1]
        pad = 0.5 if first == last else 0.0
        # Half a session of room on each side keeps the first and last markers inside the plot.
        x = LinearScale((first - 0.5 - pad, last + 0.5 + pad), (area.left, area.right))
        y = LinearScale((low, high), (area.bottom, area.top))
        return cls(area=area, x=x, y=y, sessions=(first, last), values=(low, high))

    @property
    def legend_top(self) -> float:
        return self.area.bottom + AXIS_BAND

    def axes(self, y_label: str, x_label: str = "session") -> str:
        """Gridlines, tick labels and axis names; each tick carries its value for checking."""
        a = self.area
        parts = [element("rect", x=a.left, y=a.top, width=a.width, height=a.height, fill="#ffffff")]
        y_ticks = []
        for value in nice_ticks(*self.values, most=7):
            py = self.y(value)
            y_ticks.append(
                element("line", x1=a.left, x2=a.right, y1=py, y2=py, stroke=style.GRID, stroke_width=1)
                + text(
                    a.left - 5,
                    py + 4,
                    label_number(value),
                    text_anchor="end",
                    fill=style.INK,
                    class_="tick",
                    data_value=label_number(value),
                )
            )
        parts.append(element("g", "".join(y_ticks), class_="y-axis"))
        x_ticks = []
        for session in self.session_ticks():
            px = self.x(session)
            x_ticks.append(
                element("line", x1=px, x2=px, y1=a.bottom, y2=a.bottom + 4, stroke=style.MUTED)
                + text(
                    px,
                    a.bottom + 16,
                    str(session),
                    text_anchor="middle",
                    fill=style.INK,
                    class_="tick",
                    data_value=str(session),
                )
            )
        parts.append(element("g", "".join(x_ticks), class_="x-axis"))
        parts.append(element("line", x1=a.left, x2=a.right, y1=a.bottom, y2=a.bottom, stroke=style.MUTED))
        parts.append(text(a.left, a.bottom + 30, x_label, fill=style.MUTED, class_="axis-label"))
        parts.append(text(4, 16, y_label, fill=style.INK, class_="axis-label", font_weight="bold"))
        return "".join(parts)

    def session_ticks(self) -> list[int]:
        """Every session while they fit (about 24 px apart), else a round step."""
        first, last = self.sessions
        count = last - first + 1
        step = 1
        while count / step > self.area.width / 24:
            step = {1: 2, 2: 5}.get(step, step + 5)
        ticks = [s for s in range(first, last + 1) if (s - first) % step == 0]
        if ticks[-1] != last and last - ticks[-1] >= step / 2:
            ticks.append(last)
        return ticks


def legend(entries: Sequence[tuple[str, str]], top: float) -> tuple[str, float]:
    """Rows of (symbol markup at (12, row middle), words); returns the markup and its height.

    The symbols are drawn by the callers at x = 12 and y = 0 and translated into place, so every
    legend line shows the same shape as the chart's own mark beside plain words.
    """
    rows = []
    for i, (symbol, words) in enumerate(entries):
        y = top + i * LEGEND_ROW + LEGEND_ROW / 2
        rows.append(
            element("g", symbol, transform=f"translate(0,{y:.2f})")
            + text(30, y + 4, words, fill=style.INK, font_size=SMALL_FONT_SIZE + 1)
        )
    return element("g", "".join(rows), class_="legend"), len(entries) * LEGEND_ROW


def legend_line(colour: str, *, dash: str | None = None, width: float = 2.0) -> str:
    return element(
        "line", x1=4.0, x2=22.0, y1=0.0, y2=0.0, stroke=colour, stroke_width=width, stroke_dasharray=dash
    )


def legend_band(colour: str, opacity: float) -> str:
    return element("rect", x=4.0, y=-6.0, width=18.0, height=12.0, fill=colour, fill_opacity=opacity)


def score_lines(frame: SessionFrame, sessions: Sequence[int], values: Sequence[float]) -> list[str]:
    """The line through a client's scores, broken where a session has no score."""
    return [
        element(
            "path",
            d=polyline_path([(frame.x(s), frame.y(v)) for s, v in run]),
            fill="none",
            stroke=style.BLUE,
            stroke_width=2.5,
            class_="score-line",
            data_sessions=" ".join(str(s) for s, _ in run),
        )
        for run in runs(sessions, values)
        if len(run) > 1
    ]
