"""Mixed open-loop load on the web application over PostgreSQL (prints numbers; not a test).

    .venv/bin/python benchmarks/web_load.py [--rate 100] [--duration 60] [--course-length 12]
                                            [--search] [--json]

Starts a throwaway PostgreSQL server and ``attunement serve --demo`` on it, then sends requests
at a fixed average rate whatever the server's speed (open loop: arrivals are a Poisson process,
so a slow server faces a growing queue instead of a politely waiting client). The mix, by
default: client submissions (a POST of PHQ-9, GAD-7 and the check-in on a fresh link) 40%,
client form views 10%, clinician client pages 30%, clinician caseloads 20%.

Submissions go to courses of a fixed length, not to the demo clients: before the clock starts,
new clients are created for the benchmark (spread over the three demo clinicians, 30 courses
running side by side), and each course gets links for sessions 1 to ``--course-length`` in
order, a new client starting when one is used up. So no history grows beyond a real course,
however long the run; what grows is the number of clients, as in a clinic taking on new ones,
and with it the demo clinicians' caseload pages (each run adds about
rate x duration x 0.4 x 1.3 / course length / 3 clients to each caseload).

The page requests keep to the demo clinicians: caseloads, and the client pages of the demo
clients (their seeded histories, of realistic length, which the submissions no longer touch).
The course clients' own pages are not in the mix, so that the client pages measured are the
same from one run (and one ``--course-length``) to the next, not a mix whose history lengths
depend on how far the courses happened to get.

Latency is timed from the moment a request was due, not from when a worker got to it, so
queueing inside the load generator counts against the server (no coordinated omission).
An error is a refused connection, a timeout or an unexpected status.

With ``--search`` it then looks for the highest rate that still meets the target (p99 at most
150 ms and no errors), stepping the rate up and then bisecting, with shorter runs.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import sys
import threading
import time
from collections import defaultdict, deque
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from web_common import (  # noqa: E402
    Answers,
    AppServer,
    CoursePool,
    Link,
    fetch,
    issue_links,
    percentile,
    postgres_pid,
    process_tree_cpu,
    sign_in_clinicians,
    start_postgres,
)

from attunement.store.demo import DEMO_LOGINS  # noqa: E402

#: The target p99 (``--target-p99-ms`` changes it, e.g. to find the rate a looser target allows).
TARGET_P99_MS = 150.0
#: A client gives up after this long, counted from when its request was due (an error).
CLIENT_TIMEOUT_S = 10.0
#: Sessions in a course of therapy (``--course-length`` changes it); a project choice of a
#: typical short course, not a clinical figure.
COURSE_LENGTH = 12
MIX = {"client_submit": 0.40, "client_form": 0.10, "clinician_client": 0.30, "clinician_caseload": 0.20}
EXPECTED_STATUS = {
    "client_submit": 303,
    "client_form": 200,
    "clinician_client": 200,
    "clinician_caseload": 200,
}


@dataclass
class RunResult:
    rate: float
    duration: float
    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    errors: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    error_examples: list[str] = field(default_factory=list)
    sent: int = 0
    wall: float = 0.0
    drain: float = 0.0
    target_p99_ms: float = TARGET_P99_MS
    #: CPU seconds used during the run by the server (all workers), PostgreSQL and this generator.
    cpu: dict[str, float] = field(default_factory=dict)

    def summary(self) -> dict:
        every = [x for values in self.latencies.values() for x in values]
        completed = len(every) + sum(self.errors.values())
        out = {
            "offered_rate": self.rate,
            "duration_s": self.duration,
            "requests": self.sent,
            "completed": completed,
            # Only answered requests count: an error is not work done.
            "throughput_per_s": round(len(every) / self.wall, 1) if self.wall else None,
            "errors": sum(self.errors.values()),
            "p50_ms": _ms(percentile(every, 50)),
            "p95_ms": _ms(percentile(every, 95)),
            "p99_ms": _ms(percentile(every, 99)),
            "max_ms": _ms(max(every) if every else None),
            "backlog_drain_s": round(self.drain, 1),
            "cpu_seconds": {k: round(v, 1) for k, v in self.cpu.items()},
            "server_cpu_ms_per_answered_request": round(1000 * self.cpu["server"] / len(every), 2)
            if self.cpu and every
            else None,
            "by_kind": {
                kind: {
                    "n": len(values),
                    "errors": self.errors.get(kind, 0),
                    "p50_ms": _ms(percentile(values, 50)),
                    "p99_ms": _ms(percentile(values, 99)),
                }
                for kind, values in sorted(self.latencies.items())
            },
        }
        if self.error_examples:
            out["error_examples"] = self.error_examples[:5]
        return out

    @property
    def sustainable(self) -> bool:
        every = [x for values in self.latencies.values() for x in values]
        p99 = percentile(every, 99)
        return not self.errors and p99 is not None and p99 * 1000 <= self.target_p99_ms


def _ms(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds * 1000, 1)


class LoadGenerator:
    """Sends the mixed requests from a pool of threads, each with its own keep-alive client."""

    def __init__(
        self,
        server: AppServer,
        database_url: str,
        clinicians: list,
        *,
        workers: int,
        seed: int,
        target_p99_ms: float = TARGET_P99_MS,
        course_length: int = COURSE_LENGTH,
    ):
        self.target_p99_ms = target_p99_ms
        self.base = server.base_url
        self.server_pid = server.process.pid
        self.postgres_pid = postgres_pid(database_url)
        self.database_url = database_url
        self.clinicians = clinicians
        self.answers = Answers(random.Random(seed))
        self.rng = random.Random(seed)
        self.local = threading.local()
        self.lock = threading.Lock()
        self.pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="load")
        self.form_links = issue_links(database_url, 50)  # viewed, never submitted
        therapists = [login.username for login in DEMO_LOGINS if login.role == "clinician"]
        self.courses = CoursePool(database_url, therapists, course_length)
        #: Taken from the front, in the order issued, so each course's sessions are answered in order.
        self.submit_links: deque[Link] = deque()

    def top_up(self, rate: float, duration: float) -> None:
        """Enough fresh links for a run, issued before its clock starts (with a margin for chance),
        with the course clients they need."""
        wanted = int(rate * duration * MIX["client_submit"] * 1.3) + 50
        if len(self.submit_links) < wanted:
            self.submit_links.extend(self.courses.links(wanted - len(self.submit_links)))

    def http(self) -> httpx.Client:
        if not hasattr(self.local, "client"):
            self.local.client = httpx.Client(base_url=self.base, timeout=CLIENT_TIMEOUT_S)
        return self.local.client

    def plan(self, kind: str):
        """The request for one arrival, chosen up front so workers only send."""
        if kind == "client_submit":
            with self.lock:
                link = self.submit_links.popleft() if self.submit_links else None
            if link is None:
                raise RuntimeError("ran out of client links; issue more")
            return "POST", f"/c/{link.token}", self.answers.form(link.instruments), None
        if kind == "client_form":
            return "GET", f"/c/{self.rng.choice(self.form_links).token}", None, None
        cookies, pages = self.rng.choice(self.clinicians)
        if kind == "clinician_client":
            return "GET", self.rng.choice(pages), None, cookies
        return "GET", "/caseload", None, cookies

    def send(self, kind: str, request, due: float, result: RunResult) -> None:
        method, path, data, cookies = request
        try:
            if time.perf_counter() - due > CLIENT_TIMEOUT_S:
                # Still queued here after the client would have given up: an error, not sent,
                # so an overloaded run does not pile more abandoned work onto the server.
                raise TimeoutError("gave up before sending (load generator queue)")
            left = CLIENT_TIMEOUT_S - (time.perf_counter() - due)
            reply = fetch(self.http(), method, path, cookies, data, timeout=max(left, 0.1))
            elapsed = time.perf_counter() - due
            if reply.status_code != EXPECTED_STATUS[kind]:
                raise RuntimeError(f"{method} {kind} -> {reply.status_code}")
            with self.lock:
                result.latencies[kind].append(elapsed)
        except Exception as exc:  # every failure counts as an error, whatever it is
            with self.lock:
                result.errors[kind] += 1
                if len(result.error_examples) < 20:
                    result.error_examples.append(f"{type(exc).__name__}: {exc}"[:200])

    def run(self, rate: float, duration: float) -> RunResult:
        self.top_up(rate, duration)
        result = RunResult(rate=rate, duration=duration, target_p99_ms=self.target_p99_ms)
        kinds, weights = list(MIX), list(MIX.values())
        cpu_before = self.cpu_now()
        start = time.perf_counter()
        due = start
        futures = []
        while True:
            due += self.rng.expovariate(rate)
            if due - start >= duration:
                break
            kind = self.rng.choices(kinds, weights)[0]
            request = self.plan(kind)
            pause = due - time.perf_counter()
            if pause > 0:
                time.sleep(pause)
            futures.append(self.pool.submit(self.send, kind, request, due, result))
            result.sent += 1
        for f in futures:
            f.result()
        result.wall = time.perf_counter() - start
        result.cpu = {k: v - cpu_before[k] for k, v in self.cpu_now().items()}
        result.drain = self.drain()
        return result

    def cpu_now(self) -> dict[str, float]:
        """CPU seconds so far of the server's processes, PostgreSQL's and this load generator's."""
        out = {"server": process_tree_cpu(self.server_pid), "generator": time.process_time()}
        if self.postgres_pid is not None:
            out["postgresql"] = process_tree_cpu(self.postgres_pid)
        return out

    def drain(self, most: float = 900.0) -> float:
        """Wait until the server has worked off any backlog (``/healthz`` quick three times running).

        An overloaded run leaves requests inside the server that their clients abandoned; the
        next run must not inherit them. Returns the seconds waited.
        """
        start = time.perf_counter()
        quick = 0
        with httpx.Client(base_url=self.base, timeout=60.0) as http:
            while quick < 3 and time.perf_counter() - start < most:
                began = time.perf_counter()
                try:
                    http.get("/healthz")
                    quick = quick + 1 if time.perf_counter() - began < 0.1 else 0
                except httpx.HTTPError:
                    quick = 0
                time.sleep(0.5)
        return time.perf_counter() - start

    def close(self) -> None:
        self.pool.shutdown(wait=True, cancel_futures=True)


def search(
    generator: LoadGenerator,
    start_rate: float,
    duration: float,
    ceiling: float,
    first: RunResult | None = None,
) -> tuple[float, list]:
    """The highest rate that meets the target, to within about 5%.

    The rate grows by half while the target is met, or halves while it is not, until one rate
    meets it and a higher one does not; the gap is then bisected. When the main run (``first``)
    already failed at ``start_rate``, the search starts below what the server managed then.
    """
    runs: list[dict] = []

    def met(rate: float) -> bool:
        r = generator.run(rate, duration)
        runs.append(r.summary() | {"sustainable": r.sustainable})
        _progress(runs[-1])
        return r.sustainable

    good, bad = 0.0, None
    rate = start_rate
    if first is not None and not first.sustainable:
        bad = start_rate
        done = first.summary()["throughput_per_s"] or 1.0
        rate = max(1.0, round(min(start_rate / 2, done * 0.9)))
    while True:
        if met(rate):
            good = rate
            if bad is not None or rate * 1.5 > ceiling:
                break
            rate = round(rate * 1.5)
        else:
            bad = rate
            if good or rate <= 1:
                break
            rate = max(1.0, round(rate / 2))
    while bad is not None and good and bad - good > max(2.0, good * 0.05) and len(runs) < 12:
        rate = round((good + bad) / 2, 1)
        if met(rate):
            good = rate
        else:
            bad = rate
    return good, runs


def _progress(summary: dict) -> None:
    print(
        f"  rate {summary['offered_rate']:>6.0f}/s: {summary['throughput_per_s']}/s done, "
        f"p50 {summary['p50_ms']} ms, p99 {summary['p99_ms']} ms, errors {summary['errors']}",
        file=sys.stderr,
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=float, default=100.0, help="requests per second (default 100)")
    parser.add_argument("--duration", type=float, default=60.0, help="seconds (default 60)")
    parser.add_argument("--search", action="store_true", help="also find the highest sustainable rate")
    parser.add_argument("--search-duration", type=float, default=20.0, help="seconds per search step")
    parser.add_argument("--search-ceiling", type=float, default=2000.0)
    parser.add_argument("--warmup", type=float, default=5.0, help="seconds at the rate before measuring")
    parser.add_argument("--workers", type=int, default=128, help="threads sending requests")
    parser.add_argument("--database", help="use this PostgreSQL URL instead of a throwaway server")
    parser.add_argument("--target-p99-ms", type=float, default=TARGET_P99_MS)
    parser.add_argument(
        "--server-workers", type=int, default=1, help="attunement serve --workers (default 1)"
    )
    parser.add_argument(
        "--course-length",
        type=int,
        default=COURSE_LENGTH,
        help=f"sessions per course client before a new one starts (default {COURSE_LENGTH})",
    )
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    if args.course_length < 1:
        parser.error("--course-length must be at least 1")

    report: dict = {
        "target": {"p99_ms": args.target_p99_ms, "errors": 0},
        "mix": MIX,
        "course_length": args.course_length,
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
        },
    }
    with start_postgres(args.database) as url:
        server = AppServer(url, demo=True, extra_args=["--workers", str(args.server_workers)]).start()
        try:
            report["database"] = "postgresql"
            report["server_workers"] = args.server_workers
            clinicians = sign_in_clinicians(server.base_url)
            generator = LoadGenerator(
                server,
                url,
                clinicians,
                workers=args.workers,
                seed=args.seed,
                target_p99_ms=args.target_p99_ms,
                course_length=args.course_length,
            )
            try:
                if args.warmup > 0:
                    generator.run(args.rate, args.warmup)
                print(f"measuring {args.rate:g} requests/s for {args.duration:g} s ...", file=sys.stderr)
                run = generator.run(args.rate, args.duration)
                report["run"] = run.summary() | {"meets_target": run.sustainable}
                report["course_clients"] = generator.courses.clients
                _progress(report["run"])
                if args.search:
                    best, steps_run = search(
                        generator, args.rate, args.search_duration, args.search_ceiling, first=run
                    )
                    report["search"] = {"highest_sustainable_rate": best, "steps": steps_run}
            finally:
                generator.close()
        finally:
            server.stop()
    # The machine may be shared: its load says how far the figures speak for the server alone.
    report["machine"]["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
    if args.json:
        print(json.dumps(report, indent=2))
        return
    r = report["run"]
    print(
        f"offered {r['offered_rate']:g} req/s for {r['duration_s']:g} s on PostgreSQL "
        f"({os.cpu_count()} CPUs, {args.server_workers} server worker(s))"
    )
    print(
        f"submissions to courses of {args.course_length} sessions: "
        f"{report['course_clients']} course clients created before the clock started"
    )
    print(f"sent {r['requests']} requests; answered {r['throughput_per_s']} req/s; errors {r['errors']}")
    print(f"latency p50 {r['p50_ms']} ms, p95 {r['p95_ms']} ms, p99 {r['p99_ms']} ms, max {r['max_ms']} ms")
    for kind, k in r["by_kind"].items():
        print(f"  {kind:<20} n {k['n']:>5}  p50 {k['p50_ms']} ms  p99 {k['p99_ms']} ms  errors {k['errors']}")
    print(
        f"target p99 <= {args.target_p99_ms:g} ms and 0 errors: {'met' if r['meets_target'] else 'NOT met'}"
    )
    print(
        f"CPU seconds during the run: {r['cpu_seconds']}; "
        f"server {r['server_cpu_ms_per_answered_request']} ms "
        "per answered request"
    )
    print(f"machine load average (1, 5, 15 min) at the end: {report['machine']['load_average_at_end']}")
    if "search" in report:
        print(f"highest sustainable rate: {report['search']['highest_sustainable_rate']:g} req/s")


if __name__ == "__main__":
    main()
