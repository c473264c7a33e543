"""Alerts on a small simulated cohort, whose true ruptures are known."""

from __future__ import annotations

import numpy as np
import pytest

from attunement.alerts import RuptureMethod, alert_table, current_alerts
from attunement.alerts.accuracy import rupture_accuracy
from attunement.prediction.histories import histories_from_tables
from attunement.prediction.outcomes import labels_from_tables
from attunement.simulation import simulate


@pytest.fixture(scope="module")
def cohort():
    sim = simulate(3000, 11)
    h = histories_from_tables(sim.measures, sim.episodes)
    return h, labels_from_tables(h, sim.episodes, sim.truth, sim.ruptures)


def test_every_endorsed_item9_at_the_latest_session_has_a_safety_alert(cohort):
    h, _ = cohort
    alerts = current_alerts(h)
    last = h.sessions - 1
    item9 = h.scores["phq9_item9"][np.arange(len(h)), last]
    endorsed = set(h.client_id[item9 >= 1])
    assert endorsed  # the cohort has some
    with_safety = {c for c, a in alerts.items() if a and a[0].kind == "safety" and a[0].requires_action}
    assert endorsed <= with_safety


def test_the_table_and_the_objects_hold_the_same_alerts(cohort):
    h, _ = cohort
    alerts = current_alerts(h)
    table = alert_table(h)
    assert len(table) == sum(len(a) for a in alerts.values())
    first = table.groupby("client_id", sort=False).head(1).set_index("client_id")["kind"]
    assert all(alerts[c][0].kind == k for c, k in first.items())


def test_rupture_rule_finds_most_true_ruptures_with_few_false_alarms(cohort):
    h, labels = cohort
    accuracy = rupture_accuracy(h, labels)
    assert accuracy.true_episodes > 500
    assert accuracy.episode_recall[1] > 0.6 and accuracy.episode_precision > 0.7
    assert accuracy.session_precision > 0.7


def test_rupture_method_sees_only_the_past(cohort):
    h, _ = cohort
    method = RuptureMethod().fit(h, object())  # no rupture labels: the rule's z
    batched = method.predict_sessions(h, [2, 3, 5])
    for s in (2, 3, 5):
        single = method.predict(h.upto(s))
        np.testing.assert_allclose(batched[s].risk["rupture"], single.risk["rupture"])
        np.testing.assert_array_equal(batched[s].alert["rupture"], single.alert["rupture"])


def test_the_latest_session_walk_agrees_with_the_full_walk(cohort):
    from attunement.alerts.rupture import rupture_course, rupture_now

    h, _ = cohort
    checkin = h.score("checkin")
    full, now = rupture_course(checkin), rupture_now(checkin, h.sessions)
    last = np.minimum(h.sessions, h.max_session) - 1
    rows = np.arange(len(h))
    np.testing.assert_array_equal(now.state, full.state[rows, last])
    np.testing.assert_allclose(now.z, full.z[rows, last])
    np.testing.assert_array_equal(now.onset, full.onset[rows, last])


def test_every_not_on_track_reason_says_what_fired_and_where_the_score_lies(cohort):
    """On a simulated caseload with the bundled model: the position named in the reason agrees
    with the numbers, a score within or below the expected range is followed by the probability
    that fired the alert, each part that fired is named with its threshold, and nothing fires
    with fewer than two PHQ-9 scores or for no improvement below caseness."""
    from attunement.alerts.forecast_alerts import at_caseness
    from attunement.forecast import default_model

    h, _ = cohort
    table = alert_table(h, default_model())
    rows = table[table["kind"] == "not_on_track"]
    assert len(rows) > 100
    wording = {
        "deterioration": "the estimated chance of reliable deterioration by the end of treatment is ",
        "no_improvement": "the estimated chance of ending without reliable improvement is ",
        "above_expected_range": "it has been above the expected range at each of the last 2 recorded PHQ-9s",
    }
    seen = set()
    for row in rows.itertuples():
        fired = set(row.not_on_track_fired_by.split("+"))
        score, low, high = (
            row.not_on_track_phq9,
            row.not_on_track_expected_low,
            row.not_on_track_expected_high,
        )
        position = "above" if score > high else "below" if score < low else "within"
        seen.add(position)
        assert f"is {position} the range expected at that session" in row.reason
        if position != "above":
            assert ", but the estimated chance of " in row.reason and "above_expected_range" not in fired
        for part, words in wording.items():
            assert (part in fired) == (words in row.reason), (part, row.reason)
        assert row.reason.count("at or above the alert threshold of") == len(fired - {"above_expected_range"})
        assert row.not_on_track_phq9_scores >= 2
        if not at_caseness(np.array([row.not_on_track_phq9_first]))[0]:
            assert "no_improvement" not in fired and "is not judged" in row.reason
        assert "fitted on simulated clients" in row.reason
    assert {"above", "within"} <= seen


def test_the_latest_session_gap_agrees_with_the_full_course(cohort):
    from attunement.alerts.perception import gap_course, gap_now

    h, _ = cohort
    client, therapist = h.score("checkin"), h.score("checkin_therapist")
    last = np.minimum(h.sessions, h.max_session) - 1
    full, now = gap_course(client, therapist), gap_now(client, therapist, last)
    rows = np.arange(len(h))
    assert now.own.any() and now.fires.any()
    for name in ("gap", "pairs", "usual", "widening", "own", "fires"):
        np.testing.assert_allclose(getattr(now, name), getattr(full, name)[rows, last], err_msg=name)
