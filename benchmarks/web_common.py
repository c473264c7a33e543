"""What the web benchmarks share: the server, client links, answers, signed-in clinicians, and
courses of care of a fixed length.

The server is started with ``attunement serve`` (the helper the browser tests use), so the
benchmarks measure the command a clinic runs. Client links are issued straight into the
database with the store's own ``issue_link`` before the clock starts, so that issuing them is
not part of what is measured; the answers themselves are always posted to the running server,
so that summaries, alerts and the audit log are what a clinic gets.

Courses (:class:`CoursePool`, :func:`course_links`) exist so that a benchmark's submissions do
not pile ever more sessions onto the same few clients: each new client gets a fixed number of
sessions, as a real course of therapy does, and a new client is started when one is used up.
"""

from __future__ import annotations

import os
import random
import re
import sys
from collections.abc import Iterator, Sequence
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
from attunement.store.accounts import create_user  # noqa: E402
from attunement.store.audit import record  # noqa: E402
from attunement.store.clients import create_client  # noqa: E402
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
    "Course",
    "CoursePool",
    "Link",
    "course_links",
    "create_clinician",
    "create_course_clients",
    "csrf_cookies",
    "fetch",
    "free_port",
    "issue_links",
    "percentile",
    "postgres_pid",
    "process_tree_cpu",
    "sign_in",
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


def fetch(
    http: httpx.Client,
    method: str,
    path: str,
    cookies: dict[str, str] | None = None,
    data: dict[str, str] | None = None,
    timeout: float | None = None,
) -> httpx.Response:
    """One request with the CSRF cookie and ``cookies`` (a signed-in clinician's) in a ``Cookie``
    header written here, the client's own jar emptied afterwards.

    httpx's per-request ``cookies=`` does not reach the server for the CSRF cookie on a POST, and
    a shared keep-alive client must not carry one clinician's session into the next request."""
    jar = {**csrf_cookies(), **(cookies or {})}
    header = {"Cookie": "; ".join(f"{k}={v}" for k, v in jar.items())}
    extra = {} if timeout is None else {"timeout": timeout}
    try:
        return http.request(method, path, data=data, headers=header, **extra)
    finally:
        http.cookies.clear()


def sign_in(base_url: str, username: str, password: str) -> dict[str, str]:
    """The session cookies of ``username`` signed in through the sign-in form."""
    with httpx.Client(base_url=base_url, timeout=30) as http:
        reply = http.post(
            "/login",
            data={CSRF_FIELD: CSRF, "username": username, "password": password},
            headers={"Cookie": f"{CSRF_COOKIE}={CSRF}"},
        )
        if reply.status_code != 303:
            raise RuntimeError(f"sign-in as {username} failed: {reply.status_code}")
        return {k: v for k, v in http.cookies.items() if k != CSRF_COOKIE}


CLIENT_PAGE = re.compile(r'href="(/clients/[A-Za-z0-9_-]{8,})"')


def client_pages(base_url: str, cookies: dict[str, str]) -> list[str]:
    """The client pages linked from a signed-in clinician's caseload."""
    with httpx.Client(base_url=base_url, timeout=30) as http:
        caseload = fetch(http, "GET", "/caseload", cookies)
        if caseload.status_code != 200:
            raise RuntimeError(f"the caseload answered {caseload.status_code}")
        return sorted(set(CLIENT_PAGE.findall(caseload.text)))


def sign_in_clinicians(base_url: str) -> list[tuple[dict[str, str], list[str]]]:
    """Each demo clinician's session cookies and the client pages on their caseload."""
    found = []
    for login in DEMO_LOGINS:
        if login.role != "clinician":
            continue
        cookies = sign_in(base_url, login.username, login.password)
        found.append((cookies, client_pages(base_url, cookies)))
    return found


def create_clinician(database_url: str, username: str, password: str, *, team_of: str = "clinician") -> None:
    """A clinician account in the team of ``team_of``, written straight into the database."""
    db = open_database(database_url, migrate=False)
    try:
        with db.session() as session:
            team = session.query(User).filter(User.username == team_of).one().team_id
            create_user(session, username, password, "clinician", team_id=team)
    finally:
        db.dispose()


@dataclass
class Course:
    """A client's first course of care, and how many of its sessions have a link so far."""

    client_id: int
    public_id: str
    episode_id: int
    therapist: str
    sessions: int = 0


def create_course_clients(
    database_url: str, therapists: Sequence[str], count: int, *, prefix: str = "Course", first: int = 1
) -> list[Course]:
    """``count`` new clients, each with a first episode, spread in turn over the clinicians named
    ``therapists``; made as the web form does (the store's ``create_client`` and its audit entry)."""
    db = open_database(database_url, migrate=False)
    made: list[Course] = []
    try:
        with db.session() as session:
            users = {u.username: u for u in session.query(User).filter(User.username.in_(list(therapists)))}
            for i in range(count):
                therapist = users[therapists[i % len(therapists)]]
                client = create_client(session, therapist, f"{prefix} {first + i:04d}")
                record(session, f"user:{therapist.id}", therapist.role, "create_client", client_id=client.id)
                episode = current_episodes(session, [client.id])[client.id]
                made.append(Course(client.id, client.public_id, episode.id, therapist.username))
    finally:
        db.dispose()
    return made


def course_links(database_url: str, wanted: Sequence[Course], *, valid_days: int = 7) -> list[Link]:
    """A link for a new session of each course in ``wanted``, in that order (a course may come
    more than once: its sessions are numbered on in order). ``Course.sessions`` is the caller's
    to keep."""
    db = open_database(database_url, migrate=False)
    links: list[Link] = []
    try:
        with db.session() as session:
            instruments = offered_instruments(session)
            users = {u.username: u for u in session.query(User)}
            episodes = {
                e.id: e for e in current_episodes(session, sorted({c.client_id for c in wanted})).values()
            }
            for course in wanted:
                episode, therapist = episodes[course.episode_id], users[course.therapist]
                number = new_session(session, episode, therapist).number
                token = issue_link(session, episode, therapist, number, instruments, valid_days)
                links.append(Link(token, instruments))
    finally:
        db.dispose()
    return links


class CoursePool:
    """Links for courses of at most ``length`` sessions, over new clients of ``therapists``.

    ``width`` courses run side by side and take their links in turn, so a course's sessions come
    in order and far apart in the stream of links (``width`` links apart); a course used up is
    replaced by a new client, created with the links that need it.
    """

    def __init__(self, database_url: str, therapists: Sequence[str], length: int, *, width: int = 30):
        if length < 1:
            raise ValueError("a course needs at least one session")
        self.database_url = database_url
        self.therapists = list(therapists)
        self.length = length
        self.width = width
        self.slots: list[Course | None] = [None] * width
        self.turn = 0
        self.started = 0

    def _used_up(self, slot: int) -> bool:
        course = self.slots[slot]
        return course is None or course.sessions >= self.length

    def links(self, count: int) -> list[Link]:
        """``count`` more links, the first sessions' links of new clients among them."""
        # First count the new clients needed, so that they are all created in one go.
        given = [c.sessions if c is not None else self.length for c in self.slots]
        needed = 0
        for turn in range(self.turn, self.turn + count):
            slot = turn % self.width
            if given[slot] >= self.length:
                given[slot] = 0
                needed += 1
            given[slot] += 1
        fresh = iter(
            create_course_clients(self.database_url, self.therapists, needed, first=self.started + 1)
        )
        self.started += needed
        order: list[Course] = []
        for _ in range(count):
            slot = self.turn % self.width
            self.turn += 1
            if self._used_up(slot):
                self.slots[slot] = next(fresh)
            course = self.slots[slot]
            assert course is not None
            course.sessions += 1
            order.append(course)
        return course_links(self.database_url, order)

    @property
    def clients(self) -> int:
        """How many course clients have been created so far."""
        return self.started


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
