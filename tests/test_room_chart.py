"""The room chart: one labelled line per participant on shared axes, readable without colour."""

from __future__ import annotations

import re

import pytest

from attunement.charts.room import room_chart
from attunement.errors import InvalidInputError


def _chart(lines, **kw) -> str:
    return room_chart([2, 3, 4], lines, low=0, high=10, measure="Check-in", higher_is_better=True, **kw)


def test_every_participant_has_a_named_line_and_every_value_is_written_out():
    svg = _chart([("Sam (partner)", [8, 8, 3]), ("Alex (partner)", [7, None, 8])])
    assert 'role="img"' in svg and svg.count('class="participant"') == 2
    desc = re.search(r"<desc[^>]*>(.*?)</desc>", svg).group(1)
    assert "Sam (partner): session 2: 8; session 3: 8; session 4: 3." in desc
    assert "Alex (partner): session 2: 7; session 4: 8." in desc, "a missing answer is left out, not zero"
    assert "<title>Sam (partner), session 4: 3</title>" in svg


def test_eight_participants_differ_in_marker_or_dash_not_only_in_colour():
    lines = [(f"M{n}", [8, 7, 8]) for n in range(1, 9)]
    svg = _chart(lines)
    groups = re.findall(r'<g class="participant" data-participant="\d+">(.*?)</g>', svg)
    looks = set()
    for body in groups:
        shape = re.search(r"<(circle|rect|polygon)", body).group(1)
        sides = len(re.search(r'points="([^"]+)"', body).group(1).split()) if shape == "polygon" else 0
        dash = re.search(r'stroke-dasharray="([^"]+)"', body)
        looks.add((shape, sides, dash.group(1) if dash else None))
    assert len(groups) == 8 and len(looks) >= 4


def test_participants_giving_the_same_answer_are_set_side_by_side():
    svg = _chart([("A", [8, 8, 8]), ("B", [8, 8, 8])])
    xs = re.findall(r'<circle[^>]*cx="([\d.]+)"[^>]*data-session="2"', svg)
    xs += re.findall(r'data-cx="([\d.]+)"[^>]*data-session="2"', svg)
    assert len(set(xs)) == 2, xs


def test_no_participant_or_a_bad_range_is_refused_plainly():
    with pytest.raises(InvalidInputError):
        _chart([])
    with pytest.raises(InvalidInputError):
        room_chart([1], [("A", [1])], low=5, high=5, measure="x", higher_is_better=True)
