"""The stored client summaries (derived data) stay equal to a computation from scratch.

Each change to a client (a client submission, the therapist's rating, an alert record) writes
the client's summary in the same transaction; these tests compare the stored summary with the
one computed from the canonical tables by the analysis path (pandas histories), on both
databases, and check that an out-of-date row is computed again on the next view.
"""

from __future__ import annotations

import json

import numpy as np
from sqlalchemy import func, select, update
from test_client_link import ANSWERS, issue, submit
from web_clinic import csrf, post_rating, record_alerts

from attunement.instruments import get_instrument, score
from attunement.prediction.histories import histories_from_tables
from attunement.simulation import simulate
from attunement.store.alert_source import current_alerts
from attunement.store.clients import episodes_table, measures_table
from attunement.store.episodes import current_episode
from attunement.store.models import Client, ClientSummaryRow, Submission
from attunement.store.score_rows import series_by_client
from attunement.store.summaries import ClientSummary, summarise
from attunement.store.summary_store import basis
from attunement.tables.scores import session_scores

RATING = {f"checkin_therapist_{c}": "7" for c in ("heard", "topics", "goals", "respected", "fit", "judged")}


def latest_rating_id(clinic) -> int:
    with clinic.db.session() as session:
        return session.scalar(select(func.max(Submission.id)).where(Submission.rater == "therapist"))


def _client(session, public_id: str) -> Client:
    return session.scalar(select(Client).where(Client.public_id == public_id))


def from_scratch(session, client: Client, alerts: list) -> dict:
    """The summary computed by the analysis path (canonical tables, pandas histories) with the
    stored ``alerts``; and a check that those alerts are what fires now on the same histories."""
    episode = current_episode(session, client.id)
    measures = measures_table(session, [episode]).drop(columns="episode_id")
    episodes = episodes_table(session, [episode], {client.id: client.client_group}).drop(columns="episode_id")
    histories = histories_from_tables(measures, episodes)
    now = current_alerts(histories)[str(client.id)]
    firing = {(a.kind, a.session, a.reason) for a in now if a.kind != "safety"}
    waiting = {
        (a.alert.kind, a.alert.session, a.alert.reason) for a in alerts if a.open and a.alert.kind != "safety"
    }
    assert waiting <= firing, "every course alert waiting for the clinician fires on the histories now"
    if any(a.open and a.alert.kind == "safety" for a in alerts):  # its reason lists every risk answer
        assert any(a.kind == "safety" for a in now), "an open safety alert has a risk answer behind it"
    return summarise(histories, {str(client.id): alerts})[str(client.id)].to_payload()


def stored(session, client: Client) -> tuple[int, dict]:
    row = session.get(ClientSummaryRow, client.id)
    assert row is not None, "no stored summary"
    assert row.basis == basis(session)
    return row.version, json.loads(row.payload)


def assert_current(clinic, public_id: str) -> dict:
    with clinic.db.session() as session:
        client = _client(session, public_id)
        version, payload = stored(session, client)
        assert version == client.data_version
        # Through JSON on both sides, so that NaN figures compare equal.
        alerts = ClientSummary.from_payload(payload).alerts
        assert json.dumps(payload, sort_keys=True) == json.dumps(
            from_scratch(session, client, alerts), sort_keys=True
        )
        return payload


def test_a_client_submission_writes_the_summary_and_its_safety_alert(clinic):
    public_id = clinic.clients["of_a"]
    _, response = submit(clinic, issue(clinic, session=1), {**ANSWERS, "phq9_9": "2"})
    assert response.status_code == 303
    payload = assert_current(clinic, public_id)
    assert payload["series"]["phq9"] == [10.0]
    assert payload["alerts"][0]["alert"]["kind"] == "safety"
    caseload = clinic.login("clin_a").get("/caseload")
    assert "safety" in caseload.text.lower() and "card safety" in caseload.text


def test_a_therapist_rating_updates_the_summary(clinic):
    public_id = clinic.clients["of_a"]
    submit(clinic, issue(clinic, session=1), ANSWERS)
    with clinic.db.session() as session:
        before = _client(session, public_id).data_version
    browser = clinic.login("clin_a")
    token = csrf(browser, f"/clients/{public_id}")
    reply = browser.post(
        f"/clients/{public_id}/rating",
        data={**RATING, "episode": "1", "session": "1", "csrf_token": token},
        follow_redirects=False,
    )
    assert reply.status_code == 303
    payload = assert_current(clinic, public_id)
    answers = {item: float(value) for item, value in RATING.items()}
    assert payload["series"]["checkin_therapist"] == [
        score(get_instrument("checkin_therapist"), answers).total
    ]
    with clinic.db.session() as session:
        assert _client(session, public_id).data_version == before + 1


def rate(clinic, public_id: str, session: int | str, value: str, replaces: str = "") -> None:
    assert post_rating(clinic, public_id, session, value, replaces=replaces).status_code == 303


def test_later_changes_update_the_stored_summary_in_place_and_stay_equal_to_a_full_computation(clinic):
    """From the second change on, only the new forms are scored into the stored summary."""
    public_id = clinic.clients["of_a"]
    submit(clinic, issue(clinic, session=1), ANSWERS)
    assert_current(clinic, public_id)
    submit(clinic, issue(clinic, session=2), {**ANSWERS, "phq9_1": "3", "phq9_9": "1"})
    assert assert_current(clinic, public_id)["series"]["phq9"] == [9.0, 11.0]
    rate(clinic, public_id, 2, "9")
    rate(clinic, public_id, 2, "4", replaces=str(latest_rating_id(clinic)))  # an explicit correction
    rate(clinic, public_id, "new", "6")  # a session the client did not answer adds a session
    payload = assert_current(clinic, public_id)
    assert payload["sessions"] == 3
    assert payload["series"]["checkin_therapist"][0] is None and payload["series"]["phq9"][2] is None
    rating = score(get_instrument("checkin_therapist"), dict.fromkeys(RATING, 4.0)).total
    assert payload["series"]["checkin_therapist"][1] == rating


def test_an_alert_record_closes_the_alert_in_the_stored_summary(clinic):
    public_id = clinic.clients["of_a"]
    submit(clinic, issue(clinic, session=1), {**ANSWERS, "phq9_9": "3"})
    reply = record_alerts(clinic, public_id, "record", ("safety",), action="Safety plan")
    assert reply.status_code == 303
    payload = assert_current(clinic, public_id)
    assert all(a["alert"]["kind"] != "safety" for a in payload["alerts"]), "done: in the history only"
    page = clinic.login("clin_a").get(f"/clients/{public_id}").text
    history = page.split('id="alert-log-h"')[1]
    assert "what was done" in history and "Safety plan" in history
    assert "card safety" not in clinic.login("clin_a").get("/caseload").text


def test_an_out_of_date_summary_is_computed_again_on_the_next_view(clinic):
    public_id = clinic.clients["of_a"]
    submit(clinic, issue(clinic, session=1), ANSWERS)
    with clinic.db.session() as session:
        client = _client(session, public_id)
        session.execute(
            update(Client).where(Client.id == client.id).values(data_version=Client.data_version + 5)
        )
        session.execute(
            update(ClientSummaryRow).where(ClientSummaryRow.client_id == client.id).values(payload="{}")
        )
    assert clinic.login("clin_a").get(f"/clients/{public_id}").status_code == 200
    assert_current(clinic, public_id)


def test_scores_from_stored_rows_equal_the_canonical_session_scores():
    measures = simulate(40, 3).measures
    rows = [
        (
            r.client_id,
            int(r.session),
            r.instrument,
            r.rater,
            None if r.item != r.item else r.item,
            None if np.isnan(r.value) else float(r.value),
            None if np.isnan(r.score) else float(r.score),
            1,
        )
        for r in measures.itertuples()
    ]
    fast = series_by_client(rows)
    for name, rater in (("phq9", "client"), ("gad7", "client"), ("checkin", "client")):
        expected = session_scores(measures, name, rater)
        got = {(c, s): v for c, series in fast.items() for s, v in series[name].items()}
        assert got == {(r.client_id, int(r.session)): float(r.score) for r in expected.itertuples()}
