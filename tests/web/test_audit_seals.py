"""A tamper-evident audit log, on SQLite and PostgreSQL: the database refuses updates, deletes,
replacing inserts and truncation; seals chain the entries, and `verify` names the first seal
whose entries were changed even by someone who got round the triggers."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import text
from typer.testing import CliRunner

from attunement.cli import app as cli
from attunement.store.audit import record, seal, verify


def _entries(clinic, n: int) -> None:
    with clinic.db.session() as db:
        for i in range(n):
            record(db, "user:1", "clinician", "view_client", client_id=1, detail=f"entry {i}")


def test_replacing_and_truncating_the_log_are_refused(clinic):
    _entries(clinic, 1)
    with clinic.db.session() as db:
        first = db.execute(text("SELECT id FROM audit_events ORDER BY id LIMIT 1")).scalar_one()
    dialect = clinic.db.engine.dialect.name
    replace = (
        "INSERT OR REPLACE INTO audit_events (id, at, actor, role, action, detail) "
        f"VALUES ({first}, '2026-01-01', 'x', 'x', 'x', 'x')"
    )
    statement = replace if dialect == "sqlite" else "TRUNCATE audit_events"
    with pytest.raises(Exception, match="append-only"), clinic.db.session() as db:
        db.execute(text(statement))
    assert clinic.count("audit_events") >= 1


def test_seals_chain_the_log_and_verify_finds_a_changed_entry(clinic):
    _entries(clinic, 5)
    with clinic.db.session() as db:
        assert seal(db, grace=timedelta(0)) is not None
    _entries(clinic, 3)
    with clinic.db.session() as db:
        assert seal(db, grace=timedelta(0)) is not None
        assert seal(db, grace=timedelta(0)) is None, "nothing new to seal"
    _entries(clinic, 2)  # not sealed yet
    with clinic.db.session() as db:
        found = verify(db)
    assert found.ok and found.seals == 2 and found.unsealed_entries == 2
    # Someone able to switch the triggers off edits an entry of the first seal.
    with clinic.db.session() as db:
        if clinic.db.engine.dialect.name == "sqlite":
            db.execute(text("DROP TRIGGER audit_events_no_update"))
        else:
            db.execute(text("ALTER TABLE audit_events DISABLE TRIGGER audit_events_append_only"))
        second = db.execute(text("SELECT id FROM audit_events ORDER BY id LIMIT 1 OFFSET 1")).scalar_one()
        db.execute(text(f"UPDATE audit_events SET detail = 'nothing to see' WHERE id = {second}"))
    with clinic.db.session() as db:
        found = verify(db)
    assert not found.ok and found.broken[0] == 1 and found.broken[1] <= second <= found.broken[2]
    result = CliRunner().invoke(
        cli,
        [
            "audit",
            "verify",
            "--database",
            str(clinic.db.engine.url.render_as_string(hide_password=False)),
            "--json",
        ],
    )
    assert result.exit_code == 1 and '"ok": false' in result.stdout


def test_the_source_address_is_sealed_with_the_entry(clinic):
    from attunement.store.audit import source_address

    token = source_address.set("192.0.2.7")
    try:
        _entries(clinic, 2)
    finally:
        source_address.reset(token)
    _entries(clinic, 1)  # the app's own work: no address, hashed as entries always were
    with clinic.db.session() as db:
        assert seal(db, grace=timedelta(0)) is not None
        addresses = [r[0] for r in db.execute(text("SELECT address FROM audit_events ORDER BY id"))]
        assert verify(db).ok
    assert addresses == ["192.0.2.7", "192.0.2.7", None]
    with clinic.db.session() as db:
        if clinic.db.engine.dialect.name == "sqlite":
            db.execute(text("DROP TRIGGER audit_events_no_update"))
        else:
            db.execute(text("ALTER TABLE audit_events DISABLE TRIGGER audit_events_append_only"))
        db.execute(text("UPDATE audit_events SET address = '198.51.100.1' WHERE address IS NOT NULL"))
    with clinic.db.session() as db:
        assert not verify(db).ok


def test_a_list_page_audits_which_clients_it_showed(clinic):
    from attunement.store.clients import create_client
    from attunement.store.models import User

    with clinic.db.session() as db:
        clin_a = db.execute(text("SELECT id FROM users WHERE username = 'clin_a'")).scalar_one()
        user = db.get(User, clin_a)
        made = [create_client(db, user, f"Many-{i:03d}").id for i in range(120)]
    clinic.login("clin_a").get("/caseload")
    with clinic.db.session() as db:
        details = [
            r[0] for r in db.execute(text("SELECT detail FROM audit_events WHERE action = 'view_caseload'"))
        ]
    listed = {int(i) for d in details for i in d.split(": ", 1)[1].split()}
    assert len(details) > 1 and all(len(d) <= 400 for d in details)
    assert set(made) <= listed
