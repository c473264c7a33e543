"""Server CPU per request of each kind of web page, side by side (prints numbers; not a test).

    .venv/bin/python benchmarks/web_cost.py [--requests 100] [--caseload 20] [--history 12]
                                            [--no-scaling] [--json]

Starts a throwaway (durable) PostgreSQL server and one ``attunement serve --demo`` worker, then
sends each kind of request ``--requests`` times in a row, one at a time, after a few unmeasured
ones to warm up, and reads the CPU time the server's processes (and, apart, PostgreSQL's) used
from /proc before and after. CPU time rather than latency, because the machine may be shared:
another program's work slows a request down but does not add to the server's CPU time.

The kinds: the sign-in page (anonymous; the yardstick, as the cheapest page there is), a client's
questionnaire form (an unanswered link), a client's submission (a fresh link each, answers posted
as a client's browser does), a demo clinician's caseload, their client pages (in turn), the
supervisor's team page, and episode reports (found from the client pages' links). The targets:
client page and caseload within 3 times the sign-in page, a submission within 6 times.

The pages are measured first, on the demo clinic as seeded; the form and submission links go to
new course clients (:class:`web_common.CoursePool`) made just before those kinds run, so that
they change no page measured before them.

The scaling part (``--no-scaling`` skips it) shows whether a page costs more as a clinic's data
grows: a new clinician with ``--caseload`` clients of ``--history`` answered sessions each, and
another with twice as many clients of twice as many sessions, every answer posted to the server
through the client link (so summaries, alerts and the audit log are what a clinic gets). It then
measures both clinicians' caseload and client pages, and prints the ratios doubled / base with
the pages' sizes. A ratio near 1 says the cost does not grow with the data; near 2 or 4, it does
(a page that shows twice the clients may fairly cost about twice as much: the sizes show that).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from web_common import (  # noqa: E402
    Answers,
    AppServer,
    CoursePool,
    client_pages,
    course_links,
    create_clinician,
    create_course_clients,
    fetch,
    postgres_pid,
    process_tree_cpu,
    sign_in,
    start_postgres,
)

from attunement.store.demo import DEMO_LOGINS  # noqa: E402

#: Requests of a kind sent, unmeasured, before its measured ones (first-use imports and caches).
WARMUP = 5
#: The targets, as multiples of the sign-in page's server CPU per request.
TARGETS = {"client_page": 3.0, "caseload": 3.0, "submission": 6.0}
#: A password for the scaling part's clinicians (long enough for the password rule).
PASSWORD = "benchmark-clinician-password"
REPORT_LINK = re.compile(r'href="(/clients/[A-Za-z0-9_-]{8,}/episodes/\d+/report)"')

#: One request: method, path, form data, session cookies.
Request = tuple[str, str, dict[str, str] | None, dict[str, str] | None]


@dataclass
class Cost:
    """What ``n`` requests of one kind cost."""

    n: int = 0
    server_s: float = 0.0
    postgres_s: float | None = None
    bytes: list[int] = field(default_factory=list)
    errors: int = 0
    error_examples: list[str] = field(default_factory=list)

    @property
    def server_ms(self) -> float | None:
        return 1000 * self.server_s / self.n if self.n else None

    @property
    def postgres_ms(self) -> float | None:
        return 1000 * self.postgres_s / self.n if self.n and self.postgres_s is not None else None

    @property
    def mean_bytes(self) -> int | None:
        return round(sum(self.bytes) / len(self.bytes)) if self.bytes else None

    def summary(self, yardstick: float | None = None) -> dict:
        out = {
            "requests": self.n,
            "errors": self.errors,
            "server_cpu_ms_per_request": _round(self.server_ms),
            "postgresql_cpu_ms_per_request": _round(self.postgres_ms),
            "mean_bytes": self.mean_bytes,
        }
        if yardstick and self.server_ms is not None:
            out["times_sign_in_page"] = round(self.server_ms / yardstick, 2)
        if self.error_examples:
            out["error_examples"] = self.error_examples[:5]
        return out


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 2)


class Meter:
    """Sends requests one at a time on one keep-alive connection and reads CPU time around them."""

    def __init__(self, server: AppServer, database_url: str):
        self.http = httpx.Client(base_url=server.base_url, timeout=60)
        self.server_pid = server.process.pid
        self.postgres_pid = postgres_pid(database_url)

    def send(self, request: Request, expected: int, cost: Cost) -> httpx.Response | None:
        method, path, data, cookies = request
        try:
            reply = fetch(self.http, method, path, cookies, data)
        except httpx.HTTPError as exc:
            self._error(cost, f"{method} {_opaque(path)}: {type(exc).__name__}: {exc}")
            return None
        if reply.status_code != expected:
            self._error(cost, f"{method} {_opaque(path)} -> {reply.status_code}, not {expected}")
        return reply

    @staticmethod
    def _error(cost: Cost, message: str) -> None:
        cost.errors += 1
        if len(cost.error_examples) < 20:
            cost.error_examples.append(message[:200])

    def cpu(self) -> tuple[float, float | None]:
        pg = process_tree_cpu(self.postgres_pid) if self.postgres_pid is not None else None
        return process_tree_cpu(self.server_pid), pg

    def measure(self, requests: Callable[[int], Request], n: int, expected: int = 200) -> Cost:
        """``WARMUP`` requests, then ``n`` measured ones; ``requests(i)`` gives the i-th."""
        cost = Cost()
        for i in range(WARMUP):
            self.send(requests(i), expected, cost)
        # The warm-up's answers are checked too, but only the measured requests' count.
        warm_errors, cost.bytes = cost.errors, []
        self._settle()
        server_before, pg_before = self.cpu()
        for i in range(WARMUP, WARMUP + n):
            reply = self.send(requests(i), expected, cost)
            if reply is not None:
                cost.bytes.append(len(reply.content))
        self._settle()
        server_after, pg_after = self.cpu()
        cost.n = n
        cost.errors -= warm_errors
        cost.server_s = server_after - server_before
        if pg_before is not None and pg_after is not None:
            cost.postgres_s = pg_after - pg_before
        return cost

    @staticmethod
    def _settle() -> None:
        """Let work a page left behind (the caseload's notices and audit seal, run after the
        answer is sent) finish before CPU time is read, so it counts for the page that caused it."""
        time.sleep(0.3)

    def close(self) -> None:
        self.http.close()


def _opaque(path: str) -> str:
    """A path fit for printing: a client link's token is a secret, so it is cut short."""
    return re.sub(r"^/c/(.{6}).*", r"/c/\1...", path)


def _login(username: str) -> tuple[str, str]:
    login = next(x for x in DEMO_LOGINS if x.username == username)
    return login.username, login.password


def main_kinds(meter: Meter, base_url: str, database_url: str, n: int, answers: Answers) -> dict[str, Cost]:
    """The server CPU of each kind of request, in the order that keeps the pages on the demo clinic."""
    costs: dict[str, Cost] = {}
    clinician = sign_in(base_url, *_login("clinician"))
    supervisor = sign_in(base_url, *_login("supervisor"))
    pages = client_pages(base_url, clinician)
    if not pages:
        raise RuntimeError("the demo clinician's caseload links to no client page")
    reports = sorted(
        {
            link
            for page in pages
            for link in REPORT_LINK.findall(fetch(meter.http, "GET", page, clinician).text)
        }
    )
    if not reports:
        raise RuntimeError("no client page links to an episode report")
    progress("sign-in page ...")
    costs["sign_in_page"] = meter.measure(lambda i: ("GET", "/login", None, None), n)
    progress("caseload ...")
    costs["caseload"] = meter.measure(lambda i: ("GET", "/caseload", None, clinician), n)
    progress(f"client pages ({len(pages)} in turn) ...")
    costs["client_page"] = meter.measure(lambda i: ("GET", pages[i % len(pages)], None, clinician), n)
    progress("team page ...")
    costs["team"] = meter.measure(lambda i: ("GET", "/team", None, supervisor), n)
    progress(f"episode reports ({len(reports)} in turn) ...")
    costs["report"] = meter.measure(lambda i: ("GET", reports[i % len(reports)], None, clinician), n)
    therapists = [x.username for x in DEMO_LOGINS if x.role == "clinician"]
    pool = CoursePool(database_url, therapists, length=12)
    forms = pool.links(WARMUP + n)
    progress("client forms ...")
    costs["client_form"] = meter.measure(lambda i: ("GET", f"/c/{forms[i].token}", None, None), n)
    fresh = pool.links(WARMUP + n)
    progress("submissions ...")
    costs["submission"] = meter.measure(
        lambda i: ("POST", f"/c/{fresh[i].token}", answers.form(fresh[i].instruments), None), n, expected=303
    )
    return costs


def build_clinician(
    meter: Meter,
    base_url: str,
    database_url: str,
    username: str,
    clients: int,
    history: int,
    answers: Answers,
) -> tuple[dict[str, str], list[str], Cost]:
    """A new clinician with ``clients`` clients of ``history`` answered sessions each (every answer
    posted to the server); their session cookies, client pages, and the submissions' errors."""
    create_clinician(database_url, username, PASSWORD)
    courses = create_course_clients(database_url, [username], clients, prefix="Client")
    # Session 1 of every client, then session 2 of every client, and so on: in order per client.
    order = [course for _ in range(history) for course in courses]
    links = course_links(database_url, order)
    posted = Cost()
    for i, link in enumerate(links, start=1):
        meter.send(("POST", f"/c/{link.token}", answers.form(link.instruments), None), 303, posted)
        if i % 100 == 0 or i == len(links):
            progress(f"  {username}: {i} of {len(links)} submissions posted ({posted.errors} errors)")
    cookies = sign_in(base_url, username, PASSWORD)
    return cookies, [f"/clients/{c.public_id}" for c in courses], posted


def clinician_pages(meter: Meter, cookies: dict[str, str], pages: list[str], n: int) -> tuple[Cost, Cost]:
    """A clinician's caseload and their client pages (in turn)."""
    caseload = meter.measure(lambda i: ("GET", "/caseload", None, cookies), n)
    return caseload, meter.measure(lambda i: ("GET", pages[i % len(pages)], None, cookies), n)


def scaling(
    meter: Meter, base_url: str, database_url: str, n: int, caseload: int, history: int, answers: Answers
) -> dict:
    """Caseload and client page costs for a base clinician and one with twice the clients of twice
    the history."""
    out: dict = {}
    for name, clients, sessions in (
        ("base", caseload, history),
        ("doubled", 2 * caseload, 2 * history),
    ):
        username = f"bench-{name}-{os.getpid()}"
        progress(f"building {name}: {clients} clients of {sessions} answered sessions ...")
        cookies, pages, posted = build_clinician(
            meter, base_url, database_url, username, clients, sessions, answers
        )
        progress(f"measuring {name} caseload and client pages ...")
        caseload_cost, client_cost = clinician_pages(meter, cookies, pages, n)
        out[name] = {
            "clients": clients,
            "sessions_per_client": sessions,
            "submission_errors": posted.errors,
            "caseload": caseload_cost,
            "client_page": client_cost,
        }
    for page in ("caseload", "client_page"):
        base, doubled = out["base"][page].server_ms, out["doubled"][page].server_ms
        out[f"{page}_ratio"] = round(doubled / base, 2) if base and doubled is not None else None
    return out


def progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=100, help="measured requests per kind (default 100)")
    parser.add_argument(
        "--scaling",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="also measure how caseload and client pages grow with the data (default on)",
    )
    parser.add_argument("--caseload", type=int, default=20, help="the base clinician's clients (default 20)")
    parser.add_argument(
        "--history", type=int, default=12, help="answered sessions of each base client (default 12)"
    )
    parser.add_argument("--database", help="use this PostgreSQL URL instead of a throwaway server")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    if args.requests < 1 or args.caseload < 1 or args.history < 1:
        parser.error("--requests, --caseload and --history must be at least 1")

    answers = Answers()
    report: dict = {
        "machine": {"cpus": os.cpu_count(), "load_average_at_start": [round(x, 2) for x in os.getloadavg()]},
        "requests_per_kind": args.requests,
        "server_workers": 1,
        "targets_times_sign_in_page": TARGETS,
    }
    with start_postgres(args.database) as url:
        server = AppServer(url, demo=True, extra_args=["--workers", "1"]).start()
        meter = Meter(server, url)
        try:
            costs = main_kinds(meter, server.base_url, url, args.requests, answers)
            built = (
                scaling(meter, server.base_url, url, args.requests, args.caseload, args.history, answers)
                if args.scaling
                else None
            )
        finally:
            meter.close()
            server.stop()
    yardstick = costs["sign_in_page"].server_ms
    report["kinds"] = {kind: cost.summary(yardstick) for kind, cost in costs.items()}
    report["targets"] = {
        kind: {
            "most_times_sign_in_page": most,
            "times_sign_in_page": report["kinds"][kind].get("times_sign_in_page"),
            "met": report["kinds"][kind].get("times_sign_in_page") is not None
            and report["kinds"][kind]["times_sign_in_page"] <= most,
        }
        for kind, most in TARGETS.items()
    }
    report["errors"] = sum(c.errors for c in costs.values())
    if built is not None:
        report["scaling"] = {
            name: {
                key: (value.summary() if isinstance(value, Cost) else value) for key, value in part.items()
            }
            if isinstance(part, dict)
            else part
            for name, part in built.items()
        }
        report["errors"] += sum(
            built[name]["submission_errors"]
            + built[name]["caseload"].errors
            + built[name]["client_page"].errors
            for name in ("base", "doubled")
        )
    report["machine"]["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
    if args.json:
        print(json.dumps(report, indent=2))
        return
    print_report(report, args)


def print_report(report: dict, args: argparse.Namespace) -> None:
    print(
        f"server CPU per request, {args.requests} sequential requests of each kind "
        f"after {WARMUP} to warm up; "
        f"1 server worker on PostgreSQL ({os.cpu_count()} CPUs)"
    )
    print(
        f"  {'kind':<14} {'server ms':>9} {'x sign-in':>9} {'PostgreSQL ms':>13} {'bytes':>8} {'errors':>6}"
    )
    for kind, k in report["kinds"].items():
        print(
            f"  {kind:<14} {_num(k['server_cpu_ms_per_request']):>9} {_num(k.get('times_sign_in_page')):>9} "
            f"{_num(k['postgresql_cpu_ms_per_request']):>13} {_num(k['mean_bytes']):>8} {k['errors']:>6}"
        )
    for kind, t in report["targets"].items():
        print(
            f"target: {kind} within {t['most_times_sign_in_page']:g}x the sign-in page: "
            f"{_num(t['times_sign_in_page'])}x, {'met' if t['met'] else 'NOT met'}"
        )
    for kind, k in report["kinds"].items():
        for example in k.get("error_examples", []):
            print(f"  error ({kind}): {example}")
    if "scaling" in report:
        s = report["scaling"]
        print("scaling: a clinician's caseload and client pages as the data doubles")
        print(
            f"  {'clinician':<34} {'page':<12} {'server ms':>9} {'PostgreSQL ms':>13} "
            f"{'bytes':>8} {'errors':>6}"
        )
        for name in ("base", "doubled"):
            part = s[name]
            who = f"{name}: {part['clients']} clients x {part['sessions_per_client']} sessions"
            for page in ("caseload", "client_page"):
                k = part[page]
                print(
                    f"  {who:<34} {page:<12} {_num(k['server_cpu_ms_per_request']):>9} "
                    f"{_num(k['postgresql_cpu_ms_per_request']):>13} {_num(k['mean_bytes']):>8} "
                    f"{k['errors']:>6}"
                )
            if part["submission_errors"]:
                print(f"  {name}: {part['submission_errors']} submissions while building answered wrongly")
        print(
            f"  ratio doubled / base: caseload {_num(s['caseload_ratio'])}, "
            f"client page {_num(s['client_page_ratio'])} "
            f"(twice the clients on the caseload, twice the sessions on each client page)"
        )
    print(f"errors (wrong status or no answer): {report['errors']}")
    print(f"machine load average (1, 5, 15 min) at the end: {report['machine']['load_average_at_end']}")


def _num(value: float | int | None) -> str:
    return "-" if value is None else f"{value:g}"


if __name__ == "__main__":
    main()
