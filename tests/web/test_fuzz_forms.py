"""No input gives a 5xx: Hypothesis sends odd values (NUL and other control characters, other
scripts' digits, huge numbers, long text, empty) to every field of every form and to the path
numbers, as the signed-in clinician or administrator, on SQLite and PostgreSQL."""

from __future__ import annotations

import os
import re
from urllib.parse import quote

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from web_clinic import csrf

ODD = st.one_of(
    st.text(max_size=40),
    st.text(alphabet=st.characters(codec="utf-8"), max_size=200),
    st.sampled_from(["", "\x00", "0", "-1", "²", "١٢", "99999999999999999999", "new", "x" * 5000, " 1 "]),
    st.integers(min_value=-(2**70), max_value=2**70).map(str),
)
#: Every form field the clinician's and administrator's forms send (the matrix checks who may).
CLINICIAN_FORMS = {
    "links": ("episode", "session", "intake"),
    "measures": ("episode", "measure", "measure"),
    "sessions": ("episode", "date", "time"),
    "rating": ("episode", "session", "replaces", "checkin_therapist_heard", "checkin_therapist_notes"),
    "alerts": ("episode", "alert", "what", "action", "outcome", "reason"),
    "episode/end": ("episode", "reason", "date", "note"),
    "episode/reopen": ("episode", "note"),
    "episodes": ("episode", "date", "note"),
    "fhir/responses": ("episode", "file"),
}
ADMIN_FORMS = {
    "/admin/users": ("username", "display_name", "password", "role", "team_id", "email"),
    "/admin/teams": ("name",),
    "/admin/instruments": (
        "link_valid_days",
        "timezone",
        "duty_clinician",
        "crisis_text",
        "offer",
        "service_type",
    ),
    "/admin/users/1/email": ("email",),
    "/admin/users/1/active": ("active",),
    "/admin/users/2/reset": ("x",),
    "/admin/users/1/role": ("role", "team_id"),
    "/admin/users/1/reassign": ("to",),
}
#: Every field of the forms of a case's page.
CASE_FORMS = {
    "participants": ("role", "label", "existing", "joined_on"),
    "leave": ("member", "left_on", "reason"),
    "therapists": ("username",),
    "therapists/remove": ("therapist",),
    "links": ("session",),
}
#: Every field of the supervisor's forms on a client of the team.
SUPERVISOR_FORMS = {
    "notes": ("what", "note_id", "note", "why"),
    "flag": ("flag", "why"),
    "therapist": ("to", "why"),
}
#: 40 examples per test in the suite; ``ATTUNEMENT_FUZZ_EXAMPLES=250`` for a longer run (docs/security.md).
FUZZ = settings(
    max_examples=int(os.environ.get("ATTUNEMENT_FUZZ_EXAMPLES", "40")),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)


def _token(browser, path: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', browser.get(path).text).group(1)


@FUZZ
@given(action=st.sampled_from(sorted(CLINICIAN_FORMS)), values=st.lists(ODD, min_size=7, max_size=7))
def test_no_clinician_form_input_gives_a_server_error(clinic, action, values):
    browser = _browsers(clinic)["clin_a"]
    public_id = clinic.clients["of_a"]
    data = dict(zip(CLINICIAN_FORMS[action], values, strict=False))
    data["csrf_token"] = _token(browser, f"/clients/{public_id}")
    response = browser.post(f"/clients/{public_id}/{action}", data=data, follow_redirects=False)
    assert response.status_code < 500, (action, data)


@FUZZ
@given(action=st.sampled_from(sorted(CASE_FORMS)), values=st.lists(ODD, min_size=4, max_size=4))
def test_no_case_form_input_or_session_number_gives_a_server_error(clinic, action, values):
    browser = _browsers(clinic)["clin_a"]
    case_id = _a_case(clinic)
    data = dict(zip(CASE_FORMS[action], values, strict=False))
    data["csrf_token"] = _token(browser, f"/cases/{case_id}")
    response = browser.post(f"/cases/{case_id}/{action}", data=data, follow_redirects=False)
    assert response.status_code < 500, (action, data)
    number = quote(values[0], safe="")
    for path in (f"/cases/{case_id}/session?session={number}", f"/cases/{number}"):
        assert browser.get(path, follow_redirects=False).status_code < 500, path
    created = browser.post(
        "/cases", data={"label": values[1], "format": values[2], "csrf_token": data["csrf_token"]}
    )
    assert created.status_code < 500


_CASES: dict[int, str] = {}


def _a_case(clinic) -> str:
    """A group of clin_a's with two members, made once per test."""
    from sqlalchemy import select

    from attunement.store.cases import add_participant, create_case
    from attunement.store.models import User

    key = id(clinic)
    if key not in _CASES:
        _CASES.clear()
        with clinic.db.session() as db:
            clin_a = db.scalar(select(User).where(User.username == "clin_a"))
            case = create_case(db, clin_a, "Group F", "group")
            for label in ("F-1", "F-2"):
                add_participant(db, clin_a, case, "group_member", label=label)
            _CASES[key] = case.public_id
    return _CASES[key]


@FUZZ
@given(path=st.sampled_from(sorted(ADMIN_FORMS)), values=st.lists(ODD, min_size=7, max_size=7))
def test_no_admin_form_input_gives_a_server_error(clinic, path, values):
    browser = _browsers(clinic)["admin"]
    data = dict(zip(ADMIN_FORMS[path], values, strict=False))
    data["csrf_token"] = _token(browser, "/admin")
    assert browser.post(path, data=data, follow_redirects=False).status_code < 500, (path, data)


@FUZZ
@given(action=st.sampled_from(sorted(SUPERVISOR_FORMS)), values=st.lists(ODD, min_size=4, max_size=4))
def test_no_supervisor_form_input_or_team_filter_gives_a_server_error(clinic, action, values):
    browser = _browsers(clinic)["super_a"]
    public_id = clinic.clients["of_a"]
    data = dict(zip(SUPERVISOR_FORMS[action], values, strict=False))
    data["csrf_token"] = _token(browser, f"/clients/{public_id}")
    response = browser.post(f"/clients/{public_id}/{action}", data=data, follow_redirects=False)
    assert response.status_code < 500, (action, data)
    params = dict(zip(("therapist", "kind", "outcome", "links"), values, strict=False))
    assert browser.get("/team", params=params).status_code < 500, params


@FUZZ
@given(number=ODD, q=ODD)
def test_no_path_number_or_query_gives_a_server_error(clinic, number, q):
    browser = _browsers(clinic)["clin_a"]
    number = quote(number, safe="")  # as a browser would send it
    public_id = clinic.clients["of_a"]
    for path in (
        f"/clients/{public_id}/episodes/{number}",
        f"/clients/{public_id}/sessions/{number}/rating",
        f"/clients/{number}",
        f"/c/{number}",
    ):
        assert browser.get(path, follow_redirects=False).status_code < 500, path
    assert browser.get("/caseload", params={"q": q, "status": q, "kind": q}).status_code < 500


def test_a_signed_in_login_form_accepts_odd_user_names(clinic):
    browser = clinic.client()
    token = csrf(browser, "/login")
    for name in ("\x00", "x" * 5000, "١٢", "admin'--"):
        response = browser.post("/login", data={"username": name, "password": "p", "csrf_token": token})
        assert response.status_code < 500


_SIGNED_IN: dict[int, dict] = {}


def _browsers(clinic) -> dict:
    """One signed-in browser per role for the whole test (signing in hashes a password)."""
    key = id(clinic)
    if key not in _SIGNED_IN:
        _SIGNED_IN.clear()
        _SIGNED_IN[key] = {
            "clin_a": clinic.login("clin_a"),
            "admin": clinic.login("admin"),
            "super_a": clinic.login("super_a"),
        }
    return _SIGNED_IN[key]
