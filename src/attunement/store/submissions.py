"""Client links and stored answers: issue a link, open it, submit it exactly once; ratings.

A submission is one transaction: the link is claimed (``used_at`` set only where it was still
unset) and every answer row is written, or nothing is. A second submission of the same link
finds it claimed and stores nothing, so sending a form twice is safe.

Nothing stored is ever replaced. Two links answered for one session are two submissions, both
kept and both shown; the later one counts for the session's scores, and the safety item counts
from every one (:mod:`attunement.store.score_rows`). A client's answers are never refused for
that reason, because refusing them could lose a risk answer. A therapist's second rating of a
session is refused unless it is an explicit edit naming the rating it corrects, which stays in
the history.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

import pandas as pd
from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from attunement.alerts.critical import Form, form_flags
from attunement.errors import FieldProblem, InvalidInputError
from attunement.instruments import Flag
from attunement.store.cases import lock_room, touch_room
from attunement.store.clock import aware, local_time, now
from attunement.store.episodes import require_active
from attunement.store.intake import IntakeValues, store_intake
from attunement.store.models import Client, Episode, LinkToken, Measure, Submission, User
from attunement.store.settings import clinic_zone


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def issue_link(
    db: Session, episode: Episode, clinician: User, session: int, instruments: list[str], valid_days: int
) -> str:
    """A new single-use token for ``session`` of ``episode``; only its hash is stored, the token
    is shown once."""
    return issued_link(db, episode, clinician, session, instruments, valid_days)[0]


def issued_link(
    db: Session,
    episode: Episode,
    clinician: User,
    session: int,
    instruments: list[str],
    valid_days: int,
    rater: str = "client",
) -> tuple[str, LinkToken]:
    """:func:`issue_link`, also giving the stored row (for queuing the link's e-mail); ``rater``
    is who answers it (a caregiver's report on a young person is stored under "caregiver")."""
    require_active(episode, "link")
    token = secrets.token_urlsafe(32)
    created = now()
    link = LinkToken(
        token_hash=token_hash(token),
        client_id=episode.client_id,
        episode_id=episode.id,
        session=session,
        instruments=",".join(instruments),
        created_by=clinician.id,
        created_at=created,
        expires_at=created + timedelta(days=valid_days),
        used_at=None,
        rater=rater,
    )
    db.add(link)
    db.flush()
    return token, link


LinkState = Literal["open", "used", "expired", "unknown"]


@dataclass(frozen=True)
class OpenedLink:
    state: LinkState
    link: LinkToken | None
    client: Client | None


def open_link(db: Session, token: str) -> OpenedLink:
    link = db.scalar(select(LinkToken).where(LinkToken.token_hash == token_hash(token))) if token else None
    if link is None:
        return OpenedLink("unknown", None, None)
    client = db.get(Client, link.client_id)
    if link.used_at is not None:
        return OpenedLink("used", link, client)
    if aware(link.expires_at) <= now():
        return OpenedLink("expired", link, client)
    return OpenedLink("open", link, client)


AnswerRows = Mapping[str, Mapping[str, float]]


@dataclass(frozen=True)
class Stored:
    """Where a claimed link's answers were stored."""

    episode_id: int
    session: int
    rater: str = "client"


def claim_and_store(
    db: Session,
    link: LinkToken,
    answers: AnswerRows,
    comment: str | None,
    intake: IntakeValues | None = None,
) -> Stored | None:
    """Claim the link and store every answer, in the caller's transaction.

    Returns None (storing nothing) when the link was already used or has expired meanwhile.
    The client's lock is taken first and the link's episode and session are read as it is
    claimed, so answers always go to the session the link is for at that moment (a session that
    moved up one number because an earlier one was planned takes its links with it).
    ``answers`` maps instrument id to {item linkId: value}; ``intake`` holds the intake profile
    answers sent with the same form (stored with the same submission, or not at all).
    """
    lock_room(db, link.client_id)  # every member of the client's case, in one order
    moment = now()
    claimed = db.execute(
        update(LinkToken)
        .where(LinkToken.id == link.id, LinkToken.used_at.is_(None), LinkToken.expires_at > moment)
        .values(used_at=moment)
        .returning(LinkToken.episode_id, LinkToken.session)
        .execution_options(synchronize_session=False)
    ).first()
    if claimed is None:
        return None
    stored = Stored(claimed.episode_id, claimed.session, link.rater or "client")
    submission = store_answers(
        db,
        link.client_id,
        stored.episode_id,
        stored.session,
        stored.rater,
        answers,
        comment,
        link_token_id=link.id,
    )
    if intake:
        store_intake(db, link.client_id, submission.id, intake)
    return stored


def store_answers(
    db: Session,
    client_id: int,
    episode_id: int,
    session: int,
    rater: str,
    answers: AnswerRows,
    comment: str | None,
    *,
    link_token_id: int | None = None,
    submitted_by: int | None = None,
    supersedes_id: int | None = None,
    submitted_at: datetime | None = None,
    source_identifier: str | None = None,
) -> Submission:
    """Write one submission and its item rows beside whatever the session already holds. Every
    member of the client's case (if any) is counted as changed too: their room alerts read it.
    ``submitted_at``: when the answers were given, for answers imported after the fact (default
    now); ``source_identifier``: the identifier of the FHIR response they were imported from."""
    touch_room(db, client_id)  # the client and every member of their case, in id order
    moment = submitted_at or now()
    submission = Submission(
        client_id=client_id,
        episode_id=episode_id,
        session=session,
        rater=rater,
        link_token_id=link_token_id,
        submitted_by=submitted_by,
        supersedes_id=supersedes_id,
        comment=comment or None,
        submitted_at=moment,
        source_identifier=source_identifier,
    )
    db.add(submission)
    db.flush()
    rows = [
        {
            "client_id": client_id,
            "episode_id": episode_id,
            "submission_id": submission.id,
            "session": session,
            "instrument": instrument,
            "rater": rater,
            "item": item,
            "value": float(value),
            "score": None,
            "recorded_at": moment,
        }
        for instrument, items in answers.items()
        for item, value in items.items()
    ]
    if rows:
        db.execute(insert(Measure), rows)
    return submission


def current_rating(db: Session, episode_id: int, session: int) -> Submission | None:
    """The therapist's rating of the session that counts: the latest one."""
    return next(iter(rating_history(db, episode_id, session)), None)


def rating_history(db: Session, episode_id: int, session: int) -> list[Submission]:
    """Every rating of the session, the current one first."""
    return list(
        db.scalars(
            select(Submission)
            .where(
                Submission.episode_id == episode_id,
                Submission.session == session,
                Submission.rater == "therapist",
            )
            .order_by(Submission.id.desc())
        )
    )


def item_values(db: Session, submission_id: int) -> dict[str, str]:
    """A submission's answers by item, as a form shows them (whole numbers without a decimal point)."""
    return {
        row.item: str(int(row.value)) if row.value == int(row.value) else str(row.value)
        for row in db.scalars(select(Measure).where(Measure.submission_id == submission_id))
        if row.item is not None and row.value is not None
    }


def store_rating(
    db: Session,
    episode: Episode,
    session: int,
    therapist: User,
    answers: AnswerRows,
    note: str | None,
    replaces: int | None,
    approach: str | None = None,
) -> Submission:
    """The therapist's rating of one session: a first rating, or an explicit edit of the current one,
    with how they worked in it (``approach``) when they say.

    A rating for a session that is already rated is refused unless ``replaces`` names the
    current rating (so two edits made from the same page cannot silently undo each other); the
    rating it replaces stays stored and is shown in the session's history.
    """
    current = current_rating(db, episode.id, session)
    if current is None and replaces is not None:
        raise InvalidInputError(
            "rating",
            [
                FieldProblem(
                    "rating", f"session {session}", "a rated session: this one has no rating to change"
                )
            ],
        )
    if current is not None and replaces != current.id:
        when = local_time(current.submitted_at, clinic_zone(db))
        raise InvalidInputError(
            "rating",
            [
                FieldProblem(
                    "session",
                    f"session {session}",
                    f"a session you have not rated yet: session {session} already has your rating of "
                    f"{when:%d %b %Y %H:%M}. To correct it, use “Change” beside that rating in the "
                    "sessions table; the earlier rating is kept in its history",
                )
            ],
        )
    submission = store_answers(
        db,
        episode.client_id,
        episode.id,
        session,
        "therapist",
        answers,
        note,
        submitted_by=therapist.id,
        supersedes_id=replaces,
    )
    submission.approach = approach
    return submission


def link_flags(db: Session, link_id: int) -> list[Flag]:
    """The critical-item flags of the answers sent through a link (for the thank-you page)."""
    forms: dict[str, dict[str, float | None]] = {}
    for instrument, item, value in db.execute(
        select(Measure.instrument, Measure.item, Measure.value)
        .join(Submission, Submission.id == Measure.submission_id)
        .where(Submission.link_token_id == link_id, Measure.item.is_not(None))
    ):
        if item is not None:  # never NULL here: the query asks for answers
            forms.setdefault(instrument, {})[item] = value
    return [
        flag for instrument, answers in forms.items() for flag in form_flags(Form(0, 0, instrument, answers))
    ]


def store_table_rows(
    db: Session,
    episode: Episode,
    session: int,
    rater: str,
    rows: pd.DataFrame,
    when: datetime,
    supersedes_id: int | None = None,
) -> Submission:
    """One submission made of canonical measures rows (item rows or ready-made scores) as an
    import, a simulation or the demo clinic has them, stored as the app stores a form."""
    submission = Submission(
        client_id=episode.client_id,
        episode_id=episode.id,
        session=session,
        rater=rater,
        submitted_at=when,
        supersedes_id=supersedes_id,
    )
    db.add(submission)
    db.flush()
    db.add_all(
        Measure(
            client_id=episode.client_id,
            episode_id=episode.id,
            submission_id=submission.id,
            session=session,
            instrument=str(row.instrument),
            rater=str(row.rater),
            item=None if pd.isna(row.item) else str(row.item),
            value=None if pd.isna(row.value) else float(row.value),
            score=None if pd.isna(row.score) else float(row.score),
            recorded_at=when,
        )
        for row in rows.itertuples()
    )
    return submission
