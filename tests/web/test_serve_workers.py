"""``attunement serve --workers 2``: two uvicorn worker processes on one PostgreSQL database.

The command line is run as a clinic runs it (a child process); a sign-in and a page view must
work whichever worker answers, because the session and CSRF signing secret is in the database.
"""

from __future__ import annotations

import sys
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "e2e"))
from app_server import AppServer  # noqa: E402

from attunement.store.demo import DEMO_LOGINS  # noqa: E402
from attunement.web.security import CSRF_COOKIE, CSRF_FIELD  # noqa: E402


def test_two_workers_share_the_demo_clinic(postgres_server, tmp_path):
    login = next(d for d in DEMO_LOGINS if d.role == "clinician")
    url = postgres_server.fresh_database_url()
    with AppServer(url, demo=True, log_dir=tmp_path, extra_args=["--workers", "2"]) as server:
        assert "Started parent process" in server.output()  # uvicorn with more than one worker
        token = "t" * 43
        with httpx.Client(base_url=server.base_url, cookies={CSRF_COOKIE: token}, timeout=60) as http:
            reply = http.post(
                "/login", data={CSRF_FIELD: token, "username": login.username, "password": login.password}
            )
            assert reply.status_code == 303
            for _ in range(6):  # several requests, so both workers are likely to answer some
                page = http.get("/caseload")
                assert page.status_code == 200 and "Client " in page.text
