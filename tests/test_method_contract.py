"""The contract every early-warning method fulfils (attunement.prediction.methods.Method).

One small simulated cohort, every registered method (the published baselines, the forecast, the
rupture method and the oracle): fitting returns the method and only sets attributes ending in
``_``; an answer has one value per client for every declared outcome and no other; answering
many sessions at once is the same as answering each cut history; before fitting both refuse with
one clear error; and nothing after a session changes the answer at that session.
"""

from __future__ import annotations

import numpy as np
import pytest

from attunement.errors import NotFittedError
from attunement.evaluation.cohort import Cohort, split_by_client
from attunement.evaluation.registry import registered_methods
from attunement.prediction.histories import Histories, histories_from_tables
from attunement.prediction.methods import KINDS, OUTCOMES, Method, Prediction
from attunement.prediction.outcomes import labels_from_tables
from attunement.simulation import simulate

SESSIONS = [1, 2, 3, 5]


@pytest.fixture(scope="module")
def cohorts() -> tuple[Cohort, Cohort]:
    clinic = simulate(1100, 41)
    histories = histories_from_tables(clinic.measures, clinic.episodes)
    labels = labels_from_tables(histories, clinic.episodes, clinic.truth, clinic.ruptures)
    cohort = Cohort("contract", histories, labels, has_truth=True)
    reference, held_out = split_by_client(cohort, 0.9, 0)
    return reference, held_out


@pytest.fixture(scope="module")
def fitted(cohorts) -> dict[str, tuple[Method, dict, dict]]:
    """Each method fitted on the reference part, with its attributes before and after fitting."""
    reference, held_out = cohorts
    out = {}
    for method in registered_methods(held_out):
        before = dict(vars(method))
        returned = method.fit(reference.histories, reference.labels)
        assert returned is method, f"{method.name}.fit must return the method itself"
        out[method.name] = (method, before, dict(vars(method)))
    return out


METHOD_NAMES = [
    "rational_rules",
    "pcoms_zones",
    "oq_expected_recovery",
    "trier_nearest_neighbours",
    "attunement_forecast",
    "own_baseline_rupture",
    "oracle",
]


def test_the_list_covers_every_registered_method(cohorts):
    assert [m.name for m in registered_methods(cohorts[1])] == METHOD_NAMES


@pytest.mark.parametrize("name", METHOD_NAMES)
def test_a_method_describes_itself_and_subclasses_the_contract(cohorts, name):
    method = _fresh(cohorts, name)
    assert isinstance(method, Method)
    assert method.kind in KINDS and len(method.citation) > 20
    assert method.outcomes and set(method.outcomes) <= set(OUTCOMES)
    assert not method.is_fitted
    settings = [key for key in vars(method) if key.endswith("_") and not key.startswith("_")]
    assert not settings, f"{name}: the constructor set learned attributes {settings}"


@pytest.mark.parametrize("name", METHOD_NAMES)
def test_fit_returns_the_method_and_sets_only_learned_attributes(fitted, name):
    method, before, after = fitted[name]
    assert method.is_fitted
    added = set(after) - set(before)
    assert added and all(key.endswith("_") for key in added), (name, added)
    for key, value in before.items():
        if key != "last_posteriors":  # the oracle's report of its last answer, not a setting
            assert after[key] is value, f"{name}.fit changed its setting {key}"


@pytest.mark.parametrize("name", METHOD_NAMES)
def test_predict_answers_each_declared_outcome_for_each_client(fitted, cohorts, name):
    method = fitted[name][0]
    histories = cohorts[1].histories
    for s in SESSIONS:
        cut = histories.upto(s)
        answer = method.predict(cut)
        assert isinstance(answer, Prediction)
        assert set(answer.risk) == set(answer.alert) == set(method.outcomes), (name, s)
        for outcome in method.outcomes:
            risk, alert = np.asarray(answer.risk[outcome]), np.asarray(answer.alert[outcome])
            assert risk.shape == alert.shape == (len(cut),), (name, outcome, s)
            assert alert.dtype == bool, (name, outcome, s)
            if answer.is_probability:
                finite = risk[np.isfinite(risk)]
                assert np.all((finite >= 0) & (finite <= 1)), (name, outcome, s)


@pytest.mark.parametrize("name", METHOD_NAMES)
def test_predict_sessions_is_predict_at_each_session(fitted, cohorts, name):
    method = fitted[name][0]
    histories = cohorts[1].histories
    beyond = int(histories.sessions.max()) + 1  # nobody attended it: left out
    answers = method.predict_sessions(histories, [*SESSIONS, beyond])
    assert list(answers) == SESSIONS, name
    for s in SESSIONS:
        _assert_same(answers[s], method.predict(histories.upto(s)), f"{name} at session {s}")


@pytest.mark.parametrize("name", METHOD_NAMES)
def test_before_fitting_it_refuses_with_one_clear_error(cohorts, name):
    method = _fresh(cohorts, name)
    histories = cohorts[1].histories
    with pytest.raises(NotFittedError, match=f"{name} is not fitted yet: call fit"):
        method.predict(histories.upto(2))
    with pytest.raises(NotFittedError, match=f"{name} is not fitted yet"):
        method.predict_sessions(histories, [1, 2])


@pytest.mark.parametrize("name", METHOD_NAMES)
@pytest.mark.parametrize("session", [2, 3])
def test_the_answer_at_a_session_ignores_everything_after_it(fitted, cohorts, name, session):
    method = fitted[name][0]
    histories = cohorts[1].histories
    now, later = session, session + 2
    original = method.predict_sessions(histories, [now, later])
    altered = method.predict_sessions(_scrambled_after(histories, now), [now])
    _assert_same(altered[now], original[now], f"{name} at session {now}")
    # the scrambled scores reach the method: two sessions on, its answers differ
    scrambled = method.predict_sessions(_scrambled_after(histories, now, endings=False), [later])
    assert any(
        not np.allclose(scrambled[later].risk[o], original[later].risk[o], equal_nan=True)
        for o in method.outcomes
    ), name


def _fresh(cohorts, name: str) -> Method:
    return next(m for m in registered_methods(cohorts[1]) if m.name == name)


def _scrambled_after(histories: Histories, session: int, endings: bool = True) -> Histories:
    """The same clients with every score after ``session`` replaced at random (missed forms stay
    missed) and, with ``endings``, the courses of those who went on ending at another session
    after it."""
    rng = np.random.default_rng(session)
    scores = {}
    for name, values in histories.scores.items():
        later = values.copy()
        tail = later[:, session:]
        seen = ~np.isnan(tail)
        tail[seen] = rng.uniform(np.nanmin(values), np.nanmax(values), int(seen.sum())).round()
        scores[name] = later
    went_on = histories.sessions > session
    sessions = histories.sessions.copy()
    if endings:
        sessions[went_on] = rng.integers(session + 1, histories.max_session + 1, int(went_on.sum()))
    return Histories(
        histories.client_id,
        histories.therapist_id,
        histories.group,
        sessions,
        scores,
        histories.episode_id,
        histories.episode_client_id,
    )


def _assert_same(a: Prediction, b: Prediction, what: str) -> None:
    assert a.is_probability == b.is_probability, what
    assert set(a.risk) == set(b.risk) and set(a.alert) == set(b.alert), what
    for outcome in a.risk:
        np.testing.assert_allclose(a.risk[outcome], b.risk[outcome], rtol=0, atol=1e-9, err_msg=what)
        np.testing.assert_array_equal(a.alert[outcome], b.alert[outcome], err_msg=what)
