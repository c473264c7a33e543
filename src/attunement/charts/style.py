"""Colours, line styles and marker shapes shared by the charts.

The colours are from the Okabe & Ito palette, chosen to stay distinguishable under the common
forms of colour blindness. Colour is never the only cue: every series also differs in marker
shape or line dash, and every mark is named in the legend and in its own ``<title>``.
"""

from __future__ import annotations

from attunement.charts.svg import element, num, tooltip

INK = "#222222"
MUTED = "#555555"
GRID = "#dddddd"
BLUE = "#0072B2"
SKY = "#56B4E9"
GREEN = "#009E73"
VERMILION = "#D55E00"
PURPLE = "#CC79A7"
ORANGE = "#E69F00"

MARKER_RADIUS = 4.0


def circle(x: float, y: float, name: str, *, colour: str, class_: str, **data: object) -> str:
    """A filled circle: the client's own answers."""
    return element("circle", tooltip(name), cx=x, cy=y, r=MARKER_RADIUS, fill=colour, class_=class_, **data)


def square(x: float, y: float, name: str, *, colour: str, class_: str, **data: object) -> str:
    """An open square: the therapist's estimate, so it differs from the client's circle in shape."""
    side = MARKER_RADIUS * 1.8
    return element(
        "rect",
        tooltip(name),
        x=x - side / 2,
        y=y - side / 2,
        width=side,
        height=side,
        fill="#ffffff",
        stroke=colour,
        stroke_width=2,
        class_=class_,
        data_cx=num(x),
        data_cy=num(y),
        **data,
    )


def ring(x: float, y: float, name: str, *, colour: str, class_: str, **data: object) -> str:
    """A ring around a point: a reliable improvement."""
    return element(
        "circle",
        tooltip(name),
        cx=x,
        cy=y,
        r=MARKER_RADIUS * 2,
        fill="none",
        stroke=colour,
        stroke_width=2,
        class_=class_,
        **data,
    )


def diamond(x: float, y: float, name: str, *, colour: str, class_: str, **data: object) -> str:
    """A diamond around a point: a reliable deterioration (a different shape from the ring)."""
    r = MARKER_RADIUS * 2.4
    points = f"{num(x)},{num(y - r)} {num(x + r)},{num(y)} {num(x)},{num(y + r)} {num(x - r)},{num(y)}"
    return element(
        "polygon",
        tooltip(name),
        points=points,
        fill="none",
        stroke=colour,
        stroke_width=2,
        class_=class_,
        data_cx=num(x),
        data_cy=num(y),
        **data,
    )


def flag(x: float, y: float, name: str, letter: str, *, colour: str, class_: str, **data: object) -> str:
    """A small labelled marker (a letter in a box), for events such as a rupture."""
    w, h = 14.0, 14.0
    body = (
        tooltip(name)
        + element("rect", x=x - w / 2, y=y - h / 2, width=w, height=h, rx=2.0, fill=colour)
        + element(
            "text",
            letter,
            x=x,
            y=y + 4.0,
            fill="#ffffff",
            text_anchor="middle",
            font_weight="bold",
            font_size=11,
        )
    )
    return element("g", body, class_=class_, data_cx=num(x), **data)
