"""Exporting everything the service holds (``attunement export``, and the administrator's "Export
all data"): every table, named by opaque ids, audited without client data, and its measures and
episodes imported again into an empty clinic give the same measures."""

from __future__ import annotations

import io
import json
import re
import stat
import zipfile
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import select
from test_client_link import ANSWERS, submit
from typer.testing import CliRunner
from web_clinic import WITH_CHECKIN, csrf, issue_link

from attunement.cli import app
from attunement.store import open_database
from attunement.store.clock import now
from attunement.store.demo import seed_demo
from attunement.store.models import AuditEvent, Client, User
from attunement.store.service_export import TABLES
from attunement.store.summary_store import refresh

DOCS = Path(__file__).resolve().parents[2] / "docs" / "data-format.md"
RISK = {**ANSWERS, "phq9_9": "2", "checkin_different": "a-comment-xyz"}


def _url(db) -> str:
    return db.engine.url.render_as_string(hide_password=False)


def run(*args: str):
    return CliRunner().invoke(app, list(args))


def test_every_table_and_column_of_the_export_is_documented(clinic, tmp_path):
    out = tmp_path / "export"
    done = run("export", "--out", str(out), "--database", _url(clinic.db), "--json")
    assert done.exit_code == 0, done.output
    docs = DOCS.read_text(encoding="utf-8")
    section = docs[docs.index("## Exporting everything the service holds") :]
    for name in TABLES:
        frame = pd.read_csv(out / f"{name}.csv")
        assert f"`{name}`" in section, name
        for column in frame.columns:
            assert f"`{column}`" in section, f"{name}.{column}"


def test_the_export_holds_every_table_by_opaque_ids_readable_by_its_owner_and_audited(clinic, tmp_path):
    submit(clinic, issue_link(clinic, issued_with=WITH_CHECKIN), RISK)
    out = tmp_path / "export"
    done = run("export", "--out", str(out), "--format", "parquet", "--database", _url(clinic.db), "--json")
    assert done.exit_code == 0, done.output
    report = json.loads(done.output)
    assert report["files"] == sorted([f"{name}.parquet" for name in TABLES] + ["export.json", "fhir.json"])
    for name in report["files"]:
        assert stat.S_IMODE((out / name).stat().st_mode) == 0o600, name
    measures = pd.read_parquet(out / "measures.parquet")
    assert set(measures["client_id"]) == {clinic.clients["of_a"]}
    assert (measures["item"] == "phq9_9").sum() == 1
    submissions = pd.read_parquet(out / "submissions.parquet")
    assert list(submissions["comment"]) == ["a-comment-xyz"]
    alerts = pd.read_parquet(out / "alerts.parquet")
    assert "safety" in set(alerts["kind"])
    clients = pd.read_parquet(out / "clients.parquet")
    assert set(clients["reference"]) == {"A-1", "B-1", "O-1"}
    fhir = json.loads((out / "fhir.json").read_text(encoding="utf-8"))
    kinds = [e["resource"]["resourceType"] for e in fhir["entry"]]
    assert fhir["resourceType"] == "Bundle" and kinds.count("Patient") == len(clients)
    flagged = [e["resource"] for e in fhir["entry"] if e["resource"]["resourceType"] == "Flag"]
    assert any(f["code"]["coding"][0]["code"] == "safety" for f in flagged), "the open risk alert goes out"
    with clinic.db.session() as db:
        entry = db.scalar(select(AuditEvent).where(AuditEvent.action == "export_all"))
    assert entry.actor == "operator" and entry.client_id is None
    assert re.fullmatch(r"17 tables, \d+ rows", entry.detail), "numbers only, no client data"
    again = run("export", "--out", str(out), "--database", _url(clinic.db))
    assert again.exit_code == 2 and "a new or empty folder" in " ".join(again.output.split())


def _admin_export(clinic, **fields: str):
    browser = clinic.login("admin")
    token = csrf(browser, "/admin")
    return browser.post("/admin/export", data={"csrf_token": token, **fields}, follow_redirects=False)


def test_the_administrators_export_asks_why_and_for_the_password_and_is_audited(clinic):
    submit(clinic, issue_link(clinic, issued_with=WITH_CHECKIN), RISK)
    page = clinic.login("admin").get("/admin").text
    assert "Export all data" in page and "every client's data" in page
    refused = _admin_export(clinic, reason="", password="password-admin-1")
    assert refused.status_code == 400 and "Why the data is exported" in refused.text
    wrong = _admin_export(clinic, reason="Moving to a new records system", password="not-it")
    assert wrong.status_code == 400 and "Your password" in wrong.text
    with clinic.db.session() as db:
        assert db.scalar(select(AuditEvent).where(AuditEvent.action == "export_all")) is None
    done = _admin_export(clinic, reason="Moving to a new records system", password="password-admin-1")
    assert done.status_code == 200
    assert done.headers["content-type"] == "application/zip"
    assert done.headers["content-disposition"].startswith('attachment; filename="attunement-export-')
    archive = zipfile.ZipFile(io.BytesIO(done.content))
    assert set(archive.namelist()) == {f"{name}.csv" for name in TABLES} | {"export.json", "fhir.json"}
    fhir = json.loads(archive.read("fhir.json"))
    patients = [e["resource"] for e in fhir["entry"] if e["resource"]["resourceType"] == "Patient"]
    assert {p["identifier"][0]["value"] for p in patients} == set(clinic.clients.values())
    measures = pd.read_csv(archive.open("measures.csv"))
    assert set(measures["client_id"]) == {clinic.clients["of_a"]}
    with clinic.db.session() as db:
        admin = db.scalar(select(User).where(User.username == "admin"))
        entry = db.scalar(select(AuditEvent).where(AuditEvent.action == "export_all"))
    assert entry.actor == f"user:{admin.id}" and entry.role == "admin" and entry.client_id is None
    assert entry.detail.endswith("; reason: Moving to a new records system")
    for public_id in clinic.clients.values():
        assert public_id not in entry.detail


@pytest.mark.parametrize("database", ["sqlite"], indirect=True)
def test_exported_measures_and_episodes_imported_into_an_empty_clinic_give_the_same_measures(
    database, tmp_path
):
    """The demo clinic (every part of the record) exported, then its measures and episodes
    imported into an empty database with the same clinicians: the measures come back the same."""
    with database.session() as db:
        seed_demo(db)
        db.flush()
        refresh(db, list(db.scalars(select(Client))))
        people = [(u.username, u.role) for u in db.scalars(select(User))]
    first = tmp_path / "first"
    assert run("export", "--out", str(first), "--database", _url(database)).exit_code == 0
    empty = open_database(f"sqlite:///{tmp_path / 'empty.db'}")
    try:
        with empty.session() as db:
            db.add_all(
                User(
                    username=n,
                    display_name=n,
                    password_hash="-",
                    role=r,
                    active=True,
                    session_epoch=0,
                    created_at=now(),
                )
                for n, r in people
            )
        args = ["--measures", str(first / "measures.csv"), "--episodes", str(first / "episodes.csv")]
        done = run("import-history", *args, "--database", _url(empty), "--json")
        assert done.exit_code == 0, done.output
        assert json.loads(done.output)["problems"] == []
        second = tmp_path / "second"
        assert run("export", "--out", str(second), "--database", _url(empty)).exit_code == 0
    finally:
        empty.dispose()
    before = pd.read_csv(first / "measures.csv")
    after = pd.read_csv(second / "measures.csv")
    # The imported clients have new opaque ids; their reference is the id they had.
    references = pd.read_csv(second / "clients.csv").set_index("client_id")["reference"]
    after["client_id"] = after["client_id"].map(references)
    key = ["client_id", "episode_id", "session", "instrument", "rater", "item"]
    sort = lambda f: f.sort_values(key, na_position="first").reset_index(drop=True)  # noqa: E731
    pd.testing.assert_frame_equal(sort(before), sort(after), check_dtype=False)
    episodes_before = pd.read_csv(first / "episodes.csv").drop(columns="client_group")
    episodes_after = pd.read_csv(second / "episodes.csv").drop(columns="client_group")
    episodes_after["client_id"] = episodes_after["client_id"].map(references)
    by = ["client_id", "episode_id"]
    pd.testing.assert_frame_equal(
        episodes_before.sort_values(by).reset_index(drop=True),
        episodes_after.sort_values(by).reset_index(drop=True),
    )
