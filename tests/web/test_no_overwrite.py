"""Nothing earlier is lost: two links for one session (both orders), a late answer to an older
link, and a second rating for a rated session. Run on SQLite and PostgreSQL.

The rule under test (docs/web.md): every set of answers is kept with its date; for a session
answered twice, the later set counts for the scores and the chart, and the safety item counts
from every set, so an endorsed item 9 is never hidden by a later, calmer answer. A second rating
of a session is refused unless it is an explicit correction, which keeps the earlier rating.
"""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select
from test_client_link import ANSWERS, submit
from web_clinic import RATING_CODES as CODES
from web_clinic import WITH_CHECKIN, issue_link, post_rating

from attunement.instruments import get_instrument, score
from attunement.store.models import Client, Measure, Submission
from attunement.store.summary_store import summaries_for

RISK = {**ANSWERS, "phq9_9": "2"}  # PHQ-9 total 10, item 9 endorsed
CALM = {**ANSWERS, **{f"phq9_{i}": "0" for i in range(1, 10)}}  # PHQ-9 total 0


def _summary(clinic):
    with clinic.db.session() as db:
        client = db.scalar(select(Client).where(Client.public_id == clinic.clients["of_a"]))
        return summaries_for(db, [client])[client.id]


def _submissions(clinic, rater: str = "client") -> list[tuple[int, int]]:
    with clinic.db.session() as db:
        rows = db.execute(
            select(Submission.session, func.count(Measure.id))
            .join(Measure, Measure.submission_id == Submission.id)
            .where(Submission.rater == rater)
            .group_by(Submission.id, Submission.session)
            .order_by(Submission.id)
        ).all()
        return [tuple(r) for r in rows]


@pytest.mark.parametrize("order", ["risk first", "calm first"])
def test_two_links_for_one_session_keep_both_sets_and_the_safety_answer(clinic, order):
    first = issue_link(clinic, 1, issued_with=WITH_CHECKIN)
    resend = issue_link(
        clinic, 1, issued_with=WITH_CHECKIN
    )  # a second link for the same session, before either is answered
    answers = (RISK, CALM) if order == "risk first" else (CALM, RISK)
    for path, given in zip((first, resend), answers, strict=True):
        _, response = submit(clinic, path, given)
        assert response.status_code == 303
    # Both sets are stored in full, for session 1.
    assert _submissions(clinic) == [(1, len(ANSWERS)), (1, len(ANSWERS))]
    summary = _summary(clinic)
    later = answers[1]
    phq9 = get_instrument("phq9")
    expected = score(phq9, {k: float(v) for k, v in later.items() if k.startswith("phq9_")}).total
    assert summary.phq9 == [expected], "the later set counts for the score"
    # Whatever the order, the endorsed item 9 raises the safety alert.
    assert summary.has_open_safety
    assert summary.phq9_item9 == [2.0]
    page = clinic.login("clin_a").get(f"/clients/{clinic.clients['of_a']}").text
    assert "Session 1: 2 sets of answers and ratings" in page
    assert "(earlier answers, kept)" in page and "(latest)" in page


def test_a_late_answer_to_an_older_link_lands_in_its_own_session(clinic):
    older = issue_link(clinic, 1)
    newer = issue_link(clinic, 2)
    assert submit(clinic, newer, CALM)[1].status_code == 303
    assert submit(clinic, older, RISK)[1].status_code == 303  # answered late
    assert [s for s, _ in _submissions(clinic)] == [2, 1]
    summary = _summary(clinic)
    assert summary.phq9 == [10.0, 0.0]
    assert summary.phq9_item9 == [2.0, 0.0]
    # The risk answer came in last but for the earlier session: its safety alert is open.
    [safety] = [a for a in summary.open_alerts if a.alert.kind == "safety"]
    assert safety.alert.session == 1


def test_a_rating_after_a_new_link_keeps_the_safety_alert_and_rates_the_session_held(clinic):
    public_id = clinic.clients["of_a"]
    submit(clinic, issue_link(clinic, 1), RISK)
    issue_link(clinic, 2)  # the next session's link, waiting
    page = clinic.login("clin_a").get(f"/clients/{public_id}").text
    ratings = page.split('id="rating-session"')[1].split("</select>")[0]
    assert '<option value="1" selected' in ratings and '<option value="2"' not in ratings
    assert post_rating(clinic, public_id, 1, "8").status_code == 303
    assert _summary(clinic).has_open_safety


def test_a_second_rating_is_refused_and_a_correction_keeps_the_first(clinic):
    public_id = clinic.clients["of_a"]
    submit(clinic, issue_link(clinic, 1), ANSWERS)
    assert post_rating(clinic, public_id, 1, "7").status_code == 303
    before = _submissions(clinic, "therapist")

    # The same session again, without saying it is a correction: refused, nothing stored.
    browser = clinic.login("clin_a")
    page = browser.get(f"/clients/{public_id}").text
    assert '<option value="1"' not in page.split('id="rating-session"')[1].split("</select>")[0]
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    rating = {f"checkin_therapist_{c}": "2" for c in CODES}
    again = browser.post(
        f"/clients/{public_id}/rating", data={**rating, "episode": "1", "session": "1", "csrf_token": token}
    )
    assert again.status_code == 400
    assert "a session you have not rated yet" in again.text
    assert _submissions(clinic, "therapist") == before

    # The explicit correction: the earlier rating stays, the new one counts.
    with clinic.db.session() as db:
        first_id = db.scalar(select(func.max(Submission.id)).where(Submission.rater == "therapist"))
    edit = browser.get(f"/clients/{public_id}/sessions/1/rating")
    assert edit.status_code == 200 and f'name="replaces" value="{first_id}"' in edit.text
    assert 'value="7" required\n          checked' in edit.text or "checked" in edit.text
    corrected = post_rating(clinic, public_id, 1, "2", replaces=str(first_id))
    assert corrected.status_code == 303
    ratings = _submissions(clinic, "therapist")
    assert len(ratings) == 2 and ratings[0] == before[0]
    with clinic.db.session() as db:
        latest = db.scalar(
            select(Submission).where(Submission.rater == "therapist").order_by(Submission.id.desc())
        )
        assert latest.supersedes_id == first_id
    checkin = get_instrument("checkin_therapist")
    assert _summary(clinic).checkin_therapist == [
        score(checkin, {f"checkin_therapist_{c}": 2.0 for c in CODES}).total
    ]
    # A stale correction (naming the rating that was already replaced) is refused too.
    stale = post_rating(clinic, public_id, 1, "9", replaces=str(first_id))
    assert stale.status_code == 400 and len(_submissions(clinic, "therapist")) == 2
    history = browser.get(f"/clients/{public_id}/sessions/1/rating").text
    assert history.count("<li>") >= 2 and "(counts now)" in history
