"""Backups, restoring, and one client's record exported or erased, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import re
import stat

import pytest
from sqlalchemy import func, select, text
from test_client_link import ANSWERS, submit
from typer.testing import CliRunner
from web_clinic import WITH_CHECKIN, issue_link, record_alerts

from attunement.cli import app
from attunement.store import open_database
from attunement.store.client_record import CLIENT_TABLES, NOT_CLIENT_DATA
from attunement.store.clients import new_public_id
from attunement.store.models import AuditEvent, Base, Client, Measure, Submission

RISK = {**ANSWERS, "phq9_9": "2"}


def run(*args: str):
    return CliRunner().invoke(app, list(args))


def said(result) -> str:
    """The command's output with the terminal's line wrapping undone."""
    return " ".join(result.output.split())


def _url(clinic) -> str:
    return clinic.db.engine.url.render_as_string(hide_password=False)


def _empty_target(clinic, tmp_path, request) -> str:
    if clinic.db.is_sqlite:
        return f"sqlite:///{tmp_path / 'restored.db'}"
    return request.getfixturevalue("postgres_server").fresh_database_url()


def _end_episode(clinic, who: str = "of_a") -> None:
    browser = clinic.login("clin_a")
    page = browser.get(f"/clients/{clinic.clients[who]}").text
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    ended = browser.post(
        f"/clients/{clinic.clients[who]}/episode/end",
        data={"episode": "1", "reason": "completed", "csrf_token": token},
        follow_redirects=False,
    )
    assert ended.status_code == 303, ended.text


def _totals(clinic) -> dict[str, int]:
    with clinic.db.session() as db:
        return {name: db.scalar(text(f"SELECT count(*) FROM {name}")) for name in CLIENT_TABLES}


def test_a_clients_public_id_can_be_typed_after_a_command():
    """Never read as an option: without the rule, 1 id in 64 would start with "-"."""
    assert not any(new_public_id().startswith("-") for _ in range(2000))


def test_every_table_is_either_client_data_or_declared_not_to_be():
    tables = set(Base.metadata.tables)
    assert tables == set(CLIENT_TABLES) | NOT_CLIENT_DATA
    assert not set(CLIENT_TABLES) & NOT_CLIENT_DATA
    # Each client table's link column exists and points at the table named as its parent.
    for name, (column, parent) in CLIENT_TABLES.items():
        if parent is None:
            continue
        keys = Base.metadata.tables[name].c[column].foreign_keys
        assert {k.column.table.name for k in keys} == {parent}, name


def test_a_backup_restores_into_an_empty_database_with_every_answer_and_its_audit(clinic, tmp_path, request):
    submit(clinic, issue_link(clinic, issued_with=WITH_CHECKIN), RISK)
    backup_file = tmp_path / "clinic.backup"
    made = run("backup", str(backup_file), "--database", _url(clinic), "--json")
    assert made.exit_code == 0, made.output
    assert stat.S_IMODE(backup_file.stat().st_mode) == 0o600, "readable by its owner only"
    assert run("backup", str(backup_file), "--database", _url(clinic)).exit_code == 2, "never overwritten"

    target = _empty_target(clinic, tmp_path, request)
    restored = run("restore", str(backup_file), "--database", target, "--json")
    assert restored.exit_code == 0, restored.output
    assert json.loads(restored.output)["audit_intact"] is True
    copy = open_database(target)
    try:
        with clinic.db.session() as db, copy.session() as db2:
            for model in (Client, Submission, Measure):
                assert db2.scalar(select(func.count()).select_from(model)) == db.scalar(
                    select(func.count()).select_from(model)
                )
            risk = select(Measure.value).where(Measure.item == "phq9_9")
            assert db2.scalar(risk) == 2
            actions = list(db2.scalars(select(AuditEvent.action).order_by(AuditEvent.id)))
        assert actions[-2:] == ["backup", "restore"]
    finally:
        copy.dispose()
    # Restoring never replaces data: the same target, now holding a clinic, is refused.
    again = run("restore", str(backup_file), "--database", target)
    assert again.exit_code == 2 and "an empty database" in said(again)


def test_a_file_that_is_not_a_backup_is_refused_plainly(clinic, tmp_path):
    junk = tmp_path / "notes.txt"
    junk.write_text("not a backup")
    refused = run("restore", str(junk), "--database", f"sqlite:///{tmp_path / 'new.db'}")
    assert refused.exit_code == 2 and "a file made by attunement backup" in said(refused)
    assert not (tmp_path / "new.db").exists()


def test_a_clients_record_is_exported_whole_and_the_export_audited(clinic, tmp_path):
    submit(
        clinic,
        issue_link(clinic, issued_with=WITH_CHECKIN),
        {**RISK, "checkin_different": "marked-comment-xyz"},
    )
    out = tmp_path / "record.json"
    done = run("client", "export", clinic.clients["of_a"], "--out", str(out), "--database", _url(clinic))
    assert done.exit_code == 0, done.output
    data = json.loads(out.read_text())
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    assert data["client"] == {"id": clinic.clients["of_a"], "reference": "A-1", "therapist": "clin_a"}
    assert [s["comment"] for s in data["tables"]["submissions"]] == ["marked-comment-xyz"]
    assert len(data["tables"]["measures"]) == len(RISK)
    assert any(a["kind"] == "safety" for a in data["tables"]["alerts"])
    assert all("token_hash" not in link for link in data["tables"]["link_tokens"]), "no secrets"
    other = clinic.clients["of_b"]
    assert other not in out.read_text(), "nobody else's data"
    with clinic.db.session() as db:
        entry = db.scalar(select(AuditEvent).where(AuditEvent.action == "export_client"))
        client_id = db.scalar(select(Client.id).where(Client.public_id == clinic.clients["of_a"]))
    assert entry.client_id == client_id and entry.actor == "operator"


def test_erasure_waits_for_the_end_of_care_and_the_risk_answer_to_be_dealt_with(clinic, tmp_path):
    submit(clinic, issue_link(clinic, issued_with=WITH_CHECKIN), RISK)
    public_id = clinic.clients["of_a"]
    url = _url(clinic)
    in_care = run("client", "erase", public_id, "--yes", "--database", url)
    assert in_care.exit_code == 2 and "episodes have all ended" in said(in_care)
    assert "no open safety alert" in said(in_care)
    _end_episode(clinic)
    still = run("client", "erase", public_id, "--yes", "--database", url)
    assert still.exit_code == 2 and "no open safety alert" in said(still)
    assert run("client", "erase", public_id, "--database", url).exit_code == 2, "--yes is required"
    with clinic.db.session() as db:
        assert db.scalar(select(Client).where(Client.public_id == public_id)) is not None

    assert (
        record_alerts(clinic, public_id, "record", ("safety",), action="Phoned; safety plan").status_code
        == 303
    )
    exported = run(
        "client", "export", public_id, "--out", str(tmp_path / "r.json"), "--database", url, "--json"
    )
    before = _totals(clinic)
    erased = run("client", "erase", public_id, "--yes", "--database", url, "--json")
    assert erased.exit_code == 0, erased.output
    rows, after = json.loads(erased.output)["rows"], _totals(clinic)
    # Every row the export held is gone, and nothing else: the other clients keep theirs.
    for name, count in json.loads(exported.output)["rows"].items():
        assert rows.get(name, 0) == count == before[name] - after[name], name
    assert rows["measures"] == len(RISK) and rows["alerts"] >= 1 and after["clients"] == 2
    with clinic.db.session() as db:
        entry = db.scalar(select(AuditEvent).where(AuditEvent.action == "erase_client"))
    assert entry is not None and entry.actor == "operator" and "measures" in entry.detail
    assert clinic.login("clin_a").get(f"/clients/{public_id}").status_code == 404


@pytest.mark.parametrize("public_id", ["", "no-such-client", "x" * 500])
def test_an_unknown_client_is_named_in_a_plain_error(clinic, tmp_path, public_id):
    refused = run(
        "client", "export", public_id, "--out", str(tmp_path / "r.json"), "--database", _url(clinic)
    )
    assert refused.exit_code == 2 and "the id of a client" in said(refused)
    assert not (tmp_path / "r.json").exists()
