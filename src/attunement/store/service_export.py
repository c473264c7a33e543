"""Everything the service holds, as tables (``attunement export``, and the administrator's
"Export all data" in the web app).

The canonical tables come first, as :mod:`attunement.tables.schema` defines them, so that any
tool reading the canonical format reads them (and ``attunement import-history`` takes
``measures`` and ``episodes`` back): ``measures`` (the answers and scores that count for each
session, with their episode and date), ``episodes`` and ``actions`` (what clinicians recorded
about alerts). The rest of the record, which the canonical format does not cover, follows in
tables of its own: clients (their references), sessions planned, submissions (with comments and
what they correct), every stored answer (an earlier submission of a session, a caregiver's
report), alerts and each step of their history, episode events, intake answers, the measures
chosen for an episode, supervision notes and flags, and cases with their members and therapists.
``docs/data-format.md`` lists every table's columns.

Clients and cases are named by their opaque public ids, episodes by their number within the
client (the canonical ``episode_id``), people of the clinic by their user names. Submissions,
alerts and supervision notes carry the app's own row numbers so that the tables can refer to
each other. Left out: link tokens and queued messages (secrets and delivery work), contact
details, notices, stored summaries (derived), and the audit log (``attunement audit``); a
whole copy of the database is ``attunement backup``.

:func:`export_files` gives each file's name and bytes, so that the command writes them to a
folder and the web app streams them in a zip from the same code. Other files are added through
``extra`` (for example a FHIR bundle of the whole service), one entry each.
"""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, date, datetime
from typing import IO, Literal

import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

from attunement.fhir.canonical import fhir_base
from attunement.fhir.resources import dumps
from attunement.store.clock import aware, now
from attunement.store.fhir_export import service_bundle
from attunement.store.models import (
    AlertEvent,
    Case,
    CaseMember,
    CaseTherapist,
    Client,
    Episode,
    EpisodeEvent,
    EpisodeMeasures,
    IntakeAnswers,
    KeptAlert,
    Measure,
    Submission,
    SupervisionFlag,
    SupervisionNote,
    Team,
    TherapySession,
    User,
)
from attunement.store.score_rows import counted_rows
from attunement.store.settings import clinic_zone
from attunement.tables.schema import (
    ACTIONS_COLUMNS,
    EPISODE_DATES,
    EPISODE_ID,
    EPISODES_COLUMNS,
    MEASURES_COLUMNS,
    ONGOING,
    RATERS,
)

Format = Literal["csv", "parquet"]
FORMATS: tuple[Format, ...] = ("csv", "parquet")
#: A file written beside the tables: its name, and what makes its bytes from the database.
ExtraFile = tuple[str, Callable[[Session], bytes]]
#: Called as each table is done: (its name, tables done, tables in all).
Progress = Callable[[str, int, int], None]
EXPORT_FORMAT = "attunement service export"
EXPORT_VERSION = 1
MANIFEST = "export.json"


class _Names:
    """What the tables call clients, episodes, users and cases (read once)."""

    def __init__(self, db: Session):
        self.zone = clinic_zone(db)
        self.client = dict(db.execute(select(Client.id, Client.public_id)).all())
        self.user = dict(db.execute(select(User.id, User.username)).all())
        self.case = dict(db.execute(select(Case.id, Case.public_id)).all())
        self.episode = {
            i: (client, str(number))
            for i, client, number in db.execute(select(Episode.id, Episode.client_id, Episode.number))
        }

    def of_episode(self, episode_id: int) -> tuple[str, str]:
        client, number = self.episode[episode_id]
        return self.client[client], number

    def who(self, user_id: int | None) -> str | None:
        return None if user_id is None else self.user.get(user_id)

    def day(self, moment: datetime) -> date:
        return aware(moment).astimezone(self.zone).date()


def _moment(value: datetime | None) -> str | None:
    return None if value is None else aware(value).astimezone(UTC).isoformat()


def measures(db: Session, names: _Names) -> pd.DataFrame:
    """The canonical measures table: of two submissions of one form in a session only the later
    one's rows (as every page counts them); client and therapist ratings (a caregiver's report
    is in ``answers``)."""
    query = select(
        Measure.episode_id,
        Measure.session,
        Measure.instrument,
        Measure.rater,
        Measure.item,
        Measure.value,
        Measure.score,
        Measure.submission_id,
        Measure.recorded_at,
    ).where(Measure.rater.in_(RATERS))
    stored = db.execute(query.order_by(Measure.episode_id, Measure.session, Measure.id)).all()
    when = {row[:8]: row[8] for row in stored}
    # Counted per episode: the episode stands where the rows' client would be.
    kept = counted_rows(row[:8] for row in stored)
    rows = [(*names.of_episode(r[0]), r[1], names.day(when[r]), r[2], r[3], r[4], r[5], r[6]) for r in kept]
    frame = pd.DataFrame(rows, columns=["client_id", EPISODE_ID, *MEASURES_COLUMNS[1:]])
    for column in ("value", "score"):
        frame[column] = pd.to_numeric(frame[column]).astype(float)
    return frame


def episodes(db: Session, names: _Names) -> pd.DataFrame:
    """The canonical episodes table: therapist by user name, dates, and the client's group;
    sessions attended is the latest session answered."""
    latest = dict(
        db.execute(
            select(Submission.episode_id, Submission.session).order_by(
                Submission.episode_id, Submission.session
            )
        ).all()
    )
    groups = dict(db.execute(select(Client.id, Client.client_group)).all())
    rows = [
        (
            names.client[e.client_id],
            str(e.number),
            names.who(e.therapist_id),
            ONGOING if e.active else e.end_reason,
            e.started_on,
            e.ended_on,
            groups.get(e.client_id),
            int(latest.get(e.id) or 0),
        )
        for e in db.scalars(select(Episode).order_by(Episode.client_id, Episode.number))
    ]
    columns = [
        "client_id",
        EPISODE_ID,
        *EPISODES_COLUMNS[1:],
        *EPISODE_DATES,
        "client_group",
        "sessions_attended",
    ]
    return pd.DataFrame(rows, columns=columns)


def actions(db: Session, names: _Names) -> pd.DataFrame:
    """The canonical actions table: each action a clinician recorded for an alert."""
    query = (
        select(KeptAlert.episode_id, KeptAlert.kind, AlertEvent.session, KeptAlert.last_session, AlertEvent)
        .join(AlertEvent, AlertEvent.alert_id == KeptAlert.id)
        .where(AlertEvent.action == "actioned")
        .order_by(AlertEvent.id)
    )
    rows = [
        (
            *names.of_episode(episode),
            kind,
            session if session is not None else last,
            event.note or "",
            names.day(event.at),
        )
        for episode, kind, session, last, event in db.execute(query)
    ]
    return pd.DataFrame(rows, columns=["client_id", EPISODE_ID, *ACTIONS_COLUMNS[1:], "date"])


def clients(db: Session, names: _Names) -> pd.DataFrame:
    """Each client: the clinician's reference (label), therapist, group, when the record began."""
    rows = [
        (c.public_id, c.label, names.who(c.therapist_id), c.client_group, _moment(c.created_at))
        for c in db.scalars(select(Client).order_by(Client.id))
    ]
    return pd.DataFrame(
        rows, columns=["client_id", "reference", "therapist_id", "client_group", "created_at"]
    )


def sessions(db: Session, names: _Names) -> pd.DataFrame:
    """Each session of each episode: planned, linked or answered, with its appointment."""
    rows = [
        (
            *names.of_episode(s.episode_id),
            s.number,
            s.planned_on,
            None if s.planned_time is None else s.planned_time.isoformat(timespec="minutes"),
            _moment(s.created_at),
            names.who(s.created_by),
        )
        for s in db.scalars(select(TherapySession).order_by(TherapySession.episode_id, TherapySession.number))
    ]
    return pd.DataFrame(
        rows,
        columns=[
            "client_id",
            EPISODE_ID,
            "session",
            "planned_on",
            "planned_time",
            "created_at",
            "created_by",
        ],
    )


def episode_events(db: Session, names: _Names) -> pd.DataFrame:
    """Each change of each episode: opened, ended (with the reason), reopened, reassigned."""
    rows = [
        (
            *names.of_episode(e.episode_id),
            e.action,
            e.end_reason,
            e.on_date,
            e.note,
            _moment(e.at),
            names.who(e.by_user),
            names.who(e.from_therapist_id),
            names.who(e.to_therapist_id),
        )
        for e in db.scalars(select(EpisodeEvent).order_by(EpisodeEvent.id))
    ]
    columns = [
        "client_id",
        EPISODE_ID,
        "action",
        "end_reason",
        "on_date",
        "note",
        "at",
        "by",
        "from_therapist",
        "to_therapist",
    ]
    return pd.DataFrame(rows, columns=columns)


def submissions(db: Session, names: _Names) -> pd.DataFrame:
    """Each stored set of answers: who answered, when, through a link or not, the comment, the
    way the therapist worked (their rating), and the submission a corrected rating replaces."""
    rows = [
        (
            s.id,
            *names.of_episode(s.episode_id),
            s.session,
            s.rater,
            _moment(s.submitted_at),
            s.link_token_id is not None,
            names.who(s.submitted_by),
            s.comment,
            s.approach,
            s.supersedes_id,
        )
        for s in db.scalars(select(Submission).order_by(Submission.id))
    ]
    columns = [
        "submission_id",
        "client_id",
        EPISODE_ID,
        "session",
        "rater",
        "submitted_at",
        "through_link",
        "submitted_by",
        "comment",
        "approach",
        "supersedes",
    ]
    frame = pd.DataFrame(rows, columns=columns)
    frame["supersedes"] = frame["supersedes"].astype("Int64")
    return frame


def answers(db: Session, names: _Names) -> pd.DataFrame:
    """Every stored answer and score, with the submission it came with (``measures`` holds only
    the ones that count)."""
    query = select(
        Measure.submission_id,
        Measure.episode_id,
        Measure.session,
        Measure.instrument,
        Measure.rater,
        Measure.item,
        Measure.value,
        Measure.score,
    ).order_by(Measure.id)
    rows = [(r[0], *names.of_episode(r[1]), *r[2:]) for r in db.execute(query)]
    frame = pd.DataFrame(
        rows,
        columns=[
            "submission_id",
            "client_id",
            EPISODE_ID,
            "session",
            "instrument",
            "rater",
            "item",
            "value",
            "score",
        ],
    )
    frame["submission_id"] = frame["submission_id"].astype("Int64")
    for column in ("value", "score"):
        frame[column] = pd.to_numeric(frame[column]).astype(float)
    return frame


def alerts(db: Session, names: _Names) -> pd.DataFrame:
    """Each kept alert as it stands: its kind, status, latest reason and figures."""
    rows = [
        (
            a.id,
            *names.of_episode(a.episode_id),
            a.kind,
            a.status,
            a.severity,
            a.probability,
            a.requires_action,
            a.opened_session,
            a.last_session,
            a.reason,
            a.figures,
            _moment(a.opened_at),
            _moment(a.changed_at),
            _moment(a.closed_at),
        )
        for a in db.scalars(select(KeptAlert).order_by(KeptAlert.id))
    ]
    columns = [
        "alert_id",
        "client_id",
        EPISODE_ID,
        "kind",
        "status",
        "severity",
        "probability",
        "requires_action",
        "opened_session",
        "last_session",
        "reason",
        "figures",
        "opened_at",
        "changed_at",
        "closed_at",
    ]
    frame = pd.DataFrame(rows, columns=columns)
    frame["probability"] = pd.to_numeric(frame["probability"]).astype(float)
    return frame


def alert_events(db: Session, names: _Names) -> pd.DataFrame:
    """Each step of each alert's history (the reasons and statuses it went through)."""
    rows = [
        (
            alert_id,
            *names.of_episode(episode),
            e.action,
            e.session,
            e.note,
            _moment(e.at),
            names.who(e.by_user),
        )
        for alert_id, episode, e in db.execute(
            select(KeptAlert.id, KeptAlert.episode_id, AlertEvent)
            .join(AlertEvent, AlertEvent.alert_id == KeptAlert.id)
            .order_by(AlertEvent.id)
        )
    ]
    frame = pd.DataFrame(
        rows, columns=["alert_id", "client_id", EPISODE_ID, "action", "session", "note", "at", "by"]
    )
    frame["session"] = frame["session"].astype("Int64")
    return frame


def intake_answers(db: Session, names: _Names) -> pd.DataFrame:
    """Intake profile answers, one row per answered question (a number, or the text given)."""
    rows = []
    for a in db.scalars(select(IntakeAnswers).order_by(IntakeAnswers.id)):
        for item, answer in json.loads(a.answers).items():
            rows.append(
                (names.client[a.client_id], a.submission_id, item, str(answer), _moment(a.recorded_at))
            )
    return pd.DataFrame(rows, columns=["client_id", "submission_id", "item", "answer", "recorded_at"])


def episode_measures(db: Session, names: _Names) -> pd.DataFrame:
    """The measures chosen for an episode's links, from when (every choice kept)."""
    rows = [
        (*names.of_episode(c.episode_id), c.instruments, _moment(c.valid_from), names.who(c.set_by))
        for c in db.scalars(select(EpisodeMeasures).order_by(EpisodeMeasures.id))
    ]
    return pd.DataFrame(rows, columns=["client_id", EPISODE_ID, "instruments", "valid_from", "set_by"])


def supervision_notes(db: Session, names: _Names) -> pd.DataFrame:
    """Supervisors' notes, every version: a correction names the note it corrects."""
    rows = [
        (
            n.id,
            names.client[n.client_id],
            names.who(n.author_id),
            n.text,
            n.withdrawn,
            n.corrects_id,
            _moment(n.written_at),
        )
        for n in db.scalars(select(SupervisionNote).order_by(SupervisionNote.id))
    ]
    frame = pd.DataFrame(
        rows, columns=["note_id", "client_id", "author", "text", "withdrawn", "corrects", "written_at"]
    )
    frame["corrects"] = frame["corrects"].astype("Int64")
    return frame


def supervision_flags(db: Session, names: _Names) -> pd.DataFrame:
    """Each raising and clearing of a client's "for supervision" flag."""
    rows = [
        (names.client[f.client_id], f.action, f.reason, names.who(f.by_user), _moment(f.at))
        for f in db.scalars(select(SupervisionFlag).order_by(SupervisionFlag.id))
    ]
    return pd.DataFrame(rows, columns=["client_id", "action", "reason", "by", "at"])


def cases(db: Session, names: _Names) -> pd.DataFrame:
    """Couples, families and groups: the clinician's reference, format, team and status."""
    teams = dict(db.execute(select(Team.id, Team.name)).all())
    rows = [
        (
            c.public_id,
            c.label,
            c.format,
            None if c.team_id is None else teams.get(c.team_id),
            names.who(c.created_by),
            _moment(c.created_at),
            c.status,
        )
        for c in db.scalars(select(Case).order_by(Case.id))
    ]
    return pd.DataFrame(
        rows, columns=["case_id", "reference", "format", "team", "created_by", "created_at", "status"]
    )


def case_members(db: Session, names: _Names) -> pd.DataFrame:
    """Each participant of a case, in their role, from which case session, and leaving."""
    rows = [
        (
            names.case[m.case_id],
            names.client[m.client_id],
            m.role,
            m.first_session,
            m.own_first_session,
            m.joined_on,
            m.left_on,
            m.left_reason,
            m.last_session,
            names.who(m.added_by),
        )
        for m in db.scalars(select(CaseMember).order_by(CaseMember.id))
    ]
    columns = [
        "case_id",
        "client_id",
        "role",
        "first_session",
        "own_first_session",
        "joined_on",
        "left_on",
        "left_reason",
        "last_session",
        "added_by",
    ]
    frame = pd.DataFrame(rows, columns=columns)
    frame["last_session"] = frame["last_session"].astype("Int64")
    return frame


def case_therapists(db: Session, names: _Names) -> pd.DataFrame:
    """Each clinician's part in a case (co-therapy), added and removed on dates."""
    rows = [
        (
            names.case[t.case_id],
            names.who(t.user_id),
            t.added_on,
            names.who(t.added_by),
            t.removed_on,
            names.who(t.removed_by),
        )
        for t in db.scalars(select(CaseTherapist).order_by(CaseTherapist.id))
    ]
    return pd.DataFrame(
        rows, columns=["case_id", "therapist_id", "added_on", "added_by", "removed_on", "removed_by"]
    )


#: Every table, in the order it is written: the canonical ones first.
TABLES: dict[str, Callable[[Session, _Names], pd.DataFrame]] = {
    "measures": measures,
    "episodes": episodes,
    "actions": actions,
    "clients": clients,
    "sessions": sessions,
    "episode_events": episode_events,
    "submissions": submissions,
    "answers": answers,
    "alerts": alerts,
    "alert_events": alert_events,
    "intake_answers": intake_answers,
    "episode_measures": episode_measures,
    "supervision_notes": supervision_notes,
    "supervision_flags": supervision_flags,
    "cases": cases,
    "case_members": case_members,
    "case_therapists": case_therapists,
}


def extra_files(base: str | None) -> list[ExtraFile]:
    """The files written beside the tables, by the command and the admin page alike: the whole
    service as one FHIR Bundle (``fhir.json``, :mod:`attunement.store.fhir_export`), its codes
    and identifiers under the canonical base of ``base``, the app's address when known (the
    page's; the command's public address), as every FHIR answer of the app has them."""
    fhir = fhir_base(base)
    return [("fhir.json", lambda db: dumps(service_bundle(db, fhir)).encode("utf-8"))]


def table_bytes(frame: pd.DataFrame, file_format: Format) -> bytes:
    buffer = io.BytesIO()
    if file_format == "csv":
        buffer.write(frame.to_csv(index=False).encode("utf-8"))
    else:
        frame.to_parquet(buffer, index=False)
    return buffer.getvalue()


def export_files(
    db: Session,
    file_format: Format = "csv",
    *,
    extra: Sequence[ExtraFile] = (),
    progress: Progress | None = None,
) -> Iterator[tuple[str, bytes]]:
    """Each file of the export, by name: every table of :data:`TABLES`, then each ``extra``
    file, then ``export.json`` (the format, when, and each table's rows). One read transaction
    (the caller's), so the tables agree with each other."""
    names = _Names(db)
    tick = progress or (lambda name, done, total: None)
    counts: dict[str, int] = {}
    total = len(TABLES) + len(extra)
    for done, (name, build) in enumerate(TABLES.items(), start=1):
        frame = build(db, names)
        counts[name] = len(frame)
        yield f"{name}.{file_format}", table_bytes(frame, file_format)
        tick(name, done, total)
    for done, (file_name, make) in enumerate(extra, start=len(TABLES) + 1):
        yield file_name, make(db)
        tick(file_name, done, total)
    manifest = {
        "format": EXPORT_FORMAT,
        "version": EXPORT_VERSION,
        "exported_at": now().isoformat(),
        "file_format": file_format,
        "time_zone": str(names.zone),
        "rows": counts,
        "files": [f"{name}.{file_format}" for name in TABLES] + [f for f, _ in extra],
    }
    yield MANIFEST, json.dumps(manifest, indent=2).encode("utf-8")


def write_zip(
    db: Session, target: IO[bytes], file_format: Format = "csv", *, extra: Sequence[ExtraFile] = ()
) -> dict[str, int]:
    """The export as one zip file written to ``target``; returns each table's rows."""
    rows: dict[str, int] = {}
    with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, data in export_files(db, file_format, extra=extra):
            archive.writestr(name, data)
            if name == MANIFEST:
                rows = dict(json.loads(data)["rows"])
    return rows


def count_text(counts: dict[str, int]) -> str:
    """How much an export held, for the audit log (numbers only, no client data)."""
    return f"{len(counts)} tables, {sum(counts.values())} rows"
