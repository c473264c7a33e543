"""Sudden gains and losses (Tang & DeRubeis 1999): hand-worked windows, edges, mirroring, real data, CLI.

Published reference numbers come from the suddengains R package (Wiedemann, Thew, Stott & Ehlers
2020, PLOS ONE, doi:10.1371/journal.pone.0230276; github.com/milanwiedemann/suddengains, MIT),
whose example data ``sgdata`` is in ../shared/external/suddengains/.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import hypothesis.strategies as st
import numpy as np
import pandas as pd
import pytest
from hypothesis import example, given, settings
from scipy import stats
from typer.testing import CliRunner

from attunement.change.sudden_gains import (
    EVENT_COLUMNS,
    critical_values,
    find_sudden_gains,
    load_parameters,
    reliable_change_cutoff,
)
from attunement.cli import app
from attunement.errors import InvalidInputError

EXTERNAL = Path(__file__).resolve().parents[2] / "shared" / "external"
SGDATA = EXTERNAL / "suddengains" / "sgdata.csv"


def series(values: list[float | None], client: str = "c1", first_session: int = 1) -> pd.DataFrame:
    """One client's scores at consecutive session numbers; ``None`` is a missing session (no row)."""
    rows = [
        {"client_id": client, "session": first_session + i, "score": v}
        for i, v in enumerate(values)
        if v is not None
    ]
    return pd.DataFrame(rows, columns=["client_id", "session", "score"])


def gains_at(values: list[float | None], cutoff: float = 7, **options) -> list[int]:
    return find_sudden_gains(series(values), cutoff, **options).events["pregain_session"].tolist()


# --- Parameters and critical values -------------------------------------------------------------


@pytest.mark.parametrize(
    ("case", "published"),
    # Critical values of criterion 3 for 3+3, 3+2 / 2+3 and 2+2 available scores (Tang & DeRubeis 1999;
    # Lutz et al. 2013), as listed in the suddengains documentation (create_bysg, sg_crit3_adjust) and in
    # prediction.md section 8.
    [((3, 3), 2.776), ((3, 2), 3.182), ((2, 3), 3.182), ((2, 2), 4.303)],
)
def test_critical_values_match_the_published_table(case, published):
    assert critical_values(0.05, 3, 2)[case] == pytest.approx(published, abs=5e-4)


def test_parameter_file_holds_the_published_values_with_sources():
    params = load_parameters()
    # Tang & DeRubeis 1999 as implemented in suddengains: sg_crit2_pct = .25, reversal value =
    # x_(n+1) + magnitude / 2, examples with sg_crit1_cutoff = 7 BDI points, sg_crit3_alpha = .05.
    assert params.relative_criterion.value == 0.25
    assert params.reversal_fraction.value == 0.5
    assert params.original_bdi_cutoff.value == 7
    assert params.criterion3_alpha.value == 0.05
    for entry in (params.relative_criterion, params.reversal_fraction, params.original_bdi_cutoff):
        assert "Tang & DeRubeis 1999" in entry.source


# --- Hand-worked window cases -------------------------------------------------------------------


def test_three_plus_three_gain_and_the_evaluable_intervals():
    # Sessions 1-6: 20 22 21 | 10 11 9. Interval 3->4: drop 11 >= 7 and >= 25% of 21 (5.25);
    # pre mean 21 (SD 1), post mean 10 (SD 1), pooled SD 1; 21 - 10 = 11 > 2.776 * 1.
    # Evaluable: 2->3, 3->4, 4->5 (1->2 has one pre score, 5->6 one post score).
    result = find_sudden_gains(series([20, 22, 21, 10, 11, 9]), 7)
    (gain,) = result.events.to_dict("records")
    assert (gain["pregain_session"], gain["postgain_session"]) == (3, 4)
    assert (gain["pregain_score"], gain["postgain_score"], gain["size"]) == (21, 10, 11)
    assert gain["relative_size"] == pytest.approx(11 / 21)
    assert (gain["pre_mean"], gain["post_mean"], gain["n_pre"], gain["n_post"]) == (21, 10, 3, 3)
    assert gain["critical_value"] == pytest.approx(2.776, abs=5e-4)
    assert result.summary.intervals_evaluable == 3
    assert result.summary.gains == 1 and result.summary.losses is None


def test_three_plus_three_fails_on_stability_alone():
    # 28 18 23 | 12 13 14: drop 11 and 11 >= 5.75 pass; pre mean 23 (var 25), post mean 13 (var 1),
    # pooled SD sqrt((2*25 + 2*1)/4) = 3.606; 2.776 * 3.606 = 10.01 > 23 - 13 = 10: no gain.
    assert gains_at([28, 18, 23, 12, 13, 14]) == []


@pytest.mark.parametrize(
    ("post", "expected"),
    # suddengains tests/testthat/test-identify_sg.R, "Identify sg works 1", rows 1 and 2: pre 28 19 23,
    # post 12 13 (third post score missing) is not a gain at 3->4; post 11 12 is.
    # By hand: pooled SD sqrt((2*20.33 + 0.5)/3) = 3.704, 3.182 * 3.704 = 11.79;
    # 23.33 - 12.5 = 10.83 fails, 23.33 - 11.5 = 11.83 passes.
    [([12, 13], []), ([11, 12], [3])],
)
def test_three_plus_two(post, expected):
    assert gains_at([28, 19, 23, *post, None]) == expected
    events = find_sudden_gains(series([28, 19, 23, 11, 12, None]), 7).events
    assert (events["n_pre"].item(), events["n_post"].item()) == (3, 2)
    assert events["critical_value"].item() == pytest.approx(3.182, abs=5e-4)


def test_two_plus_three_passes_and_fails_by_hand():
    # Pass: _ 24 20 | 12 11 13: drop 8 >= 7, >= 5; pre mean 22 (var 8), post mean 12 (var 1);
    # pooled sqrt((8 + 2)/3) = 1.826, 3.182 * 1.826 = 5.81 < 10.
    assert gains_at([None, 24, 20, 12, 11, 13]) == [3]
    # Fail: _ 30 20 | 12 11 13: pre mean 25 (var 50); pooled sqrt((50 + 2)/3) = 4.163;
    # 3.182 * 4.163 = 13.25 > 13, so no gain (2.776 would have passed it: 11.56 < 13).
    assert gains_at([None, 30, 20, 12, 11, 13]) == []
    assert gains_at([None, 30, 20, 12, 11, 13], adjust_for_missing=False) == [3]


def test_two_plus_two_passes_and_fails_by_hand():
    # suddengains test-create_bysg.R, id 18: _ 38 35 | 24 _ 22 is a gain at 3->4 (magnitude 11).
    # By hand: pre mean 36.5 (var 4.5), post mean 23 (var 2), pooled sqrt(6.5/2) = 1.803,
    # 4.303 * 1.803 = 7.76 < 13.5.
    events = find_sudden_gains(series([None, 38, 35, 24, None, 22]), 7).events
    assert events[["pregain_session", "size", "n_pre", "n_post"]].values.tolist() == [[3, 11, 2, 2]]
    assert events["critical_value"].item() == pytest.approx(4.303, abs=5e-4)
    # Fail: _ 30 22 | 14 _ 12: pre mean 26 (var 32), post mean 13 (var 2), pooled sqrt(17) = 4.123,
    # 4.303 * 4.123 = 17.74 > 13.
    assert gains_at([None, 30, 22, 14, None, 12]) == []


def test_a_missing_session_is_not_closed_up():
    # 30 31 30 _ 10 11 9: the 30 -> 10 drop spans the missing session 4, so it is no interval at all.
    # Evaluable: 2->3 (pre 30 31, post 30 _ 10) and 5->6 (pre 30 _ 10, post 11 9); 3->4 and 4->5 lack
    # a score, 6->7 has one post score.
    result = find_sudden_gains(series([30, 31, 30, None, 10, 11, 9]), 7)
    assert result.events.empty
    assert result.summary.intervals_evaluable == 2


def test_a_missing_score_counts_as_a_missing_session():
    frame = series([20, 22, 21, 10, 11, 9])
    frame.loc[frame["session"] == 4, "score"] = np.nan
    result = find_sudden_gains(frame, 7)
    assert result.events.empty


def test_gain_exactly_at_the_cutoff_and_exactly_25_percent_counts():
    # 29 30 28 | 21 20 22: drop 7 = cut-off 7 and 7 = 25% of 28; pooled SD 1, 29 - 21 = 8 > 2.776.
    assert gains_at([29, 30, 28, 21, 20, 22]) == [3]
    # One point less (drop 6) meets neither.
    assert gains_at([29, 30, 28, 22, 21, 23]) == []
    # Cut-off 6 but drop 6 < 25% of 28 = 7: the relative criterion alone rejects it.
    assert gains_at([29, 30, 28, 22, 21, 23], cutoff=6) == []


def test_inclusive_edges_hold_for_scores_with_decimals():
    # 10.4 -> 7.8 is a drop of exactly 2.6 = 25% of 10.4, with a cut-off of 2.6.
    assert gains_at([10.6, 10.2, 10.4, 7.8, 7.6, 8.0], cutoff=2.6) == [3]


# --- Reversals ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("later", "reversed_at"),
    # Gain 21 -> 10 (size 11): reversal threshold 10 + 50% of 11 = 15.5, crossed only when strictly above.
    [([16], 7), ([15.5], None), ([15, 12], None), ([14, 16, 20], 8)],
)
def test_reversal_when_a_later_score_goes_back_above_half_the_gain(later, reversed_at):
    events = find_sudden_gains(series([20, 22, 21, 10, 11, 9, *later]), 7).events
    gain = events[events["pregain_session"] == 3].iloc[0]
    assert gain["reversal_threshold"] == 15.5
    assert bool(gain["reversal"]) is (reversed_at is not None)
    assert (None if pd.isna(gain["reversal_session"]) else gain["reversal_session"]) == reversed_at


def test_reversal_can_happen_two_sessions_after_the_gain():
    # 20 22 21 | 10 16 9: post mean 11.67 (var 14.33), pooled 2.769, 2.776 * 2.769 = 7.69 < 9.33, a gain;
    # session 5 (16 > 15.5) already reverses it. The gain is reported, not dropped.
    (gain,) = find_sudden_gains(series([20, 22, 21, 10, 16, 9]), 7).events.to_dict("records")
    assert (gain["pregain_session"], gain["reversal"], gain["reversal_session"]) == (3, True, 5)


# --- Losses and direction -----------------------------------------------------------------------


def test_a_sudden_loss_mirrors_a_gain():
    # 10 8 9 | 20 21 19: rise 11 >= 7 and >= 25% of 9; pooled SD 1; 20 - 9 = 11 > 2.776.
    # Reversal threshold 20 - 5.5 = 14.5; session 7 (14) goes back below it.
    result = find_sudden_gains(series([10, 8, 9, 20, 21, 19, 14]), 7, gains=True, losses=True)
    (loss,) = result.events.to_dict("records")
    assert (loss["kind"], loss["pregain_session"], loss["size"]) == ("loss", 3, 11)
    assert (loss["reversal_threshold"], loss["reversal_session"]) == (14.5, 7)
    assert (result.summary.gains, result.summary.losses, result.summary.loss_reversals) == (0, 1, 1)


def test_higher_is_better_turns_a_rise_into_a_gain():
    result = find_sudden_gains(series([10, 8, 9, 20, 21, 19]), 7, direction="higher_is_better")
    assert result.events[["kind", "pregain_session"]].values.tolist() == [["gain", 3]]


scores = st.lists(st.one_of(st.none(), st.integers(0, 40)), min_size=1, max_size=12)
caseloads = st.lists(scores, min_size=1, max_size=5)


def caseload_frame(values: list[list[int | None]], transform=lambda x: x) -> pd.DataFrame:
    return pd.concat(
        [
            series([None if v is None else transform(v) for v in s], client=f"c{i}")
            for i, s in enumerate(values)
        ],
        ignore_index=True,
    )


def comparable(events: pd.DataFrame) -> list[tuple]:
    columns = [
        "client_id",
        "pregain_session",
        "size",
        "relative_size",
        "critical_value",
        "reversal",
        "reversal_session",
    ]
    return [tuple(None if pd.isna(v) else v for v in row) for row in events[columns].itertuples(index=False)]


@settings(max_examples=60, deadline=None)
@given(caseloads, st.sampled_from([3, 5, 7]))
@example([[20, 22, 21, 10, 16, 9, 17], [None, 38, 35, 24, None, 22]], 7)
@example([[29, 30, 28, 22, 21, 23]], 5)  # a drop of 6 fails only the relative criterion (25% of 28 = 7)
def test_negated_scores_turn_gains_into_losses(values, cutoff):
    gains = find_sudden_gains(caseload_frame(values), cutoff).events
    losses = find_sudden_gains(caseload_frame(values, lambda v: -v), cutoff, gains=False, losses=True).events
    assert comparable(gains) == comparable(losses)
    assert set(losses["kind"]) <= {"loss"}


@settings(max_examples=60, deadline=None)
@given(caseloads, st.sampled_from([3, 5, 7]))
@example([[20, 22, 21, 10, 16, 9, 17], [None, 38, 35, 24, None, 22]], 7)
def test_scores_mirrored_on_the_scale_turn_gains_into_losses(values, cutoff):
    # Reflecting 0..40 to 40..0 keeps every change's size; the relative criterion refers to the level
    # of the pre-gain score, which the reflection changes, so it is set aside here.
    gains = find_sudden_gains(caseload_frame(values), cutoff, relative=0).events
    mirrored = caseload_frame(values, lambda v: 40 - v)
    losses = find_sudden_gains(mirrored, cutoff, relative=0, gains=False, losses=True).events
    columns = ["client_id", "pregain_session", "size", "reversal", "reversal_session"]
    assert gains[columns].values.tolist() == losses[columns].values.tolist()


# --- The vectorised search against a direct reading of the rules -------------------------------


def rules_read_directly(values: list[float | None], cutoff: float) -> tuple[list[tuple], int]:
    """Gains of one client found interval by interval, exactly as the criteria are worded."""
    at = dict(enumerate(values, start=1))
    found, evaluable = [], 0
    for n in range(1, len(values)):
        x_n, x_n1 = at.get(n), at.get(n + 1)
        if x_n is None or x_n1 is None:
            continue
        pre = [at[s] for s in (n - 2, n - 1, n) if at.get(s) is not None]
        post = [at[s] for s in (n + 1, n + 2, n + 3) if at.get(s) is not None]
        if len(pre) < 2 or len(post) < 2:
            continue
        evaluable += 1
        dof = len(pre) + len(post) - 2
        pooled = math.sqrt(
            ((len(pre) - 1) * np.var(pre, ddof=1) + (len(post) - 1) * np.var(post, ddof=1)) / dof
        )
        drop = x_n - x_n1
        if (
            drop >= cutoff
            and drop >= 0.25 * x_n
            and np.mean(pre) - np.mean(post) > stats.t.ppf(0.975, dof) * pooled
        ):
            threshold = x_n1 + drop / 2
            later = [s for s in range(n + 2, len(values) + 1) if at.get(s) is not None and at[s] > threshold]
            found.append((n, drop, bool(later), later[0] if later else None))
    return found, evaluable


@settings(max_examples=80, deadline=None)
@given(caseloads, st.sampled_from([3, 5, 7]))
@example([[20, 22, 21, 10, 16, 9, 17], [None, 38, 35, 24, None, 22], [29, 30, 28, 22, 21, 23]], 5)
@example([[None, 30, 20, 12, 11, 13], [30, 31, 30, None, 10, 11, 9]], 7)
def test_vectorised_search_agrees_with_the_rules_read_directly(values, cutoff):
    result = find_sudden_gains(caseload_frame(values), cutoff)
    expected, evaluable = [], 0
    for i, s in enumerate(values):
        found, count = rules_read_directly(s, cutoff)
        expected += [(f"c{i}", *event) for event in found]
        evaluable += count
    columns = ["client_id", "pregain_session", "size", "reversal", "reversal_session"]
    got = [
        tuple(None if pd.isna(v) else v for v in row)
        for row in result.events[columns].itertuples(index=False)
    ]
    assert sorted(got, key=lambda r: (r[0], r[1])) == sorted(expected, key=lambda r: (r[0], r[1]))
    assert result.summary.intervals_evaluable == evaluable


def test_session_numbers_need_not_start_at_one_and_clients_are_kept_apart():
    a = series([20, 22, 21, 10, 11, 9], client="a", first_session=5)
    b = series([30, 31, 30], client="b", first_session=1)
    events = find_sudden_gains(pd.concat([b, a]), 7).events
    assert events[["client_id", "pregain_session"]].values.tolist() == [["a", 7]]
    assert list(events.columns) == EVENT_COLUMNS


def test_the_pre_treatment_assessment_is_a_baseline_not_a_session_searched():
    """Session 0 to session 1 is not a change between sessions of treatment: the API and the
    command line read a table with session 0 alike."""
    with_baseline = series([30, 29, 18, 17, 18, 17], client="a", first_session=0)
    assert find_sudden_gains(with_baseline, 7).events.empty
    assert find_sudden_gains(with_baseline.assign(session=with_baseline["session"] + 1), 7).summary.gains == 1


# --- Bad input ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("frame", "options", "field"),
    [
        (series([1, 2, 3]).drop(columns="score"), {}, "columns"),
        (series([1, 2, 3]).assign(session=[1, 2.5, 3]), {}, "row 2, column session"),
        (series([1, 2, 3]).assign(score=["1", "x", "3"]), {}, "row 2, column score"),
        (pd.concat([series([1, 2]), series([5])]), {}, "client c1, session 1"),
        (series([1, 2, 3]), {"cutoff": 0}, "cutoff"),
        (series([1, 2, 3]), {"direction": "up"}, "direction"),
        (series([1, 2, 3]), {"gains": False}, "gains/losses"),
        (series([1, 2, 3]), {"alpha": 1.5}, "alpha"),
    ],
)
def test_bad_input_names_the_field(frame, options, field):
    options = {"cutoff": 7, **options}
    with pytest.raises(InvalidInputError) as excinfo:
        find_sudden_gains(frame, **options)
    assert field in [p.field for p in excinfo.value.problems]


# --- Reliable-change cut-off --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("baseline", "reliability", "published"),
    [
        # Jacobson & Truax 1991 worked example (prediction.md section 6): SD 7.5, r .80 -> 9.30 points.
        ([0, 7.5, 15], 0.80, 9.30),
        # suddengains tests/testthat/test-define_crit1_cutoff.R: sd 10.5, reliability .961 -> 5.747681.
        ([0, 10.5, 21], 0.961, 5.747681),
    ],
)
def test_reliable_change_cutoff(baseline, reliability, published):
    assert reliable_change_cutoff(baseline, reliability) == pytest.approx(published, abs=5e-3)


@pytest.mark.parametrize("reliability", [0, 1, 1.2, -0.5])
def test_reliable_change_cutoff_refuses_a_reliability_outside_0_1(reliability):
    with pytest.raises(InvalidInputError):
        reliable_change_cutoff([10, 20, 30], reliability)


# --- Real data: suddengains sgdata ----------------------------------------------------------------


@pytest.fixture(scope="module")
def sgdata() -> pd.DataFrame:
    if not SGDATA.exists():
        pytest.skip(f"the shared example data are not available ({SGDATA} is missing)")
    return pd.read_csv(SGDATA)


def bdi_long(wide: pd.DataFrame, sessions=range(1, 13)) -> pd.DataFrame:
    long = wide.melt(id_vars="id", value_vars=[f"bdi_s{s}" for s in sessions], value_name="score")
    long["session"] = long["variable"].str.removeprefix("bdi_s").astype(int)
    return long.rename(columns={"id": "client_id"})[["client_id", "session", "score"]]


# suddengains tests/testthat/test-create_bysg.R: create_bysg() on rows 1-18 (bdi_s1..bdi_s12, cut-off 7,
# sg_crit3_adjust = TRUE): id, pre-gain session, sg_magnitude, sg_reversal_value, sg_reversal.
PUBLISHED_ROWS_1_TO_18 = [
    (1, 3, 11, 28.5, True),
    (1, 7, 12, 23.0, False),
    (3, 8, 9, 30.5, False),
    (4, 3, 10, 27.0, True),
    (5, 3, 10, 31.0, False),
    (5, 8, 13, 12.5, False),
    (9, 3, 9, 27.5, False),
    (10, 2, 10, 30.0, False),
    (10, 4, 8, 21.0, False),
    (12, 3, 8, 27.0, True),
    (13, 3, 13, 29.5, False),
    (13, 8, 8, 14.0, False),
    (14, 2, 14, 30.0, False),
    (18, 3, 11, 29.5, False),
]


@pytest.mark.external
def test_rows_1_to_18_match_the_package_tests(sgdata):
    cutoff = load_parameters().original_bdi_cutoff.value
    events = find_sudden_gains(bdi_long(sgdata[sgdata["id"] <= 18]), cutoff).events
    got = [
        (int(e.client_id), int(e.pregain_session), e.size, e.reversal_threshold, bool(e.reversal))
        for e in events.itertuples()
    ]
    assert got == PUBLISHED_ROWS_1_TO_18


@pytest.mark.external
def test_full_sgdata_matches_the_published_descriptives(sgdata):
    result = find_sudden_gains(bdi_long(sgdata), load_parameters().original_bdi_cutoff.value)
    events, summary = result.events, result.summary
    # suddengains tests/testthat/test-describe_sg.R ("bysg"): 24 gains, 4 reversals (16.67%),
    # 70.83% of gains in people with more than one, magnitude mean 11, SD 3.43.
    assert summary.gains == 24
    assert summary.gain_reversals == 4
    per_client = events.groupby("client_id").size()
    assert round(100 * per_client[per_client > 1].sum() / len(events), 2) == 70.83
    assert round(events["size"].mean(), 2) == 11
    assert round(events["size"].std(ddof=1), 2) == 3.43
    # Same file ("byperson", first gain per person): 43 people, 15 with a gain (34.88%), 8 with more
    # than one, 3 of the 15 first gains reversed, first-gain magnitude mean 11.4, SD 3.98.
    assert summary.clients == 43
    assert summary.clients_with_gain == 15
    assert (per_client > 1).sum() == 8
    first = events.groupby("client_id").head(1)
    assert first["reversal"].sum() == 3
    assert round(first["size"].mean(), 2) == 11.4
    assert round(first["size"].std(ddof=1), 2) == 3.98
    # reference/count_intervals.md and the tutorial vignette: 298 intervals available for sudden-gain
    # analysis; the vignette's case selection keeps 39 cases (429 intervals / 11 per case).
    assert summary.intervals_evaluable == 298
    assert summary.clients_evaluated == 39


@pytest.mark.external
def test_reliable_change_cutoff_from_sgdata_baseline(sgdata):
    # suddengains tests/testthat/test-define_crit1_cutoff.R: sd(bdi_s0) = 6.396073, reliability .931,
    # reliable change value 4.65703.
    assert reliable_change_cutoff(sgdata["bdi_s0"], 0.931) == pytest.approx(4.65703, abs=1e-4)


# --- Command line -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def measures_csv(sgdata, tmp_path_factory) -> Path:
    """sgdata as a measures table: BDI and RQ score rows for sessions 0 (pre-treatment) to 12."""
    parts = []
    for measure in ("bdi", "rq"):
        long = sgdata.melt(
            id_vars="id", value_vars=[f"{measure}_s{s}" for s in range(13)], value_name="score"
        )
        long = long.dropna(subset=["score"])
        long["session"] = long["variable"].str.removeprefix(f"{measure}_s").astype(int)
        long["instrument"], long["rater"] = measure, "client"
        parts.append(
            long.rename(columns={"id": "client_id"})[["client_id", "session", "instrument", "rater", "score"]]
        )
    path = tmp_path_factory.mktemp("measures") / "sgdata_measures.csv"
    pd.concat(parts).to_csv(path, index=False)
    return path


def run(*args: str):
    return CliRunner().invoke(app, ["sudden-gains", *map(str, args)])


@pytest.mark.external
def test_cli_json_matches_the_published_counts(measures_csv):
    result = run(measures_csv, "--instrument", "bdi", "--cutoff", "7", "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    # Session 0 is the pre-treatment assessment and is not searched, as in the package examples
    # (bdi_s1..bdi_s12): 24 gains, 4 reversed, 15 people (test-describe_sg.R).
    assert (data["summary"]["gains"], data["summary"]["gain_reversals"]) == (24, 4)
    assert data["summary"]["clients_with_gain"] == 15
    assert data["summary"]["losses"] is None
    assert len(data["events"]) == 24
    assert data["events"][0]["client_id"] == "1" and data["events"][0]["reversal_session"] == 7


@pytest.mark.external
def test_cli_reliability_derives_the_cutoff_from_session_0(measures_csv):
    result = run(measures_csv, "-i", "bdi", "--reliability", "0.931", "--json")
    assert result.exit_code == 0, result.output
    criterion = json.loads(result.stdout)["criterion1"]
    # test-define_crit1_cutoff.R: SD of bdi_s0 6.396073, reliable change value 4.65703.
    assert criterion["baseline_sd"] == pytest.approx(6.396073, abs=1e-5)
    assert criterion["cutoff"] == pytest.approx(4.65703, abs=1e-4)


@pytest.mark.external
def test_cli_losses_and_text_output(measures_csv):
    core = find_sudden_gains(bdi_long(pd.read_csv(SGDATA)), 7, losses=True).summary
    result = run(measures_csv, "-i", "bdi", "--cutoff", "7", "--losses", "--json")
    summary = json.loads(result.stdout)["summary"]
    assert (summary["gains"], summary["losses"], summary["loss_reversals"]) == (
        core.gains,
        core.losses,
        core.loss_reversals,
    )
    text = run(measures_csv, "-i", "bdi", "--cutoff", "7", "--losses")
    assert text.exit_code == 0
    assert "Sudden gains: 24 in 15 clients, 4 reversed." in text.stdout
    assert f"Sudden losses: {core.losses} in" in text.stdout


@pytest.mark.external
@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["-i", "bdi"], "exactly one of --cutoff"),
        (["-i", "bdi", "--cutoff", "7", "--reliability", "0.9"], "exactly one of --cutoff"),
        (["--cutoff", "7"], "bdi, rq"),
        (["-i", "bdi", "--reliability", "1.5"], "reliability"),
        (["-i", "phq9", "--cutoff", "7"], "instrument"),
    ],
)
def test_cli_usage_errors_are_clear(measures_csv, args, message):
    result = run(measures_csv, *args, "--json")
    assert result.exit_code == 2
    assert message in json.loads(result.stdout)["error"]
