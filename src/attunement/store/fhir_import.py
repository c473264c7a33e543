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

:func:`restore_service_bundle` reads back a whole service's Bundle as
:mod:`attunement.store.fhir_export` writes it (Patient, EpisodeOfCare, QuestionnaireResponse and
the scores recorded without answers) into a database with the same staff accounts.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from typing import Any, Literal

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from attunement.alerts.critical import Form, form_flags
from attunement.errors import FieldProblem, InvalidInputError
from attunement.fhir import resources as fr
from attunement.fhir.canonical import instrument_of
from attunement.fhir.responses import MAX_TEXT, ReadResponse, read_response, session_of
from attunement.instruments import get_instrument
from attunement.store.approaches import approach_choices
from attunement.store.audit import record
from attunement.store.cases import lock_room
from attunement.store.clock import aware, now
from attunement.store.episodes import (
    END_REASONS,
    current_episode,
    episode_event,
    episode_numbered,
    episodes_of,
    open_episode,
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
from attunement.store.summary_store import refresh, refresh_after_answers

#: Who may have answered a response (the links' raters and the therapist's rating).
RATERS = ("client", "therapist", "caregiver")
#: The longest identifier kept ("system|value").
MAX_IDENTIFIER = 300
#: The most problems one refusal lists.
MAX_PROBLEMS = 50
#: A response authored this far in the future is refused (clocks differ a little).
CLOCK_SLACK = timedelta(minutes=5)
#: Instruments stored elsewhere than as answers (the intake profile builds the client's profile).
#: The note on the episode events a restore writes.
RESTORED = "restored from a FHIR export"
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
    replaced = _identifier_text(replaces) if isinstance(replaces, Mapping) else None
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


def _identifier_text(ident: Mapping[str, Any]) -> str | None:
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
    authors = _authors(db, [i.author for i in new if i.author])
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
        _session_row(db, episode, session, user)
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
    sub_id = _exported_from_here(db, client, key)
    if sub_id is not None:
        return db.get(Submission, sub_id)
    return db.scalar(
        select(Submission).where(
            Submission.client_id == client.id, Submission.source_identifier.endswith(f"submission|{key}")
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


def _authors(db: Session, usernames: Sequence[str]) -> dict[str, int]:
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


def _session_row(db: Session, episode: Episode, number: int, user: User | None) -> None:
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


# --- a whole service's Bundle ----------------------------------------------------------------


@dataclass(frozen=True)
class RestoreResult:
    clients: int
    episodes: int
    responses: int
    scores: int
    already: int

    def as_dict(self) -> dict[str, int]:
        return {
            "clients": self.clients,
            "episodes": self.episodes,
            "responses": self.responses,
            "scores": self.scores,
            "already_imported": self.already,
        }


@dataclass
class _EpisodeIn:
    url: str
    patient: str
    number: int
    active: bool
    started_on: date
    ended_on: date | None
    end_reason: str | None
    manager: str
    group: str | None
    #: Responses and scores recorded without answers, in Bundle order, each with the key of the
    #: forms sent with it (the ``submission`` extension), so they are stored together again.
    forms: list[tuple[str | None, Incoming | dict[str, Any]]] = field(default_factory=list)


def is_service_bundle(resource: Any) -> bool:
    """A Bundle that carries Patients (a service's or a client's export), not only responses."""
    return (
        isinstance(resource, Mapping)
        and resource.get("resourceType") == "Bundle"
        and any(
            isinstance(e, Mapping)
            and isinstance(e.get("resource"), Mapping)
            and e["resource"].get("resourceType") == "Patient"
            for e in resource.get("entry") or []
        )
    )


def restore_service_bundle(
    db: Session, resource: Mapping[str, Any], *, actor: str, role: str
) -> RestoreResult:
    """Read back a Bundle written by :mod:`attunement.store.fhir_export`: clients (by their opaque
    id), their episodes with their clinicians (by username, who must have an account here), every
    response and every score recorded without answers, all in the caller's transaction.

    A client already here (same id) keeps what they have; responses already imported are
    reported, not stored again. Episodes are opened, filled and ended as they were; each client's
    summary and alerts are computed once, from everything stored."""
    patients, episodes, problems = _read_service(resource)
    authors = {
        i.author for e in episodes.values() for _, i in e.forms if isinstance(i, Incoming) and i.author
    }
    users = _authors(db, sorted({e.manager for e in episodes.values()} | authors))
    problems += [
        FieldProblem("author", name, "the username of a staff account here") for name in authors - set(users)
    ]
    for e in episodes.values():
        if e.manager not in users:
            problems.append(
                FieldProblem(
                    f"EpisodeOfCare {e.url} careManager", e.manager, "the username of a staff account here"
                )
            )
    if problems:
        raise InvalidInputError("FHIR restore: nothing was stored", shortened(problems))
    clients: dict[str, list[_EpisodeIn]] = defaultdict(list)
    for e in sorted(episodes.values(), key=lambda e: (e.patient, e.number)):
        clients[e.patient].append(e)
    counts = {"clients": 0, "episodes": 0, "responses": 0, "scores": 0, "already": 0}
    for patient_url, public_id in patients.items():
        own = clients.get(patient_url, [])
        if not own:
            continue
        client = db.scalar(select(Client).where(Client.public_id == public_id))
        therapist = db.get(User, users[own[-1].manager])
        assert therapist is not None
        if client is None:
            client = Client(
                public_id=public_id,
                label=public_id,
                therapist_id=therapist.id,
                client_group=(own[-1].group or "all")[:40],
                created_at=now(),
            )
            db.add(client)
            db.flush()
            counts["clients"] += 1
        lock_room(db, client.id)
        for e in own:
            episode = episode_numbered(db, client.id, e.number)
            manager = db.get(User, users[e.manager])
            assert manager is not None
            if episode is None:
                episode = open_episode(db, client, manager, e.number, e.started_on, RESTORED)
                counts["episodes"] += 1
            _restore_forms(db, client, episode, e.forms, users, counts)
            if not e.active and episode.active:
                episode.status, episode.end_reason, episode.ended_on = "ended", e.end_reason, e.ended_on
                episode_event(db, episode, manager, "ended", e.end_reason, e.ended_on, RESTORED)
        refresh(db, [client])
        record(db, actor, role, "restore_fhir", client_id=client.id, detail=f"{len(own)} episode(s)")
    return RestoreResult(
        counts["clients"], counts["episodes"], counts["responses"], counts["scores"], counts["already"]
    )


def _restore_forms(
    db: Session,
    client: Client,
    episode: Episode,
    forms: Sequence[tuple[str | None, Incoming | dict[str, Any]]],
    users: Mapping[str, int],
    counts: dict[str, int],
) -> None:
    """Each set of forms sent together stored again as one submission (responses as answers,
    scores recorded without answers as score rows), in the order they were first stored; a set
    already here is counted, not stored twice."""
    groups: dict[object, list[Incoming | dict[str, Any]]] = {}
    keys: dict[object, str | None] = {}
    sets: set[object] = set()  # the tokens that are keys of forms sent together
    for key, item in forms:
        ident = item.read.identifier if isinstance(item, Incoming) else item["identifier"]
        token: object = key or ident or object()
        groups.setdefault(token, []).append(item)
        keys.setdefault(token, key or ident)
        if key is not None:
            sets.add(token)
    stored_ids: dict[str, int] = {}
    for token, members in groups.items():
        ident = keys[token]
        responses = [m for m in members if isinstance(m, Incoming)]
        scores = [m for m in members if not isinstance(m, Incoming)]
        existing = (
            db.scalar(select(Submission.id).where(Submission.source_identifier == ident)) if ident else None
        )
        if existing is None and ident and token in sets:
            existing = _exported_from_here(db, client, ident)
        if existing is not None:
            counts["already"] += 1
            stored_ids.update({r.read.identifier: existing for r in responses if r.read.identifier})
            continue
        first = responses[0] if responses else None
        session = first.session if first is not None else scores[0]["session"]
        rater = first.rater if first is not None else scores[0]["rater"]
        assert session is not None
        _session_row(db, episode, session, None)
        replaces = first.replaces if first is not None else None
        submission = store_answers(
            db,
            client.id,
            episode.id,
            session,
            rater,
            {r.read.instrument: r.read.answers for r in responses},
            next((r.read.comment for r in responses if r.read.comment), None),
            submitted_by=users.get(first.author or "") if first is not None else None,
            supersedes_id=stored_ids.get(replaces) if replaces else None,
            submitted_at=first.read.authored
            if first is not None and first.read.authored
            else scores[0]["at"],
            source_identifier=ident,
        )
        submission.approach = first.approach if first is not None else None
        stored_ids.update({r.read.identifier: submission.id for r in responses if r.read.identifier})
        if scores:
            db.execute(
                insert(Measure),
                [
                    {
                        "client_id": client.id,
                        "episode_id": episode.id,
                        "submission_id": submission.id,
                        "session": session,
                        "instrument": score["instrument"],
                        "rater": score["rater"],
                        "item": None,
                        "value": None,
                        "score": score["value"],
                        "recorded_at": submission.submitted_at,
                    }
                    for score in scores
                ],
            )
        counts["responses"] += len(responses)
        counts["scores"] += len(scores)


def _exported_from_here(db: Session, client: Client, key: str) -> int | None:
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


def _read_service(
    resource: Mapping[str, Any],
) -> tuple[dict[str, str], dict[str, _EpisodeIn], list[FieldProblem]]:
    """Patients (fullUrl -> opaque id) and episodes with their responses and given scores."""
    problems: list[FieldProblem] = []
    patients: dict[str, str] = {}
    episodes: dict[str, _EpisodeIn] = {}
    pending: list[tuple[int, dict[str, Any]]] = []
    for index, item in enumerate(resource.get("entry") or []):
        inner = item.get("resource") if isinstance(item, Mapping) else None
        url = item.get("fullUrl") if isinstance(item, Mapping) else None
        kind = inner.get("resourceType") if isinstance(inner, Mapping) else None
        if not isinstance(inner, Mapping) or not url:
            problems.append(FieldProblem(f"entry[{index}]", kind, "a fullUrl and a resource"))
            continue
        if kind in ("Patient", "EpisodeOfCare", "Observation") and not _valid(index, inner, problems):
            continue
        if kind == "Patient":
            public_id = fr.identifier_value(inner, "client")
            if not public_id or len(public_id) > 40:
                problems.append(
                    FieldProblem(f"entry[{index}] Patient.identifier", public_id, "the client's opaque id")
                )
            else:
                patients[url] = public_id
        elif kind == "EpisodeOfCare":
            episode = _episode_in(index, url, inner, problems)
            if episode is not None:
                episodes[url] = episode
        elif kind == "QuestionnaireResponse" or (kind == "Observation" and not inner.get("derivedFrom")):
            pending.append((index, dict(inner)))
    for index, inner in pending:
        owner = _owner(index, inner, episodes, problems)
        group = fr.extension_value(inner, "submission")
        key = _identifier_text(group) if isinstance(group, Mapping) else None
        if inner["resourceType"] == "Observation":
            score = _given_score(index, inner, problems)
            if owner is not None and score is not None:
                owner.forms.append((key, score))
            continue
        try:
            (incoming,) = read_all([(index, inner)], complete=False)
        except InvalidInputError as exc:
            problems += exc.problems
            continue
        if incoming.session is None:
            problems.append(
                FieldProblem(f"entry[{index}] extension session", None, "the session of the response")
            )
        elif owner is not None:
            owner.forms.append((key, incoming))
    for e in episodes.values():
        if e.patient not in patients:
            problems.append(
                FieldProblem(f"EpisodeOfCare {e.url} patient", e.patient, "a Patient of this Bundle")
            )
    return patients, episodes, problems


def _valid(index: int, resource: Mapping[str, Any], problems: list[FieldProblem]) -> bool:
    """Whether a resource is valid FHIR (the R4B model); if not, its first problems are listed."""
    from fhir.resources.R4B import get_fhir_model_class
    from pydantic import ValidationError

    try:
        get_fhir_model_class(str(resource["resourceType"])).model_validate(dict(resource))
    except ValidationError as exc:
        problems += [
            FieldProblem(
                f"entry[{index}] " + ".".join(str(p) for p in error["loc"]),
                None,
                f"valid FHIR R4 ({error['msg']})",
            )
            for error in exc.errors()[:5]
        ]
        return False
    return True


def _episode_in(
    index: int, url: str, inner: Mapping[str, Any], problems: list[FieldProblem]
) -> _EpisodeIn | None:
    where = f"entry[{index}] EpisodeOfCare"
    ident = fr.identifier_value(inner, "episode") or ""
    number = ident.rpartition("/")[2]
    patient = (inner.get("patient") or {}).get("reference")
    manager = ((inner.get("careManager") or {}).get("identifier") or {}).get("value")
    period = inner.get("period") or {}
    status = inner.get("status")
    reason = fr.extension_value(inner, "end-reason")
    try:
        started = date.fromisoformat(str(period.get("start"))[:10])
        ended = date.fromisoformat(str(period["end"])[:10]) if period.get("end") else None
    except ValueError:
        problems.append(FieldProblem(f"{where}.period", period, "start (and end) dates, YYYY-MM-DD"))
        return None
    found = []
    if not number.isdigit():
        found.append(FieldProblem(f"{where}.identifier", ident, "<client id>/<episode number>"))
    if not patient or not manager:
        found.append(FieldProblem(where, "patient or careManager missing", "both"))
    if status not in ("active", "finished"):
        found.append(FieldProblem(f"{where}.status", status, "active or finished"))
    if status == "finished" and (reason not in END_REASONS or ended is None):
        found.append(
            FieldProblem(f"{where} end", reason, "an end date and an end reason: " + ", ".join(END_REASONS))
        )
    problems += found
    if found:
        return None
    return _EpisodeIn(
        url,
        str(patient),
        int(number),
        status == "active",
        started,
        ended,
        reason,
        str(manager),
        fr.extension_value(inner, "client-group"),
    )


def _owner(
    index: int, resource: Mapping[str, Any], episodes: Mapping[str, _EpisodeIn], problems: list[FieldProblem]
) -> _EpisodeIn | None:
    ref = fr.extension_value(resource, "episode-of-care")
    url = str(ref.get("reference")) if isinstance(ref, Mapping) else None
    if url is None or url not in episodes:
        problems.append(
            FieldProblem(f"entry[{index}] extension episode-of-care", url, "an EpisodeOfCare of this Bundle")
        )
        return None
    return episodes[url]


def _given_score(index: int, obs: Mapping[str, Any], problems: list[FieldProblem]) -> dict[str, Any] | None:
    """A score recorded without answers: its instrument (the project's code), value and place."""
    where = f"entry[{index}] Observation"
    codes = [
        c
        for c in (obs.get("code") or {}).get("coding") or []
        if str(c.get("system", "")).endswith(("codesystem:scores", "CodeSystem/scores"))
    ]
    value = (obs.get("valueQuantity") or {}).get("value")
    session = fr.extension_value(obs, "session")
    rater = fr.extension_value(obs, "rater")
    ident = obs.get("identifier")
    ident_text = (
        _identifier_text(ident[0])
        if isinstance(ident, list) and ident and isinstance(ident[0], Mapping)
        else None
    )
    try:
        at = datetime.fromisoformat(str(obs.get("effectiveDateTime")).replace("Z", "+00:00"))
    except ValueError:
        at = None
    if (
        not codes
        or not isinstance(value, int | float)
        or not isinstance(session, int)
        or rater not in RATERS
        or at is None
    ):
        problems.append(
            FieldProblem(
                where, "code, value, session, rater or time missing", "a score as attunement exports it"
            )
        )
        return None
    instrument = instrument_of(str(codes[0]["code"]))
    return {
        "instrument": instrument,
        "value": float(value),
        "session": session,
        "rater": rater,
        "at": at,
        "identifier": ident_text,
    }
