"""Helpers for the web tests: the small test clinic and reading a form's CSRF token."""

from __future__ import annotations

import re
from dataclasses import dataclass

from fastapi.testclient import TestClient
from sqlalchemy import text

from attunement.store import Database
from attunement.store.models import LinkToken
from attunement.store.submissions import token_hash

#: What a link carried before a first session's link left the check-in out.
WITH_CHECKIN = "phq9,gad7,checkin"

PASSWORDS = {
    "clin_a": "password-clin-a",
    "clin_b": "password-clin-b",
    "clin_other": "password-clin-other",
    "super_a": "password-super-a",
    "admin": "password-admin-1",
}


@dataclass
class Clinic:
    """A small clinic: team A (clin_a, clin_b, super_a), team B (clin_other), an admin, and one
    client per clinician in team A and team B."""

    db: Database
    app: object
    clients: dict[str, str]  # name -> public id

    def client(self) -> TestClient:
        return TestClient(self.app)

    def login(self, username: str | None) -> TestClient:
        browser = TestClient(self.app)
        if username is None:
            return browser
        token = csrf(browser, "/login")
        response = browser.post(
            "/login",
            data={"username": username, "password": PASSWORDS[username], "csrf_token": token},
            follow_redirects=False,
        )
        assert response.status_code == 303, response.text
        return browser

    def count(self, table: str) -> int:
        with self.db.session() as session:
            return session.execute(text(f"SELECT COUNT(*) FROM {table}")).scalar_one()


def csrf(browser: TestClient, path: str) -> str:
    """Open a page and read the CSRF token of its first form."""
    page = browser.get(path)
    found = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert found, f"no form on {path} ({page.status_code})"
    return found.group(1)


RATING_CODES = ("heard", "topics", "goals", "respected", "fit", "judged")


def choice(page: str, select_id: str, session: int | str) -> str:
    """The form value for ``session`` in the page's select ``select_id``: the session's own
    number when it is offered, otherwise "new" (the next session, numbered by the app)."""
    block = re.search(rf'<select id="{select_id}"[^>]*>(.*?)</select>', page, re.S)
    assert block, f"no {select_id} choice on the page"
    offered = re.findall(r'<option value="([^"]+)"', block.group(1))
    return str(session) if str(session) in offered else "new"


def issue_link(
    clinic: Clinic,
    session: int | str = "new",
    *,
    who: str = "clin_a",
    client: str = "of_a",
    issued_with: str = "",
    **extra: str,
) -> str:
    """Issue a link through the client page; returns its path. With a session number, checks
    that the app gave the link that number. ``issued_with`` (comma-separated instruments) stands
    for a link issued with another set, such as a session-1 link that carries the check-in, as
    links issued before the check-in was left out of a first session's link do (a link keeps
    what it was issued with)."""
    browser = clinic.login(who)
    public_id = clinic.clients[client]
    page = browser.get(f"/clients/{public_id}").text
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    episode = re.search(r'name="episode" value="(\d+)"', page).group(1)
    data = {
        "episode": episode,
        "session": choice(page, "link-session", session),
        "csrf_token": token,
        **extra,
    }
    issued = browser.post(f"/clients/{public_id}/links", data=data)
    assert issued.status_code == 200, issued.text
    if session != "new":
        assert f"session {session}</h1>" in issued.text, "the link is not for the expected session"
    path = re.search(r'value="https?://[^/"]+(/c/[^"]+)"', issued.text).group(1)
    if issued_with:
        with clinic.db.session() as db:
            link = (
                db.query(LinkToken).filter(LinkToken.token_hash == token_hash(path.removeprefix("/c/"))).one()
            )
            intake = [i for i in link.instruments.split(",") if i.startswith("intake_profile")]
            link.instruments = ",".join([*issued_with.split(","), *intake])
    return path


def post_rating(clinic: Clinic, public_id: str, session: int | str, value: str, *, replaces: str = ""):
    """The clinician's rating of a session (every question ``value``); returns the response."""
    browser = clinic.login("clin_a")
    page = browser.get(f"/clients/{public_id}").text
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    episode = re.search(r'name="episode" value="(\d+)"', page).group(1)
    form_session = str(session) if replaces else choice(page, "rating-session", session)
    answers = {f"checkin_therapist_{c}": value for c in RATING_CODES}
    data = {**answers, "episode": episode, "session": form_session, "replaces": replaces, "csrf_token": token}
    return browser.post(f"/clients/{public_id}/rating", data=data, follow_redirects=False)


def alert_ids(page: str) -> dict[int, str]:
    """The current alerts on a client page that can be ticked: id -> kind."""
    pattern = (
        r'<article class="alert (\w+) \w+">\s*<h3><label class="check">'
        r'<input type="checkbox" name="alert" value="(\d+)"'
    )
    found = re.findall(pattern, page)
    return {int(i): kind for kind, i in found}


def record_alerts(clinic: Clinic, public_id: str, what: str, kinds: tuple[str, ...] = (), **fields: str):
    """Record on the client's current alerts of ``kinds`` (all when empty) through the alert form."""
    browser = clinic.login("clin_a")
    page = browser.get(f"/clients/{public_id}").text
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    episode = re.search(r'name="episode" value="(\d+)"', page).group(1)
    ticked = [str(i) for i, kind in alert_ids(page).items() if not kinds or kind in kinds]
    shown = dict(re.findall(r'name="(through-\d+)" value="(\d+)"', page))
    data = {"csrf_token": token, "episode": episode, "what": what, "alert": ticked, **shown, **fields}
    return browser.post(f"/clients/{public_id}/alerts", data=data, follow_redirects=False)
