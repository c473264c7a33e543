"""Kept alerts: opened once, updated while the condition goes on, resolved when it clears; safety
closed only by a recorded action. And safety from every critical item of every instrument."""

from __future__ import annotations

from attunement.alerts import Alert
from attunement.alerts.critical import Form, critical_alerts
from attunement.alerts.lifecycle import Kept, next_steps


def alert(kind: str, session: int, reason: str = "r") -> Alert:
    return Alert("c", kind, "medium", session, None, reason)


def kept(id: int, kind: str, status: str, first: int, last: int, reason: str = "r") -> Kept:
    return Kept(id, kind, status, first, last, reason)


def ops(steps) -> list[tuple]:
    return [(s.op, s.kept_id, s.alert.session if s.alert else None) for s in steps]


def test_a_new_condition_opens_and_a_continuing_one_updates_the_same_alert():
    assert ops(next_steps([], [alert("rupture", 9)], 9)) == [("open", None, 9)]
    # An action was recorded at session 9; the rupture goes on at session 10: same alert, updated.
    steps = next_steps([kept(1, "rupture", "actioned", 9, 9)], [alert("rupture", 10, "worse")], 10)
    assert ops(steps) == [("update", 1, 10)]
    # Nothing new: no step at all.
    assert next_steps([kept(1, "rupture", "open", 9, 10, "worse")], [alert("rupture", 10, "worse")], 10) == []


def test_a_condition_that_clears_resolves_its_alert_and_a_later_one_opens_afresh():
    steps = next_steps([kept(1, "perception_gap", "acknowledged", 3, 4)], [], 5)
    assert ops(steps) == [("resolve", 1, None)] and "session 5" in steps[0].note
    assert ops(
        next_steps([kept(1, "perception_gap", "resolved", 3, 4)], [alert("perception_gap", 7)], 7)
    ) == [("open", None, 7)]


def test_a_safety_alert_is_never_resolved_by_itself():
    assert next_steps([kept(1, "safety", "open", 4, 4)], [], 6) == []
    assert next_steps([kept(1, "safety", "acknowledged", 4, 4)], [], 6) == []


def test_an_actioned_safety_alert_is_finished_and_only_a_later_risk_answer_opens_another():
    done = [kept(1, "safety", "actioned", 4, 4)]
    assert next_steps(done, [alert("safety", 4)], 5) == []  # the same risk answer, dealt with
    assert next_steps(done, [alert("safety", 3)], 5) == []  # an earlier one it covered
    assert ops(next_steps(done, [alert("safety", 6)], 6)) == [("open", None, 6)]
    # While open, a newer risk answer updates the open alert instead of adding one.
    assert ops(next_steps([kept(1, "safety", "open", 4, 4)], [alert("safety", 6)], 6)) == [("update", 1, 6)]


def test_critical_items_of_any_instrument_at_any_session_scored_or_not():
    phq9 = {f"phq9_{i}": 0.0 for i in range(1, 10)}
    forms = [
        Form("a", 0, "phq9", {**phq9, "phq9_9": 2.0}),  # a pre-treatment assessment
        Form("b", 3, "core10", {"core10_6": 3.0}),  # CORE-10's risk item, a form too short to score
        Form("c", 2, "phq9", {k: v for k, v in phq9.items() if k not in ("phq9_8", "phq9_9")}),
        Form("d", 1, "phq9", phq9),  # no risk answer
        Form("e", 1, "gad7", {"gad7_1": 3.0}),  # no critical item declared
        Form("f", 2, "not-installed", {"x": 1.0}),
    ]
    found = critical_alerts(forms)
    assert sorted(found) == ["a", "b", "c"]
    assert found["a"].session == 0 and "answered 2 of 3" in found["a"].reason
    assert "CORE-10 item 6" in found["b"].reason and found["b"].requires_action
    assert "left unanswered" in found["c"].reason and found["c"].figures["answer"] == "not answered"


def test_the_latest_risk_session_stands_and_two_submissions_of_it_keep_the_highest_answer():
    phq9 = {f"phq9_{i}": 0.0 for i in range(1, 10)}
    forms = [
        Form("a", 1, "phq9", {**phq9, "phq9_9": 3.0}),
        Form("a", 2, "phq9", {**phq9, "phq9_9": 1.0}),
        Form("a", 2, "phq9", {**phq9, "phq9_9": 2.0}),
        Form("a", 3, "phq9", phq9),
    ]
    [(key, found)] = critical_alerts(forms).items()
    assert found.session == 2 and found.figures["answer"] == 2.0


def test_a_kind_that_cannot_be_judged_yet_is_not_resolved():
    held = [kept(1, "perception_gap", "actioned", 1, 1)]
    assert next_steps(held, [], 2, undecided={"perception_gap"}) == []
    assert ops(next_steps(held, [], 2)) == [("resolve", 1, None)]


def test_two_live_alerts_of_one_kind_leave_one_and_an_ended_episode_resolves_course_alerts():
    both = [kept(1, "rupture", "acknowledged", 1, 1), kept(2, "rupture", "open", 2, 2)]
    steps = next_steps(both, [alert("rupture", 3)], 3)
    assert ops(steps) == [("resolve", 1, None), ("update", 2, 3)]
    ended = next_steps([kept(1, "perception_gap", "open", 1, 1)], [], 1, {"perception_gap"}, ended=True)
    assert ops(ended) == [("resolve", 1, None)] and "ended" in ended[0].note


def test_with_numbered_answers_news_is_what_came_after_the_action_whatever_its_session():
    done = [Kept(1, "safety", "actioned", 2, 2, "r", through=40)]
    late = Alert("c", "safety", "high", 1, None, "r", figures={"through_submission": 41})
    old = Alert("c", "safety", "high", 2, None, "r", figures={"through_submission": 40})
    assert ops(next_steps(done, [late], 2)) == [("open", None, 1)]
    assert next_steps(done, [old], 2) == []
