"""A clinic fits the forecast on its own ended episodes, compares and activates the model, and the
alerts name it; on SQLite and PostgreSQL, with the demo clinic's simulated histories."""

from __future__ import annotations

import json

from fastapi.testclient import TestClient
from sqlalchemy import select
from typer.testing import CliRunner
from web_clinic import csrf

from attunement.cli import app as cli
from attunement.store.alert_source import FORECAST_KINDS
from attunement.store.demo import DEMO_LOGINS, seed_demo
from attunement.store.forecast_models import count_ended
from attunement.store.forecast_source import BUNDLED_NAME
from attunement.store.models import AuditEvent, ForecastModelRow, KeptAlert
from attunement.web import create_app

PASSWORDS = {login.username: login.password for login in DEMO_LOGINS}


def _url(database) -> str:
    return database.engine.url.render_as_string(hide_password=False)


def _fit(database, *args: str):
    return CliRunner().invoke(cli, ["fit", "--database", _url(database), *args])


def _login(app, username: str) -> TestClient:
    browser = TestClient(app)
    token = csrf(browser, "/login")
    response = browser.post(
        "/login",
        data={"username": username, "password": PASSWORDS[username], "csrf_token": token},
        follow_redirects=False,
    )
    assert response.status_code == 303
    return browser


def _forecast_reasons(database) -> list[str]:
    with database.session() as db:
        return list(
            db.scalars(
                select(KeptAlert.reason).where(
                    KeptAlert.kind.in_(FORECAST_KINDS), KeptAlert.status.in_(("open", "acknowledged"))
                )
            )
        )


def test_fitting_on_too_few_ended_episodes_is_refused_in_plain_words(database, tmp_path):
    with database.session() as db:
        seed_demo(db, clients=20, ongoing_share=0.5)
        ended = count_ended(db)
    result = _fit(database, "--out", str(tmp_path / "model.json"))
    assert result.exit_code != 0
    message = " ".join(result.output.split())
    assert f"ended episodes: got {ended}, expected at least 200 ended episodes of care" in message
    assert not (tmp_path / "model.json").exists()
    with database.session() as db:
        assert db.scalar(select(ForecastModelRow.id)) is None


def test_a_clinic_fits_compares_and_activates_its_own_model(database, tmp_path):
    with database.session() as db:
        seed_demo(db, clients=270, ongoing_share=0.2)  # about 210 ended episodes, about 45 active
        assert count_ended(db) >= 200
    app = create_app(database=database)
    supervisor = _login(app, "supervisor")
    assert supervisor.get("/team").status_code == 200  # every client's alerts with the bundled model
    before = _forecast_reasons(database)
    assert before and all(r.endswith(f"(forecast model: {BUNDLED_NAME})") for r in before)

    result = _fit(database, "--out", str(tmp_path / "clinic.json"), "--name", "Our clinic 2026")
    assert result.exit_code == 0, result.output
    assert (tmp_path / "clinic.json").exists()
    with database.session() as db:
        [row] = db.scalars(select(ForecastModelRow)).all()
        assert (row.name, row.status) == ("Our clinic 2026", "candidate")
        model_id = row.id
        # The bundled model was measured on the very episodes the candidate held out.
        bundled_on_same = json.loads(row.comparison)["bundled"]
        own = json.loads(row.validation)
        for outcome in ("deterioration", "no_improvement", "dropout_next"):
            assert bundled_on_same[outcome]["clients"] == own[outcome]["clients"] > 0
        # ... and so was every published baseline, fitted on the episodes the candidate used.
        baselines = json.loads(row.comparison)["baselines"]
        assert set(baselines) == {
            "rational_rules",
            "pcoms_zones",
            "oq_expected_recovery",
            "trier_nearest_neighbours",
        }
        for figures in baselines.values():
            for outcome in ("deterioration", "no_improvement"):
                assert 0 <= figures[outcome]["auc_session_3"] <= 1
                assert 0 <= figures[outcome]["sensitivity_before_last_session"] <= 1

    admin = _login(app, "admin")
    page = admin.get("/admin/models").text
    assert "Our clinic 2026" in page and "candidate" in page and "Activate this model" in page
    assert "In use now: " + BUNDLED_NAME in page
    # The candidate, the bundled model on the candidate's own held-out episodes, and the bundled
    # model's own figures.
    assert page.count("<strong>Held-out validation</strong>") == 3
    assert "the bundled model on the same held-out episodes" in page
    assert "The published rules, fitted on the same episodes" in page
    assert "Rational rules (reliable worsening so far)" in page and "PCOMS expected-progress zones" in page

    # Only an administrator activates, with the form's token.
    assert (
        supervisor.post(
            f"/admin/models/{model_id}/activate", data={"csrf_token": csrf(supervisor, "/model")}
        ).status_code
        == 403
    )
    token = csrf(admin, "/admin/models")
    response = admin.post(
        f"/admin/models/{model_id}/activate", data={"csrf_token": token}, follow_redirects=False
    )
    assert response.status_code == 303
    assert "In use now: Our clinic 2026" in admin.get("/admin/models").text
    with database.session() as db:
        assert db.scalar(select(ForecastModelRow.status).where(ForecastModelRow.id == model_id)) == "active"
        assert (
            db.scalar(select(AuditEvent.action).order_by(AuditEvent.id.desc())) == "activate_forecast_model"
        )

    # The pages compute every client again with the active model; its alerts name it.
    assert supervisor.get("/team").status_code == 200
    after = _forecast_reasons(database)
    assert after and all(r.endswith("(forecast model: Our clinic 2026)") for r in after)
    model_page = supervisor.get("/model").text
    assert "In use: Our clinic 2026" in model_page and "bundled model" in model_page
    with database.session() as db:
        client_id = db.scalar(
            select(KeptAlert.client_id).where(
                KeptAlert.kind.in_(FORECAST_KINDS), KeptAlert.status.in_(("open", "acknowledged"))
            )
        )
        from attunement.store.models import Client

        public_id = db.get(Client, client_id).public_id
    client_page = supervisor.get(f"/clients/{public_id}").text
    assert "(forecast model: Our clinic 2026)" in client_page

    # Back to the bundled model: the clinic's model is retired, not deleted, and the bundled one answers.
    token = csrf(admin, "/admin/models")
    assert (
        admin.post("/admin/models/bundled", data={"csrf_token": token}, follow_redirects=False).status_code
        == 303
    )
    with database.session() as db:
        assert db.scalar(select(ForecastModelRow.status).where(ForecastModelRow.id == model_id)) == "retired"
    assert supervisor.get("/team").status_code == 200
    again = _forecast_reasons(database)
    assert again and all(r.endswith(f"(forecast model: {BUNDLED_NAME})") for r in again)
    assert f"In use: {BUNDLED_NAME}" in supervisor.get("/model").text


def test_an_active_model_that_cannot_be_read_falls_back_to_the_bundled_one(database):
    from attunement.store.forecast_models import activate, store_candidate

    with database.session() as db:
        seed_demo(db, clients=12)
        row = store_candidate(db, {"format": "not a model"}, "Broken model", "test")
        activate(db, row.id)
    app = create_app(database=database)
    supervisor = _login(app, "supervisor")
    assert supervisor.get("/team").status_code == 200
    assert f"In use: {BUNDLED_NAME}" in supervisor.get("/model").text
    assert all(r.endswith(f"(forecast model: {BUNDLED_NAME})") for r in _forecast_reasons(database))
    admin = _login(app, "admin")
    assert "could not be read" in admin.get("/admin/models").text
