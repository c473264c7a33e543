"""'One approach for everyone': the caseload check finds a one-size-fits-all caseload, a tailored
one and a varied but untailored one, and its statistic matches the closed-form formula."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats.contingency import association

from attunement.errors import InvalidInputError
from attunement.profile import Profile
from attunement.tailoring.approach_check import check_approaches, cramers_v, load_settings


def caseload(approach_for, n_clients=12, sessions=4):
    """Profiles alternate reactance high/low and stage precontemplation/action independently."""
    profiles = {
        f"c{i:02d}": Profile(
            reactance="high" if i % 2 else "low", stage="action" if i % 4 < 2 else "precontemplation"
        )
        for i in range(n_clients)
    }
    rows = [
        {"client_id": cid, "session": s, "approach": approach_for(i, p)}
        for i, (cid, p) in enumerate(profiles.items())
        for s in range(1, sessions + 1)
    ]
    return rows, profiles


def dimension(result, name):
    return next(d for d in result.dimensions if d.dimension == name)


def test_one_approach_for_everyone_is_detected():
    rows, profiles = caseload(lambda i, p: "CBT protocol")
    result = check_approaches(rows, profiles)
    assert result.verdict == "one_approach"
    assert "all 12 clients" in result.text and "CBT protocol" in result.text
    assert "[unverified: recalled]" in result.text  # the task-force listing is not yet verified
    assert all(d.verdict == "does_not_vary" for d in result.dimensions)


def test_a_tailored_caseload_is_recognised_with_its_numbers():
    rows, profiles = caseload(lambda i, p: "client-led" if p.reactance.value == "high" else "directive")
    result = check_approaches(rows, profiles)
    assert result.verdict == "tailored"
    reactance = dimension(result, "reactance")
    # 6 vs 6 clients, perfectly separated: chi-square = n = 12, V = 1 (closed form below).
    assert reactance.verdict == "varies"
    assert reactance.cramers_v == pytest.approx(1.0) and reactance.chi2 == pytest.approx(12.0)
    assert reactance.table == {
        "high": {"client-led": 6, "directive": 0},
        "low": {"client-led": 0, "directive": 6},
    }
    assert dimension(result, "stage").verdict == "does_not_vary"
    assert "reactance" in result.text and "V = 1.00" in result.text


def test_varied_approaches_that_ignore_profiles_are_not_called_tailored():
    # Approach follows the client's position in the list, which is independent of both dimensions.
    rows, profiles = caseload(lambda i, p: "A" if i < 6 else "B", n_clients=12)
    # The same mix of profiles within each approach: h/a, l/a, h/a, l/p, h/p, l/p, twice.
    stages = ["action"] * 3 + ["precontemplation"] * 3
    profiles = {
        cid: Profile(reactance=("high", "low")[i % 2], stage=stages[i % 6]) for i, cid in enumerate(profiles)
    }
    result = check_approaches(rows, profiles)
    assert result.verdict == "not_tailored"
    assert all(d.cramers_v < load_settings().min_v.value for d in result.dimensions)


def test_a_small_association_that_could_be_chance_is_reported_as_unclear():
    # 2 x 2 table [[2, 1], [1, 2]]: chi-square = 6 * 3^2 / 3^4 = 0.667, V = 0.333, p = .41.
    approaches = ["A", "A", "B", "A", "B", "B"]
    profiles = {f"c{i}": Profile(reactance="high" if i < 3 else "low") for i in range(6)}
    rows = [{"client_id": f"c{i}", "approach": a} for i, a in enumerate(approaches)]
    result = check_approaches(rows, profiles)
    reactance = dimension(result, "reactance")
    assert reactance.cramers_v == pytest.approx(1 / 3) and reactance.chi2 == pytest.approx(2 / 3)
    assert reactance.verdict == "possibly" and reactance.approximate
    assert result.verdict == "unclear"


def test_each_client_counts_once_however_many_sessions_they_had():
    rows, profiles = caseload(
        lambda i, p: "client-led" if p.reactance.value == "high" else "directive", sessions=1
    )
    many, _ = caseload(lambda i, p: "client-led" if p.reactance.value == "high" else "directive", sessions=30)
    few, lots = check_approaches(rows, profiles), check_approaches(many, profiles)
    assert few.clients == lots.clients == 12 and lots.sessions == 360
    assert dimension(few, "reactance").chi2 == pytest.approx(dimension(lots, "reactance").chi2)


def test_the_predominant_approach_stands_for_the_client_and_ties_are_noted():
    rows = [
        {"client_id": "a", "approach": "CBT"},
        {"client_id": "a", "approach": "CBT"},
        {"client_id": "a", "approach": "MI"},
        {"client_id": "b", "approach": "MI"},
        {"client_id": "b", "approach": "CBT"},
    ]
    result = check_approaches(rows, {"a": Profile(reactance="low"), "b": Profile(reactance="high")})
    assert result.approaches == {"CBT": 2}  # a mostly CBT; b tied, CBT first alphabetically
    assert any("equally often" in n for n in result.notes)


def test_profiles_may_come_as_a_table():
    rows, profiles = caseload(lambda i, p: "client-led" if p.reactance.value == "high" else "directive")
    table = pd.DataFrame([{"client_id": cid, **p.categories()} for cid, p in profiles.items()])
    assert check_approaches(pd.DataFrame(rows), table).verdict == "tailored"


def test_missing_columns_are_refused():
    with pytest.raises(InvalidInputError, match="client_id and approach"):
        check_approaches([{"client_id": "a", "therapy": "CBT"}], {})


# Closed form for a 2 x 2 table [[a, b], [c, d]] (Pearson's chi-square without continuity
# correction; Cramér's V equals |phi| = |ad - bc| / sqrt((a+b)(c+d)(a+c)(b+d))).
TABLES_2X2 = [(10, 0, 0, 10), (8, 2, 3, 7), (5, 5, 5, 5), (12, 3, 4, 9), (1, 6, 7, 2)]


@pytest.mark.parametrize("cells", TABLES_2X2)
def test_cramers_v_matches_the_closed_form_for_two_by_two_tables(cells):
    a, b, c, d = cells
    n = a + b + c + d
    denom = (a + b) * (c + d) * (a + c) * (b + d)
    v, chi2, dof, _, _ = cramers_v(np.array([[a, b], [c, d]]))
    assert chi2 == pytest.approx(n * (a * d - b * c) ** 2 / denom)
    assert v == pytest.approx(abs(a * d - b * c) / math.sqrt(denom))
    assert dof == 1


@settings(max_examples=40, deadline=None)
@given(
    st.lists(
        st.lists(st.integers(min_value=1, max_value=30), min_size=2, max_size=4), min_size=2, max_size=4
    ).filter(lambda rows: len({len(r) for r in rows}) == 1)
)
def test_cramers_v_agrees_with_scipy_and_stays_between_0_and_1(rows):
    table = np.array(rows)
    v = cramers_v(table)[0]
    assert 0 <= v <= 1
    assert v == pytest.approx(association(table, method="cramer", correction=False))
    assert cramers_v(table[:, ::-1])[0] == pytest.approx(v)  # relabelling approaches changes nothing


def test_ways_of_working_chosen_at_random_are_rarely_called_tailored():
    """Every profile dimension is tested at once: without adjusting for that, random ways of
    working in a caseload of 20 were called tailored in 111 of 200 caseloads; with Holm's
    adjustment, 4."""
    from attunement.profile.model import CATEGORIES

    dims = list(CATEGORIES)
    called = 0
    for seed in range(40):
        rng = np.random.default_rng(seed)
        clients = [f"c{i}" for i in range(20)]
        profiles = pd.DataFrame(
            {"client_id": clients, **{d: rng.choice(list(CATEGORIES[d]), size=20) for d in dims}}
        )
        sessions = [
            {"client_id": c, "approach": str(rng.choice(["skills", "insight", "integrative"]))}
            for c in clients
            for _ in range(4)
        ]
        called += check_approaches(sessions, profiles).verdict == "tailored"
    assert called <= 4  # about 22 of 40 without the adjustment
