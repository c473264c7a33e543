"""How the therapist worked, recorded with their rating, and the check for "one approach for
everyone" on the clinician's own page and the supervisor's team page. SQLite and PostgreSQL."""

from __future__ import annotations

import re

from sqlalchemy import select
from test_client_link import ANSWERS, issue, submit
from test_intake_profile import INTAKE
from web_clinic import RATING_CODES, choice, csrf, post_rating

from attunement.store.models import Submission


def _rate(clinic, session: int | str, approach: str, *, replaces: str = ""):
    browser = clinic.login("clin_a")
    public_id = clinic.clients["of_a"]
    page = browser.get(f"/clients/{public_id}").text
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    answers = {f"checkin_therapist_{c}": "8" for c in RATING_CODES}
    data = {
        **answers,
        "episode": "1",
        "session": str(session) if replaces else choice(page, "rating-session", session),
        "replaces": replaces,
        "approach": approach,
        "csrf_token": token,
    }
    return browser.post(f"/clients/{public_id}/rating", data=data, follow_redirects=False)


def _approaches(clinic) -> list[str | None]:
    with clinic.db.session() as db:
        return list(
            db.scalars(
                select(Submission.approach).where(Submission.rater == "therapist").order_by(Submission.id)
            )
        )


def test_the_approach_is_kept_with_the_rating_and_a_correction_keeps_the_one_it_corrects(clinic):
    submit(clinic, issue(clinic), {**ANSWERS, **INTAKE})
    assert _rate(clinic, 1, "skills").status_code == 303
    with clinic.db.session() as db:
        first = db.scalar(select(Submission.id).where(Submission.rater == "therapist"))
    assert _rate(clinic, 1, "person_centred", replaces=str(first)).status_code == 303
    assert _approaches(clinic) == ["skills", "person_centred"]
    history = clinic.login("clin_a").get(f"/clients/{clinic.clients['of_a']}/sessions/1/rating").text
    assert "Skills-focused" in history and "Person-centred" in history
    assert 'value="person_centred" selected' in history, "the form starts from the rating that counts"


def test_an_unknown_approach_is_refused_naming_the_field_and_nothing_is_stored(clinic):
    submit(clinic, issue(clinic), ANSWERS)
    refused = _rate(clinic, 1, "shouting")
    assert refused.status_code == 400
    assert "approach" in refused.text and "one of the listed ways of working" in refused.text
    assert _approaches(clinic) == []
    assert post_rating(clinic, clinic.clients["of_a"], 1, "8").status_code == 303
    assert _approaches(clinic) == [None], "saying how you worked is optional"


def test_the_clinician_and_the_supervisor_see_the_one_approach_check(clinic):
    clinician = clinic.login("clin_a")
    assert "No session rated with how you worked yet" in clinician.get("/approaches").text
    submit(clinic, issue(clinic), {**ANSWERS, **INTAKE})
    _rate(clinic, 1, "skills")
    submit(clinic, issue(clinic), ANSWERS)
    _rate(clinic, 2, "skills")
    page = clinician.get("/approaches").text
    assert "One approach for everyone: the one client received mainly" in page
    assert 'class="verdict warning"' in page and 'href="/evidence/procrustean_bed"' in page
    team = clinic.login("super_a").get("/team").text
    section = team.split('id="approach-h"', 1)[1]
    assert "clin_a" in section and "One approach for everyone: the one client" in section
    assert "No session rated with how you worked yet" in section, "clin_b has rated nothing"
    assert "clin_other" not in section, "another team's clinician is not shown"
    assert csrf(clinician, "/caseload") and 'href="/approaches"' in clinician.get("/caseload").text
