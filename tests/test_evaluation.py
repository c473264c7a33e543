"""The evaluation harness: metrics, the hidden future, course figures, cohort folders."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from attunement.evaluation import metrics
from attunement.evaluation.cohort import Cohort, load_cohort, split_by_client
from attunement.evaluation.harness import evaluate, run_method
from attunement.evaluation.settings import load_settings
from attunement.evaluation.summary import find, headroom
from attunement.prediction.histories import Histories
from attunement.prediction.methods import Method, Prediction
from attunement.prediction.outcomes import Labels


class ChangeSinceIntake(Method):
    """Risk = PHQ-9 rise since the first score; alert at a rise of 6 or more."""

    name, kind, outcomes, citation = "change", "baseline", ("deterioration", "no_improvement"), "test"

    def __init__(self):
        self.seen: list[tuple[int, int]] = []

    def fit(self, reference, labels):
        self.fitted_ = len(reference)
        return self

    def predict(self, histories: Histories) -> Prediction:
        self.seen.append((histories.max_session, len(histories)))
        rise = histories.last("phq9") - histories.first("phq9")
        risk = np.nan_to_num(rise)
        return Prediction(risk={o: risk for o in self.outcomes}, alert={o: risk >= 6 for o in self.outcomes})


def _histories(phq9: list[list[float]], groups=None) -> Histories:
    values = np.array(phq9, dtype=float)
    n = len(values)
    sessions = (~np.isnan(values)).sum(axis=1)
    return Histories(
        client_id=np.array([f"c{i}" for i in range(n)], dtype=object),
        therapist_id=np.full(n, "t1", dtype=object),
        group=np.array(groups or ["all"] * n, dtype=object),
        sessions=sessions,
        scores={"phq9": values, "gad7": np.where(np.isnan(values), np.nan, 5.0)},
    )


def _labels(histories: Histories, deterioration: list[bool], latent=None) -> Labels:
    det = np.array(deterioration)
    return Labels(
        deterioration=det,
        no_improvement=det.copy(),
        end_session=histories.sessions.copy(),
        dropout=np.zeros(len(det), dtype=bool),
        latent_class=None if latent is None else np.array(latent, dtype=object),
    )


NAN = float("nan")


def test_auc_extremes_and_ties():
    labels = np.array([0, 0, 1, 1], dtype=bool)
    assert metrics.auc(labels, np.array([0.1, 0.2, 0.8, 0.9])) == 1.0
    assert metrics.auc(labels, np.array([0.9, 0.8, 0.2, 0.1])) == 0.0
    assert metrics.auc(labels, np.array([0.5, 0.5, 0.5, 0.5])) == 0.5
    assert metrics.auc(np.array([1, 1], dtype=bool), np.array([0.1, 0.2])) is None


def test_brier_and_calibration():
    labels = np.array([0, 1, 0, 1], dtype=bool)
    assert metrics.brier(labels, np.full(4, 0.5)) == pytest.approx(0.25)
    # a perfectly calibrated bin: predicted 0.5, observed half
    assert metrics.expected_calibration_error(labels, np.full(4, 0.5), 10) == pytest.approx(0.0)
    # everyone predicted 0.9, half observed: gap 0.4
    assert metrics.expected_calibration_error(labels, np.full(4, 0.9), 10) == pytest.approx(0.4)


@given(st.lists(st.tuples(st.booleans(), st.floats(0, 1)), min_size=1, max_size=60))
def test_ece_is_between_zero_and_one(pairs):
    labels = np.array([p[0] for p in pairs])
    probability = np.array([p[1] for p in pairs])
    ece = metrics.expected_calibration_error(labels, probability, 10)
    assert 0.0 <= ece <= 1.0 + 1e-12


def test_methods_only_see_sessions_up_to_the_one_asked():
    histories = _histories([[10, 12, 17, NAN], [10, 8, NAN, NAN], [10, 9, 8, 7]])
    method = ChangeSinceIntake().fit(histories, None)
    run = run_method(method, histories, [1, 2, 3, 4])
    assert method.seen == [(1, 3), (2, 3), (3, 2), (4, 1)]
    assert list(run.rows[3]) == [0, 2]
    # at session 2 the first client has risen 2 points; the 17 at session 3 is not visible yet
    assert run.risk("deterioration", 2)[0] == 2
    assert run.risk("deterioration", 3)[0] == 7


def test_course_figures_count_flags_before_the_last_session():
    # client 0 rises at session 3 and ends at 4: warned in time; client 1 rises only at its last
    # session: too late; client 2 is a false alarm (rises, then recovers); client 3 stays calm.
    histories = _histories(
        [[10, 12, 17, 18], [10, 11, 17, NAN], [10, 17, 9, NAN], [10, 9, 8, NAN]],
    )
    labels = _labels(histories, [True, True, False, False], latent=["x", "x", "delayed_responder", "x"])
    cohort = Cohort("test", histories, labels, has_truth=True)
    rows, _ = evaluate(cohort, cohort, [ChangeSinceIntake()], load_settings())
    course = find(rows, outcome="deterioration", session="course", group="all")[0]
    assert course["flagged_before_last_session"] == 0.5
    assert course["false_alarm_rate"] == 0.5
    assert course["median_first_correct_flag_session"] == 3
    assert course["delayed_responder_false_alarm_rate"] == 1.0
    # one threshold on the peak risk before the last session that flags at least 75% of the two
    # clients with the outcome (peaks 7 and 1) also flags the delayed responder (peak 7)
    assert course["delayed_responder_false_alarm_rate_at_sensitivity"]["0.75"] == 1.0
    at2 = find(rows, outcome="deterioration", session=2, group="all")[0]
    assert at2["n"] == 4 and at2["positives"] == 2
    assert at2["brier"] is None  # risk is not a probability


def test_rows_per_group():
    histories = _histories([[10, 17, 18], [10, 9, 8], [10, 16, 18], [10, 11, 8]], groups=["a", "a", "b", "b"])
    cohort = Cohort("test", histories, _labels(histories, [True, False, True, False]), has_truth=False)
    rows, _ = evaluate(cohort, cohort, [ChangeSinceIntake()], load_settings())
    for group in ("all", "a", "b"):
        row = find(rows, outcome="deterioration", session=2, group=group)[0]
        assert row["auc"] == 1.0
    assert find(rows, outcome="deterioration", session=2, group="a")[0]["n"] == 2


def test_a_wrong_sized_answer_is_a_clear_error():
    class Broken(ChangeSinceIntake):
        def predict(self, histories):
            return Prediction(risk={"deterioration": np.zeros(1)}, alert={"deterioration": np.zeros(1, bool)})

    broken = Broken().fit(_histories([[1, 2], [3, 4]]), None)
    broken.outcomes = ("deterioration",)
    with pytest.raises(ValueError, match="expected one value for each of the 2 clients"):
        run_method(broken, _histories([[1, 2], [3, 4]]), [1])


def test_headroom_share():
    rows = [
        {"method": "b", "kind": "baseline", "outcome": "o", "session": 3, "group": "all", "auc": 0.7},
        {"method": "us", "kind": "ours", "outcome": "o", "session": 3, "group": "all", "auc": 0.8},
        {"method": "or", "kind": "oracle", "outcome": "o", "session": 3, "group": "all", "auc": 0.9},
    ]
    summary = headroom(rows, "o", 3)
    assert summary["ours"]["us"]["share_of_headroom"] == pytest.approx(0.5)
    assert summary["best_baseline"] == "b"


def test_simulated_cohort_folder_round_trip(tmp_path):
    from typer.testing import CliRunner

    from attunement.cli import app

    result = CliRunner().invoke(app, ["simulate", "--clients", "400", "--seed", "5", "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    cohort = load_cohort(tmp_path)
    assert cohort.has_truth and cohort.profile_path is not None and cohort.labels.has_ruptures
    assert len(cohort) == 400
    reference, held_out = split_by_client(cohort, 0.5, 0)
    assert len(reference) + len(held_out) == 400
    assert not set(reference.histories.client_id) & set(held_out.histories.client_id)
    rows, runs = evaluate(reference, held_out, [ChangeSinceIntake()], load_settings())
    at3 = find(rows, outcome="deterioration", session=3, group="all")[0]
    assert at3["n"] == int((held_out.histories.sessions >= 3).sum())

    import xml.etree.ElementTree as ET

    from attunement.evaluation.plots import write_plots

    written = write_plots(runs, held_out, 3, 10, tmp_path / "plots")
    # a risk score that is not a probability gets an ROC plot but no calibration plot
    assert sorted(p.name for p in written) == [
        "roc_deterioration_session3.svg",
        "roc_no_improvement_session3.svg",
    ]
    assert all(ET.parse(p).getroot().tag.endswith("svg") for p in written)


def _target_rows(ours_auc: float, delayed_ours: float) -> list[dict]:
    def row(method, kind, auc, delayed=None, session=3):
        return {
            "method": method,
            "kind": kind,
            "outcome": "deterioration",
            "session": session,
            "group": "all",
            "auc": auc,
            "delayed_responder_false_alarm_rate": delayed,
            "sensitivity": None,
            "false_alarm_rate": None,
            "ece": None,
        }

    return [
        row("b1", "baseline", 0.80),
        row("b2", "baseline", 0.85),
        row("us", "ours", ours_auc),
        row("or", "oracle", 0.90),
        row("b2", "baseline", None, delayed=0.2, session="course"),
        row("b1", "baseline", None, delayed=0.1, session="course"),
        row("us", "ours", None, delayed=delayed_ours, session="course"),
    ]


def test_targets_compare_with_oracle_baselines_and_fixed_values():
    from attunement.evaluation.targets import check_targets

    results = {
        r["target"]: r for r in check_targets(_target_rows(0.88, 0.25)) if r["outcome"] == "deterioration"
    }
    assert results["auc_share_of_oracle"]["met"] is True  # 0.88 / 0.90 = 0.978
    assert results["auc_above_baselines"]["compared_with"] == 0.85
    assert results["headroom"]["value"] == pytest.approx(0.6)
    # the best baseline by AUC (b2) falsely flagged 20% of delayed responders; ours 25%
    assert results["delayed_responders"]["met"] is False
    assert results["deteriorators_flagged"]["met"] is None  # no course sensitivity given

    worse = {r["target"]: r for r in check_targets(_target_rows(0.84, 0.2))}
    assert worse["auc_share_of_oracle"]["met"] is False
    assert worse["auc_above_baselines"]["met"] is False
    assert worse["delayed_responders"]["met"] is True


def test_matched_false_alarms_use_one_threshold_for_the_asked_sensitivity():
    from attunement.evaluation.harness import matched_false_alarms

    peak = np.array([9.0, 8.0, 7.0, 6.0, 1.0, 5.0, 7.5, 2.0])
    positive = np.array([1, 1, 1, 1, 0, 0, 0, 0], dtype=bool)
    negative = ~positive
    # 50% of positives -> threshold 8: no negative reaches it
    assert matched_false_alarms(peak, positive, negative, 0.5) == 0.0
    # 75% -> threshold 7: one negative (7.5) of four
    assert matched_false_alarms(peak, positive, negative, 0.75) == 0.25
    # a level no threshold can reach when some positives were never asked
    never = peak.copy()
    never[:3] = -np.inf
    assert matched_false_alarms(never, positive, negative, 0.5) is None


def test_a_rewritten_report_keeps_the_sections_written_by_hand(tmp_path):
    from attunement.cli.evaluate_cmd import KEPT_MARKER, _kept_sections

    report = tmp_path / "validation.md"
    assert _kept_sections(report) == ""
    report.write_text("# Old figures\n")
    assert _kept_sections(report) == "", "nothing is kept without the marker"
    report.write_text(f"# Old figures\n{KEPT_MARKER}\n## Measured elsewhere\nprecision 0.98\n")
    assert _kept_sections(report) == f"\n{KEPT_MARKER}\n## Measured elsewhere\nprecision 0.98\n"


def _shape_rows(ours: float, best: float, oracle: float | None) -> list[dict]:
    rows = []
    for outcome in ("deterioration", "no_improvement"):
        for method, kind, auc in (
            ("attunement_forecast", "ours", ours),
            ("rational_rules", "baseline", best),
            ("pcoms_zones", "baseline", best - 0.05),
        ):
            rows.append(dict(method=method, kind=kind, outcome=outcome, session=3, group="all", auc=auc))
        if oracle is not None:
            rows.append(
                dict(method="oracle", kind="oracle", outcome=outcome, session=3, group="all", auc=oracle)
            )
    rows.append(
        dict(
            method="own_baseline_rupture", kind="ours", outcome="rupture", session="not_applicable",
            group="all", auc=None, reason="own_baseline_rupture: the check-in is missing",
        )
    )  # fmt: skip
    return rows


def test_cohort_shapes_section_gives_a_verdict_per_shape_and_replaces_only_itself():
    from attunement.evaluation.shapes import BEGIN, END, replace_section, section, verdicts

    results = {"full": _shape_rows(0.91, 0.90, 0.92), "phq9": _shape_rows(0.85, 0.86, None)}
    full, phq9 = verdicts(results["full"], 0.97), verdicts(results["phq9"], 0.97)
    assert full[0]["above_baselines"] is True and full[0]["near_oracle"] is True
    assert full[0]["best_baseline"] == "rational_rules"
    assert phq9[0]["above_baselines"] is False and phq9[0]["near_oracle"] is None
    text = section(results, "cmd", 0.97)
    assert "| PHQ-9 only | deterioration | 0.850 |" in text
    assert "**not met**" in text and "n/a (no oracle)" in text
    assert "own_baseline_rupture (rupture): the check-in is missing" in text
    page = f"# Title\n\nabove\n\n{BEGIN}\nold figures\n{END}\n\n## After\n\nkept\n"
    again = replace_section(page, text)
    assert "old figures" not in again and again.startswith("# Title\n\nabove\n\n")
    assert again.count(BEGIN) == 1 and again.endswith("## After\n\nkept\n")
    assert replace_section("# Only a title\n", text).count(BEGIN) == 1
