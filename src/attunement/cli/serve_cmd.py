"""``attunement serve``: the web application, on SQLite by default or on PostgreSQL."""

from __future__ import annotations

import logging
import os
from typing import Annotated, TypedDict

import typer

from attunement.cli.app import app
from attunement.cli.output import console, errors


class _ServerOptions(TypedDict):
    """What ``uvicorn.run`` is given however many workers serve."""

    host: str
    port: int
    access_log: bool
    proxy_headers: bool
    log_level: str


@app.command("serve")
def serve(
    host: Annotated[str, typer.Option("--host", help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=1, max=65535, help="Port to listen on.")] = 8000,
    database: Annotated[
        str | None,
        typer.Option(
            "--database",
            help="Database URL (sqlite:///PATH or postgresql://...); default ATTUNEMENT_DATABASE_URL, "
            "else the SQLite file ./attunement.db (created on first run).",
        ),
    ] = None,
    demo: Annotated[
        bool,
        typer.Option(
            "--demo", help="Seed a demo clinic (about 60 simulated clients) into an empty database."
        ),
    ] = False,
    workers: Annotated[
        int,
        typer.Option(
            "--workers",
            min=1,
            max=32,
            help="Worker processes (each loads its own copy of the alerts model); 1 serves from this "
            "process.",
        ),
    ] = 1,
) -> None:
    """Start the web application: client links, clinician, supervisor and admin pages."""
    import uvicorn

    from attunement.store import default_database_url, open_database
    from attunement.store.database import ENV_URL, normalise_url
    from attunement.store.demo import DEMO_LOGINS, is_empty, seed_demo
    from attunement.store.models import Client
    from attunement.store.settings import MissingSecret, get_setting, signing_keys
    from attunement.store.summary_store import refresh
    from attunement.web import create_app

    url = database or default_database_url()
    try:
        db = open_database(url)
    except Exception as exc:  # a wrong URL or an unreachable server: say so plainly
        errors.print(f"[red]error:[/red] cannot open the database: {exc}", highlight=False)
        raise typer.Exit(2) from exc
    if demo:
        with db.session() as session:
            if is_empty(session):
                with console.status("Seeding the demo clinic"):
                    count = seed_demo(session)
                    session.flush()
                    refresh(session, list(session.query(Client)))
                console.print(f"Seeded a demo clinic with {count} simulated clients.")
            else:
                console.print("The database already holds users: no demo data added.")
            # The published demo passwords are shown only for a demo clinic's own database.
            demo = get_setting(session, "demo_data") == "yes"

    try:
        with db.session() as session:
            signing_keys(session)  # refuse to start, saying why, before any worker does
        app_ = create_app(database=db) if workers == 1 else None
    except MissingSecret as exc:
        errors.print(f"[red]error:[/red] {exc}", highlight=False)
        raise typer.Exit(2) from exc
    shown = normalise_url(url).split("@")[-1] if "@" in url else url
    console.print(f"Database: {shown}")
    console.print(f"attunement is running at [bold]http://{host}:{port}/[/bold]  (Ctrl+C to stop)")
    if demo:
        console.print("Demo log-ins (user name / password):")
        for login in DEMO_LOGINS:
            console.print(f"  {login.role:<11} {login.username} / {login.password}")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    options = _ServerOptions(host=host, port=port, access_log=False, proxy_headers=True, log_level="info")
    if app_ is not None:
        uvicorn.run(app_, **options)
        return
    db.dispose()
    os.environ[ENV_URL] = url  # the workers open the same database
    uvicorn.run("attunement.web.worker_app:make_app", factory=True, workers=workers, **options)
