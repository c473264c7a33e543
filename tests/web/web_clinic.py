"""Helpers for the web tests: the small test clinic and reading a form's CSRF token."""

from __future__ import annotations

import re
from dataclasses import dataclass

from fastapi.testclient import TestClient
from sqlalchemy import text

from attunement.store import Database

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
