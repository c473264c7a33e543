"""What the web benchmarks share: the server, client links, answers, and signed-in clinicians.

The server is started with ``attunement serve`` (the helper the browser tests use), so the
benchmarks measure the command a clinic runs. Client links are issued straight into the
database with the store's own ``issue_link`` before the clock starts, so that issuing them is
not part of what is measured.
"""

from __future__ import annotations

import os
import random
import re
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import psycopg

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "e2e"))
sys.path.insert(0, str(ROOT / "tests" / "web"))

from app_server import AppServer, free_port  # noqa: E402
from pg_server import PostgresServer  # noqa: E402

from attunement.store import open_database  # noqa: E402
from attunement.store.demo import DEMO_LOGINS  # noqa: E402
from attunement.store.episodes import current_episodes  # noqa: E402
from attunement.store.models import Client, User  # noqa: E402
from attunement.store.schedule import new_session  # noqa: E402
from attunement.store.settings import offered_instruments  # noqa: E402
from attunement.store.submissions import issue_link  # noqa: E402
from attunement.web.questionnaires import build_form  # noqa: E402
from attunement.web.security import CSRF_COOKIE, CSRF_FIELD  # noqa: E402

__all__ = [
    "Answers",
    "AppServer",
    "csrf_cookies",
    "free_port",
    "issue_links",
    "percentile",
    "postgres_pid",
    "process_tree_cpu",
    "sign_in_clinicians",
    "start_postgres",
]
CSRF = "benchmark-csrf-token-0123456789abcdef"


@contextmanager
def start_postgres(url: str | None = None) -> Iterator[str]:
    """A database URL: ``url`` as given, or a new database on a throwaway PostgreSQL server.

    The test server turns ``fsync`` off for speed; a benchmark must pay for durable commits as a
    production server does, so its server keeps ``fsync`` on (checked before use).
    """
    if url:
        yield url
        return
    server = PostgresServer.start(durable=True)
    try:
        with psycopg.connect(
            f"host=127.0.0.1 port={server.port} user=postgres dbname=postgres", autocommit=True
        ) as c:
            settings = {
                name: c.execute(f"SHOW {name}").fetchone()[0] for name in ("fsync", "synchronous_commit")
            }
        if settings != {"fsync": "on", "synchronous_commit": "on"}:
            raise RuntimeError(f"the benchmark's PostgreSQL server is not durable: {settings}")
        yield server.fresh_database_url()
    finally:
        server.stop()


@dataclass
class Link:
    token: str
    instruments: list[str]


def issue_links(database_url: str, count: int, *, valid_days: int = 7) -> list[Link]:
    """``count`` single-use client links, spread over the demo clients, each for a new session."""
    db = open_database(database_url, migrate=False)
    links: list[Link] = []
    try:
        with db.session() as session:
            instruments = offered_instruments(session)
            clients = list(session.query(Client).order_by(Client.id))
            therapists = {u.id: u for u in session.query(User)}
            episodes = current_episodes(session, [c.id for c in clients])
            active = [episodes[c.id] for c in clients if episodes[c.id].active]
            for i in range(count):
                episode = active[i % len(active)]
                therapist = therapists[episode.therapist_id]
                number = new_session(session, episode, therapist).number
                token = issue_link(session, episode, therapist, number, instruments, valid_days)
                links.append(Link(token, instruments))
    finally:
        db.dispose()
    return links


@dataclass
class Answers:
    """Valid random answers for a client link's forms, as a form post with its CSRF token."""

    rng: random.Random = field(default_factory=lambda: random.Random(1))

    def __post_init__(self):
        self._forms: dict[str, list[tuple[str, list[str]]]] = {}

    def form(self, instruments: list[str]) -> dict[str, str]:
        data = {CSRF_FIELD: CSRF}
        for name in instruments:
            if name not in self._forms:
                self._forms[name] = [
                    (q.field, [o.value for o in q.options]) for q in build_form(name).questions if q.options
                ]
            for link_id, options in self._forms[name]:
                data[link_id] = self.rng.choice(options)
        return data


def csrf_cookies() -> dict[str, str]:
    return {CSRF_COOKIE: CSRF}


def sign_in_clinicians(base_url: str) -> list[tuple[dict[str, str], list[str]]]:
    """Each demo clinician's session cookies and the client pages on their caseload."""
    found = []
    for login in DEMO_LOGINS:
        if login.role != "clinician":
            continue
        with httpx.Client(base_url=base_url, cookies=csrf_cookies(), timeout=30) as http:
            reply = http.post(
                "/login", data={CSRF_FIELD: CSRF, "username": login.username, "password": login.password}
            )
            if reply.status_code != 303:
                raise RuntimeError(f"sign-in as {login.username} failed: {reply.status_code}")
            caseload = http.get("/caseload")
            pages = sorted(set(re.findall(r'href="(/clients/[A-Za-z0-9_-]{8,})"', caseload.text)))
            found.append((dict(http.cookies), pages))
    return found


def process_tree_cpu(root: int) -> float:
    """CPU seconds (user + system) used so far by process ``root`` and its descendants, living or
    exited (Linux /proc)."""
    parents: dict[int, int] = {}
    times: dict[int, float] = {}
    tick = os.sysconf("SC_CLK_TCK")
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            fields = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
        except (FileNotFoundError, ProcessLookupError, PermissionError):
            continue
        parents[int(entry)] = int(fields[1])
        # utime + stime, and cutime + cstime: the time of children that have exited (PostgreSQL's
        # backends come and go with connections).
        times[int(entry)] = sum(int(x) for x in fields[11:15]) / tick
    tree, changed = {root}, True
    while changed:
        grown = tree | {pid for pid, parent in parents.items() if parent in tree}
        changed, tree = grown != tree, grown
    return sum(times.get(pid, 0.0) for pid in tree)


def postgres_pid(database_url: str) -> int | None:
    """The PostgreSQL server's main process (its ``postmaster.pid``), when it runs on this machine."""
    with psycopg.connect(database_url.replace("postgresql+psycopg", "postgresql")) as c:
        folder = c.execute("SHOW data_directory").fetchone()[0]
    try:
        return int(Path(folder, "postmaster.pid").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None


def percentile(values: list[float], q: float) -> float | None:
    """The q-th percentile (nearest rank), or None without values."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, min(len(ordered), int(-(-q * len(ordered) // 100))))
    return ordered[rank - 1]
