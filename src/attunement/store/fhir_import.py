"""FHIR QuestionnaireResponses into a client's episode of care, stored as a web form's answers are.

One import is one transaction: a single response or a Bundle of them is read and checked whole
(:func:`attunement.fhir.responses.read_response`, every problem named by entry and linkId), and
either every new response is stored or none is. Each response becomes one submission through
:func:`attunement.store.submissions.store_answers`, then the client's summary, scores and kept
alerts (the safety alert of a risk answer included) are brought up to date by
:func:`attunement.store.summary_store.refresh_after_answers`, exactly as after a web form; the
import is audited, and the caller e-mails any notice it raised once the transaction is committed
(:func:`attunement.store.notifications.deliver`).

Idempotent on the response's identifier ("system|value", kept in
``submissions.source_identifier``): a response already imported with the same content is
reported as such and stores nothing; a different response under an identifier already used is
refused, and nothing is replaced. A response without an identifier is stored each time it is
imported.

Where the answers go: the client's current episode, or the numbered one asked for; an ended
episode is refused, as for links and ratings (:func:`attunement.store.episodes.require_active`).
The session is the one the response names with the session extension
(:data:`attunement.fhir.responses.SESSION_EXTENSION`); responses that name none go, together, to
the session a new link would be for (the earliest planned session from today on without client
answers, else a new session), as answers sent through a link would; a therapist's rating naming
none goes to the session the rating form offers first.

Reading back a whole service's export (Patients and episodes as well as responses) is
:mod:`attunement.store.fhir_restore`, which checks and stores its responses with the helpers here.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import timedelta
from typing import Any, Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from attunement.alerts.critical import Form, form_flags
from attunement.errors import FieldProblem, InvalidInputError
from attunement.fhir import resources as fr
from attunement.fhir.responses import MAX_TEXT, ReadResponse, read_response, session_of
from attunement.instruments import get_instrument
from attunement.store.approaches import approach_choices
from attunement.store.audit import record
from attunement.store.cases import lock_room
from attunement.store.clock import aware, now
from attunement.store.episodes import (
    current_episode,
    episode_numbered,
    episodes_of,
    require_active,
)
from attunement.store.models import Client, Episode, Measure, Submission, TherapySession, User
from attunement.store.schedule import (
    default_link_choice,
    default_rating_choice,
    link_choices,
    rating_choices,
    session_states,
)
from attunement.store.settings import clinic_today
from attunement.store.submissions import current_rating, store_answers
from attunement.store.summary_store import refresh_after_answers

#: Who may have answered a response (the links' raters and the therapist's rating).
RATERS = ("client", "therapist", "caregiver")
#: The longest identifier kept ("system|value").
MAX_IDENTIFIER = 300
#: The most problems one refusal lists.
MAX_PROBLEMS = 50
#: A response authored this far in the future is refused (clocks differ a little).
CLOCK_SLACK = timedelta(minutes=5)
#: Instruments stored elsewhere than as answers (the intake profile builds the client's profile).
NOT_IMPORTED = {"intake_profile": "the intake profile is answered through a link, not imported"}


@dataclass(frozen=True)
class Incoming:
    """One checked response of an import, with where it goes."""

    entry: int | None
    read: ReadResponse
    session: int | None
    rater: str
    author: str | None
    approach: str | None
    replaces: str | None


@dataclass(frozen=True)
class ImportedResponse:
    identifier: str | None
    instrument: str
    session: int
    outcome: Literal["stored", "already imported"]
    submission_id: int

    def as_dict(self) -> dict[str, Any]:
        return {
            "identifier": self.identifier,
            "instrument": self.instrument,
            "session": self.session,
            "outcome": self.outcome,
        }


@dataclass(frozen=True)
class ImportResult:
    client: str
    episode: int
    responses: list[ImportedResponse]
    #: The risk answers among the stored responses, in plain words (each raised the safety alert).
    risk: list[str] = field(default_factory=list)

    @property
    def stored(self) -> int:
        return sum(r.outcome == "stored" for r in self.responses)

    @property
    def already(self) -> int:
        return sum(r.outcome == "already imported" for r in self.responses)

    def as_dict(self) -> dict[str, Any]:
        return {
            "client": self.client,
            "episode": self.episode,
            "stored": self.stored,
            "already_imported": self.already,
            "responses": [r.as_dict() for r in self.responses],
            "risk": self.risk,
        }

    def summary(self) -> str:
        if not self.stored:
            return f"Nothing stored: all {self.already} response(s) were already imported."
        sessions = sorted({r.session for r in self.responses if r.outcome == "stored"})
        text = (
            f"Stored {self.stored} response(s) for client {self.client}, episode {self.episode}, "
            f"session(s) {', '.join(map(str, sessions))}"
        )
        if self.already:
            text += f"; {self.already} already imported"
        if self.risk:
            text += ". RISK ANSWER: " + "; ".join(self.risk) + " (the safety alert is raised)"
        return text + "."


def responses_in(resource: Any) -> list[tuple[int | None, dict[str, Any]]]:
    """The QuestionnaireResponses of a single resource or a Bundle of them (by entry index)."""
    if not isinstance(resource, Mapping):
        raise InvalidInputError(
            "FHIR import", [FieldProblem("body", type(resource).__name__, "a JSON object: a FHIR resource")]
        )
    if resource.get("resourceType") == "QuestionnaireResponse":
        return [(None, dict(resource))]
    if resource.get("resourceType") != "Bundle":
        raise InvalidInputError(
            "FHIR import",
            [FieldProblem("resourceType", resource.get("resourceType"), "QuestionnaireResponse or Bundle")],
        )
    entries = resource.get("entry")
    if not isinstance(entries, list) or not entries:
        raise InvalidInputError(
            "FHIR import", [FieldProblem("entry", entries, "a Bundle with at least one entry")]
        )
    found: list[tuple[int | None, dict[str, Any]]] = []
    problems: list[FieldProblem] = []
    for index, item in enumerate(entries):
        inner = item.get("resource") if isinstance(item, Mapping) else None
        kind = inner.get("resourceType") if isinstance(inner, Mapping) else None
        if kind != "QuestionnaireResponse" or not isinstance(inner, Mapping):
            problems.append(
                FieldProblem(f"entry[{index}].resource.resourceType", kind, "QuestionnaireResponse")
            )
            continue
        found.append((index, dict(inner)))
    if problems:
        raise InvalidInputError("FHIR import: this Bundle holds more than QuestionnaireResponses", problems)
    return found


def read_all(items: Sequence[tuple[int | None, dict[str, Any]]], *, complete: bool = True) -> list[Incoming]:
    """Every response checked; one error listing every problem of every entry (``complete``: as
    :func:`~attunement.fhir.responses.read_response`)."""
    problems: list[FieldProblem] = []
    risky: list[str] = []
    out = []
    for index, resource in items:
        where = "" if index is None else f"entry[{index}] "
        try:
            read = read_response(resource, complete=complete)
            incoming = _incoming(index, resource, read)
        except InvalidInputError as exc:
            problems += [FieldProblem(where + p.field, p.value, p.expected) for p in exc.problems]
            if "risk answer" in str(exc.context):
                risky.append(where + exc.context)
            continue
        out.append(incoming)
    if problems:
        context = "FHIR import: nothing was stored"
        if risky:
            context += ". " + " ".join(risky)
        raise InvalidInputError(context, shortened(problems))
    return out


def shortened(problems: list[FieldProblem], limit: int = MAX_PROBLEMS) -> list[FieldProblem]:
    """The first ``limit`` problems and a count of the rest: enough to fix a file by, short enough
    to read."""
    if len(problems) <= limit:
        return problems
    return [
        *problems[:limit],
        FieldProblem("more", f"{len(problems) - limit} further problems", "fix the above first"),
    ]


def _incoming(index: int | None, resource: dict[str, Any], read: ReadResponse) -> Incoming:
    problems = []
    if read.instrument in NOT_IMPORTED:
        problems.append(
            FieldProblem("questionnaire", resource.get("questionnaire"), NOT_IMPORTED[read.instrument])
        )
    if read.identifier is not None and len(read.identifier) > MAX_IDENTIFIER:
        problems.append(
            FieldProblem("identifier", read.identifier[:60] + "...", f"at most {MAX_IDENTIFIER} characters")
        )
    if read.authored is not None and read.authored > now() + CLOCK_SLACK:
        problems.append(
            FieldProblem("authored", read.authored.isoformat(), "a time that is not in the future")
        )
    rater = fr.extension_value(resource, "rater") or get_instrument(read.instrument).rater
    if rater not in RATERS:
        problems.append(FieldProblem("extension rater", rater, "one of " + ", ".join(RATERS)))
    author = _author(resource)
    approach = fr.extension_value(resource, "approach")
    if approach is not None and approach not in approach_choices():
        problems.append(
            FieldProblem("extension approach", str(approach)[:40], "one of " + ", ".join(approach_choices()))
        )
    replaces = fr.extension_value(resource, "replaces")
    replaced = identifier_text(replaces) if isinstance(replaces, Mapping) else None
    comment = fr.extension_value(resource, "comment")
    if read.comment is None and isinstance(comment, str) and comment.strip():
        read = replace(read, comment=comment.strip()[:MAX_TEXT])
    if problems:
        raise InvalidInputError("QuestionnaireResponse", problems)
    return Incoming(index, read, session_of(resource), str(rater), author, approach, replaced)


def _author(resource: Mapping[str, Any]) -> str | None:
    author = resource.get("author")
    ident = author.get("identifier") if isinstance(author, Mapping) else None
    return str(ident["value"]) if isinstance(ident, Mapping) and ident.get("value") else None


def identifier_text(ident: Mapping[str, Any]) -> str | None:
    """A FHIR Identifier as the key it is kept under ("system|value"), so the same response or set
    of forms is recognised whichever way it comes back; None without a value."""
    if not ident.get("value"):
        return None
    return f"{ident['system']}|{ident['value']}" if ident.get("system") else str(ident["value"])


def import_responses(
    db: Session,
    client: Client,
    resource: Any,
    *,
    actor: str,
    role: str,
    user: User | None = None,
    episode_number: int | None = None,
    audited: bool = True,
) -> ImportResult:
    """Import one QuestionnaireResponse or a Bundle of them into ``client``'s episode (the current
    one, or ``episode_number``), in the caller's transaction; all or nothing. ``audited=False``
    for a caller that writes the audit entry itself."""
    incoming = read_all(responses_in(resource))
    lock_room(db, client.id)  # the client's lock first, as for a link's answers
    episode = _episode(db, client, episode_number)
    require_active(episode, "FHIR import")
    result = _store(db, client, episode, incoming, user=user)
    stored = [r for r in result.responses if r.outcome == "stored"]
    if not audited:
        return result
    record(
        db,
        actor,
        role,
        "import_fhir_responses",
        client_id=client.id,
        detail=(
            f"episode {episode.number}: {len(stored)} stored "
            f"({', '.join(f'{r.instrument} s{r.session}' for r in stored) or 'none'}), "
            f"{result.already} already imported"
        ),
    )
    return result


def _episode(db: Session, client: Client, number: int | None) -> Episode:
    if number is None:
        return current_episode(db, client.id)
    episode = episode_numbered(db, client.id, number)
    if episode is None:
        known = ", ".join(str(e.number) for e in reversed(episodes_of(db, client.id)))
        raise InvalidInputError(
            "FHIR import", [FieldProblem("episode", number, f"one of this client's episodes: {known}")]
        )
    return episode


def _store(
    db: Session,
    client: Client,
    episode: Episode,
    incoming: Sequence[Incoming],
    *,
    user: User | None,
) -> ImportResult:
    """Store the new responses (the already imported ones are reported), after checking every
    identifier; refresh the summary after each, as after each web form."""
    known = _already(db, client, incoming)
    new = [i for i in incoming if known.get(i.read.identifier or "") is None]
    seen: dict[str, Incoming] = {}
    problems = []
    for item in new:
        ident = item.read.identifier
        if ident is None:
            continue
        if ident in seen and not _same(seen[ident].read, item.read):
            problems.append(
                FieldProblem(
                    _where(item, "identifier"),
                    ident,
                    "an identifier used once: two different responses here share it",
                )
            )
        seen.setdefault(ident, item)
    authors = staff_ids(db, [i.author for i in new if i.author])
    for item in new:
        if item.author and item.author not in authors:
            problems.append(
                FieldProblem(_where(item, "author"), item.author, "the username of a staff account")
            )
    if problems:
        raise InvalidInputError("FHIR import: nothing was stored", problems)
    defaults: dict[str, int] = {}
    responses: list[ImportedResponse] = []
    risk: list[str] = []
    stored_ids: dict[str, int] = {}
    for item in incoming:
        ident = item.read.identifier
        if ident is not None and ident in known:
            sub = known[ident]
            responses.append(
                ImportedResponse(ident, item.read.instrument, sub.session, "already imported", sub.id)
            )
            continue
        if ident is not None and ident in stored_ids:  # the same response twice in one Bundle
            continue
        session = item.session
        if session is None:
            kind = "rating" if item.rater == "therapist" else "answers"
            if kind not in defaults:
                defaults[kind] = _default_session(db, episode, kind)
            session = defaults[kind]
        session_row(db, episode, session, user)
        supersedes = _replaced(db, client, stored_ids, item.replaces)
        if item.rater == "therapist":
            _one_rating(db, item, episode, session, supersedes)
        answers = {item.read.instrument: item.read.answers}
        submitted_by = authors.get(item.author or "") or (
            user.id if user is not None and item.rater == "therapist" else None
        )
        submission = store_answers(
            db,
            client.id,
            episode.id,
            session,
            item.rater,
            answers,
            item.read.comment,
            submitted_by=submitted_by,
            supersedes_id=supersedes,
            submitted_at=item.read.authored,
            source_identifier=ident,
        )
        submission.approach = item.approach
        if ident is not None:
            stored_ids[ident] = submission.id
        refresh_after_answers(db, client, episode.id, session, item.rater, answers)
        flags = form_flags(Form(client.id, session, item.read.instrument, item.read.answers))
        risk += [f.reason for f in flags]
        responses.append(ImportedResponse(ident, item.read.instrument, session, "stored", submission.id))
    return ImportResult(client.public_id, episode.number, responses, risk)


def _one_rating(db: Session, item: Incoming, episode: Episode, session: int, supersedes: int | None) -> None:
    """A therapist's rating of a session already rated is refused unless it names the rating it
    corrects (the ``replaces`` extension), as on the rating form; the corrected one is kept."""
    current = current_rating(db, episode.id, session)
    if current is not None and supersedes != current.id:
        raise InvalidInputError(
            "FHIR import: nothing was stored",
            [
                FieldProblem(
                    _where(item, "extension replaces"),
                    item.replaces,
                    f"the identifier of the rating it corrects: session {session} is already rated, and a "
                    "rating is never replaced silently",
                )
            ],
        )


def _where(item: Incoming, name: str) -> str:
    return name if item.entry is None else f"entry[{item.entry}] {name}"


def _already(db: Session, client: Client, incoming: Sequence[Incoming]) -> dict[str, Submission]:
    """The responses imported before (or exported from this client here), by identifier; a
    different response under one of their identifiers is refused."""
    idents = [i.read.identifier for i in incoming if i.read.identifier]
    if not idents:
        return {}
    found = {
        s.source_identifier: s
        for s in db.scalars(select(Submission).where(Submission.source_identifier.in_(idents)))
        if s.source_identifier is not None
    }
    for ident in idents:
        if ident not in found and (own := _own_export(db, client, ident)) is not None:
            found[ident] = own
    problems = []
    for item in incoming:
        sub = found.get(item.read.identifier or "")
        if sub is None:
            continue
        if sub.client_id != client.id or not _same(_stored_response(db, sub, item.read), item.read):
            problems.append(
                FieldProblem(
                    _where(item, "identifier"),
                    item.read.identifier,
                    "a new identifier: a different response was already imported under this one, and it is "
                    "never replaced (send a correction under an identifier of its own)",
                )
            )
    if problems:
        raise InvalidInputError("FHIR import: nothing was stored", problems)
    return found


def _own_export(db: Session, client: Client, ident: str) -> Submission | None:
    """The submission of this client that an exported response's identifier
    (``…:namingsystem:response|<set>.<instrument>``) names, if it is here."""
    system, _, value = ident.rpartition("|")
    if not system.endswith(("namingsystem:response", "NamingSystem/response")):
        return None
    key = value.rpartition(".")[0]
    sub_id = exported_from_here(db, client, key)
    if sub_id is not None:
        return db.get(Submission, sub_id)
    return db.scalar(
        select(Submission).where(
            Submission.client_id == client.id, Submission.source_identifier.endswith(f"submission|{key}")
        )
    )


def exported_from_here(db: Session, client: Client, key: str) -> int | None:
    """The submission a set of forms was exported from, when it is this client's here (an export
    read back into the database it came from changes nothing)."""
    prefix, _, number = key.rpartition("|")[2].rpartition(".")
    if prefix != client.public_id or not number.isdigit():
        return None
    return db.scalar(
        select(Submission.id).where(
            Submission.id == int(number),
            Submission.client_id == client.id,
            Submission.source_identifier.is_(None),
        )
    )


def _stored_response(db: Session, sub: Submission, given: ReadResponse) -> ReadResponse:
    """The stored form of ``given``'s instrument in ``sub``, as a response (its comment only where
    the form has a text item for it)."""
    rows = db.execute(
        select(Measure.item, Measure.value).where(
            Measure.submission_id == sub.id, Measure.instrument == given.instrument
        )
    ).all()
    answers = {item: float(value) for item, value in rows if item is not None and value is not None}
    texts = any(s.type in ("string", "text") for s in get_instrument(given.instrument).items.values())
    comment = sub.comment if texts else given.comment
    instrument = given.instrument if rows else ""
    return ReadResponse(
        instrument, answers, comment, sub.source_identifier, aware(sub.submitted_at), "completed"
    )


def _same(a: ReadResponse, b: ReadResponse) -> bool:
    """The same response: same form, answers and comment (and time, where both give one)."""
    same_time = a.authored is None or b.authored is None or aware(a.authored) == aware(b.authored)
    return (
        a.instrument == b.instrument
        and a.answers == b.answers
        and (a.comment or None) == (b.comment or None)
        and same_time
    )


def staff_ids(db: Session, usernames: Sequence[str]) -> dict[str, int]:
    """The staff accounts here among ``usernames`` (username -> id): a response's author and an
    episode's clinician are named by username, which must be an account of this service."""
    if not usernames:
        return {}
    query = select(User.username, User.id).where(User.username.in_(list(set(usernames))))
    return {name: user_id for name, user_id in db.execute(query)}


def _replaced(
    db: Session, client: Client, stored_ids: Mapping[str, int], identifier: str | None
) -> int | None:
    """The submission a response's ``replaces`` identifier names: one stored by this import, one
    imported before, or one of this client's exported from here."""
    if identifier is None:
        return None
    if identifier in stored_ids:
        return stored_ids[identifier]
    found = db.scalar(
        select(Submission.id).where(
            Submission.source_identifier == identifier, Submission.client_id == client.id
        )
    )
    if found is None and (own := _own_export(db, client, identifier)) is not None:
        found = own.id
    return found


def _default_session(db: Session, episode: Episode, kind: str) -> int:
    """Where responses that name no session go. Answers: where a new link's answers would go (the
    earliest planned session from today on, or waiting for its link, without client answers).
    A therapist's rating: the session the rating form offers first (the latest one held and not
    yet rated). Else the next new session."""
    today = clinic_today(db)
    states = session_states(db, episode.id)
    if kind == "rating":
        chosen = default_rating_choice(rating_choices(states, today))
    else:
        chosen = default_link_choice(link_choices(states, today), today)
    if chosen is not None:
        return chosen
    latest = db.scalar(
        select(TherapySession.number)
        .where(TherapySession.episode_id == episode.id)
        .order_by(TherapySession.number.desc())
        .limit(1)
    )
    return int(latest or 0) + 1


def session_row(db: Session, episode: Episode, number: int, user: User | None) -> None:
    """Every answered session has its row (session 0, the assessment before treatment, has none)."""
    if number < 1:
        return
    exists = db.scalar(
        select(TherapySession.id).where(
            TherapySession.episode_id == episode.id, TherapySession.number == number
        )
    )
    if exists is None:
        db.add(
            TherapySession(
                episode_id=episode.id,
                number=number,
                created_at=now(),
                created_by=user.id if user is not None else None,
            )
        )
        db.flush()
