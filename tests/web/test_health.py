"""The health route and signing in, on both databases."""

from web_clinic import csrf


def test_healthz_answers_once_ready(clinic):
    response = clinic.client().get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_sign_in_sends_each_role_home(clinic):
    for username, home in (("clin_a", "/caseload"), ("super_a", "/team"), ("admin", "/admin")):
        browser = clinic.client()
        token = csrf(browser, "/login")
        response = browser.post(
            "/login",
            data={
                "username": username,
                "password": f"password-{username.replace('_', '-')}"
                if username != "admin"
                else "password-admin-1",
                "csrf_token": token,
            },
            follow_redirects=False,
        )
        assert response.status_code == 303
        assert response.headers["location"] == home
