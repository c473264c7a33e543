"""SVG charts: parsed with xml.etree and checked for structure, positions and accessibility."""

from __future__ import annotations

import math
import re
import xml.etree.ElementTree as ET

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from attunement.change.clinical_significance import cutoff_for
from attunement.change.reliable_change import threshold_for
from attunement.charts import (
    TherapistOutcome,
    outcome_chart,
    progress_chart,
    relationship_chart,
    therapist_outcomes_chart,
    wilson_interval,
)
from attunement.errors import InvalidInputError
from attunement.instruments import get_instrument

NS = {"s": "http://www.w3.org/2000/svg"}
SVG = "{http://www.w3.org/2000/svg}"


def parse(svg: str) -> ET.Element:
    return ET.fromstring(svg)


def by_class(root: ET.Element, name: str) -> list[ET.Element]:
    return [e for e in root.iter() if name in (e.get("class") or "").split()]


def tick_map(root: ET.Element, axis: str) -> dict[float, float]:
    """value -> drawing position, read from the axis tick labels themselves."""
    (group,) = by_class(root, axis)
    ticks = [t for t in group.iter(f"{SVG}text") if t.get("class") == "tick"]
    if axis == "y-axis":
        return {float(t.get("data-value")): float(t.get("y")) - 4 for t in ticks}
    return {float(t.get("data-value")): float(t.get("x")) for t in ticks}


def position(ticks: dict[float, float], value: float) -> float:
    """Linear interpolation through the two extreme ticks (the scale must be linear)."""
    (v0, p0), (v1, p1) = min(ticks.items()), max(ticks.items())
    return p0 + (value - v0) * (p1 - p0) / (v1 - v0)


def centre(mark: ET.Element) -> tuple[float, float]:
    if mark.get("cx") is not None and mark.get("cy") is not None:
        return float(mark.get("cx")), float(mark.get("cy"))
    return float(mark.get("data-cx")), float(mark.get("data-cy"))


def path_points(d: str) -> list[tuple[float, float]]:
    return [(float(x), float(y)) for x, y in re.findall(r"[ML](-?[\d.]+),(-?[\d.]+)", d)]


def assert_accessible(root: ET.Element, words: str) -> None:
    assert root.tag == f"{SVG}svg"
    assert root.get("role") == "img"
    title = root.find("s:title", NS)
    desc = root.find("s:desc", NS)
    assert title is not None and words in title.text
    assert desc is not None and len(desc.text) > 20
    assert root.get("aria-labelledby").split() == [title.get("id"), desc.get("id")]
    # Self-contained: no scripts, no links, no fonts or images from anywhere.
    markup = ET.tostring(root, encoding="unicode")
    assert root.find(".//s:script", NS) is None
    assert "href" not in markup and "http://" not in markup.replace(NS["s"], "")
    assert "https://" not in markup and "@import" not in markup
    # Readable on a phone: the drawing box is phone-width and no text is tiny.
    width = float(root.get("viewBox").split()[2])
    assert width <= 400
    for t in root.iter(f"{SVG}text"):
        size = t.get("font-size") or root.get("font-size")
        assert float(size) >= 11, ET.tostring(t, encoding="unicode")


def legend_words(root: ET.Element) -> list[str]:
    (key,) = by_class(root, "legend")
    return [t.text for t in key.iter(f"{SVG}text")]


# Outcome chart ----------------------------------------------------------------------------

SESSIONS = [1, 2, 3, 4, 5, 6, 7, 8]
SCORES = [18, 17, None, 12, 11, float("nan"), None, 25]
LOW = [None, 14, 13, 12, 11, 10, 9, 8]
HIGH = [None, 20, 19, 18, 17, 16, 15, 14]


def test_outcome_chart_is_accessible_and_self_contained():
    root = parse(outcome_chart(SESSIONS, SCORES, expected_low=LOW, expected_high=HIGH))
    assert_accessible(root, "PHQ-9")
    desc = root.find("s:desc", NS).text
    for s, v in zip(SESSIONS, SCORES, strict=True):
        if v is not None and not math.isnan(v):
            assert f"session {s}: {v}" in desc


def test_outcome_points_sit_on_their_session_and_score():
    root = parse(outcome_chart(SESSIONS, SCORES))
    ys, xs = tick_map(root, "y-axis"), tick_map(root, "x-axis")
    points = by_class(root, "score")
    expected = {s: v for s, v in zip(SESSIONS, SCORES, strict=True) if v is not None and not math.isnan(v)}
    assert {int(p.get("data-session")): float(p.get("data-value")) for p in points} == expected
    for p in points:
        x, y = centre(p)
        assert x == pytest.approx(position(xs, float(p.get("data-session"))), abs=0.02)
        assert y == pytest.approx(position(ys, float(p.get("data-value"))), abs=0.02)
        assert p.find("s:title", NS).text.startswith(f"session {p.get('data-session')}:")


def test_missing_sessions_are_gaps_in_the_line():
    root = parse(outcome_chart(SESSIONS, SCORES))
    lines = by_class(root, "score-line")
    # Runs with a score: 1-2, 4-5, 8 (alone, so no line).
    assert [line.get("data-sessions") for line in lines] == ["1 2", "4 5"]
    xs = tick_map(root, "x-axis")
    for line in lines:
        drawn = [x for x, _ in path_points(line.get("d"))]
        sessions = [int(s) for s in line.get("data-sessions").split()]
        assert drawn == pytest.approx([position(xs, s) for s in sessions], abs=0.02)
    # A session number that is skipped altogether also breaks the line.
    root = parse(outcome_chart([1, 2, 5, 6], [15, 14, 12, 11]))
    assert [line.get("data-sessions") for line in by_class(root, "score-line")] == ["1 2", "5 6"]
    assert "No score at sessions 3 and 4" in root.find("s:desc", NS).text


def test_expected_range_band_follows_low_and_high():
    root = parse(outcome_chart(SESSIONS, SCORES, expected_low=LOW, expected_high=HIGH))
    (band,) = by_class(root, "expected-range")
    ys, xs = tick_map(root, "y-axis"), tick_map(root, "x-axis")
    drawn = path_points(band.get("d"))
    sessions = SESSIONS[1:]
    want = [(position(xs, s), position(ys, HIGH[s - 1])) for s in sessions]
    want += [(position(xs, s), position(ys, LOW[s - 1])) for s in reversed(sessions)]
    assert drawn == [pytest.approx(p, abs=0.02) for p in want]
    assert "expected range" in legend_words(root)
    # Without a band none is drawn and the legend does not mention one.
    root = parse(outcome_chart(SESSIONS, SCORES))
    assert by_class(root, "expected-range") == []
    assert "expected range" not in legend_words(root)


def test_caseness_line_comes_from_the_instrument_definition():
    for name in ("phq9", "gad7"):
        cut = cutoff_for(get_instrument(name))
        root = parse(outcome_chart([1, 2], [5, 6], instrument=name))
        (line_group,) = by_class(root, "caseness")
        line = line_group.find("s:line", NS)
        assert float(line.get("y1")) == pytest.approx(position(tick_map(root, "y-axis"), cut.value), abs=0.02)
        assert float(line_group.get("data-value")) == cut.value
        assert cut.tag in line_group.find("s:title", NS).text


def expected_marks(name: str, scores: list[float]) -> tuple[list[int], list[int]]:
    """Reliable change from the first score, worked out here from the published threshold."""
    inst = get_instrument(name)
    t = threshold_for(inst)
    sign = -1 if inst.direction == "lower_is_better" else 1
    first = scores[0]

    def beyond(change: float) -> bool:
        return change >= t.points if t.rule == ">=" else change > t.points

    better = [i + 1 for i, v in enumerate(scores) if i > 0 and beyond(sign * (v - first))]
    worse = [i + 1 for i, v in enumerate(scores) if i > 0 and beyond(-sign * (v - first))]
    return better, worse


@pytest.mark.parametrize(
    ("name", "scores"),
    [
        ("phq9", [18, 15, 12, 11, 19, 25, 6, 24]),
        ("gad7", [9, 5, 4, 14, 13, 12, 2, 10]),
        ("ors", [20, 24, 26, 15, 14, 30, 31, 19]),  # higher is better
    ],
)
def test_reliable_change_marks_are_on_the_right_sessions(name, scores):
    better, worse = expected_marks(name, scores)
    assert better and worse  # the examples exercise both kinds of mark
    root = parse(outcome_chart(list(range(1, 9)), scores, instrument=name))
    assert [int(m.get("data-session")) for m in by_class(root, "reliable-improvement")] == better
    assert [int(m.get("data-session")) for m in by_class(root, "reliable-deterioration")] == worse
    points = {p.get("data-session"): centre(p) for p in by_class(root, "score")}
    for mark in by_class(root, "reliable-improvement") + by_class(root, "reliable-deterioration"):
        assert centre(mark) == pytest.approx(points[mark.get("data-session")])
    words = legend_words(root)
    assert "reliably better since session 1" in words and "reliably worse since session 1" in words


def test_reliable_change_counts_from_the_first_score_present():
    root = parse(outcome_chart([1, 2, 3], [None, 20, 12]))
    assert [m.get("data-session") for m in by_class(root, "reliable-improvement")] == ["3"]
    assert "since session 2" in " ".join(legend_words(root))


@pytest.mark.parametrize(
    "kwargs",
    [
        {"sessions": [1, 2], "scores": [1]},
        {"sessions": [2, 1], "scores": [1, 2]},
        {"sessions": [], "scores": []},
        {"sessions": [1, 2], "scores": [1, "x"]},
        {"sessions": [1, 2], "scores": [1, 2], "expected_low": [1]},
    ],
)
def test_outcome_chart_rejects_bad_input(kwargs):
    with pytest.raises(InvalidInputError):
        outcome_chart(**kwargs)


@settings(max_examples=40, deadline=None)
@given(st.lists(st.one_of(st.none(), st.integers(0, 27)), min_size=1, max_size=30))
def test_every_score_is_drawn_inside_the_plot(values):
    sessions = list(range(1, len(values) + 1))
    root = parse(outcome_chart(sessions, values))
    points = by_class(root, "score")
    assert len(points) == sum(v is not None for v in values)
    ys = tick_map(root, "y-axis")
    for p in points:
        _, y = centre(p)
        assert position(ys, 27) - 0.01 <= y <= position(ys, 0) + 0.01


# Relationship chart ------------------------------------------------------------------------

CLIENT = [8.5, 8.8, 9.0, None, 6.1, 7.0, 8.2, 8.8]
THERAPIST = [9.0, 9.0, 9.2, 9.1, 9.0, None, 9.3, 9.4]


def test_relationship_chart_draws_both_series_on_one_scale():
    root = parse(relationship_chart(SESSIONS, CLIENT, THERAPIST, ruptures=[5], baseline=(8.1, 9.3)))
    assert_accessible(root, "Check-in")
    ys, xs = tick_map(root, "y-axis"), tick_map(root, "x-axis")
    for who, values in (("client", CLIENT), ("therapist", THERAPIST)):
        marks = by_class(root, who)
        assert [int(m.get("data-session")) for m in marks] == [
            s for s, v in zip(SESSIONS, values, strict=True) if v is not None
        ]
        for m in marks:
            x, y = centre(m)
            assert x == pytest.approx(position(xs, int(m.get("data-session"))), abs=0.02)
            assert y == pytest.approx(position(ys, float(m.get("data-value"))), abs=0.02)
    # Client circles and therapist squares differ in shape, not only colour.
    assert {m.tag for m in by_class(root, "client")} == {f"{SVG}circle"}
    assert {m.tag for m in by_class(root, "therapist")} == {f"{SVG}rect"}
    assert [line.get("data-sessions") for line in by_class(root, "client-line")] == ["1 2 3", "5 6 7 8"]
    assert [line.get("data-sessions") for line in by_class(root, "therapist-line")] == ["1 2 3 4 5", "7 8"]
    assert {"client's check-in", "therapist's estimate", "client's usual range", "possible rupture"} <= set(
        legend_words(root)
    )


def test_rupture_marks_sit_on_their_sessions():
    root = parse(relationship_chart(SESSIONS, CLIENT, THERAPIST, ruptures=[7, 5, 5]))
    marks = by_class(root, "rupture")
    assert [m.get("data-session") for m in marks] == ["5", "7"]
    xs = tick_map(root, "x-axis")
    for m in marks:
        line = m.find("s:line", NS)
        assert float(line.get("x1")) == pytest.approx(position(xs, int(m.get("data-session"))), abs=0.02)
        assert "rupture" in m.find("s:title", NS).text
    assert "Possible rupture at sessions 5 and 7" in root.find("s:desc", NS).text
    assert by_class(parse(relationship_chart(SESSIONS, CLIENT)), "rupture") == []


def test_baseline_band_spans_the_clients_usual_range():
    root = parse(relationship_chart(SESSIONS, CLIENT, baseline=(7.5, 9.25)))
    (band,) = by_class(root, "baseline")
    rect = band.find("s:rect", NS)
    ys = tick_map(root, "y-axis")
    assert float(rect.get("y")) == pytest.approx(position(ys, 9.25), abs=0.02)
    assert float(rect.get("y")) + float(rect.get("height")) == pytest.approx(position(ys, 7.5), abs=0.02)
    assert by_class(parse(relationship_chart(SESSIONS, CLIENT)), "baseline") == []


@pytest.mark.parametrize(
    "kwargs", [{"ruptures": [9]}, {"ruptures": [0]}, {"baseline": (9, 8)}, {"baseline": (-1, 8)}]
)
def test_relationship_chart_rejects_bad_input(kwargs):
    with pytest.raises(InvalidInputError):
        relationship_chart(SESSIONS, CLIENT, **kwargs)


# Supervisor chart --------------------------------------------------------------------------

TEAM = [
    TherapistOutcome("A. Okafor", 12, 20),
    TherapistOutcome("S. Lee", 30, 58),
    TherapistOutcome("J. Park", 3, 9),
    TherapistOutcome("New starter", 0, 0),
]


def wilson_by_hand(k: int, n: int, z: float = 1.959963984540054) -> tuple[float, float]:
    p = k / n
    centre_ = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z / (1 + z * z / n) * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return centre_ - half, centre_ + half


@pytest.mark.parametrize(("k", "n"), [(0, 5), (5, 5), (12, 20), (1, 1), (30, 58)])
def test_wilson_interval_matches_the_formula(k, n):
    rate = wilson_interval(k, n)
    assert (rate.low, rate.high) == pytest.approx(wilson_by_hand(k, n), abs=1e-9)
    assert 0 <= rate.low <= rate.value <= rate.high <= 1


def test_therapists_are_ordered_by_n_with_intervals_and_no_ranks():
    root = parse(therapist_outcomes_chart(TEAM))
    assert_accessible(root, "rate per therapist")
    rows = by_class(root, "therapist")
    assert [r.get("data-label") for r in rows] == ["S. Lee", "A. Okafor", "J. Park", "New starter"]
    xs = tick_map(root, "x-axis")
    for row in rows[:3]:
        k, n = int(row.get("data-successes")), int(row.get("data-n"))
        low, high = wilson_by_hand(k, n)
        (interval,) = by_class(row, "interval")
        assert float(interval.get("x1")) == pytest.approx(position(xs, low), abs=0.02)
        assert float(interval.get("x2")) == pytest.approx(position(xs, high), abs=0.02)
        (dot,) = by_class(row, "rate")
        assert float(dot.get("cx")) == pytest.approx(position(xs, k / n), abs=0.02)
        label = row.find("s:text", NS).text
        assert f"n = {n}" in label and f"{100 * k / n:.0f}%" in label
    assert by_class(rows[3], "interval") == []
    (team,) = by_class(root, "team-rate")
    assert float(team.get("data-value")) == pytest.approx(45 / 87)
    markup = ET.tostring(root, encoding="unicode")
    assert not re.search(r"\b(rank|1st|2nd|top|best|worst)\b", markup, re.IGNORECASE)


def test_supervisor_chart_rejects_impossible_counts():
    with pytest.raises(InvalidInputError):
        therapist_outcomes_chart([TherapistOutcome("X", 5, 3)])
    with pytest.raises(InvalidInputError):
        wilson_interval(0, 0)


# Client's own chart ------------------------------------------------------------------------


def test_progress_chart_writes_each_score_beside_its_point():
    root = parse(progress_chart([1, 2, 3, 4, 5, 6], [19, 17, None, 12, 10, 8]))
    assert_accessible(root, "Your PHQ-9 answers")
    ys, xs = tick_map(root, "y-axis"), tick_map(root, "x-axis")
    points = by_class(root, "score")
    labels = by_class(root, "value-label")
    assert [p.get("data-value") for p in points] == ["19", "17", "12", "10", "8"]
    assert [t.text for t in labels] == ["19", "17", "12", "10", "8"]
    for p, t in zip(points, labels, strict=True):
        x, y = centre(p)
        assert x == pytest.approx(position(xs, int(p.get("data-session"))), abs=0.02)
        assert y == pytest.approx(position(ys, float(p.get("data-value"))), abs=0.02)
        assert float(t.get("x")) == pytest.approx(x)
    summary = " ".join(t.text for t in by_class(root, "summary")[0].iter(f"{SVG}text"))
    assert "Lower scores mean" in summary and "19" in summary and "8" in summary
    # No clinical overlays on the client's own chart.
    for name in ("caseness", "expected-range", "reliable-improvement", "reliable-deterioration"):
        assert by_class(root, name) == []


def test_charts_on_one_page_have_distinct_ids():
    a = parse(outcome_chart([1, 2], [10, 9], chart_id="c1-outcome"))
    b = parse(outcome_chart([1, 2], [10, 9], chart_id="c2-outcome"))
    ids_a = {e.get("id") for e in a.iter() if e.get("id")}
    ids_b = {e.get("id") for e in b.iter() if e.get("id")}
    assert ids_a and not ids_a & ids_b


def test_long_therapist_names_are_shortened_on_the_row_but_whole_in_its_title():
    name = "Dr Bartholomew Featherstonehaugh-Smythe"
    root = parse(therapist_outcomes_chart([TherapistOutcome(name, 4, 10)]))
    (row,) = by_class(root, "therapist")
    shown_label = row.find("s:text", NS).text
    assert name not in shown_label and shown_label.startswith(name[:10]) and "n = 10" in shown_label
    assert row.find("s:title", NS).text.startswith(name)
    assert name in root.find("s:desc", NS).text


def test_any_measure_is_charted_from_its_definition_with_no_invented_cut_off():
    """One chart function for every measure: AUDIT-C's range 0-12 and its caseness line of 3
    from its definition; PHQ-4 has no cut-off for its total recorded, so none is drawn and the
    chart says so; both say which way is better."""
    audit = outcome_chart([1, 2, 3], [8, 6, 4], instrument="auditc", chart_id="outcome-auditc")
    assert 'data-value="3" data-rule="&gt;="' in audit and "AUDIT-C score (lower is better)" in audit
    assert 'class="tick" data-value="12"' in audit and "no caseness cut-off" not in audit
    phq4 = outcome_chart([1, 2], [9, 5], instrument="phq4", chart_id="outcome-phq4")
    assert 'class="caseness"' not in phq4 and "no caseness cut-off recorded" in phq4
    assert "PHQ-4 score (lower is better)" in phq4 and 'class="tick" data-value="12"' in phq4
    assert "reliable-improvement" not in phq4, "no reliable-change marks without published parameters"
