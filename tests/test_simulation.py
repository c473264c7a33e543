"""The simulated clinic: calibration against NHS Talking Therapies, structure, truth and the CLI.

National figures (NHS Talking Therapies for anxiety and depression, England; official annual
statistics as compiled in bennettoxford/nhstt; prediction.md sections 9.2, 9.4 and 10):

- reliable improvement 66.4-68.3% of finished courses (2017-18 to 2024-25; 67.5% in 2024-25);
- recovery 49.9-52.1% of finished courses at caseness (50.5% in 2024-25);
- reliable deterioration 5.4-5.9% of finished courses (5.8% in 2024-25);
- mean treatment sessions of finished courses 7.5 (2020-21) and 7.9 (2021-22), NHS Digital
  press releases;
- dropout: 19.7% (Swift & Greenberg 2012 meta-analysis) to about 30% (Bennemann et al. 2022).

The tolerances below allow for the sampling error of the test cohort (20,000 clients, so about
19,000 finished courses: one standard error of a 67% rate is 0.34 points) and for the range
between years; they are stated with each test.
"""

from __future__ import annotations

import json
from pathlib import Path

import hypothesis.strategies as st
import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from typer.testing import CliRunner

from attunement.change import paired_outcomes, reliable_deterioration, reliable_improvement, service_counts
from attunement.change import service_rates as national_rates
from attunement.change.nhs_talking_therapies import paired_measures
from attunement.cli import app
from attunement.errors import DefinitionError
from attunement.instruments import get_instrument
from attunement.simulation import ClinicSimulation, load_parameters, parse_parameters, simulate
from attunement.simulation.endings import draw_ends, end_distribution
from attunement.simulation.observation import score_probability, split_items
from attunement.simulation.scales import outcome_scale
from attunement.simulation.specification import DEFAULT_PARAMETERS
from attunement.simulation.summary import first_and_last_scores
from attunement.simulation.trajectory import expected_scores, shape_curve
from attunement.simulation.truth import last_observed_weights
from attunement.tables import (
    normalise_episodes,
    normalise_measures,
    read_episodes,
    read_measures,
    session_scores,
)

EXTERNAL = Path(__file__).resolve().parents[2] / "shared" / "external"
COHORT = 20_000
SEED = 20240401

# (rate, national low, national high, tolerance in points) -- see the module docstring for sources.
NATIONAL_RATES = [
    ("improvement", 66.4, 68.3, 2.5),
    ("recovery", 49.9, 52.1, 2.5),
    ("deterioration", 5.4, 5.9, 1.2),
]


@pytest.fixture(scope="module")
def clinic():
    return simulate(COHORT, SEED)


@pytest.fixture(scope="module")
def courses(clinic):
    """First and last observed scores with the official outcome classification, every client."""
    table = first_and_last_scores(clinic.measures)
    outcomes = paired_outcomes(table).table
    episodes = clinic.episodes.set_index("client_id")
    return (
        table.join(outcomes)
        .join(episodes)
        .join(
            clinic.truth.set_index("client_id")[
                [
                    "latent_class",
                    "p_reliable_improvement",
                    "p_reliable_deterioration",
                    "p_recovery",
                    "p_dropout",
                ]
            ]
        )
    )


@pytest.fixture(scope="module")
def rates(courses):
    finished = courses[courses["sessions_attended"] >= 2]  # national "finished a course": 2+ sessions
    return national_rates(service_counts(finished))


# -- calibration against the national figures ----------------------------------------------------


@pytest.mark.parametrize(("rate", "low", "high", "tolerance"), NATIONAL_RATES)
def test_outcome_rates_match_the_national_figures(rates, rate, low, high, tolerance):
    assert low - tolerance <= rates[rate] <= high + tolerance, f"{rate} {rates[rate]:.1f}%"


def test_finished_courses_last_about_seven_and_a_half_sessions(clinic):
    # NHS Digital: 7.5 (2020-21) and 7.9 (2021-22) mean treatment sessions; tolerance 0.5 session.
    sessions = clinic.episodes["sessions_attended"]
    assert 7.0 <= sessions[sessions >= 2].mean() <= 8.4


def test_dropout_between_a_fifth_and_three_tenths(clinic):
    # Swift & Greenberg 2012: 19.7% [18.7, 20.7]; Bennemann et al. 2022: about 30%.
    share = (clinic.episodes["end_reason"] == "dropout").mean()
    assert 0.20 <= share <= 0.30


def test_session_counts_have_a_heavy_right_tail(clinic):
    # Skeleton (prediction.md 9.7): mean 7-8 with a right tail up to about 20 sessions.
    sessions = clinic.episodes["sessions_attended"]
    finished = sessions[sessions >= 2]
    assert finished.quantile(0.99) >= 18
    assert finished.median() < finished.mean() + 1
    assert (finished > 20).mean() < 0.05


def test_intake_scores_match_the_national_first_scores(courses):
    # 2024-25, all problems x CBT: PHQ-9 14.2 (SD 6.1), GAD-7 13.3 (SD 5.1). Clipping to the
    # scale shortens the SD a little, hence the looser SD tolerance.
    finished = courses[courses["sessions_attended"] >= 2]
    assert finished["phq9_first"].mean() == pytest.approx(14.2, abs=0.4)
    assert finished["gad7_first"].mean() == pytest.approx(13.3, abs=0.4)
    assert finished["phq9_first"].std() == pytest.approx(6.1, abs=0.4)
    assert finished["gad7_first"].std() == pytest.approx(5.1, abs=0.5)


def test_end_scores_spread_more_than_start_scores(courses):
    # prediction.md 9.1: "End SD exceeds start SD in every row" (individual change is heterogeneous).
    finished = courses[courses["sessions_attended"] >= 2]
    assert finished["phq9_last"].std() > finished["phq9_first"].std()
    assert finished["gad7_last"].std() > finished["gad7_first"].std()


@pytest.mark.external
def test_rates_lie_within_the_published_national_range(rates):
    path = EXTERNAL / "nhstt" / "national_annual.csv"
    if not path.exists():
        pytest.skip(f"national NHS Talking Therapies figures not found at {path}")
    table = pd.read_csv(path)
    published = table[(table["dataset"] == "measures_annual") & (table["measure_statistic"] == "percentage")]
    for rate, _, _, tolerance in NATIONAL_RATES:
        values = published.loc[published["measure_name"] == rate, "value"]
        assert len(values) == 8  # 2017-18 to 2024-25
        assert values.min() - tolerance <= rates[rate] <= values.max() + tolerance, rate


# -- structure of the simulated clinic ------------------------------------------------------------


def test_class_shares_follow_the_profile(clinic):
    profile = load_parameters()
    shares = clinic.truth["latent_class"].value_counts(normalize=True)
    for name, cls in profile.classes.items():
        p = cls.share.value
        assert abs(shares[name] - p) < 4 * np.sqrt(p * (1 - p) / COHORT), name


def test_about_half_of_clients_have_a_rupture(clinic):
    # Stevens et al. 2007: 50%; McLaughlin et al. 2014: 46%. Every rupture starts by session 6,
    # so clients who reach session 6 show the full share.
    truth = clinic.truth
    reached = truth[truth["end_session"] >= 6]
    assert 0.44 <= reached["rupture_happened"].mean() <= 0.56
    assert len(clinic.ruptures) == int(truth["rupture_happened"].sum())


def test_unrepaired_ruptures_raise_dropout_and_worsen_outcome(courses, clinic):
    truth = clinic.truth.set_index("client_id")
    happened = truth[truth["rupture_happened"]]
    unrepaired = happened[~happened["rupture_repaired"].astype(bool)]
    repaired = happened[happened["rupture_repaired"].astype(bool)]
    assert (unrepaired["end_reason"] == "dropout").mean() > (repaired["end_reason"] == "dropout").mean() + 0.1
    improved = courses["reliable_improvement"].astype(float)
    assert improved[unrepaired.index].mean() < improved[repaired.index].mean() - 0.05


def test_the_therapist_estimate_is_too_high(clinic):
    m = clinic.measures
    keys = ["client_id", "session"]
    client = m[(m["instrument"] == "checkin") & m["item"].isna()].set_index(keys)["score"]
    therapist = m[m["instrument"] == "checkin_therapist"].set_index(keys)["score"]
    gap = (therapist - client).dropna()
    assert gap.mean() > 0.3
    assert (gap > 0).mean() > 0.5


def test_checkin_scores_sit_near_the_ceiling(clinic):
    # "Most SRS sessions score 36-40" of 40 [unverified: secondary], i.e. 9-10 of 10.
    m = clinic.measures
    totals = (m["instrument"] == "checkin") & m["item"].isna()  # not the "judged" item beside them
    scores = m.loc[totals, "score"]
    assert scores.between(0, 10).all()
    assert (scores >= 9).mean() > 0.5
    between = scores.groupby(m.loc[scores.index, "client_id"]).mean().var() / scores.var()
    assert between > 0.6  # most variance lies between clients


def test_delayed_responders_are_flat_until_session_six(clinic):
    phq9 = session_scores(clinic.measures, "phq9").merge(clinic.truth[["client_id", "latent_class"]])
    means = phq9.groupby(["latent_class", "session"])["score"].mean()
    delayed = means["delayed_responder"]
    for session in range(2, 7):  # Saunders et al. 2019: barely changes until session 6
        assert abs(delayed[session] - delayed[1]) < 1.0, session
    assert delayed[10] < delayed[1] - 5  # then improves fast
    early = means["early_responder"]
    assert early[3] < early[1] - 5  # early responders have changed by session 3


def test_item_9_is_answered_and_rarer_than_other_items(clinic):
    m = clinic.measures
    first = m[(m["instrument"] == "phq9") & (m["session"] == 1)]
    endorsed = (first.set_index("item")["value"] >= 1).groupby(level=0).mean()
    assert 0 < endorsed["phq9_9"] < endorsed.drop("phq9_9").min()


def test_groups_are_in_the_episodes_table(clinic):
    labels = load_parameters().groups.labels
    assert set(clinic.episodes["client_group"]) == set(labels)


def test_tables_pass_the_canonical_checks():
    small = simulate(800, 3)
    measures = normalise_measures(small.measures)
    episodes = normalise_episodes(small.episodes)
    assert len(measures) == len(small.measures) and len(episodes) == 800
    assert set(episodes["end_reason"]) <= {"completed", "dropout"}
    for instrument, rows in measures.groupby("instrument"):
        definition = get_instrument(instrument)
        assert set(rows["rater"]) == {definition.rater}
        low, high = definition.scoring.range
        scored = session_scores(measures, instrument, rater=definition.rater)["score"]
        assert scored.between(low, high).all()
    items = measures[measures["item"].notna() & (measures["instrument"] == "phq9")]
    assert set(items["item"]) == set(get_instrument("phq9").scoring.items)
    assert items["value"].isin([0, 1, 2, 3]).all()
    # Beside the check-in total, the one check-in item read on its own: a whole 0-10 answer.
    judged = measures[measures["item"].notna() & (measures["instrument"] == "checkin")]
    assert set(judged["item"]) == {"checkin_judged"} and judged["value"].isin(range(11)).all()
    assert len(judged) == len(measures[(measures["instrument"] == "checkin") & measures["score"].notna()])


def test_client_forms_are_missing_at_some_sessions_but_never_at_the_first(clinic):
    m, episodes = clinic.measures, clinic.episodes
    with_forms = m[m["instrument"] == "gad7"].groupby("client_id")["session"]
    assert (with_forms.min() == 1).all()
    attended = episodes["sessions_attended"].sum()
    share_missing = 1 - with_forms.size().sum() / attended
    expected = (
        load_parameters().measurement.missed_questionnaires.value * (attended - len(episodes)) / attended
    )
    assert share_missing == pytest.approx(expected, abs=0.01)


# -- reproducibility ---------------------------------------------------------------------------------


def test_the_same_seed_gives_the_same_clinic():
    a, b = simulate(600, 42), simulate(600, 42)
    for name in ("measures", "episodes", "truth", "ruptures", "therapists"):
        pd.testing.assert_frame_equal(getattr(a, name), getattr(b, name))
    c = simulate(600, 43)
    assert not a.episodes.equals(c.episodes)


def test_blocks_are_the_run_cut_into_pieces():
    data = json.loads(DEFAULT_PARAMETERS.read_text(encoding="utf-8"))
    data["engine"]["block_clients"]["value"] = 250
    run = ClinicSimulation(600, 9, parse_parameters(data))
    assert run.block_count == 3
    whole = run.run()
    second = run.block(1)
    ids = whole.episodes["client_id"].iloc[250:500].reset_index(drop=True)
    assert second.episodes["client_id"].reset_index(drop=True).equals(ids)
    assert whole.episodes["client_id"].is_unique


# -- the truth ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("probability", "observed"),
    [
        ("p_reliable_improvement", "reliable_improvement"),
        ("p_reliable_deterioration", "reliable_deterioration"),
        ("p_recovery", "recovery"),
    ],
)
def test_true_outcome_probabilities_are_calibrated(courses, probability, observed):
    # The exact probabilities must agree with what happens, overall and within fifths of risk.
    rows = courses[courses[probability].notna()]
    outcome = rows[observed].astype(float)
    se = np.sqrt((rows[probability] * (1 - rows[probability])).sum()) / len(rows)
    assert abs(outcome.mean() - rows[probability].mean()) < 4 * se + 1e-9
    fifths = pd.qcut(rows[probability].rank(method="first"), 5, labels=False)
    for _, part in rows.groupby(fifths):
        p = part[probability]
        se = np.sqrt((p * (1 - p)).sum()) / len(part)
        assert abs(part[observed].astype(float).mean() - p.mean()) < 4 * se + 0.005


def test_true_dropout_probability_is_calibrated(courses):
    dropped = (courses["end_reason"] == "dropout").astype(float)
    p = courses["p_dropout"]
    se = np.sqrt((p * (1 - p)).sum()) / len(p)
    assert abs(dropped.mean() - p.mean()) < 4 * se


def test_truth_probabilities_are_probabilities(clinic, courses):
    truth = clinic.truth
    for column in ("p_finished", "p_dropout", "p_reliable_improvement", "p_reliable_deterioration"):
        assert truth[column].between(0, 1).all(), column
    assert np.allclose(truth["p_reliable_improvement"] + truth["p_no_reliable_improvement"], 1)
    at_case = courses["caseness_first"].astype(bool)
    assert courses.loc[~at_case, "p_recovery"].isna().all()
    assert courses.loc[at_case, "p_recovery"].notna().all()


# -- the model's pieces --------------------------------------------------------------------------


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.floats(0, 1), min_size=5, max_size=5),
    st.lists(st.floats(0, 1), min_size=5, max_size=5),
    st.floats(0, 0.9),
)
def test_end_distribution_and_last_observed_weights_sum_to_one(completion, dropout, miss):
    c = np.array([completion + [1.0]])
    d = np.array([dropout + [0.0]])
    done, dropped = end_distribution(c, d)
    assert (done + dropped).sum() == pytest.approx(1.0)
    weights = last_observed_weights(done + dropped, miss)
    assert weights.sum() == pytest.approx(1.0)
    assert (weights >= -1e-12).all()


def test_drawn_ends_follow_the_end_distribution():
    rng = np.random.default_rng(0)
    c = np.tile([0.0, 0.1, 0.3, 0.2, 1.0], (40_000, 1))
    d = np.tile([0.2, 0.1, 0.05, 0.3, 0.0], (40_000, 1))
    last, dropped = draw_ends(c, d, rng.random(c.shape))
    done, drop = end_distribution(c[:1], d[:1])
    for s in range(5):
        assert ((last == s + 1) & ~dropped).mean() == pytest.approx(done[0, s], abs=0.01)
        assert ((last == s + 1) & dropped).mean() == pytest.approx(drop[0, s], abs=0.01)


@settings(max_examples=60, deadline=None)
@given(st.floats(-3, 30), st.floats(0.3, 4))
def test_score_probabilities_cover_the_scale(latent, noise):
    grid = np.arange(0, 28)
    assert score_probability(grid, latent, noise, 27).sum() == pytest.approx(1.0)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(0, 27), min_size=1, max_size=40), st.integers(0, 10**6))
def test_item_answers_add_up_to_the_total(totals, seed):
    items = split_items(np.array(totals), 9, 3, np.array([1.0] * 8 + [0.1]), np.random.default_rng(seed))
    assert (items.sum(axis=1) == np.array(totals)).all()
    assert ((items >= 0) & (items <= 3)).all()


@settings(max_examples=60, deadline=None)
@given(st.floats(0, 27), st.floats(-1, 1))
def test_expected_scores_stay_on_the_scale(intake, progress):
    y = expected_scores(np.array([intake]), np.array([[progress]]), 27.0)
    assert -1e-9 <= y[0, 0] <= 27 + 1e-9


def test_class_curves_start_at_zero_and_rise_to_one():
    sessions = np.arange(1, 41, dtype=float)
    for name, cls in load_parameters().classes.items():
        f = shape_curve(cls.shape, sessions)
        assert f[0] == 0 and (np.diff(f) >= -1e-12).all() and f[-1] == pytest.approx(1, abs=1e-3), name
    delayed = load_parameters().classes["delayed_responder"].shape
    f = shape_curve(delayed, sessions)
    assert (f[: int(delayed.onset.value)] == 0).all() and f[int(delayed.onset.value)] > 0


@settings(max_examples=80, deadline=None)
@given(st.integers(0, 27), st.integers(0, 27))
def test_thresholds_agree_with_the_outcome_module(first, last):
    phq9 = outcome_scale("phq9")
    instrument = get_instrument("phq9")
    paired_change = paired_measures().depression_change
    improved = bool(reliable_improvement(first, last, paired_change, direction=instrument.direction))
    worse = bool(reliable_deterioration(first, last, paired_change, direction=instrument.direction))
    assert improved == (last <= phq9.largest_improved(np.array(first)))
    assert worse == (last > phq9.largest_not_deteriorated(np.array(first)))


# -- profile and scenarios ------------------------------------------------------------------------


def test_every_parameter_names_its_source_and_status():
    def walk(node, path=""):
        if isinstance(node, dict) and "value" in node:
            assert node.get("source") and node.get("status"), path
            return 1
        if isinstance(node, dict):
            return sum(walk(v, f"{path}.{k}") for k, v in node.items())
        return 0

    assert walk(json.loads(DEFAULT_PARAMETERS.read_text(encoding="utf-8"))) > 40


def test_a_profile_with_shares_that_do_not_add_up_is_refused():
    data = json.loads(DEFAULT_PARAMETERS.read_text(encoding="utf-8"))
    data["classes"]["non_responder"]["share"]["value"] = 0.5
    with pytest.raises(DefinitionError, match="sum to 1"):
        parse_parameters(data)


def test_a_group_gap_set_in_a_scenario_shows_in_the_data():
    data = json.loads(DEFAULT_PARAMETERS.read_text(encoding="utf-8"))
    data["groups"]["dropout_logit_shift"]["value"] = [0.0, 1.0]
    episodes = simulate(6000, 5, parse_parameters(data)).episodes
    dropout = (episodes["end_reason"] == "dropout").groupby(episodes["client_group"]).mean()
    assert dropout["group_b"] > dropout["group_a"] + 0.08


# -- command line --------------------------------------------------------------------------------


@pytest.mark.parametrize("file_format", ["csv", "parquet"])
def test_simulate_command_writes_readable_tables(tmp_path, file_format):
    result = CliRunner().invoke(
        app,
        [
            "simulate",
            "--clients",
            "400",
            "--seed",
            "7",
            "--out",
            str(tmp_path),
            "--format",
            file_format,
            "--json",
        ],
    )
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output)
    assert summary["clients"] == 400
    measures = read_measures(tmp_path / f"measures.{file_format}")
    episodes = read_episodes(tmp_path / f"episodes.{file_format}")
    assert len(episodes) == 400 and summary["files"]["measures"]["rows"] == len(measures)
    for name in ("truth", "truth_ruptures", "truth_therapists"):
        assert (tmp_path / f"{name}.{file_format}").exists()
    expected = simulate(400, 7)
    assert summary["dropout_percent"] == pytest.approx(
        100 * (expected.episodes["end_reason"] == "dropout").mean()
    )


def test_simulate_command_prints_a_summary_and_refuses_a_bad_profile(tmp_path):
    result = CliRunner().invoke(app, ["simulate", "--clients", "200", "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert "reliable improvement" in result.output and "dropout" in result.output
    bad = tmp_path / "bad.json"
    bad.write_text("{}", encoding="utf-8")
    result = CliRunner().invoke(
        app, ["simulate", "--clients", "10", "--out", str(tmp_path), "--profile", str(bad), "--json"]
    )
    assert result.exit_code != 0
    assert "error" in json.loads(result.output)


def test_core10_is_drawn_from_its_own_stream_and_scores_as_written():
    """Asking for CORE-10 changes no other simulated row; its item rows score (reversing the
    positively worded items) to totals on 0-40 whose intake lies mostly at or above the cut-off,
    and the risk item is endorsed less often than the others."""
    from attunement.simulation.core10 import CORE10
    from attunement.tables.scores import session_scores

    plain = simulate(400, 21)
    with_core = simulate(400, 21, core10=True)
    others = with_core.measures[with_core.measures["instrument"] != CORE10].reset_index(drop=True)
    pd.testing.assert_frame_equal(others, plain.measures.reset_index(drop=True), check_dtype=False)
    core = with_core.measures[with_core.measures["instrument"] == CORE10]
    assert core["value"].between(0, 4).all()
    totals = session_scores(with_core.measures, CORE10)
    assert totals["score"].between(0, 40).all()
    intake = totals[totals["session"] == 1]["score"]
    assert (intake >= 11).mean() > 0.7
    endorsed = core.assign(on=core["value"] > 0).groupby("item")["on"].mean()
    assert endorsed["core10_6"] < endorsed.drop(["core10_6", "core10_2", "core10_3"]).min()
    # the two positively worded items are written reverse-keyed, so they run the other way
    assert endorsed[["core10_2", "core10_3"]].min() > endorsed["core10_6"]


def test_core10_follows_the_same_latent_course():
    """A client's CORE-10 moves with their PHQ-9: first-to-last changes correlate strongly."""
    from attunement.tables.scores import session_scores

    sim = simulate(600, 22, core10=True)

    def change(instrument):
        t = session_scores(sim.measures, instrument).sort_values("session")
        g = t.groupby("client_id")["score"]
        return g.last() - g.first()

    both = pd.concat([change("phq9"), change("core10")], axis=1, keys=["phq9", "core10"]).dropna()
    assert both.corr().loc["phq9", "core10"] > 0.7
