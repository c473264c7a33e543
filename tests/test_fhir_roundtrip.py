"""The demo clinic exported as FHIR, restored into a database that has the same staff accounts
and no clients, and exported again gives the same responses, scores and episodes; every exported
resource is valid FHIR (the R4B models); reading an export back into any database that already
holds it stores nothing. Real SQLite databases; the command line is run for real."""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter

import pytest
from fhir.resources.R4B import get_fhir_model_class
from sqlalchemy import func, select

from attunement.errors import InvalidInputError
from attunement.store import open_database
from attunement.store.accounts import create_team, create_user
from attunement.store.demo import DEMO_LOGINS, seed_demo
from attunement.store.fhir_export import service_bundle
from attunement.store.fhir_restore import restore_service_bundle
from attunement.store.models import Client, Submission
from attunement.store.summary_store import refresh

#: Computed afresh by the database that holds the answers (kept alerts open when it computes them).
DERIVED = ("Flag", "RiskAssessment")


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", "from attunement.cli import main; main()", *args],
        capture_output=True,
        text=True,
    )


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    folder = tmp_path_factory.mktemp("fhir")
    source = open_database(f"sqlite:///{folder / 'demo.db'}")
    with source.session() as db:
        seed_demo(db)
    with source.session() as db:
        refresh(db, list(db.scalars(select(Client))))  # the alerts, as the pages would compute them
    yield folder, source
    source.dispose()


def _staff_only(url: str):
    db = open_database(url)
    with db.session() as session:
        team = create_team(session, "Demo team")
        for login in DEMO_LOGINS:
            create_user(
                session,
                login.username,
                login.password,
                login.role,
                display_name=login.username,
                team_id=None if login.role == "admin" else team.id,
            )
    return db


def _kept(bundle: dict) -> list[dict]:
    return [e for e in bundle["entry"] if e["resource"]["resourceType"] not in DERIVED]


def test_every_exported_resource_is_valid_fhir(demo):
    _, source = demo
    with source.session() as db:
        bundle = service_bundle(db)
    kinds = Counter(e["resource"]["resourceType"] for e in bundle["entry"])
    assert {
        "Patient",
        "EpisodeOfCare",
        "QuestionnaireResponse",
        "Observation",
        "Flag",
        "RiskAssessment",
    } <= set(kinds)
    for entry in bundle["entry"]:
        resource = entry["resource"]
        get_fhir_model_class(resource["resourceType"]).model_validate(resource)
    get_fhir_model_class("Bundle").model_validate({**bundle, "entry": bundle["entry"][:50]})
    loinc = {c["code"] for e in bundle["entry"] for c in e["resource"].get("code", {}).get("coding", [])}
    assert "44261-6" in loinc, "the PHQ-9 total carries its confirmed LOINC code"


def test_export_import_export_over_the_demo_clinic_loses_nothing(demo):
    folder, source = demo
    out = folder / "service.json"
    run = _cli(
        "fhir",
        "export",
        "--all",
        "--out",
        str(out),
        "--database",
        f"sqlite:///{folder / 'demo.db'}",
        "--json",
    )
    assert run.returncode == 0, run.stderr
    first = json.loads(out.read_text(encoding="utf-8"))
    assert json.loads(run.stdout)["entries"] == len(first["entry"])
    target_url = f"sqlite:///{folder / 'restored.db'}"
    _staff_only(target_url).dispose()
    run = _cli("fhir", "import", str(out), "--database", target_url, "--json")
    assert run.returncode == 0, run.stderr + run.stdout
    counts = json.loads(run.stdout)
    with source.session() as db:
        assert counts["clients"] == db.scalar(select(func.count()).select_from(Client))
        assert counts["already_imported"] == 0
    target = open_database(target_url)
    try:
        with target.session() as db:
            second = service_bundle(db)
    finally:
        target.dispose()
    assert _kept(second) == _kept(first), "the same responses, scores and episodes, under the same ids"
    # Read back again into the restored database, and into the one it came from: nothing stored.
    for url in (target_url, f"sqlite:///{folder / 'demo.db'}"):
        run = _cli("fhir", "import", str(out), "--database", url, "--json")
        assert run.returncode == 0, run.stderr
        again = json.loads(run.stdout)
        assert again["responses"] == again["scores"] == again["clients"] == 0
        assert again["already_imported"] > 0


def test_a_restore_is_refused_whole_when_a_clinician_has_no_account(demo, tmp_path):
    _, source = demo
    with source.session() as db:
        bundle = service_bundle(db)
    empty = open_database(f"sqlite:///{tmp_path / 'empty.db'}")
    try:
        with empty.session() as db:
            create_user(db, "someone", "a-long-password-1", "clinician", display_name="Someone")
        with pytest.raises(InvalidInputError, match="careManager"), empty.session() as db:
            restore_service_bundle(db, bundle, actor="operator", role="operator")
        with empty.session() as db:
            assert db.scalar(select(func.count()).select_from(Submission)) == 0
    finally:
        empty.dispose()


def test_the_command_line_exports_one_client_and_explains_bad_input(demo, tmp_path):
    folder, source = demo
    url = f"sqlite:///{folder / 'demo.db'}"
    with source.session() as db:
        public_id = db.scalar(select(Client.public_id).order_by(Client.id))
    out = tmp_path / "one.json"
    run = _cli("fhir", "export", "--client", public_id, "--out", str(out), "--database", url)
    assert run.returncode == 0, run.stderr
    assert json.loads(out.read_text())["entry"][0]["resource"]["identifier"][0]["value"] == public_id
    refused = _cli("fhir", "export", "--client", public_id, "--out", str(out), "--database", url)
    assert refused.returncode == 2 and "does not exist yet" in refused.stderr
    bad = tmp_path / "bad.json"
    bad.write_text(
        json.dumps(
            {
                "resourceType": "QuestionnaireResponse",
                "status": "completed",
                "questionnaire": "urn:attunement:questionnaire:gad7",
                "item": [{"linkId": "gad7_1", "answer": [{"valueCoding": {"display": "2"}}]}],
            }
        )
    )
    run = _cli("fhir", "import", str(bad), "--client", public_id, "--database", url, "--json")
    assert run.returncode == 2
    error = json.loads(run.stdout)["error"]
    assert "gad7_1" in error and "display alone" in error and "gad7_2" in error
    not_json = tmp_path / "not.json"
    not_json.write_text("{")
    run = _cli("fhir", "import", str(not_json), "--client", public_id, "--database", url)
    assert run.returncode == 2 and "FHIR JSON" in run.stderr
