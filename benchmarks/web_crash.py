"""Crash test: kill -9 the web server under submission load; is every acknowledged answer kept?

    .venv/bin/python benchmarks/web_crash.py [--kills 5] [--clients 16] [--json]

Starts a throwaway PostgreSQL server (durable commits, as in production) and ``attunement serve
--demo`` on it. Each round, ``--clients`` threads submit client forms on fresh single-use links
as fast as the server answers; after a random 2-5 seconds the server's process group gets
SIGKILL, and it is started again. A submission counts as acknowledged when the server answered
it with the redirect to the thank-you page. Afterwards the database is read directly:

- acknowledged and stored (must equal acknowledged);
- stored without an acknowledgement (the server died after the commit and before the answer);
- then every unacknowledged submission is sent again, as a client would on seeing an error, and
  each link must end up stored exactly once (resubmitting a used link stores nothing new).
"""

from __future__ import annotations

import argparse
import json
import random
import signal
import sys
import threading
import time
from pathlib import Path

import httpx
from sqlalchemy import func, select

sys.path.insert(0, str(Path(__file__).resolve().parent))
from web_common import Answers, AppServer, csrf_cookies, issue_links, start_postgres  # noqa: E402

from attunement.store import open_database  # noqa: E402
from attunement.store.models import Client, ClientSummaryRow, LinkToken, Measure, Submission  # noqa: E402
from attunement.store.submissions import token_hash  # noqa: E402


class Submitter:
    """Threads that submit forms until told to stop, recording what the server acknowledged."""

    def __init__(self, base_url: str, links: list, threads: int, seed: int):
        self.base = base_url
        self.links = iter(links)
        self.lock = threading.Lock()
        self.answers = Answers(random.Random(seed))
        self.acknowledged: list = []
        self.unanswered: list = []
        self.stop = threading.Event()
        self.threads = [threading.Thread(target=self._work, daemon=True) for _ in range(threads)]

    def _next(self):
        with self.lock:
            link = next(self.links, None)
            return link, (self.answers.form(link.instruments) if link else None)

    def _work(self) -> None:
        with httpx.Client(base_url=self.base, timeout=10.0, cookies=csrf_cookies()) as http:
            while not self.stop.is_set():
                link, form = self._next()
                if link is None:
                    return
                try:
                    reply = http.post(f"/c/{link.token}", data=form)
                    ok = reply.status_code == 303
                except httpx.HTTPError:
                    ok = False
                with self.lock:
                    (self.acknowledged if ok else self.unanswered).append(link)
                if not ok:
                    time.sleep(0.05)  # the server is down: do not spin

    def start(self) -> None:
        for t in self.threads:
            t.start()

    def join(self) -> None:
        self.stop.set()
        for t in self.threads:
            t.join(timeout=30)


def stored_links(database_url: str, links: list) -> dict[str, int]:
    """token -> number of stored submissions (with their answer rows) made through that link."""
    db = open_database(database_url, migrate=False)
    try:
        with db.session() as session:
            by_hash = {token_hash(link.token): link.token for link in links}
            rows = session.execute(
                select(LinkToken.token_hash, func.count(func.distinct(Submission.id)))
                .join(Submission, Submission.link_token_id == LinkToken.id)
                .join(Measure, Measure.submission_id == Submission.id)
                .where(LinkToken.token_hash.in_(list(by_hash)))
                .group_by(LinkToken.token_hash)
            ).all()
            return {by_hash[h]: n for h, n in rows}
    finally:
        db.dispose()


def summaries_behind(database_url: str) -> int:
    """Clients whose stored summary is missing or older than their data (the summary is written in
    the same transaction as each submission, so a crash must never leave one behind)."""
    db = open_database(database_url, migrate=False)
    try:
        with db.session() as session:
            return session.scalar(
                select(func.count())
                .select_from(Client)
                .outerjoin(ClientSummaryRow, ClientSummaryRow.client_id == Client.id)
                .where(Client.data_version > 0)
                .where(
                    (ClientSummaryRow.version.is_(None)) | (ClientSummaryRow.version != Client.data_version)
                )
            )
    finally:
        db.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kills", type=int, default=5, help="how many times to kill the server")
    parser.add_argument("--clients", type=int, default=16, help="threads submitting at once")
    parser.add_argument("--database", help="use this PostgreSQL URL instead of a throwaway server")
    parser.add_argument(
        "--server-workers", type=int, default=1, help="attunement serve --workers (default 1)"
    )
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    rng = random.Random(args.seed)

    with start_postgres(args.database) as url:
        server = AppServer(url, demo=True, extra_args=["--workers", str(args.server_workers)]).start()
        links = issue_links(url, 400 * args.kills + 400)
        acknowledged, unanswered = [], []
        rounds = []
        try:
            pending = links
            for round_ in range(args.kills):
                submitter = Submitter(server.base_url, pending, args.clients, args.seed + round_)
                submitter.start()
                time.sleep(rng.uniform(2.0, 5.0))
                server.kill(signal.SIGKILL)
                submitter.join()
                used = {link.token for link in submitter.acknowledged + submitter.unanswered}
                pending = [link for link in pending if link.token not in used]
                acknowledged += submitter.acknowledged
                unanswered += submitter.unanswered
                rounds.append(
                    {"acknowledged": len(submitter.acknowledged), "unanswered": len(submitter.unanswered)}
                )
                print(f"  kill {round_ + 1}: {rounds[-1]}", file=sys.stderr, flush=True)
                server.start()
            stored = stored_links(url, acknowledged + unanswered)
            kept = sum(1 for link in acknowledged if stored.get(link.token, 0) == 1)
            unacknowledged_stored = sum(1 for link in unanswered if stored.get(link.token, 0) >= 1)
            # Send every unacknowledged form again, as the client would after an error page.
            resent_ok = 0
            with httpx.Client(base_url=server.base_url, timeout=30.0, cookies=csrf_cookies()) as http:
                answers = Answers(random.Random(args.seed + 1000))
                for link in unanswered:
                    reply = http.post(f"/c/{link.token}", data=answers.form(link.instruments))
                    resent_ok += reply.status_code == 303
        finally:
            server.stop()
        after = stored_links(url, unanswered)
        report = {
            "kills": args.kills,
            "concurrent_clients": args.clients,
            "rounds": rounds,
            "acknowledged": len(acknowledged),
            "acknowledged_and_stored": kept,
            "acknowledged_lost": len(acknowledged) - kept,
            "unacknowledged": len(unanswered),
            "unacknowledged_but_stored": unacknowledged_stored,
            "resent": len(unanswered),
            "resent_acknowledged": resent_ok,
            "resent_stored_exactly_once": sum(1 for link in unanswered if after.get(link.token, 0) == 1),
            "client_summaries_behind_their_data": summaries_behind(url),
        }
    if args.json:
        print(json.dumps(report, indent=2))
        return
    print(f"{args.kills} hard kills (SIGKILL) under load from {args.clients} submitting clients, PostgreSQL")
    print(
        f"acknowledged submissions: {report['acknowledged']}; stored after restart: {kept}; "
        f"lost: {report['acknowledged_lost']}"
    )
    print(
        f"unacknowledged (in flight or refused while down): {len(unanswered)}; "
        f"of these already stored: {unacknowledged_stored}"
    )
    print(
        f"resent: {len(unanswered)}; acknowledged on resend: {resent_ok}; "
        f"stored exactly once afterwards: {report['resent_stored_exactly_once']}"
    )
    print(f"stored client summaries behind their data: {report['client_summaries_behind_their_data']}")


if __name__ == "__main__":
    main()
