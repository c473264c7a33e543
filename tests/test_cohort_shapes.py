"""Cohorts shaped like real services' histories: what each gets, and that nothing crashes.

Each shape is a small simulated cohort (fixed seed, with CORE-10 drawn beside the default set)
with instruments dropped from its measures table: the full set is the simulator's default
(PHQ-9, GAD-7, both check-ins), CORE-10 only keeps the simulated CORE-10 item rows.
"""

from __future__ import annotations

import numpy as np
import pytest

from attunement.errors import InvalidInputError
from attunement.evaluation.cohort import Cohort, split_by_client
from attunement.evaluation.harness import NOT_APPLICABLE, evaluate
from attunement.evaluation.registry import registered_methods
from attunement.evaluation.report import markdown_report
from attunement.forecast.features import FEATURES
from attunement.forecast.fitting import fit_model
from attunement.forecast.model import ForecastModel, default_model
from attunement.forecast.predict import features_at
from attunement.prediction.histories import histories_from_tables
from attunement.prediction.measures import MeasureTable
from attunement.prediction.methods import unavailable_outcomes
from attunement.prediction.outcomes import labels_from_tables
from attunement.simulation import simulate

FULL = ("phq9", "gad7", "checkin", "checkin_therapist")
SHAPES = {
    "full": FULL,
    "phq9_only": ("phq9",),
    "gad7_only": ("gad7",),
    "pair_without_relationship": ("phq9", "gad7"),
    "core10_only": ("core10",),
    "core10_with_checkin": ("core10", "checkin"),
}


@pytest.fixture(scope="module")
def simulated():
    return simulate(500, 11, core10=True)


def shaped(simulated, keep):
    measures = simulated.measures
    measures = measures[measures["instrument"].isin(FULL if keep is None else keep)]
    return measures, simulated.episodes


def cohort_of(measures, episodes, name, ruptures=None):
    histories = histories_from_tables(measures, episodes)
    labels = labels_from_tables(histories, episodes, ruptures=ruptures)
    return Cohort(name, histories, labels, has_truth=False)


def test_full_set_keeps_the_paired_definition(simulated):
    cohort = cohort_of(*shaped(simulated, None), "full")
    assert set(cohort.labels.definition) == {"nhs_talking_therapies_paired"}


@pytest.mark.parametrize(
    ("keep", "definition"),
    [(("phq9",), "reliable_change:phq9"), (("gad7",), "reliable_change:gad7")],
)
def test_one_measure_gets_labels_from_its_own_definition(simulated, keep, definition):
    cohort = cohort_of(*shaped(simulated, keep), "one measure")
    labels = cohort.labels
    assert set(labels.definition) == {definition}
    assert 0 < labels.deterioration.sum() < len(cohort)
    assert 0 < labels.no_improvement.sum() < len(cohort)
    assert labels.recovery is not None and labels.recovery.any()


def test_core10_only_is_labelled_by_core10(simulated):
    cohort = cohort_of(*shaped(simulated, ("core10",)), "core10")
    assert MeasureTable.of(cohort.histories).outcome_measures == ("core10",)
    labels = cohort.labels
    assert set(labels.definition) == {"reliable_change:core10"}
    # CORE-10's default set: a change of 6 or more points (core10.json, barkham2013).
    first, last = cohort.histories.first("core10"), cohort.histories.last("core10")
    expected = (last - first) >= 6
    assert np.array_equal(labels.deterioration, np.nan_to_num(expected, nan=0).astype(bool))
    assert labels.recovery is not None


def test_phq9_only_evaluate_reports_what_applies(simulated, tmp_path):
    cohort = cohort_of(*shaped(simulated, ("phq9",)), "phq9 only")
    reference, held_out = split_by_client(cohort, 0.5, 0)
    rows, runs = evaluate(reference, held_out, registered_methods(held_out))
    fitted = {run.method.name for run in runs}
    assert {"rational_rules", "oq_expected_recovery", "attunement_forecast"} <= fitted
    skipped = {r["method"]: r["reason"] for r in rows if r["session"] == NOT_APPLICABLE}
    assert "own_baseline_rupture" in skipped and "check-in" in skipped["own_baseline_rupture"]
    auc = [r["auc"] for r in rows if r["method"] == "attunement_forecast" and r["session"] == 3]
    assert auc and all(a is not None for a in auc)
    report = markdown_report(
        rows, title="t", command="c", reference="r", held_out="h", plots=[], folder=tmp_path
    )
    assert "Not applicable to this cohort" in report and "own_baseline_rupture" in report


def test_fit_without_therapist_ratings_records_it(simulated):
    measures, episodes = shaped(simulated, ("phq9", "gad7", "checkin"))
    cohort = cohort_of(measures, episodes, "no therapist ratings")
    model = fit_model(cohort.histories, cohort.labels)
    assert "checkin_therapist" not in model.measures
    assert not any(f.startswith("perception_gap") for f in model.features)
    again = ForecastModel.from_dict(model.to_dict())
    assert again.measures == model.measures and again.features == model.features


def test_predict_refuses_data_without_a_fitted_measure(simulated):
    full = cohort_of(*shaped(simulated, None), "full")
    model = fit_model(full.histories, full.labels)
    phq_only = cohort_of(*shaped(simulated, ("phq9",)), "phq9 only")
    with pytest.raises(InvalidInputError, match="GAD-7"):
        features_at(model, phq_only.histories.upto(2))


def test_bundled_model_uses_the_full_set():
    model = default_model()
    assert model.measures is None
    assert model.features == FEATURES
    assert set(model.required_measures) >= {"phq9", "gad7", "checkin", "checkin_therapist"}


@pytest.mark.parametrize("shape", list(SHAPES))
def test_every_method_fits_and_predicts_or_says_why(simulated, shape):
    """Contract: on every shape, each registered method gives figures or a not-applicable reason."""
    cohort = cohort_of(*shaped(simulated, SHAPES[shape]), shape, ruptures=simulated.ruptures)
    reference, held_out = split_by_client(cohort, 0.5, 0)
    methods = registered_methods(held_out)
    rows, runs = evaluate(reference, held_out, methods)
    fitted = {run.method.name: run.method for run in runs}
    for method in methods:
        mine = [r for r in rows if r["method"] == method.name]
        if method.name in fitted:
            assert mine, f"{method.name} fitted on {shape} but gave no rows"
            skipped = unavailable_outcomes(fitted[method.name])
            for r in mine:
                if r["session"] == NOT_APPLICABLE:
                    assert r["outcome"] in skipped and r["reason"] == skipped[r["outcome"]]
                else:
                    assert r["outcome"] not in skipped
        else:
            assert mine and all(r["session"] == NOT_APPLICABLE and r["reason"] for r in mine), method.name
    assert "attunement_forecast" in fitted and "rational_rules" in fitted


def test_the_web_apps_histories_hold_every_measure_it_collects_so_a_clinic_model_answers():
    """A client with no therapist rating yet must not make a model fitted on the clinic's own
    history (which records its measures) refuse, and with it drop their not-on-track alert."""
    from dataclasses import replace

    from attunement.forecast import default_model
    from attunement.forecast.predict import check_measures
    from attunement.prediction.histories import MEASURES
    from attunement.store.score_rows import ClientRef, build_histories

    histories = build_histories([ClientRef(1, 1, "all", 2)], {1: {"phq9": {1: 12.0, 2: 14.0}}})
    assert set(histories.scores) >= set(MEASURES) | {"core10"}
    clinic_model = replace(default_model(), measures=("phq9", "gad7", "checkin", "checkin_therapist"))
    check_measures(clinic_model, histories)  # raises when a measure is missing


def test_simulate_can_shape_a_cohort_like_a_service_that_measures_less(tmp_path):
    import pandas as pd
    from typer.testing import CliRunner

    from attunement.cli import app

    made = CliRunner().invoke(
        app, ["simulate", "--clients", "60", "--seed", "4", "--out", str(tmp_path), "--measures", "phq9"]
    )
    assert made.exit_code == 0, made.output
    assert set(pd.read_csv(tmp_path / "measures.csv")["instrument"]) == {"phq9"}
    wrong = CliRunner().invoke(app, ["simulate", "--out", str(tmp_path / "x"), "--measures", "core11"])
    assert wrong.exit_code == 2 and "simulated instruments" in " ".join(wrong.output.split())


def test_the_oracle_is_not_applicable_to_a_cohort_that_measures_less(simulated):
    """It predicts the simulation's own outcomes (the paired rules on PHQ-9 and GAD-7): on PHQ-9
    alone it ranked nobody, so it is now reported as not applicable with the reason."""
    from attunement.oracle import OracleMethod
    from attunement.prediction.measures import MissingMeasures
    from attunement.simulation.specification import load_parameters

    cohort = cohort_of(*shaped(simulated, ("phq9",)), "phq9 only")
    with pytest.raises(MissingMeasures, match="GAD-7"):
        OracleMethod(load_parameters()).fit(cohort.histories, cohort.labels)


def test_simulate_writes_core10_only_when_asked(tmp_path):
    import pandas as pd
    from typer.testing import CliRunner

    from attunement.cli import app

    made = CliRunner().invoke(
        app, ["simulate", "--clients", "40", "--seed", "4", "--out", str(tmp_path), "--measures", "core10"]
    )
    assert made.exit_code == 0, made.output
    measures = pd.read_csv(tmp_path / "measures.csv")
    assert set(measures["instrument"]) == {"core10"}
    assert set(measures["item"]) == {f"core10_{i}" for i in range(1, 11)}
    default = simulate(40, 4)
    assert "core10" not in set(default.measures["instrument"])


def test_a_core10_service_gets_a_forecast_of_its_own_measure(simulated):
    """On CORE-10 alone the forecast describes CORE-10 as it describes PHQ-9, counts CORE-10 forms,
    records CORE-10 as its measure and refuses data without it."""
    cohort = cohort_of(*shaped(simulated, ("core10",)), "core10")
    model = fit_model(cohort.histories, cohort.labels)
    assert model.measures == ("core10",)
    assert {"core10_now", "core10_deviation", "core10_slope", "core10_forms_missed"} <= set(model.features)
    assert set(model.expected.tables) == {"core10"}
    x = features_at(model, cohort.histories.upto(3))
    assert np.isfinite(x).any(axis=0).all()
    phq_only = cohort_of(*shaped(simulated, ("phq9",)), "phq9 only")
    with pytest.raises(InvalidInputError, match="CORE-10"):
        features_at(model, phq_only.histories.upto(2))


def test_pcoms_relationship_rule_is_not_applicable_without_the_checkin(simulated):
    cohort = cohort_of(*shaped(simulated, ("core10",)), "core10", ruptures=simulated.ruptures)
    reference, held_out = split_by_client(cohort, 0.5, 0)
    pcoms = [m for m in registered_methods(held_out) if m.name == "pcoms_zones"]
    rows, _ = evaluate(reference, held_out, pcoms)
    rupture = [r for r in rows if r["outcome"] == "rupture"]
    assert len(rupture) == 1 and rupture[0]["session"] == NOT_APPLICABLE
    assert "check-in" in rupture[0]["reason"]
    assert any(r["outcome"] == "deterioration" and r["auc"] is not None for r in rows)


def test_trier_matches_a_core10_service_on_core10():
    from attunement.baselines.trier import TrierNearestNeighbours

    sim = simulate(300, 12, core10=True)
    core = cohort_of(*shaped(sim, ("core10", "checkin")), "core10")
    method = TrierNearestNeighbours()
    method.fit(core.histories, core.labels)
    assert method.matching_ == ("core10", "checkin")
    full = cohort_of(*shaped(sim, None), "full")
    method.fit(full.histories, full.labels)
    assert method.matching_ == ("phq9", "gad7", "checkin")


def test_a_core10_service_gets_not_on_track_alerts_explained_in_core10(simulated):
    """The not-on-track and dropout reasons of a CORE-10 model read the client's CORE-10 against
    its expected range, and a model file of CORE-10 features loads again."""
    from attunement.alerts.forecast_alerts import forecast_alerts
    from attunement.forecast.model import ForecastModel

    cohort = cohort_of(*shaped(simulated, ("core10",)), "core10")
    model = ForecastModel.from_dict(fit_model(cohort.histories, cohort.labels).to_dict())
    fired = [f for f in forecast_alerts(cohort.histories.upto(4), model) if len(f)]
    reasons = [str(r) for f in fired for r in f.reason.to_pylist()]
    assert reasons, "no not-on-track or dropout alert on 500 clients at session 4"
    assert all("CORE-10 of " in r or "no CORE-10 was recorded" in r for r in reasons)
    assert not any("PHQ-9" in r for r in reasons)
    assert {k for f in fired for k in f.figures} >= {"core10", "core10_first"}


def test_a_clinic_model_of_core10_answers_from_the_web_apps_stored_answers(simulated):
    """CORE-10 answers stored by the app (a clinic that imported its licensed wording) reach the
    histories the pages build, through the stored client summary, so a clinic model fitted on
    CORE-10 raises its alerts there too."""
    from attunement.alerts.forecast_alerts import forecast_alerts
    from attunement.forecast.predict import check_measures
    from attunement.store.score_rows import ClientRef, build_histories, series_by_client
    from attunement.store.summaries import ClientSummary, summarise

    cohort = cohort_of(*shaped(simulated, ("core10",)), "core10")
    model = fit_model(cohort.histories, cohort.labels)
    rows = [
        (1, s, "core10", "client", f"core10_{i}", 3.0 if i in (1, 4, 5) else 2.0, None, 10 + s)
        for s in (1, 2, 3, 4)
        for i in range(1, 11)
    ]
    series = series_by_client(rows)
    assert series[1]["core10"] == {1: 23.0, 2: 23.0, 3: 23.0, 4: 23.0}
    histories = build_histories([ClientRef(1, 1, "all", 4)], series)
    check_measures(model, histories)  # raises when CORE-10 is missing
    summary = summarise(histories, {})["1"]
    again = ClientSummary.from_payload(summary.to_payload())
    assert again.others["core10"] == [23.0, 23.0, 23.0, 23.0]
    rebuilt = build_histories(
        [ClientRef(1, 1, "all", 4)], {1: {k: dict(enumerate(v, 1)) for k, v in again.series().items()}}
    )
    assert list(rebuilt.score("core10")[0]) == [23.0, 23.0, 23.0, 23.0]
    fired = [f for f in forecast_alerts(rebuilt, model) if len(f)]
    assert all("PHQ-9" not in str(r) for f in fired for r in f.reason.to_pylist())
