"""``attunement report``: the episode report (or one session's summary) of a client as a PDF.

The page is the one the web app shows (:func:`attunement.web.reports.render_report`, the same
templates), with its style sheet inline, printed by the system's headless Chromium from a private
temporary folder; nothing is fetched from the network. The PDF is readable by its owner only,
never written over an existing file without ``--overwrite``, and the report goes to the audit log.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Annotated

import typer

from attunement.cli.app import JSON_HELP, app
from attunement.cli.database import DATABASE, database_session
from attunement.cli.output import console, emit, fail
from attunement.errors import AttunementError, FieldProblem, InvalidInputError

#: Where to look for Chromium: ATTUNEMENT_CHROMIUM, else these names on the PATH.
CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome")
#: Seconds Chromium may take to print one report.
PRINT_TIMEOUT = 120


class PrintError(AttunementError):
    """Chromium is missing, or could not print the report."""


def find_chromium() -> str:
    configured = os.environ.get("ATTUNEMENT_CHROMIUM")
    if configured:
        if shutil.which(configured) is None:
            raise PrintError(
                f"ATTUNEMENT_CHROMIUM names {configured}, which is not a program that can be run."
            )
        return configured
    for name in CHROMIUM_NAMES:
        found = shutil.which(name)
        if found:
            return found
    raise PrintError(
        "Chromium is needed to make the PDF and was not found. Install it (on Debian: "
        "apt install chromium) or set ATTUNEMENT_CHROMIUM to its path."
    )


def print_pdf(html: str, chromium: str) -> bytes:
    """``html`` printed to PDF (A4, as the page's print style sheet says) by headless Chromium.

    The page and Chromium's profile live in a temporary folder only this user can read, removed
    afterwards. Every host name resolves to nothing, so the page cannot fetch anything.
    """
    with tempfile.TemporaryDirectory(prefix="attunement-report-") as folder:
        page = Path(folder) / "report.html"
        pdf = Path(folder) / "report.pdf"
        page.write_text(html, encoding="utf-8")
        command = [
            chromium,
            "--headless",
            "--no-sandbox",  # our own local page, no scripts, no network; the sandbox fails in containers
            "--disable-gpu",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-extensions",
            "--host-resolver-rules=MAP * ~NOTFOUND",
            f"--user-data-dir={Path(folder) / 'profile'}",
            "--no-pdf-header-footer",
            f"--print-to-pdf={pdf}",
            page.as_uri(),
        ]
        try:
            done = subprocess.run(command, capture_output=True, timeout=PRINT_TIMEOUT, check=False)
        except subprocess.TimeoutExpired:
            raise PrintError(
                f"Chromium did not finish printing the report within {PRINT_TIMEOUT} seconds."
            ) from None
        if not pdf.exists() or pdf.stat().st_size == 0:
            raise PrintError(f"Chromium could not print the report (exit status {done.returncode}).")
        return pdf.read_bytes()


def write_private(out: Path, data: bytes, *, overwrite: bool) -> None:
    """Write ``data`` to ``out``, readable by its owner only; an existing file only with ``overwrite``."""
    if overwrite and out.exists():
        out.unlink()
    descriptor = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "wb") as f:
        os.fchmod(f.fileno(), 0o600)  # whatever the umask
        f.write(data)


@app.command("report")
def report_cmd(
    episode: Annotated[
        str,
        typer.Option(
            "--episode",
            help="The episode: CLIENT_ID/N, as in the address /clients/<id>/episodes/<n> "
            "(CLIENT_ID alone: the client's current episode).",
        ),
    ],
    out: Annotated[Path, typer.Option("--out", help="The PDF file to write (readable by its owner only).")],
    database: Annotated[str | None, DATABASE] = None,
    session: Annotated[
        int | None,
        typer.Option("--session", help="A one-page summary of this session instead of the episode report."),
    ] = None,
    overwrite: Annotated[bool, typer.Option("--overwrite", help="Replace the file if it exists.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help=JSON_HELP)] = False,
) -> None:
    """Print an episode report (scores with bands, change statistics, charts, alerts and what was
    done, tailoring, how the episode ended), or with --session one session's summary, to PDF with
    headless Chromium. The same pages as in the web app; audited."""
    from attunement.store.audit import record
    from attunement.web.reports import find_episode, render_report

    try:
        if out.exists() and not overwrite:
            raise InvalidInputError(
                "report", [FieldProblem("out", str(out), "a file that does not exist yet (or --overwrite)")]
            )
        if out.is_dir():
            raise InvalidInputError("report", [FieldProblem("out", str(out), "a file name, not a folder")])
        chromium = find_chromium()
        with database_session(database) as db:
            client, found = find_episode(db, episode)
            html = render_report(db, client, found, session, standalone=True)
            # Written before the audit entry commits: a failed print leaves no claim of a report.
            write_private(out, print_pdf(html, chromium), overwrite=overwrite)
            detail = f"episode {found.number}" + (f" session {session}" if session is not None else "")
            record(db, "operator", "operator", "report_pdf", client_id=client.id, detail=detail)
            number = found.number
    except (AttunementError, OSError) as exc:
        fail(str(exc), as_json)
        return
    what = f"session {session} summary" if session is not None else "episode report"
    emit(
        {"file": str(out), "episode": number, "session": session, "bytes": out.stat().st_size},
        as_json,
        lambda: console.print(f"Wrote the {what} of episode {number} to {out}."),
    )
