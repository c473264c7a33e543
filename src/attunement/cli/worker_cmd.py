"""``attunement worker``: the delivery worker as its own process (the web application runs one
too), sending the outbox's queued links by e-mail or text message."""

from __future__ import annotations

import json
import time
from datetime import timedelta
from typing import Annotated

import typer

from attunement.cli.app import JSON_HELP, app
from attunement.cli.database import DATABASE
from attunement.cli.output import console, errors


@app.command("worker")
def worker(
    database: Annotated[str | None, DATABASE] = None,
    once: Annotated[bool, typer.Option("--once", help="One round, then exit.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help=JSON_HELP + " One line per round.")] = False,
    interval: Annotated[
        float, typer.Option("--interval", min=0.1, help="Seconds between rounds when not --once.")
    ] = 30.0,
    lease: Annotated[
        int,
        typer.Option(
            "--lease",
            min=1,
            help="Seconds a claimed message stays this worker's; after that, if this worker died, "
            "another sends it.",
        ),
    ] = 300,
) -> None:
    """Send queued messages (links to clients) through the clinic's SMTP server or text-message
    gateway; retries failures with a growing wait. Any number of workers may run at once."""
    from attunement.store import default_database_url, open_database
    from attunement.store.delivery import run_once, senders_from_environment

    try:
        db = open_database(database or default_database_url())
    except Exception as exc:
        errors.print(f"[red]error:[/red] cannot open the database: {type(exc).__name__}", highlight=False)
        raise typer.Exit(2) from exc
    senders = senders_from_environment()
    if not senders and not as_json:
        console.print(
            "No e-mail or text-message sending is configured (ATTUNEMENT_SMTP_HOST and "
            "ATTUNEMENT_PUBLIC_URL): messages stay in the outbox."
        )
    try:
        while True:
            done = run_once(db, senders, lease=timedelta(seconds=lease))
            summary = {
                "sent": done.sent,
                "failed": done.failed,
                "stopped": done.stopped,
                "reminders_queued": done.reminders,
                "channels": [s.channel for s in senders],
                "messages": done.details,
            }
            if as_json:
                print(json.dumps(summary), flush=True)
            elif once or done.sent or done.failed or done.stopped or done.reminders:
                console.print(
                    f"Sent {done.sent}, failed {done.failed} (tried again later), "
                    f"stopped {done.stopped}, reminders queued {done.reminders}."
                )
            if once:
                return
            time.sleep(interval)
    except KeyboardInterrupt:
        return
    finally:
        db.dispose()
