"""``GET /fhir/Questionnaire/{id}`` on SQLite and PostgreSQL: FHIR JSON for a signed-in user, its
canonical address this route's own, a licensed measure in the clinic's imported wording once an
administrator has uploaded it (made up for the tests, never a licensed text) and wordless before."""

from __future__ import annotations

import json

from fhir.resources.R4B.questionnaire import Questionnaire
from web_clinic import csrf

from attunement.fhir.canonical import BASE_VARIABLE
from attunement.instruments.licensed import stand_in

LICENCE = "Made-up licence statement for the tests. (c) Test Holder: https://example.org/licence"


def _upload(admin) -> None:
    response = admin.post(
        "/admin/instruments/wording",
        data={
            "csrf_token": csrf(admin, "/admin/instruments"),
            "instrument": "core10",
            "licence_statement": LICENCE,
            "supplied_by": "Dr Test",
        },
        files={"questionnaire": ("wording.json", json.dumps(stand_in("core10")), "application/json")},
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text


def test_a_signed_in_user_reads_a_form_as_fhir_json_in_the_clinics_wording_once_imported(clinic, monkeypatch):
    monkeypatch.delenv(BASE_VARIABLE, raising=False)
    monkeypatch.delenv("ATTUNEMENT_PUBLIC_URL", raising=False)
    clinician = clinic.login("clin_a")
    before = clinician.get("/fhir/Questionnaire/core10")
    assert before.status_code == 200
    assert before.headers["content-type"].startswith("application/fhir+json")
    form = before.json()
    Questionnaire.model_validate(form)
    assert form["url"] == "http://testserver/fhir/Questionnaire/core10"
    assert form["item"][1]["text"] == "Item 1 (licensed wording not installed)"
    _upload(clinic.login("admin"))
    after = clinician.get("/fhir/Questionnaire/core10").json()
    assert after["item"][1]["text"] == "Stand-in item 1" and after["copyright"] == LICENCE
    monkeypatch.setenv(BASE_VARIABLE, "https://fhir.clinic.example/r4")
    by_fhir_id = clinician.get("/fhir/Questionnaire/caregiver-report").json()
    assert by_fhir_id["url"] == "https://fhir.clinic.example/r4/Questionnaire/caregiver-report"
    missing = clinician.get("/fhir/Questionnaire/not-a-form")
    assert missing.status_code == 404 and missing.json()["resourceType"] == "OperationOutcome"
