"""A whole service's FHIR export read back: clients, their episodes of care and every answer.

:mod:`attunement.store.fhir_export` writes a service (or one client) as a Bundle of Patients,
EpisodeOfCare, QuestionnaireResponses and the scores recorded without answers; this module reads
such a Bundle back into a database with the same staff accounts, for moving a service or
restoring it. It is kept apart from :mod:`attunement.store.fhir_import` because the two take
different things: an import adds a client's responses to an episode that already exists here,
while a restore creates the clients and episodes themselves (opened, filled and ended as they
were) and recognises the sets of forms that were sent together.

Every response is still checked by the import's reader (:func:`~attunement.store.fhir_import.read_all`)
and the same identifiers keep it idempotent: a client already here keeps what they have, and a
response or set of forms already stored (imported before, or exported from this very database) is
counted, not stored twice. The whole Bundle is checked before anything is stored, and one refusal
names every problem found (and nothing is stored).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from attunement.errors import FieldProblem, InvalidInputError
from attunement.fhir import resources as fr
from attunement.fhir.canonical import instrument_of
from attunement.store.audit import record
from attunement.store.cases import lock_room
from attunement.store.clock import now
from attunement.store.episodes import END_REASONS, episode_event, episode_numbered, open_episode
from attunement.store.fhir_import import (
    RATERS,
    Incoming,
    exported_from_here,
    identifier_text,
    read_all,
    session_row,
    shortened,
    staff_ids,
)
from attunement.store.models import Client, Episode, Measure, Submission, User
from attunement.store.submissions import store_answers
from attunement.store.summary_store import refresh

#: The note on the episode events a restore writes.
RESTORED = "restored from a FHIR export"


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

    def summary(self) -> str:
        return (
            f"Restored {self.clients} client(s), {self.episodes} episode(s), "
            f"{self.responses} response(s) and {self.scores} score(s) without answers; "
            f"{self.already} already here."
        )


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
    users = staff_ids(db, sorted({e.manager for e in episodes.values()} | authors))
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
            existing = exported_from_here(db, client, ident)
        if existing is not None:
            counts["already"] += 1
            stored_ids.update({r.read.identifier: existing for r in responses if r.read.identifier})
            continue
        first = responses[0] if responses else None
        session = first.session if first is not None else scores[0]["session"]
        rater = first.rater if first is not None else scores[0]["rater"]
        assert session is not None
        session_row(db, episode, session, None)
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
        key = identifier_text(group) if isinstance(group, Mapping) else None
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
        identifier_text(ident[0])
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
