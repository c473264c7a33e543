"""``attunement report``: a real PDF printed by the system's headless Chromium from the web
app's report pages, readable by its owner only; an existing file, an unknown episode and a
missing Chromium are refused in plain words; every report goes to the audit log."""

from __future__ import annotations

import re
import shutil
import stat
from collections import Counter

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from attunement.cli import app
from attunement.store import open_database
from attunement.store.demo import seed_demo
from attunement.store.models import AuditEvent, Client, Episode, KeptAlert, Submission
from attunement.store.summary_store import summaries_for

needs_chromium = pytest.mark.skipif(
    not any(shutil.which(n) for n in ("chromium", "chromium-browser", "google-chrome")),
    reason="Chromium is not installed",
)


def run(*args: str, **env: str):
    return CliRunner().invoke(app, list(args), env=env or None)


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    """A small demo clinic, and a client episode with answered sessions: (url, id, label, session)."""
    path = tmp_path_factory.mktemp("report") / "clinic.db"
    url = f"sqlite:///{path}"
    db = open_database(url)
    with db.session() as session:
        seed_demo(session, clients=3)
        client, episode, number = session.execute(
            select(Client, Episode, Submission.session)
            .join(Episode, Episode.client_id == Client.id)
            .join(Submission, Submission.episode_id == Episode.id)
            .where(Submission.rater == "client")
            .order_by(Client.id, Episode.number, Submission.session)
        ).first()
        found = (url, f"{client.public_id}/{episode.number}", client.label, number)
    db.dispose()
    return found


def _pdf_title(data: bytes) -> str:
    """The document title Chromium writes into the PDF's information dictionary (the page's
    <title>): a UTF-16 hex string or a literal one."""
    found = re.search(rb"/Title\s*<FEFF([0-9A-Fa-f]+)>", data)
    if found:
        return bytes.fromhex(found.group(1).decode()).decode("utf-16-be")
    return re.search(rb"/Title\s*\(([^)]*)\)", data).group(1).decode("latin-1")


def _pages(data: bytes) -> int:
    return len(re.findall(rb"/Type\s*/Page(?![s\w])", data))


@needs_chromium
def test_an_episode_report_and_a_session_summary_are_printed_to_private_pdfs(demo, tmp_path):
    url, episode, label, session = demo
    out = tmp_path / "report.pdf"
    result = run("report", "--episode", episode, "--out", str(out), "--database", url)
    assert result.exit_code == 0, result.output
    assert "episode report" in result.output
    data = out.read_bytes()
    assert data.startswith(b"%PDF")
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    assert _pdf_title(data) == f"Episode report · {label} · attunement"
    assert 1 <= _pages(data) <= 6 and len(data) > 20_000  # text, fonts and the charts
    summary = tmp_path / "summary.pdf"
    result = run(
        "report",
        "--episode",
        episode,
        "--session",
        str(session),
        "--out",
        str(summary),
        "--database",
        url,
        "--json",
    )
    assert result.exit_code == 0, result.output
    data = summary.read_bytes()
    assert data.startswith(b"%PDF") and stat.S_IMODE(summary.stat().st_mode) == 0o600
    assert _pdf_title(data) == f"Session {session} summary · {label} · attunement"
    assert _pages(data) <= 2
    db = open_database(url)
    with db.session() as s:
        audited = s.execute(
            select(AuditEvent.actor, AuditEvent.detail).where(AuditEvent.action == "report_pdf")
        ).all()
    db.dispose()
    assert ("operator", "episode 1") in [(a, d) for a, d in audited]
    assert ("operator", f"episode 1 session {session}") in [(a, d) for a, d in audited]


@needs_chromium
def test_an_existing_file_is_refused_unless_overwrite_is_given(demo, tmp_path):
    url, episode, _, _ = demo
    out = tmp_path / "taken.pdf"
    out.write_bytes(b"keep me")
    result = run("report", "--episode", episode, "--out", str(out), "--database", url)
    assert result.exit_code == 2
    assert "a file that does not exist yet" in " ".join(result.output.split())
    assert out.read_bytes() == b"keep me"
    again = run("report", "--episode", episode, "--out", str(out), "--database", url, "--overwrite")
    assert again.exit_code == 0, again.output
    assert out.read_bytes().startswith(b"%PDF") and stat.S_IMODE(out.stat().st_mode) == 0o600


def test_an_unknown_episode_or_session_is_refused_in_plain_words(demo, tmp_path):
    url, episode, _, _ = demo
    out = tmp_path / "none.pdf"
    for wrong in ("no-such-client/1", episode.split("/")[0] + "/9"):
        result = run("report", "--episode", wrong, "--out", str(out), "--database", url, "--json")
        assert result.exit_code == 2
        assert "expected a client's id and episode number, CLIENT_ID/N" in result.output
    result = run("report", "--episode", episode, "--session", "99", "--out", str(out), "--database", url)
    assert result.exit_code == 2
    assert "a session of this episode with answers or a rating" in " ".join(result.output.split())
    assert not out.exists()


def test_a_missing_chromium_is_named_and_nothing_is_written(demo, tmp_path):
    url, episode, _, _ = demo
    out = tmp_path / "none.pdf"
    result = run(
        "report",
        "--episode",
        episode,
        "--out",
        str(out),
        "--database",
        url,
        ATTUNEMENT_CHROMIUM="/nowhere/chromium",
    )
    assert result.exit_code == 2
    assert "ATTUNEMENT_CHROMIUM names /nowhere/chromium" in " ".join(result.output.split())
    assert not out.exists()
    bare = run("report", "--episode", episode, "--out", str(out), "--database", url, PATH=str(tmp_path))
    assert bare.exit_code == 2
    assert "Chromium is needed to make the PDF and was not found" in " ".join(bare.output.split())
    assert not out.exists()


@pytest.fixture(scope="module")
def busy(tmp_path_factory):
    """The demo clinic as `serve --demo` seeds it: (url, cases) for the session summaries
    that hold the most: the latest session of the episode with the most measures (and then the
    most sessions), and the session with the most alerts open at it; each case is (episode,
    session, how many measures or alerts, how many sessions or the session)."""
    path = tmp_path_factory.mktemp("busy") / "clinic.db"
    url = f"sqlite:///{path}"
    db = open_database(url)
    with db.session() as session:
        seed_demo(session)
        clients = list(session.scalars(select(Client)))
        summaries = summaries_for(session, clients)
        client = max(clients, key=lambda c: (len(summaries[c.id].measures()), summaries[c.id].sessions))
        summary = summaries[client.id]
        last = max(s + 1 for s, v in enumerate(summary.phq9) if v is not None)
        episode = session.scalar(
            select(Episode).where(Episode.client_id == client.id).order_by(Episode.number.desc())
        )
        busiest = [(f"{client.public_id}/{episode.number}", last, len(summary.measures()), summary.sessions)]
        alerts = session.execute(
            select(KeptAlert.episode_id, KeptAlert.opened_session, KeptAlert.last_session)
        ).all()
        counts = Counter((e, s) for e, first, latest in alerts for s in range(first, latest + 1))
        (episode_id, at), _ = max(counts.items(), key=lambda item: item[1])
        answered = session.scalar(
            select(func.max(Submission.session)).where(
                Submission.episode_id == episode_id, Submission.session <= at
            )
        )
        other = session.get(Episode, episode_id)
        owner = session.get(Client, other.client_id)
        busiest.append((f"{owner.public_id}/{other.number}", answered, counts[(episode_id, at)], at))
    db.dispose()
    return url, busiest


@needs_chromium
def test_a_session_summary_fits_one_a4_page_with_many_sessions_measures_and_alerts(busy, tmp_path):
    url, cases = busy
    (_, _, measures, sessions), (_, _, alerts, _) = cases
    assert measures >= 3 and sessions >= 8, "a client with several measures and many sessions"
    assert alerts >= 2, "a session with several alerts open"
    for i, (episode, session, _, _) in enumerate(cases):
        out = tmp_path / f"summary-{i}.pdf"
        result = run(
            "report", "--episode", episode, "--session", str(session), "--out", str(out), "--database", url
        )
        assert result.exit_code == 0, result.output
        data = out.read_bytes()
        assert _pages(data) == 1, (episode, session)
        width, height = (
            float(v) for v in re.search(rb"/MediaBox\s*\[0 0 ([\d.]+) ([\d.]+)\]", data).groups()
        )
        assert round(width / 72 * 25.4) == 210 and round(height / 72 * 25.4) == 297, "A4"
