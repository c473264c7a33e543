"""FHIR answers through the API, the upload form and the command line are stored, scored and
alerted exactly as a web form's: a PHQ-9 with item 9 endorsed raises the same safety alert and
notice; the same response twice is stored once, a different one under its identifier is refused;
a Bundle is all or nothing; the client's exported Bundle is valid FHIR. SQLite and PostgreSQL."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from datetime import UTC, datetime

from sqlalchemy import func, select
from test_client_link import ANSWERS, submit
from web_clinic import issue_link

from attunement.fhir.responses import write_response
from attunement.store.clients import create_client
from attunement.store.episodes import end_episode
from attunement.store.models import Client, KeptAlert, Notification, Submission, User

PHQ9_RISK = {f"phq9_{i}": 1.0 for i in range(1, 9)} | {"phq9_9": 2.0}
GAD7 = {f"gad7_{i}": 2.0 for i in range(1, 8)}
WHEN = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)


def _response(
    instrument: str, answers: dict[str, float], ident: str | None = "urn:other-system|qr-1"
) -> dict:
    return write_response(instrument, answers, identifier=ident, authored=WHEN)


def _new_client(clinic, label: str) -> str:
    with clinic.db.session() as db:
        clin_a = db.scalar(select(User).where(User.username == "clin_a"))
        return create_client(db, clin_a, label).public_id


def _api(clinic, public_id: str, resource: dict, *, who: str = "clin_a"):
    browser = clinic.login(who)
    page = browser.get(f"/clients/{public_id}").text
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    return browser.post(
        f"/clients/{public_id}/fhir/responses",
        content=json.dumps(resource),
        headers={"Content-Type": "application/fhir+json", "X-CSRF-Token": token},
    )


def _safety(clinic, public_id: str) -> list[tuple]:
    """The client's kept safety alerts as a clinician sees them, and the notices they raised."""
    with clinic.db.session() as db:
        client = db.scalar(select(Client).where(Client.public_id == public_id))
        alerts = db.scalars(select(KeptAlert).where(KeptAlert.client_id == client.id)).all()
        notices = db.scalar(
            select(func.count()).select_from(Notification).where(Notification.client_id == client.id)
        )
        return [
            (a.kind, a.severity, a.status, a.requires_action, a.opened_session, a.reason, notices)
            for a in alerts
        ]


def _submissions(clinic, public_id: str) -> int:
    with clinic.db.session() as db:
        client = db.scalar(select(Client).where(Client.public_id == public_id))
        return db.scalar(
            select(func.count()).select_from(Submission).where(Submission.client_id == client.id)
        )


def _web_risk(clinic) -> list[tuple]:
    """PHQ-9 (item 9 = 2) and GAD-7 sent through a link, as the web form sends them."""
    path = issue_link(clinic)
    answers = {**ANSWERS, **{k: str(int(v)) for k, v in PHQ9_RISK.items()}}
    _, response = submit(clinic, path, answers)
    assert response.status_code == 303
    return _safety(clinic, clinic.clients["of_a"])


def test_item_9_through_the_api_raises_the_same_safety_alert_as_the_web_form(clinic):
    web = _web_risk(clinic)
    assert web and web[0][0] == "safety"
    other = _new_client(clinic, "A-2")
    bundle = {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [
            {"resource": _response("phq9", PHQ9_RISK, "urn:other-system|p-1")},
            {"resource": _response("gad7", GAD7, "urn:other-system|g-1")},
        ],
    }
    response = _api(clinic, other, bundle)
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["stored"] == 2 and [r["session"] for r in body["responses"]] == [1, 1]
    assert body["risk"], "the reply names the risk answer"
    assert _safety(clinic, other) == web
    page = clinic.login("clin_a").get(f"/clients/{other}").text
    assert "better off dead" in page or "item 9" in page


def test_item_9_through_the_command_line_raises_the_same_safety_alert_as_the_web_form(clinic, tmp_path):
    web = _web_risk(clinic)
    other = _new_client(clinic, "A-3")
    file = tmp_path / "phq9.json"
    file.write_text(json.dumps(_response("phq9", PHQ9_RISK)), encoding="utf-8")
    url = clinic.db.engine.url.render_as_string(hide_password=False)
    run = subprocess.run(
        [sys.executable, "-c", "from attunement.cli import main; main()", "fhir", "import", str(file)]
        + ["--client", other, "--database", url, "--json"],
        capture_output=True,
        text=True,
    )
    assert run.returncode == 0, run.stderr + run.stdout
    assert json.loads(run.stdout)["stored"] == 1
    assert _safety(clinic, other) == web


def test_the_same_response_twice_is_stored_once_and_a_different_one_under_its_identifier_is_refused(clinic):
    a = clinic.clients["of_a"]
    first = _api(clinic, a, _response("gad7", GAD7))
    assert first.status_code == 201
    again = _api(clinic, a, _response("gad7", GAD7))
    assert again.status_code == 200 and again.json()["already_imported"] == 1
    assert _submissions(clinic, a) == 1
    changed = _api(clinic, a, _response("gad7", GAD7 | {"gad7_1": 0.0}))
    assert changed.status_code == 400
    outcome = changed.json()
    assert outcome["resourceType"] == "OperationOutcome"
    assert "never replaced" in outcome["issue"][0]["diagnostics"]
    assert _submissions(clinic, a) == 1


def test_a_bundle_is_stored_whole_or_not_at_all_with_each_problem_named_by_link_id(clinic):
    a = clinic.clients["of_a"]
    bad = _response("phq9", PHQ9_RISK, "urn:other-system|p-2")
    bad["item"][1]["answer"] = [{"valueInteger": 9}]
    bundle = {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [{"resource": _response("gad7", GAD7)}, {"resource": bad}],
    }
    response = _api(clinic, a, bundle)
    assert response.status_code == 400
    issues = response.json()["issue"]
    assert [i["expression"] for i in issues] == [["entry[1] phq9_2"]]
    assert "risk answer" in issues[0]["diagnostics"], "the refusal still names the risk answer"
    assert _submissions(clinic, a) == 0


def test_refusals_are_plain_and_store_nothing(clinic):
    a = clinic.clients["of_a"]
    assert _api(clinic, a, {"resourceType": "Patient"}).status_code == 400
    assert _api(clinic, a, _response("gad7", GAD7), who="clin_b").status_code == 404
    browser = clinic.login("clin_a")
    no_token = browser.post(
        f"/clients/{a}/fhir/responses", content="{}", headers={"Content-Type": "application/json"}
    )
    assert no_token.status_code == 403
    with clinic.db.session() as db:
        client = db.scalar(select(Client).where(Client.public_id == a))
        clin_a = db.scalar(select(User).where(User.username == "clin_a"))
        from attunement.store.episodes import current_episode

        end_episode(db, current_episode(db, client.id), clin_a, "completed", None)
    ended = _api(clinic, a, _response("gad7", GAD7))
    assert ended.status_code == 400 and "active episode" in ended.text
    assert _submissions(clinic, a) == 0


def test_the_upload_form_imports_a_file(clinic):
    a = clinic.clients["of_a"]
    browser = clinic.login("clin_a")
    page = browser.get(f"/clients/{a}").text
    assert 'action="/clients/' in page and "/fhir/responses" in page
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    sent = browser.post(
        f"/clients/{a}/fhir/responses",
        data={"csrf_token": token, "episode": "1"},
        files={"file": ("gad7.json", json.dumps(_response("gad7", GAD7)), "application/fhir+json")},
        follow_redirects=False,
    )
    assert sent.status_code == 200, sent.text
    assert "FHIR answers imported" in sent.text and "GAD-7" in sent.text and "stored" in sent.text
    assert _submissions(clinic, a) == 1
    again = browser.post(
        f"/clients/{a}/fhir/responses",
        data={"csrf_token": token, "episode": "1"},
        files={"file": ("gad7.json", json.dumps(_response("gad7", GAD7)), "application/fhir+json")},
    )
    assert "Already imported" in again.text and _submissions(clinic, a) == 1


def test_the_upload_form_says_a_risk_answer_was_imported(clinic):
    a = clinic.clients["of_a"]
    browser = clinic.login("clin_a")
    token = re.search(r'name="csrf_token" value="([^"]+)"', browser.get(f"/clients/{a}").text).group(1)
    answers = {f"phq9_{i}": 0 for i in range(1, 10)} | {"phq9_9": 2}
    sent = browser.post(
        f"/clients/{a}/fhir/responses",
        data={"csrf_token": token, "episode": "1"},
        files={"file": ("phq9.json", json.dumps(_response("phq9", answers)), "application/fhir+json")},
    )
    assert sent.status_code == 200 and "A risk answer is among them" in sent.text
    assert "PHQ-9 item 9" in sent.text


def test_the_client_bundle_is_valid_fhir_and_reads_back(clinic):
    from fhir.resources.R4B import get_fhir_model_class

    a = clinic.clients["of_a"]
    _web_risk(clinic)
    response = clinic.login("super_a").get(f"/clients/{a}/fhir")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/fhir+json")
    bundle = response.json()
    get_fhir_model_class("Bundle").model_validate(bundle)
    kinds = set()
    for entry in bundle["entry"]:
        resource = entry["resource"]
        get_fhir_model_class(resource["resourceType"]).model_validate(resource)
        kinds.add(resource["resourceType"])
    assert {"Patient", "EpisodeOfCare", "QuestionnaireResponse", "Observation", "Flag"} <= kinds
    patient = next(e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "Patient")
    assert set(patient) == {"resourceType", "id", "identifier"} and patient["identifier"][0]["value"] == a
    assert "A-1" not in response.text, "the clinic's label for the client never leaves"
    # The answers exported here and imported again are already here.
    responses = [e for e in bundle["entry"] if e["resource"]["resourceType"] == "QuestionnaireResponse"]
    again = _api(clinic, a, {"resourceType": "Bundle", "type": "collection", "entry": responses})
    assert again.status_code == 200, again.text
    assert again.json()["already_imported"] == len(responses) and again.json()["stored"] == 0


def test_hostile_bodies_are_refused_plainly_and_store_nothing(clinic):
    a = clinic.clients["of_a"]
    browser = clinic.login("clin_a")
    page = browser.get(f"/clients/{a}").text
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    far = _response("gad7", GAD7)
    far["extension"] = [{"url": "urn:attunement:structuredefinition:session", "valueInteger": 10**6}]
    odd_way = _response("gad7", GAD7)
    odd_way["extension"] = [{"url": "urn:attunement:structuredefinition:approach", "valueCode": "x" * 90}]
    bodies = [
        "not json",
        "[" * 50_000 + "]" * 50_000,
        "[]",
        json.dumps({"resourceType": "Bundle", "type": "collection", "entry": []}),
        json.dumps(
            {
                "resourceType": "Bundle",
                "type": "collection",
                "entry": [{"resource": {"resourceType": "Patient"}}],
            }
        ),
        json.dumps(far),
        json.dumps(odd_way),
        json.dumps({**_response("gad7", GAD7), "identifier": {"system": "urn:x", "value": "v" * 400}}),
    ]
    for body in bodies:
        response = browser.post(
            f"/clients/{a}/fhir/responses",
            content=body,
            headers={"Content-Type": "application/json", "X-CSRF-Token": token},
        )
        assert response.status_code in (400, 413), (body[:60], response.status_code)
    text_plain = browser.post(
        f"/clients/{a}/fhir/responses",
        content="x",
        headers={"Content-Type": "text/plain", "X-CSRF-Token": token},
    )
    assert text_plain.status_code == 400 and "application/fhir+json" in text_plain.text
    assert _submissions(clinic, a) == 0


def test_a_second_rating_of_a_session_must_name_the_rating_it_corrects(clinic):
    a = clinic.clients["of_a"]
    codes = ("heard", "topics", "goals", "respected", "fit", "judged")
    session_1 = [{"url": "urn:attunement:structuredefinition:session", "valueInteger": 1}]

    def rating(value: float, ident: str) -> dict:
        resource = _response("checkin_therapist", {f"checkin_therapist_{c}": value for c in codes}, ident)
        resource["extension"] = list(session_1)
        return resource

    assert _api(clinic, a, rating(6, "urn:ehr|r-1")).status_code == 201
    silent = _api(clinic, a, rating(3, "urn:ehr|r-2"))
    assert silent.status_code == 400 and "never replaced silently" in silent.text
    correction = rating(3, "urn:ehr|r-2")
    correction["extension"].append(
        {
            "url": "urn:attunement:structuredefinition:replaces",
            "valueIdentifier": {"system": "urn:ehr", "value": "r-1"},
        }
    )
    assert _api(clinic, a, correction).status_code == 201
    with clinic.db.session() as db:
        rows = db.execute(
            select(Submission.id, Submission.supersedes_id, Submission.submitted_by)
            .join(Client, Client.id == Submission.client_id)
            .where(Client.public_id == a)
            .order_by(Submission.id)
        ).all()
    assert len(rows) == 2 and rows[1].supersedes_id == rows[0].id, "the corrected rating is kept"
    assert rows[0].submitted_by is not None, "a rating imported in the app is the importing clinician's"


def test_a_rating_without_a_session_goes_to_the_session_the_client_just_answered(clinic):
    a = clinic.clients["of_a"]
    codes = ("heard", "topics", "goals", "respected", "fit", "judged")
    rating = _response("checkin_therapist", {f"checkin_therapist_{c}": 7.0 for c in codes}, "urn:ehr|r-9")
    bundle = {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [{"resource": _response("gad7", GAD7)}, {"resource": rating}],
    }
    response = _api(clinic, a, bundle)
    assert response.status_code == 201, response.text
    assert [r["session"] for r in response.json()["responses"]] == [1, 1]
