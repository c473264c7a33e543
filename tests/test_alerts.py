"""Current alerts on small hand-made histories: each kind fires when it should and not otherwise."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from attunement.alerts import Alert, alert_table, current_alerts
from attunement.alerts.parameters import load_parameters
from attunement.prediction.histories import Histories

NAN = np.nan


def histories(**clients: dict[str, list[float]]) -> Histories:
    """One client per keyword: a dict of measure -> scores for sessions 1..n."""
    width = max(len(v) for c in clients.values() for v in c.values())
    ids = np.array(list(clients), dtype=object)
    names = sorted({m for c in clients.values() for m in c})
    scores = {m: np.full((len(ids), width), NAN) for m in names}
    sessions = np.zeros(len(ids), dtype=np.int64)
    for row, data in enumerate(clients.values()):
        for m, values in data.items():
            scores[m][row, : len(values)] = values
            sessions[row] = max(sessions[row], len(values))
    return Histories(
        client_id=ids,
        therapist_id=np.full(len(ids), "t1", dtype=object),
        group=np.full(len(ids), "all", dtype=object),
        sessions=sessions,
        scores=scores,
    )


def kinds(alerts: list[Alert]) -> list[str]:
    return [a.kind for a in alerts]


def test_endorsed_item9_is_a_high_safety_alert_that_needs_an_action():
    h = histories(a={"phq9": [18, 15], "phq9_item9": [0, 2], "checkin": [9, 9]})
    [alert] = current_alerts(h)["a"]
    assert (alert.kind, alert.severity, alert.requires_action, alert.session) == ("safety", "high", True, 2)
    assert "item 9" in alert.reason and "answered 2 of 3" in alert.reason
    assert alert.figures["answer"] == 2
    assert any("safety procedure" in step for step in alert.support)


def test_skipped_item9_on_a_completed_phq9_is_a_safety_alert():
    h = histories(a={"phq9": [18, 15], "phq9_item9": [0, NAN]}, b={"phq9": [18, NAN], "phq9_item9": [0, NAN]})
    alerts = current_alerts(h)
    [alert] = alerts["a"]
    assert alert.kind == "safety" and alert.requires_action and "unanswered" in alert.reason
    assert alerts["b"] == []  # no PHQ-9 at all at the latest session: nothing was skipped


def test_item9_of_zero_gives_no_safety_alert():
    h = histories(a={"phq9": [18, 15], "phq9_item9": [0, 0]})
    assert current_alerts(h)["a"] == []


def test_an_earlier_risk_answer_is_not_hidden_by_a_later_session():
    """Item 9 endorsed at session 1, answered 0 at session 2 and nothing but a therapist rating at
    session 3: the alert of session 1 stays."""
    h = histories(
        a={"phq9": [18, 15, NAN], "phq9_item9": [2, 0, NAN], "checkin_therapist": [NAN, NAN, 7.0]},
        b={"phq9": [18, 15], "phq9_item9": [1, 2]},
    )
    alerts = current_alerts(h)
    [a] = alerts["a"]
    assert (a.kind, a.session, a.figures["answer"]) == ("safety", 1, 2)
    assert a.reason.startswith("Session 1:")
    [b] = alerts["b"]
    assert (b.kind, b.session) == ("safety", 2), "the latest risk answer stands for the earlier ones"
    assert list(alert_table(h)["session"]) == [1, 2]


def test_safety_cannot_be_silenced_and_comes_first_whatever_else_fires():
    h = histories(
        a={
            "phq9": [20, 20, 21],
            "phq9_item9": [0, 0, 1],
            "checkin": [9.5, 9.4, 6.0],
            "checkin_therapist": [9.5, 9.5, 9.8],
        }
    )
    alerts = current_alerts(h)["a"]
    assert kinds(alerts)[0] == "safety"
    assert set(kinds(alerts)) == {"safety", "rupture", "perception_gap"}
    table = alert_table(h)
    assert table.iloc[0]["kind"] == "safety" and bool(table.iloc[0]["requires_action"])


def test_a_drop_against_the_clients_own_level_is_a_dip_with_their_numbers():
    h = histories(a={"checkin": [9.6, 9.4, 9.5, 9.6, 7.2]})
    [alert] = current_alerts(h)["a"]
    assert (alert.kind, alert.severity, alert.figures["state"]) == ("rupture", "medium", "dip")
    assert "7.2 at session 5" in alert.reason and "9.5" in alert.reason and "2.3 points" in alert.reason
    assert alert.figures["earlier_checkins"] == 4


def test_the_same_score_is_no_rupture_for_a_client_whose_own_level_is_low():
    """A population cut-off would flag 7.2 for everyone; the client's own baseline does not."""
    h = histories(a={"checkin": [7.0, 7.4, 7.1, 7.3, 7.2]}, b={"checkin": [9.6, 9.4, 9.5, 9.6, 9.3]})
    alerts = current_alerts(h)
    assert alerts == {"a": [], "b": []}


def test_a_noisy_client_needs_a_bigger_drop_than_a_steady_one():
    """One-off dips that recover join the client's level: a swinging client is not alerted at
    every low session."""
    steady = [8.0, 8.1, 8.0, 7.9, 8.0, 8.1]
    noisy = [8.0, 9.2, 7.0, 8.8, 7.2, 9.0]
    h = histories(steady={"checkin": [*steady, 6.6]}, noisy={"checkin": [*noisy, 6.6]})
    alerts = current_alerts(h)
    assert kinds(alerts["steady"]) == ["rupture"] and alerts["noisy"] == []


def test_a_drop_that_does_not_recover_is_unrepaired_and_high():
    h = histories(a={"checkin": [9.5, 9.6, 9.4, 7.0, 7.3]})
    [alert] = current_alerts(h)["a"]
    assert alert.figures["state"] == "unrepaired" and alert.severity == "high"
    assert "7 at session 4" in alert.reason and "7.3 at session 5" in alert.reason
    assert alert.figures["onset_session"] == 4


def test_a_drop_that_recovers_at_the_next_session_gives_no_alert():
    h = histories(a={"checkin": [9.5, 9.6, 9.4, 7.0, 9.3]})
    assert current_alerts(h)["a"] == []


def test_an_unrepaired_rupture_stays_measured_against_the_level_before_it():
    h = histories(a={"checkin": [9.5, 9.6, 9.4, 7.0, 7.1, 7.0, 7.2, 7.1]})
    [alert] = current_alerts(h)["a"]
    assert alert.figures["state"] == "unrepaired" and alert.figures["own_level"] == pytest.approx(9.5)


def test_a_slow_slide_is_a_sustained_decline():
    h = histories(a={"checkin": [9.5, 9.5, 9.5, 9.2, 8.9, 8.6, 8.3]})
    [alert] = current_alerts(h)["a"]
    assert alert.figures["state"] == "sustained_decline"
    assert "since session 4" in alert.reason and "8.3 at session 7" in alert.reason


def test_a_missing_latest_checkin_gives_no_rupture_alert():
    h = histories(a={"checkin": [9.5, 9.6, 9.4, 7.0, NAN], "phq9": [10, 10, 10, 10, 10]})
    assert current_alerts(h)["a"] == []


def alerts_at_each_session(h: Histories, kind: str, model=None) -> list[int]:
    """The sessions at which ``kind`` fires when each session in turn is the latest one."""
    return [
        s
        for s in range(1, h.max_session + 1)
        if kind in kinds(current_alerts(h.upto(s), model)[h.client_id[0]])
    ]


def test_a_steady_offset_is_not_a_perception_gap_at_every_session():
    """A therapist who always rates two points higher: the fixed threshold flags the first two
    sessions; from the third paired rating on, the gap is judged against the pair's own usual
    difference, which it does not exceed."""
    h = histories(
        a={"checkin": [7.0, 7.2, 6.9, 7.1, 7.0, 7.1], "checkin_therapist": [9.0, 9.2, 8.9, 9.1, 9.0, 9.1]}
    )
    assert alerts_at_each_session(h, "perception_gap") == [1, 2]


def test_a_sudden_widening_is_a_perception_gap_with_the_pairs_own_numbers():
    own = load_parameters().perception_gap
    h = histories(
        steady_then_wider={
            "checkin": [7.0, 7.2, 6.9, 7.1, 5.5],
            "checkin_therapist": [9.0, 9.2, 8.9, 9.1, 9.0],
        },
        close_then_apart={
            "checkin": [8.0, 8.2, 8.1, 8.0, 7.0],
            "checkin_therapist": [8.3, 8.5, 8.4, 8.3, 8.3],
        },
        narrower={"checkin": [7.0, 7.2, 6.9, 7.1, 8.5], "checkin_therapist": [9.0, 9.2, 8.9, 9.1, 9.0]},
    )
    alerts = {c: [a for a in found if a.kind == "perception_gap"] for c, found in current_alerts(h).items()}
    [wider] = alerts["steady_then_wider"]
    assert (wider.kind, wider.session, wider.figures["rule"]) == ("perception_gap", 5, "own_usual_difference")
    assert wider.figures["usual_gap"] == pytest.approx(2.0)
    assert wider.figures["widening"] == pytest.approx(1.5)
    assert "this pair's usual difference is 2 points (mean of 4 earlier paired ratings)" in wider.reason
    assert "widened by 1.5 points (alert threshold 1 point)" in wider.reason
    assert own.widening_points.value == 1
    assert wider.severity == "medium"  # a gap of 3.5 points
    [apart] = alerts["close_then_apart"]  # a gap of 1.3: under the fixed threshold, but new for this pair
    assert apart.figures["gap"] == pytest.approx(1.3) and apart.figures["rule"] == "own_usual_difference"
    assert alerts["narrower"] == []


def test_before_three_paired_ratings_the_fixed_threshold_applies_and_says_so():
    """Sessions without both ratings are not pairs: three sessions, two of them paired."""
    h = histories(a={"checkin": [8.0, NAN, 7.0], "checkin_therapist": [8.2, 9.0, 9.0]})
    [alert] = current_alerts(h)["a"]
    assert alert.figures["rule"] == "fixed_threshold" and alert.figures["earlier_pairs"] == 1
    assert (
        "(the fixed alert threshold of 1.5 points applies until this pair has 3 paired ratings)"
        in alert.reason
    )


def test_perception_gap_fires_only_when_the_therapist_sees_it_clearly_better():
    gap = load_parameters().perception_gap.gap_points.value
    h = histories(
        wide={"checkin": [8.0, 7.9], "checkin_therapist": [8.5, 7.9 + gap + 0.3]},
        narrow={"checkin": [8.0, 7.9], "checkin_therapist": [8.5, 7.9 + gap - 0.3]},
        lower={"checkin": [8.0, 7.9], "checkin_therapist": [8.5, 7.9 - gap - 1]},
    )
    alerts = current_alerts(h)
    [alert] = alerts["wide"]
    assert alert.kind == "perception_gap" and alert.severity == "low"
    assert "7.9" in alert.reason and f"{gap + 0.3:g}".rstrip("0") in alert.reason
    assert alerts["narrow"] == [] and alerts["lower"] == []


def test_every_client_has_an_entry_and_forecast_kinds_need_a_model():
    h = histories(a={"phq9": [18, 17, 17, 18]}, b={"phq9": [20]})
    alerts = current_alerts(h)
    assert alerts == {"a": [], "b": []}


@pytest.fixture(scope="module")
def model():
    from attunement.forecast import default_model

    return default_model()


def test_a_worsening_client_is_not_on_track_with_the_expected_range_in_the_reason(model):
    from attunement.forecast import expected_range, predict_risks

    h = histories(
        worse={"phq9": [15, 18, 22, 25], "gad7": [12, 14, 16, 18], "checkin": [8, 8, 8.1, 8]},
        better={"phq9": [15, 10, 7, 5], "gad7": [12, 9, 6, 4], "checkin": [8, 8.5, 9, 9]},
    )
    alerts = current_alerts(h, model)
    [alert] = [a for a in alerts["worse"] if a.kind == "not_on_track"]
    band = expected_range(model, h)
    high = band.high[0, 3]
    assert alert.severity == "high" and alert.session == 4
    assert (
        "PHQ-9 of 25 at session 4 is above the range expected at that session for clients who started at 15"
        in alert.reason
    )
    threshold = model.outcomes["deterioration"].alert.threshold
    assert f"reliable deterioration by the end of treatment is {alert.probability * 100:.0f}%" in alert.reason
    assert f"at or above the alert threshold of {threshold * 100:.0f}%" in alert.reason
    assert f"to {high:.0f})" in alert.reason and alert.figures["expected_high"] == pytest.approx(
        high, abs=0.01
    )
    assert alert.probability == pytest.approx(predict_risks(model, h)["deterioration"][0])
    assert "not_on_track" not in kinds(alerts["better"])


def test_dropout_risk_comes_with_the_models_probability_and_the_clients_numbers(model):
    from attunement.forecast import predict_alerts, predict_risks

    h = histories(
        **{
            f"c{i}": {"phq9": [18, 18 + i % 4, 19], "gad7": [14, 15, 15], "checkin": [8, 6.5 - i % 3, 5.5]}
            for i in range(12)
        }
    )
    risks = predict_risks(model, h)
    flags = predict_alerts(model, risks)["dropout_next"]
    alerts = current_alerts(h, model)
    for row, client in enumerate(h.client_id):
        dropout = [a for a in alerts[client] if a.kind == "dropout_risk"]
        assert bool(dropout) == bool(flags[row])
        for a in dropout:
            assert a.probability == pytest.approx(risks["dropout_next"][row])
            assert "check-in 5.5" in a.reason and f"{a.probability * 100:.0f}%" in a.reason
    assert flags.any()


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.lists(st.one_of(st.none(), st.floats(0, 10, allow_nan=False)), min_size=1, max_size=8),
            st.integers(0, 3) | st.none(),
        ),
        min_size=1,
        max_size=6,
    )
)
def test_an_endorsed_item9_at_the_latest_session_always_comes_first(clients):
    """Whatever the relationship data hold, the safety alert is there, first, and needs an action."""
    data = {}
    for i, (checkins, item9) in enumerate(clients):
        n = len(checkins)
        data[f"c{i}"] = {
            "checkin": [NAN if v is None else v for v in checkins],
            "checkin_therapist": [10.0] * n,
            "phq9": [15.0] * n,
            "phq9_item9": [0.0] * (n - 1) + [NAN if item9 is None else float(item9)],
        }
    alerts = current_alerts(histories(**data))
    for i, (_, item9) in enumerate(clients):
        mine = alerts[f"c{i}"]
        if item9 is None or item9 >= 1:
            assert mine and mine[0].kind == "safety" and mine[0].requires_action
            assert [a.kind for a in mine].count("safety") == 1
        else:
            assert "safety" not in kinds(mine)


def test_the_table_keeps_the_figures_of_every_alert():
    h = histories(
        endorsed={"phq9": [18, 15], "phq9_item9": [0, 2]},
        skipped={"phq9": [18, 15], "phq9_item9": [0, NAN]},
    )
    table = alert_table(h).set_index("client_id")
    assert table.loc["endorsed", "safety_answer"] == 2
    assert table.loc["skipped", "safety_answer"] == "not answered"
    assert list(table.index) == ["endorsed", "skipped"]


def test_no_not_on_track_with_one_phq9_or_none(model):
    """The model flags all three (a PHQ-9 and GAD-7 of 0 give a 98% chance of no reliable
    improvement; a rising GAD-7 a high chance of deterioration), but one PHQ-9 is only the intake
    and without a PHQ-9 there is no outcome score: no not-on-track alert."""
    from attunement.forecast import predict_alerts, predict_risks

    h = histories(
        first_form={"phq9": [0], "gad7": [0]},
        no_phq9={"gad7": [8, 12, 16, 20], "checkin": [8, 8, 8, 8]},
        one_late_phq9={"phq9": [NAN, NAN, NAN, 24], "gad7": [8, 12, 16, 20]},
    )
    flags = predict_alerts(model, predict_risks(model, h))
    assert (flags["deterioration"] | flags["no_improvement"]).all(), "the model alone would alert"
    alerts = current_alerts(h, model)
    assert all("not_on_track" not in kinds(alerts[c]) for c in h.client_id)


def test_no_no_improvement_signal_below_caseness_but_deterioration_still_alerts(model):
    from attunement.forecast import predict_alerts, predict_risks

    h = histories(
        low_and_flat={"phq9": [6, 7, 8, 8], "gad7": [5, 5, 6, 6], "checkin": [8] * 4},
        low_and_worse={"phq9": [4, 9, 12, 14], "gad7": [4, 8, 11, 13], "checkin": [8] * 4},
    )
    flags = predict_alerts(model, predict_risks(model, h))
    assert flags["no_improvement"][0], "the model alone would flag no improvement"
    alerts = current_alerts(h, model)
    assert "not_on_track" not in kinds(alerts["low_and_flat"])
    [worse] = [a for a in alerts["low_and_worse"] if a.kind == "not_on_track"]
    assert worse.severity == "high" and "no_improvement" not in str(worse.figures["fired_by"])
    assert (
        "ending without reliable improvement is not judged: "
        "the first PHQ-9 (4) was below the caseness cut-off of 10" in worse.reason
    )


def test_a_score_within_the_range_says_what_fired(model):
    """A probability alone fired it while the score is within the expected range: the reason says
    so plainly, with the probability against its threshold."""
    h = histories(within={"phq9": [13, 11, 12, NAN, 14], "gad7": [10] * 5, "checkin": [8] * 5})
    [alert] = [a for a in current_alerts(h, model)["within"] if a.kind == "not_on_track"]
    threshold = model.outcomes["no_improvement"].alert.threshold
    assert "PHQ-9 of 14 at session 5 is within the range expected at that session" in alert.reason
    assert (
        ", but the estimated chance of ending without reliable improvement is "
        f"{alert.probability * 100:.0f}%, at or above the alert threshold of {threshold * 100:.0f}%"
        in alert.reason
    )
    assert alert.figures["fired_by"] == "no_improvement"


def test_a_phq9_above_the_expected_range_twice_is_not_on_track_without_the_models_alert(model):
    """PHQ-9 18-21 for nine sessions while GAD-7 falls: the model expects a reliable improvement
    (on GAD-7) and stays silent; the plain rule does not. Above the range at the last session
    only is not enough."""
    from attunement.forecast import predict_alerts, predict_risks

    falling = [12, 11, 10, 9, 8, 7, 6, 5, 4]
    h = histories(
        stuck={"phq9": [18, 20, 19, 21, 19, 20, 19, 21, 20], "gad7": falling, "checkin": [8] * 9},
        once={"phq9": [18, 18, 17, 17, 18, 17, 16, 17, 20], "gad7": falling, "checkin": [8] * 9},
    )
    flags = predict_alerts(model, predict_risks(model, h))
    assert not (flags["deterioration"] | flags["no_improvement"]).any()
    alerts = current_alerts(h, model)
    [stuck] = [a for a in alerts["stuck"] if a.kind == "not_on_track"]
    assert (stuck.severity, stuck.probability, stuck.figures["fired_by"]) == (
        "medium",
        None,
        "above_expected_range",
    )
    assert (
        "it has been above the expected range at each of the last 2 recorded PHQ-9s (since session 8)"
        in stuck.reason
    )
    assert "(alert threshold" in stuck.reason  # the model's figures are still shown, below their thresholds
    assert "not_on_track" not in kinds(alerts["once"])


def test_the_reason_says_when_the_model_was_fitted_on_simulated_clients(model):
    from dataclasses import replace

    from attunement.forecast.model import fitted_on_simulated

    h = histories(worse={"phq9": [15, 18, 22, 25], "gad7": [12, 14, 16, 18], "checkin": [8, 8, 8.1, 8]})
    own = replace(model, trained_on={**model.trained_on, "simulated": False})
    assert fitted_on_simulated(model) and not fitted_on_simulated(own)
    simulated = [a for a in current_alerts(h, model)["worse"] if a.kind in ("not_on_track", "dropout_risk")]
    theirs = [a for a in current_alerts(h, own)["worse"] if a.kind in ("not_on_track", "dropout_risk")]
    assert simulated and all("fitted on simulated clients" in a.reason for a in simulated)
    assert theirs and not any("simulated" in a.reason for a in theirs)
