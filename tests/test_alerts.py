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
        "PHQ-9 of 25 at session 4 is above the range expected for clients who started at 15" in alert.reason
    )
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
