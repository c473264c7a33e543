"""Safety in ``attunement alerts --batch`` follows the web app's rule, and the batch reads what was
recorded from an ``actions`` table.

Every case is run on both the CSV path and the Parquet fast path, and the batch's safety alerts
are checked against :func:`attunement.alerts.critical.critical_alerts` given the same forms.
"""

from __future__ import annotations

import json
import random

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from attunement.alerts.batch import batch_alerts, read_batch_histories
from attunement.alerts.critical import Form, critical_alerts, form_flags
from attunement.alerts.critical_answers import Answers, critical_fired
from attunement.cli import app
from attunement.errors import InvalidInputError
from attunement.instruments import get_instrument

SUFFIXES = [".csv", ".parquet"]
PHQ9 = get_instrument("phq9").scoring.items
CALM = dict.fromkeys(PHQ9, 1.0) | {"phq9_9": 0.0}


def phq9(**changed: float | None) -> dict[str, float | None]:
    """A PHQ-9 answered 1 to every item and 0 to item 9, with the items given changed (None:
    left blank)."""
    return CALM | {f"phq9_{k.removeprefix('item')}": v for k, v in changed.items()}


def form_rows(forms: list[Form]) -> list[dict]:
    """Measures rows for forms keyed (client, episode): one item row per answer, blanks empty."""
    return [
        {
            "client_id": f.key[0],
            "episode_id": f.key[1],
            "session": f.session,
            "instrument": f.instrument,
            "rater": "client",
            "item": item,
            "value": value,
        }
        for f in forms
        for item, value in f.answers.items()
    ]


def score_rows(client, episode, instrument, scores, rater="client", first=1):
    return [
        {
            "client_id": client,
            "episode_id": episode,
            "session": s,
            "instrument": instrument,
            "rater": rater,
            "score": x,
        }
        for s, x in enumerate(scores, start=first)
        if x is not None
    ]


def write(folder, suffix, measures, episodes=None, actions=None):
    """The tables into ``folder``; episode_id columns are dropped when no row names an episode."""
    folder.mkdir(parents=True, exist_ok=True)
    tables = {"measures": pd.DataFrame(measures), "episodes": episodes, "actions": actions}
    for name, frame in tables.items():
        if frame is None:
            continue
        if "episode_id" in frame.columns and frame["episode_id"].isna().all():
            frame = frame.drop(columns="episode_id")
        if suffix == ".csv":
            frame.to_csv(folder / f"{name}.csv", index=False)
        else:
            frame.to_parquet(folder / f"{name}.parquet", index=False)
    return folder


def course(client, episode) -> str:
    return client if episode is None or pd.isna(episode) else f"{client}/{episode}"


def safety_of(table: pd.DataFrame) -> dict[str, tuple]:
    rows = table[table["kind"] == "safety"]
    return {
        course(r.client_id, r.episode_id): (
            int(r.session),
            r.reason,
            r.safety_item,
            r.safety_flag,
            r.safety_items,
        )
        for r in rows.itertuples()
    }


def expected_safety(forms: list[Form]) -> dict[str, tuple]:
    """What the web app's rule gives for the same forms."""
    return {
        course(*key): (a.session, a.reason, a.figures["item"], a.figures["flag"], a.figures["items"])
        for key, a in critical_alerts(forms).items()
    }


def run(folder, suffix, forms, extra=(), episodes=None, actions=None):
    path = write(folder, suffix, form_rows(forms) + list(extra), episodes, actions)
    return batch_alerts(path, block=2)


@pytest.mark.parametrize("suffix", SUFFIXES)
def test_a_risk_answer_stays_after_calmer_answers_at_a_later_session(tmp_path, suffix):
    forms = [
        Form(("a", None), 3, "phq9", phq9()),
        Form(("a", None), 4, "phq9", phq9(item9=2.0)),
        Form(("a", None), 5, "phq9", phq9()),
    ]
    result = run(tmp_path, suffix, forms)
    got = safety_of(result.alerts)
    assert got == expected_safety(forms)
    assert got["a"][:2] == (
        4,
        "Session 4: PHQ-9 item 9 (thoughts of being better off dead or of self-harm) answered 2 of 3:"
        " follow the safety procedure whatever the total score",
    )
    assert result.safety_item_recorded


@pytest.mark.parametrize("suffix", SUFFIXES)
def test_a_risk_answer_at_a_pre_treatment_assessment_counts(tmp_path, suffix):
    forms = [Form(("a", None), 0, "phq9", phq9(item9=1.0)), Form(("b", None), 0, "phq9", phq9())]
    result = run(tmp_path, suffix, forms, score_rows("b", None, "gad7", [8.0]))
    got = safety_of(result.alerts)
    assert got == expected_safety(forms) and set(got) == {"a"}
    assert got["a"][0] == 0 and "answered 1 of 3" in got["a"][1]


@pytest.mark.parametrize("suffix", SUFFIXES)
@pytest.mark.parametrize("absent", [False, True], ids=["empty values", "rows missing"])
def test_items_8_and_9_left_blank_on_an_unscorable_phq9_raise_an_alert(tmp_path, suffix, absent):
    answers = phq9(item8=None, item9=None)
    if absent:
        answers = {k: v for k, v in answers.items() if v is not None}
    forms = [Form(("a", None), 1, "phq9", phq9()), Form(("a", None), 2, "phq9", answers)]
    result = run(tmp_path, suffix, forms)
    histories, _ = read_batch_histories(tmp_path)
    assert np.isnan(histories.score("phq9")[0, 1]), "two blank items: the form cannot be scored"
    got = safety_of(result.alerts)
    assert got == expected_safety(forms)
    session, reason, item, flag, items = got["a"]
    assert (session, item, flag, items) == (2, "phq9_9", "critical_item_unanswered", "phq9_9")
    assert "left unanswered on a PHQ-9 that was sent" in reason


@pytest.mark.parametrize("suffix", SUFFIXES)
def test_core10_item_6_raises_an_alert_among_score_rows_of_other_measures(tmp_path, suffix):
    core10 = {f"core10_{k}": 1.0 for k in range(1, 11)} | {"core10_6": 3.0}
    forms = [Form(("a", None), 2, "core10", core10)]
    others = score_rows("a", None, "phq9", [14.0, 12.0]) + score_rows("a", None, "gad7", [11.0, 9.0])
    others += score_rows("b", None, "phq9", [9.0, 8.0]) + score_rows("a", None, "bdi", [20.0, 18.0])
    result = run(tmp_path, suffix, forms, others)
    got = safety_of(result.alerts)
    assert got == expected_safety(forms) and set(got) == {"a"}
    assert got["a"][0] == 2 and got["a"][1].startswith("Session 2: CORE-10 item 6 ")
    assert "answered 3 of 4" in got["a"][1]


@pytest.mark.parametrize("suffix", SUFFIXES)
def test_a_therapists_rows_and_totals_only_are_not_the_clients_answers(tmp_path, suffix):
    therapist = [
        {**row, "rater": "therapist"} for row in form_rows([Form(("a", None), 1, "phq9", phq9(item9=3.0))])
    ]
    result = run(tmp_path, suffix, [], therapist + score_rows("a", None, "phq9", [15.0]))
    assert safety_of(result.alerts) == {} and not result.safety_item_recorded


def closed_and_reopened(last_session: int) -> list[Form]:
    return [
        Form(("a", None), 3, "phq9", phq9(item9=1.0)),
        Form(("a", None), 4, "phq9", phq9(item9=2.0)),
        *(Form(("a", None), s, "phq9", phq9()) for s in range(5, last_session)),
        Form(("a", None), last_session, "phq9", phq9(item9=1.0 if last_session == 6 else 0.0)),
    ]


def actions(*rows: tuple) -> pd.DataFrame:
    """Rows of (client, episode, kind, session, action)."""
    return pd.DataFrame(rows, columns=["client_id", "episode_id", "kind", "session", "action"]).assign(
        date="2026-03-02"
    )


@pytest.mark.parametrize("suffix", SUFFIXES)
def test_an_action_closes_the_safety_alert_it_covers_and_a_later_risk_answer_reopens_it(tmp_path, suffix):
    recorded = actions(("a", None, "safety", 4, "Phoned, safety plan agreed"))
    calm_after = closed_and_reopened(5)
    result = run(tmp_path / "calm", suffix, calm_after, actions=recorded)
    assert expected_safety(calm_after)["a"][0] == 4, "the web app's rule gives the session-4 alert"
    assert safety_of(result.alerts) == {} and result.closed_by_action == 1 and result.actions == 1
    # A later risk answer than any action gives a new alert, exactly as the web app words it.
    risk_again = closed_and_reopened(6)
    result = run(tmp_path / "again", suffix, risk_again, actions=recorded)
    assert safety_of(result.alerts) == expected_safety(risk_again)
    assert safety_of(result.alerts)["a"][0] == 6 and result.closed_by_action == 0
    # An action recorded for an earlier session does not cover the risk answer at session 4.
    early = actions(("a", None, "safety", 3, "Discussed"))
    result = run(tmp_path / "early", suffix, calm_after, actions=early)
    assert safety_of(result.alerts) == expected_safety(calm_after)


def ended_episode() -> tuple[list[Form], pd.DataFrame]:
    """Client r's first episode ended with item 9 answered 2 at its last session, and the check-in
    dropped (a rupture, were the course in progress); the second is ongoing and calm."""
    forms = [
        Form(("r", "1"), 1, "phq9", phq9()),
        Form(("r", "1"), 2, "phq9", phq9(item9=2.0)),
        Form(("r", "2"), 1, "phq9", phq9()),
    ]
    episodes = pd.DataFrame(
        {
            "client_id": ["r", "r"],
            "episode_id": ["1", "2"],
            "therapist_id": ["t1", "t2"],
            "end_reason": ["dropout", "ongoing"],
        }
    )
    return forms, episodes


@pytest.mark.parametrize("suffix", SUFFIXES)
def test_an_ended_episodes_safety_alert_is_output_until_an_action_is_recorded(tmp_path, suffix):
    forms, episodes = ended_episode()
    checkins = score_rows("r", "1", "checkin", [9.5, 9.6, 9.4, 9.5, 6.0], first=1)
    open_ = run(tmp_path / "open", suffix, forms, checkins, episodes)
    assert open_.ended_episodes == 1
    assert safety_of(open_.alerts) == expected_safety(forms)
    assert open_.alerts[["client_id", "episode_id", "kind"]].values.tolist() == [["r", "1", "safety"]]
    # An action for the other episode, or for this one naming the episode, as the alert names it.
    wrong = actions(("r", "2", "safety", 2, "Called"))
    assert len(run(tmp_path / "wrong", suffix, forms, checkins, episodes, wrong).alerts) == 1
    done = actions(("r", "1", "safety", 2, "Called, referred to the crisis team"))
    closed = run(tmp_path / "closed", suffix, forms, checkins, episodes, done)
    assert closed.alerts.empty and closed.closed_by_action == 1


def dip() -> list[dict]:
    """Client s: a calm PHQ-9 and a drop of the check-in at session 5 (a rupture alert)."""
    return score_rows("s", None, "checkin", [9.5, 9.6, 9.4, 9.5, 7.2]) + score_rows(
        "s", None, "phq9", [9.0] * 5
    )


@pytest.mark.parametrize("suffix", SUFFIXES)
@pytest.mark.parametrize("items", [True, False], ids=["item rows", "totals only"])
def test_an_action_marks_another_kind_of_alert_without_removing_it(tmp_path, suffix, items):
    """With totals only, the Parquet path forms its blocks by course length, not in the order of
    the courses (client u's short course comes first)."""
    risk = [Form(("a", None), 2, "phq9", phq9(item9=1.0))] if items else []
    others = dip() + score_rows("u", None, "phq9", [12.0])
    recorded = actions(
        ("s", None, "rupture", 5, "Asked about it; agreed to change the homework"),
        ("u", None, "rupture", 1, "A rupture alert this client does not have"),
    )
    result = run(tmp_path, suffix, risk, others, actions=recorded)
    table = result.alerts.set_index("client_id")
    assert table.loc["s", "kind"] == "rupture" and bool(table.loc["s", "action_recorded"])
    assert "u" not in table.index
    if items:
        assert table.loc["a", "kind"] == "safety" and not bool(table.loc["a", "action_recorded"])
    assert safety_of(result.alerts) == expected_safety(risk)
    # At another session the action is for another alert.
    earlier = actions(("s", None, "rupture", 4, "Checked in"))
    again = run(tmp_path / "earlier", suffix, risk, others, actions=earlier).alerts.set_index("client_id")
    assert not bool(again.loc["s", "action_recorded"])


@pytest.mark.parametrize("suffix", SUFFIXES)
def test_the_command_counts_actions_and_writes_every_column(tmp_path, suffix):
    forms = [
        Form(("a", None), 2, "phq9", phq9(item9=None, item8=None)),
        Form(("b", None), 1, "phq9", phq9(item9=3.0)),
    ]
    recorded = actions(("s", None, "rupture", 5, "Talked about it"), ("b", None, "safety", 1, "Safety plan"))
    folder = write(tmp_path / "clinic", suffix, form_rows(forms) + dip(), actions=recorded)
    out = tmp_path / f"alerts{suffix}"
    result = CliRunner().invoke(app, ["alerts", "--batch", str(folder), "--out", str(out), "--json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output)
    assert (summary["actions"], summary["closed_by_action"], summary["action_recorded"]) == (2, 1, 1)
    written = pd.read_csv(out) if suffix == ".csv" else pd.read_parquet(out)
    assert written[["client_id", "kind", "action_recorded"]].values.tolist() == [
        ["a", "safety", False],
        ["s", "rupture", True],
    ]
    assert written.loc[0, "safety_answer"] == "not answered"


@pytest.mark.parametrize("suffix", SUFFIXES)
@pytest.mark.parametrize(
    ("row", "expected"),
    [
        (
            {"kind": "safty"},
            "actions table: row 1, column kind: got 'safty', expected one of safety, rupture, split_alliance,"
            " cohesion, negative_process, not_on_track, dropout_risk, perception_gap",
        ),
        ({"session": "4th"}, "actions table: row 1, column session: got '4th', expected a whole number >= 0"),
        ({"action": " "}, "actions table: row 1, column action: got None, expected what was done, as text"),
        ({"date": "02/03/2026"}, "actions table: row 1, column date: got '02/03/2026', expected an ISO date"),
        ({"client_id": "zz"}, "actions table: row 1, column client_id: got 'zz', expected a client of the"),
        (
            {"client_id": "r", "episode_id": None},
            "actions table: row 1, column episode_id: got None, expected the episode_id of one of client r's"
            " 2 episodes (1, 2)",
        ),
        (
            {"client_id": "r", "episode_id": "3"},
            "actions table: row 1, column episode_id: got '3', expected an episode of client r that the"
            " measures table holds (1, 2)",
        ),
    ],
)
def test_an_actions_table_that_breaks_the_rules_is_refused_naming_row_column_and_value(
    tmp_path, suffix, row, expected
):
    forms, episodes = ended_episode()
    recorded = actions(("a", None, "safety", 4, "Called")).astype(object)
    for column, value in row.items():
        recorded.loc[0, column] = value
    if recorded["episode_id"].isna().all():
        recorded = recorded.drop(columns="episode_id")  # as a table without the column
    folder = write(
        tmp_path, suffix, form_rows(forms + [Form(("a", None), 4, "phq9", phq9())]), episodes, recorded
    )
    with pytest.raises(InvalidInputError) as caught:
        batch_alerts(folder)
    assert str(caught.value).startswith(expected)


def test_an_actions_table_needs_its_columns(tmp_path):
    forms = [Form(("a", None), 1, "phq9", phq9())]
    folder = write(
        tmp_path, ".csv", form_rows(forms), actions=pd.DataFrame({"client_id": ["a"], "kind": ["safety"]})
    )
    with pytest.raises(
        InvalidInputError,
        match="actions: columns: got .client_id, kind., expected columns including session, action",
    ):
        batch_alerts(folder)


# The same rule everywhere ----------------------------------------------------------------------


def random_forms(rng: random.Random, clients: int) -> list[Form]:
    """Forms of several instruments (with and without critical items, one not installed), at
    sessions 0-6, each item answered, left blank or missing; one form per course, session and
    instrument, as a measures table holds them."""
    items = {
        "phq9": list(PHQ9),
        "core10": [f"core10_{k}" for k in range(1, 11)],
        "core_om": list(get_instrument("core_om").scoring.items),
        "gad7": list(get_instrument("gad7").scoring.items),
    }
    forms = []
    for c in range(clients):
        key = (f"c{c:03d}", rng.choice([None, "1"]))
        for session in sorted(rng.sample(range(7), rng.randint(1, 4))):
            for instrument in rng.sample(sorted(items), rng.randint(1, 3)):
                answers: dict[str, float | None] = {}
                for item in items[instrument]:
                    r = rng.random()
                    if r < 0.08:
                        continue
                    answers[item] = None if r < 0.16 else float(rng.choice([0, 0, 0, 1, 2, 3]))
                forms.append(Form(key, session, instrument, answers))
    return forms


@pytest.mark.parametrize("suffix", SUFFIXES)
def test_the_batch_gives_the_web_apps_safety_alerts_on_random_forms(tmp_path, suffix):
    forms = random_forms(random.Random(7), 150)
    result = run(tmp_path, suffix, forms, score_rows("c000", None, "bdi", [20.0]))
    expected = expected_safety(forms)
    assert len(expected) > 50
    assert safety_of(result.alerts) == expected


def reference(forms: list[Form]) -> dict:
    """The rule written out form by form from the single-form flags (:func:`form_flags`, which
    ``attunement score`` and the web app's thank-you page use): the latest flagged session per
    key, each item once with its highest answer."""
    out: dict = {}
    for form in forms:
        for flag in form_flags(form):
            session, flags = out.get(form.key, (-1, {}))
            if form.session > session:
                session, flags = form.session, {}
            if form.session == session:
                held = flags.get((form.instrument, flag.item))
                weight = -1.0 if flag.value is None else flag.value
                if held is None or weight > held:
                    flags[(form.instrument, flag.item)] = weight
            out[form.key] = (session, flags)
    return {key: (session, sorted(flags.items())) for key, (session, flags) in out.items()}


def test_the_shared_rule_agrees_with_the_single_form_flags():
    rng = random.Random(3)
    forms = random_forms(rng, 200)
    forms += [Form(f.key, f.session, f.instrument, dict(f.answers)) for f in rng.sample(forms, 60)]  # resent
    found = critical_alerts(forms)
    want = reference(forms)
    assert set(found) == set(want)
    for key, alert in found.items():
        session, flags = want[key]
        assert alert.session == session
        assert alert.figures["items"] == ", ".join(item for (_, item), _ in flags)


def test_rows_in_any_order_give_the_same_alerts():
    """A table need not be sorted: the rule sorts when the rows are not in course and session order."""
    forms = random_forms(random.Random(11), 80)
    rows = pd.DataFrame(form_rows(forms))
    rows["course"] = pd.factorize(rows["client_id"] + "/" + rows["episode_id"].fillna(""))[0]

    def fired(frame):
        f = critical_fired(
            Answers.from_text(
                frame["course"], frame["session"], frame["instrument"], frame["item"], frame["value"]
            )
        )
        return dict(zip(f.rows.tolist(), f.reason.to_pylist(), strict=True))

    assert fired(rows) == fired(rows.sample(frac=1.0, random_state=1)) != {}


@pytest.mark.parametrize("suffix", SUFFIXES)
@pytest.mark.parametrize("episode", [None, "e1"], ids=["no episode ids", "episode ids"])
def test_a_client_the_episodes_table_does_not_list_keeps_their_risk_answers(tmp_path, suffix, episode):
    """Rows naming no episode of a client missing from the episodes table are an ongoing course
    of their own (:mod:`attunement.tables.courses`), on both paths: their risk answer is kept."""
    forms = [Form(("a", episode), 1, "phq9", phq9(item9=1.0)), Form(("b", None), 2, "phq9", phq9(item9=3.0))]
    episodes = pd.DataFrame(
        {"client_id": ["a"], "episode_id": [episode], "therapist_id": ["t1"], "end_reason": ["ongoing"]}
    )
    result = run(tmp_path, suffix, forms, episodes=episodes)
    got = safety_of(result.alerts)
    assert got == expected_safety(forms) and set(got) == {course("a", episode), "b"}
    assert result.ended_episodes == 0


def test_an_item_9_answer_with_a_blank_rater_is_kept_as_the_clients():
    """The canonical reader reads a row without a rater as the client's; so does the batch's
    session array of item 9 answers (it once kept only rows that said "client")."""
    import numpy as np
    import pyarrow as pa

    from attunement.alerts.batch import _item_scores

    items = pa.table(
        {
            "client_id": ["a", "a"],
            "session": [1, 1],
            "instrument": ["phq9", "phq9"],
            "rater": [None, "client"],
            "item": ["phq9_9", "phq9_1"],
            "value": [2.0, 1.0],
        }
    )
    scores: dict = {}
    _item_scores(items, np.array(["a"], dtype=object), 2, scores, np.array([0, 0]))
    assert scores["phq9_item9"][0, 0] == 2.0
