"""Who may see what: every route, every role, on SQLite and PostgreSQL.

Anonymous visitors are sent to the sign-in page; a signed-in role without access gets 403; a
client who is not in the user's caseload (or team) is answered 404, as if it did not exist.
"""

from __future__ import annotations

import pytest
from web_clinic import csrf

ROLES = ("anonymous", "clin_a", "clin_b", "clin_other", "super_a", "admin")
LOGIN = "login"  # 303 to /login


def _with_case(clinic) -> dict[str, str]:
    """The clinic's clients and a couple of clin_a's with one partner (``case``, ``partner``)."""
    from sqlalchemy import select

    from attunement.store.cases import add_participant, create_case
    from attunement.store.models import User

    with clinic.db.session() as db:
        clin_a = db.scalar(select(User).where(User.username == "clin_a"))
        case = create_case(db, clin_a, "Couple A", "couple")
        partner = add_participant(db, clin_a, case, "partner", label="K-1")
        return {**clinic.clients, "case": case.public_id, "partner": partner.client.public_id}


def _get_matrix(clients: dict[str, str]) -> list[tuple[str, dict[str, object]]]:
    a, other = clients["of_a"], clients["of_other"]
    everyone = dict.fromkeys(ROLES, 200)
    case = clients.get("case", "no-case")
    case_of_a = {
        "anonymous": LOGIN,
        "clin_a": 200,
        "clin_b": 404,
        "clin_other": 404,
        "super_a": 200,
        "admin": 403,
    }
    clinicians = {
        "anonymous": LOGIN,
        "clin_a": 200,
        "clin_b": 200,
        "clin_other": 200,
        "super_a": 403,
        "admin": 403,
    }
    return [
        ("/cases/new", clinicians),
        (
            f"/clients/{a}/fhir",
            {
                "anonymous": LOGIN,
                "clin_a": 200,
                "clin_b": 404,
                "clin_other": 404,
                "super_a": 200,
                "admin": 403,
            },
        ),
        (f"/cases/{case}", case_of_a),
        (f"/cases/{case}/session", case_of_a),
        (f"/clients/{clients.get('partner', 'no-partner')}", case_of_a),
        ("/cases/not-a-case", {**case_of_a, "clin_a": 404, "super_a": 404}),
        ("/healthz", everyone),
        ("/login", everyone),
        ("/static/style.css", everyone),
        (
            "/caseload",
            {
                "anonymous": LOGIN,
                "clin_a": 200,
                "clin_b": 200,
                "clin_other": 200,
                "super_a": 403,
                "admin": 403,
            },
        ),
        (
            "/approaches",
            {
                "anonymous": LOGIN,
                "clin_a": 200,
                "clin_b": 200,
                "clin_other": 200,
                "super_a": 403,
                "admin": 403,
            },
        ),
        (
            "/clients/new",
            {
                "anonymous": LOGIN,
                "clin_a": 200,
                "clin_b": 200,
                "clin_other": 200,
                "super_a": 403,
                "admin": 403,
            },
        ),
        (
            f"/clients/{a}",
            {
                "anonymous": LOGIN,
                "clin_a": 200,
                "clin_b": 404,
                "clin_other": 404,
                "super_a": 200,
                "admin": 403,
            },
        ),
        (
            f"/clients/{other}",
            {
                "anonymous": LOGIN,
                "clin_a": 404,
                "clin_b": 404,
                "clin_other": 200,
                "super_a": 404,
                "admin": 403,
            },
        ),
        (
            "/clients/not-a-client",
            {
                "anonymous": LOGIN,
                "clin_a": 404,
                "clin_b": 404,
                "clin_other": 404,
                "super_a": 404,
                "admin": 403,
            },
        ),
        (
            "/evidence/reactance",
            {
                "anonymous": LOGIN,
                "clin_a": 200,
                "clin_b": 200,
                "clin_other": 200,
                "super_a": 200,
                "admin": 403,
            },
        ),
        (
            "/evidence/not-an-entry",
            {
                "anonymous": LOGIN,
                "clin_a": 404,
                "clin_b": 404,
                "clin_other": 404,
                "super_a": 404,
                "admin": 403,
            },
        ),
        (
            f"/clients/{a}/episodes/1",
            {
                "anonymous": LOGIN,
                "clin_a": 200,
                "clin_b": 404,
                "clin_other": 404,
                "super_a": 200,
                "admin": 403,
            },
        ),
        (
            f"/clients/{a}/episodes/1/report",
            {
                "anonymous": LOGIN,
                "clin_a": 200,
                "clin_b": 404,
                "clin_other": 404,
                "super_a": 200,
                "admin": 403,
            },
        ),
        (
            f"/clients/{other}/episodes/1/report",
            {
                "anonymous": LOGIN,
                "clin_a": 404,
                "clin_b": 404,
                "clin_other": 200,
                "super_a": 404,
                "admin": 403,
            },
        ),
        (
            f"/clients/{a}/episodes/2/report",
            {
                "anonymous": LOGIN,
                "clin_a": 404,
                "clin_b": 404,
                "clin_other": 404,
                "super_a": 404,
                "admin": 403,
            },
        ),
        # No session of the new client has answers or a rating yet: no summary (test_reports.py
        # opens one of a client with scores).
        (
            f"/clients/{a}/episodes/1/sessions/1/summary",
            {
                "anonymous": LOGIN,
                "clin_a": 404,
                "clin_b": 404,
                "clin_other": 404,
                "super_a": 404,
                "admin": 403,
            },
        ),
        (
            f"/clients/{a}/episodes/99999999999999999999",
            {
                "anonymous": LOGIN,
                "clin_a": 404,
                "clin_b": 404,
                "clin_other": 404,
                "super_a": 404,
                "admin": 403,
            },
        ),
        (
            f"/clients/{a}/sessions/1/rating",
            {
                "anonymous": LOGIN,
                "clin_a": 404,  # not rated yet: nothing to change
                "clin_b": 404,
                "clin_other": 404,
                "super_a": 403,
                "admin": 403,
            },
        ),
        (
            "/team",
            {
                "anonymous": LOGIN,
                "clin_a": 403,
                "clin_b": 403,
                "clin_other": 403,
                "super_a": 200,
                "admin": 403,
            },
        ),
        (
            "/team?therapist=1&kind=any&outcome=deteriorated&flagged=yes&links=waiting",
            {
                "anonymous": LOGIN,
                "clin_a": 403,
                "clin_b": 403,
                "clin_other": 403,
                "super_a": 200,
                "admin": 403,
            },
        ),
        (
            "/admin",
            {
                "anonymous": LOGIN,
                "clin_a": 403,
                "clin_b": 403,
                "clin_other": 403,
                "super_a": 403,
                "admin": 200,
            },
        ),
        (
            "/admin/instruments",
            {
                "anonymous": LOGIN,
                "clin_a": 403,
                "clin_b": 403,
                "clin_other": 403,
                "super_a": 403,
                "admin": 200,
            },
        ),
        (
            "/account",
            {
                "anonymous": LOGIN,
                "clin_a": 200,
                "clin_b": 200,
                "clin_other": 200,
                "super_a": 200,
                "admin": 200,
            },
        ),
        (
            "/admin/models",
            {
                "anonymous": LOGIN,
                "clin_a": 403,
                "clin_b": 403,
                "clin_other": 403,
                "super_a": 403,
                "admin": 200,
            },
        ),
        ("/model", {**everyone, "anonymous": LOGIN}),
        # A form as FHIR tools get it: no client data, for every signed-in user.
        ("/fhir/Questionnaire/phq9", {**everyone, "anonymous": LOGIN}),
        ("/fhir/Questionnaire/caregiver-report", {**everyone, "anonymous": LOGIN}),
        ("/fhir/Questionnaire/not-a-form", {**dict.fromkeys(ROLES, 404), "anonymous": LOGIN}),
        (
            "/admin/audit",
            {
                "anonymous": LOGIN,
                "clin_a": 403,
                "clin_b": 403,
                "clin_other": 403,
                "super_a": 403,
                "admin": 200,
            },
        ),
    ]


def _rating() -> dict[str, str]:
    codes = ("heard", "topics", "goals", "respected", "fit", "judged")
    return {"episode": "1", "session": "new", **{f"checkin_therapist_{c}": "6" for c in codes}}


def _post_matrix(clients: dict[str, str]) -> list[tuple[str, dict[str, str], dict[str, object]]]:
    a = clients["of_a"]
    only_a = {
        "anonymous": LOGIN,
        "clin_a": None,
        "clin_b": 404,
        "clin_other": 404,
        "super_a": 403,
        "admin": 403,
    }
    admin_only = {
        "anonymous": LOGIN,
        "clin_a": 403,
        "clin_b": 403,
        "clin_other": 403,
        "super_a": 403,
        "admin": 303,
    }
    supervisor_of_a = {
        "anonymous": LOGIN,
        "clin_a": 403,
        "clin_b": 403,
        "clin_other": 403,
        "super_a": 303,
        "admin": 403,
    }
    case = clients.get("case", "no-case")
    clinicians = {
        "anonymous": LOGIN,
        "clin_a": 303,
        "clin_b": 303,
        "clin_other": 303,
        "super_a": 403,
        "admin": 403,
    }
    return [
        ("/cases", {"format": "group", "label": "new group"}, clinicians),
        (f"/cases/{case}/participants", {"role": "partner", "label": "K-2"}, {**only_a, "clin_a": 303}),
        (f"/cases/{case}/leave", {"member": "nobody"}, {**only_a, "clin_a": 400}),
        (f"/cases/{case}/therapists", {"username": "nobody"}, {**only_a, "clin_a": 400}),
        (f"/cases/{case}/therapists/remove", {"therapist": "1"}, {**only_a, "clin_a": 400}),
        (f"/cases/{case}/links", {"session": "1"}, {**only_a, "clin_a": 200}),
        # A-1 is no young person: refused with a message (test_caregiver_report.py makes one).
        (f"/clients/{a}/caregiver-link", {"episode": "1"}, {**only_a, "clin_a": 400}),
        # The upload form with no file: refused with the problem (test_fhir_exchange.py imports).
        (f"/clients/{a}/fhir/responses", {"episode": "1"}, {**only_a, "clin_a": 400}),
        (
            "/clients",
            {"label": "new one"},
            {
                "anonymous": LOGIN,
                "clin_a": 303,
                "clin_b": 303,
                "clin_other": 303,
                "super_a": 403,
                "admin": 403,
            },
        ),
        (f"/clients/{a}/links", {"episode": "1", "session": "new"}, {**only_a, "clin_a": 200}),
        (f"/clients/{a}/links", {"episode": "1", "session": "1", "intake": "all"}, {**only_a, "clin_a": 200}),
        # No contact recorded yet: sending by e-mail is refused with a message.
        (
            f"/clients/{a}/links",
            {"episode": "1", "session": "new", "send": "email"},
            {**only_a, "clin_a": 400},
        ),
        (
            f"/clients/{a}/contact",
            {"episode": "1", "contact_email": "a@example.org", "contact_consent": "yes"},
            {**only_a, "clin_a": 303},
        ),
        (f"/clients/{a}/contact", {"episode": "1", "contact_email": "x"}, {**only_a, "clin_a": 400}),
        (f"/clients/{a}/messages/resend", {"episode": "1", "link": "1"}, {**only_a, "clin_a": 400}),
        (f"/clients/{a}/schedule", {"episode": "1", "schedule_kind": "sessions"}, {**only_a, "clin_a": 303}),
        (
            f"/clients/{a}/schedule",
            {"episode": "1", "schedule_kind": "days", "schedule_days": "0"},
            {**only_a, "clin_a": 400},
        ),
        (f"/clients/{a}/sessions", {"episode": "1", "date": "2099-01-01"}, {**only_a, "clin_a": 400}),
        (f"/clients/{a}/measures", {"episode": "1", "measure": "gad7"}, {**only_a, "clin_a": 303}),
        (f"/clients/{a}/measures", {"episode": "1", "measure": "core10"}, {**only_a, "clin_a": 400}),
        (f"/clients/{a}/rating", _rating(), {**only_a, "clin_a": 303}),
        (
            f"/clients/{a}/alerts",
            {"episode": "1", "alert": "1", "what": "seen"},
            {**only_a, "clin_a": 400},  # no such alert: refused with a message
        ),
        (f"/clients/{a}/episodes", {"episode": "1"}, {**only_a, "clin_a": 400}),
        (f"/clients/{a}/episode/end", {"episode": "1", "reason": "completed"}, {**only_a, "clin_a": 303}),
        (f"/clients/{a}/episode/reopen", {"episode": "1"}, {**only_a, "clin_a": 303}),
        (f"/clients/{a}/notes", {"note": "Let us talk about the rupture."}, supervisor_of_a),
        (f"/clients/{a}/flag", {"flag": "raise"}, supervisor_of_a),
        # No clinician chosen: refused with a message (test_supervision.py moves a client).
        (f"/clients/{a}/therapist", {"to": ""}, {**supervisor_of_a, "super_a": 400}),
        (f"/clients/{clients['of_other']}/notes", {"note": "x"}, {**supervisor_of_a, "super_a": 404}),
        ("/admin/teams", {"name": "Team X"}, admin_only),
        (
            "/admin/users",
            {"username": "newuser", "role": "clinician"},
            {**admin_only, "admin": 200},  # the new user's set-your-password link, shown once
        ),
        (
            "/account/password",
            {"current": "wrong", "password": "x", "again": "y"},
            {
                "anonymous": LOGIN,
                "clin_a": 400,
                "clin_b": 400,
                "clin_other": 400,
                "super_a": 400,
                "admin": 400,
            },
        ),
        ("/admin/instruments", {"offer": "gad7", "link_valid_days": "5"}, admin_only),
        # The zip of every table, after the reason and the administrator's password (test_service_export.py).
        (
            "/admin/export",
            {"reason": "Moving to a new records system", "password": "password-admin-1"},
            {**admin_only, "admin": 200},
        ),
        ("/admin/export", {"reason": "", "password": "wrong"}, {**admin_only, "admin": 400}),
        # No file, no licence statement: refused with the problems (test_licensed_measures.py uploads).
        ("/admin/instruments/wording", {"instrument": "core10"}, {**admin_only, "admin": 400}),
        # No stored model in this clinic: refused with a message (test_forecast_models.py activates one).
        ("/admin/models/1/activate", {}, {**admin_only, "admin": 400}),
        ("/admin/models/bundled", {}, admin_only),
        ("/admin/users/3/email", {"email": "clin.other@clinic.example"}, admin_only),
        ("/admin/users/3/unlock", {}, admin_only),
        ("/admin/users/3/active", {"active": "yes"}, admin_only),  # it signs clin_other out
        ("/admin/users/3/role", {"role": "clinician", "team_id": "2"}, {**admin_only, "clin_other": LOGIN}),
        ("/admin/users/3/reassign", {"to": "1"}, {**admin_only, "clin_other": LOGIN}),
        # Last: clin_b gets a new link (clin_other was signed out by the rows before).
        ("/admin/users/2/reset", {}, {**admin_only, "clin_other": LOGIN, "admin": 200}),
    ]


def _check(response, expected, where: str) -> None:
    if expected == LOGIN:
        assert response.status_code == 303, where
        assert response.headers["location"] == "/login", where
    else:
        assert response.status_code == expected, f"{where}: {response.status_code}"


def test_every_get_route_for_every_role(clinic):
    browsers = {role: clinic.login(None if role == "anonymous" else role) for role in ROLES}
    for path, expected in _get_matrix(_with_case(clinic)):
        for role, browser in browsers.items():
            _check(browser.get(path, follow_redirects=False), expected[role], f"GET {path} as {role}")


def test_every_post_route_for_every_role(clinic):
    browsers = {role: clinic.login(None if role == "anonymous" else role) for role in ROLES}
    tokens = {role: csrf(browser, "/login") for role, browser in browsers.items()}
    for path, data, expected in _post_matrix(_with_case(clinic)):
        for role, browser in browsers.items():
            token = tokens[role]
            response = browser.post(path, data={**data, "csrf_token": token}, follow_redirects=False)
            _check(response, expected[role], f"POST {path} as {role}")


@pytest.mark.parametrize(
    "path", ["/login", "/logout", "/clients", "/admin/teams", "/admin/instruments/wording"]
)
def test_posts_without_the_csrf_token_are_refused(clinic, path):
    browser = clinic.login("admin" if path.startswith("/admin") else "clin_a")
    csrf(browser, "/login")  # the browser holds a CSRF cookie, but the form leaves the token out
    response = browser.post(
        path, data={"name": "T", "label": "x", "username": "admin"}, follow_redirects=False
    )
    assert response.status_code == 403
    assert "security token" in response.text


def test_root_sends_each_role_home(clinic):
    for role, home in (
        ("anonymous", "/login"),
        ("clin_a", "/caseload"),
        ("super_a", "/team"),
        ("admin", "/admin"),
    ):
        browser = clinic.login(None if role == "anonymous" else role)
        response = browser.get("/", follow_redirects=False)
        assert response.headers["location"] == home


def _api_routes(routes):
    """Every API route, also inside the routers the app includes (no prefixes are used)."""
    from fastapi.routing import APIRoute

    for route in routes:
        if isinstance(route, APIRoute):
            yield route
        inner = getattr(route, "original_router", None) or getattr(route, "router", None)
        if inner is not None and getattr(inner, "routes", None) is not None and inner is not route:
            yield from _api_routes(inner.routes)


#: Routes checked by other tests rather than the matrix, and why.
ELSEWHERE = {
    ("GET", "/"): "test_root_sends_each_role_home",
    ("GET", "/c/{token}"): "a client link: the token is the access (test_client_link.py)",
    ("POST", "/c/{token}"): "a client link: the token is the access (test_client_link.py)",
    ("POST", "/login"): "signing in (test_security.py)",
    ("POST", "/logout"): "signing out (test_security.py)",
    ("GET", "/set-password/{token}"): "a set-your-password link: the token is the access (test_accounts.py)",
    ("POST", "/set-password/{token}"): "a set-your-password link: the token is the access (test_accounts.py)",
}


def test_every_route_of_the_app_is_in_the_matrix_or_checked_elsewhere(clinic):
    """A new route without a row (or a reason) fails here, so none is added unchecked."""
    gets = [path for path, _ in _get_matrix(clinic.clients)]
    posts = [path for path, _, _ in _post_matrix(clinic.clients)]
    missing = []
    routes = list(_api_routes(clinic.app.routes))
    assert len(routes) > 20, "the app's routes were not all found"
    for route in routes:
        for method in route.methods:
            paths = gets if method == "GET" else posts if method == "POST" else []
            covered = any(route.path_regex.match(path) for path in paths)
            if not covered and (method, route.path) not in ELSEWHERE:
                missing.append(f"{method} {route.path}")
    assert missing == [], f"routes with no row in the access matrix: {missing}"
