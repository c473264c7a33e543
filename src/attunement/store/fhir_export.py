"""A client's record, or the whole service's, as a FHIR Bundle.

Per client: a Patient (the opaque id only), each EpisodeOfCare, one QuestionnaireResponse per form
answered (a submission of three forms gives three responses), an Observation per form's total
score (derived from its response; a score recorded without answers, as an imported table may
hold, stands alone), a Flag per open alert and a RiskAssessment per open alert with a forecast
probability. Every resource is FHIR R4 JSON; the tests validate each one with the
``fhir.resources`` R4B models. What each carries is in docs/fhir.md.

A response keeps the identifier it was imported with; one made in the app is named
``…:namingsystem:response|<client id>.<submission>.<instrument>``, so importing an export again
(here or elsewhere) stores nothing twice (:mod:`attunement.store.fhir_import`,
:mod:`attunement.store.fhir_restore`).

:func:`service_bundle` builds the whole service's Bundle in memory (fine for a clinic's size);
:func:`write_service_bundle` writes it client by client to a file, holding one client at a time.
The callers audit what they export.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Callable, Iterator
from typing import Any, TextIO

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from attunement.alerts.kinds import kind as alert_kind
from attunement.alerts.lifecycle import WAITING
from attunement.errors import InvalidInputError
from attunement.fhir import resources as fr
from attunement.fhir.canonical import DEFAULT_BASE
from attunement.fhir.responses import write_response
from attunement.instruments import get_instrument, score
from attunement.store.clock import aware, now
from attunement.store.models import Client, Episode, KeptAlert, Measure, Submission, User


def client_bundle(db: Session, client: Client, base: str = DEFAULT_BASE) -> dict[str, Any]:
    """One client's Bundle."""
    return fr.bundle(client_entries(db, client, base), timestamp=now())


def service_bundle(db: Session, base: str = DEFAULT_BASE) -> dict[str, Any]:
    """Every client's entries in one Bundle, clients in the order they were created."""
    entries = [e for client in _clients(db) for e in client_entries(db, client, base)]
    return fr.bundle(entries, timestamp=now())


def write_service_bundle(
    db: Session,
    out: TextIO,
    base: str = DEFAULT_BASE,
    progress: Callable[[int, int], None] | None = None,
) -> int:
    """Write the service's Bundle to ``out`` one client at a time (``progress(done, total)``
    after each); returns the number of entries written."""
    head = fr.bundle([], timestamp=now())
    head.pop("entry")
    out.write(json.dumps(head, ensure_ascii=False)[:-1] + ', "entry": [')
    count = 0
    total = db.scalar(select(func.count()).select_from(Client)) or 0
    for done, client in enumerate(_clients(db), start=1):
        for entry in client_entries(db, client, base):
            out.write(("\n" if count == 0 else ",\n") + json.dumps(entry, ensure_ascii=False))
            count += 1
        db.expunge_all()  # one client's rows at a time
        if progress is not None:
            progress(done, total)
    out.write("\n]}\n")
    return count


def _clients(db: Session) -> Iterator[Client]:
    ids = list(db.scalars(select(Client.id).order_by(Client.id)))
    for client_id in ids:
        client = db.get(Client, client_id)
        if client is not None:
            yield client


def client_entries(db: Session, client: Client, base: str = DEFAULT_BASE) -> Iterator[dict[str, Any]]:
    """The Bundle entries of one client, in a fixed order: Patient, then per episode its
    EpisodeOfCare, responses and scores (in the order they were stored), then flags and risks."""
    patient_url = fr.full_url(base, "Patient", client.public_id)
    yield fr.entry(patient_url, fr.patient(client.public_id, base=base))
    episodes = list(
        db.scalars(select(Episode).where(Episode.client_id == client.id).order_by(Episode.number))
    )
    usernames = dict(db.execute(select(User.id, User.username)).all())
    episode_urls = {}
    for episode in episodes:
        url = fr.full_url(base, "EpisodeOfCare", f"{client.public_id}/{episode.number}")
        episode_urls[episode.id] = url
        yield fr.entry(
            url,
            fr.episode_of_care(
                public_id=client.public_id,
                number=episode.number,
                active=episode.active,
                started_on=episode.started_on,
                ended_on=episode.ended_on,
                end_reason=episode.end_reason,
                care_manager=usernames[episode.therapist_id],
                client_group=client.client_group,
                patient_url=patient_url,
                base=base,
            ),
        )
        yield from _episode_forms(db, client, episode, url, patient_url, usernames, base)
    yield from _alerts(db, client, episode_urls, patient_url, base)


def _episode_forms(
    db: Session,
    client: Client,
    episode: Episode,
    episode_url: str,
    patient_url: str,
    usernames: dict[int, str],
    base: str,
) -> Iterator[dict[str, Any]]:
    submissions = list(
        db.scalars(select(Submission).where(Submission.episode_id == episode.id).order_by(Submission.id))
    )
    rows: dict[int, list[Measure]] = defaultdict(list)
    for row in db.scalars(select(Measure).where(Measure.episode_id == episode.id).order_by(Measure.id)):
        if row.submission_id is not None:
            rows[row.submission_id].append(row)
    identifiers: dict[int, str] = {}
    for sub in submissions:
        forms: dict[str, dict[str, float]] = {}
        given: dict[str, float] = {}
        for row in rows[sub.id]:
            if row.item is not None and row.value is not None:
                forms.setdefault(row.instrument, {})[row.item] = float(row.value)
            elif row.item is None and row.score is not None:
                given[row.instrument] = float(row.score)
        form_set = _form_set(client, sub, base)
        comment_home = _comment_home(list(forms), sub.comment)
        first = True
        for instrument, answers in forms.items():
            ident = (
                sub.source_identifier
                if form_set is None and sub.source_identifier
                else _ident(base, "response", form_set, instrument)
            )
            identifiers.setdefault(sub.id, ident)
            qr_url = fr.full_url(base, "QuestionnaireResponse", ident)
            try:
                qr = write_response(
                    instrument,
                    answers,
                    identifier=ident,
                    authored=aware(sub.submitted_at),
                    comment=sub.comment if instrument == comment_home else None,
                    subject=patient_url,
                    base=base,
                )
            except InvalidInputError as exc:
                where = f"client {client.public_id}, episode {episode.number}, session {sub.session}"
                raise InvalidInputError(f"{where}: {exc.context}", exc.problems) from None
            qr["extension"] = (
                fr.session_extensions(episode_url, sub.session, sub.rater)
                + _set_extension(form_set, base)
                + _extras(sub, identifiers, first and comment_home is None)
            )
            if sub.submitted_by is not None and sub.rater == "therapist":
                qr["author"] = {"identifier": fr.user_identifier(usernames[sub.submitted_by], base)}
            first = False
            yield fr.entry(qr_url, qr)
            instrument_def = get_instrument(instrument)
            result = score(instrument_def, answers, allow_incomplete=True)
            if result.total is not None:
                yield fr.entry(
                    fr.full_url(base, "Observation", ident),
                    fr.observation(
                        instrument=instrument,
                        short_name=instrument_def.short_name,
                        total=result.total,
                        band=result.band,
                        session=sub.session,
                        rater=sub.rater,
                        effective=aware(sub.submitted_at),
                        patient_url=patient_url,
                        episode_url=episode_url,
                        derived_from=qr_url,
                        base=base,
                    ),
                )
        for instrument, value in given.items():
            ident = _ident(base, "score", form_set or f"{client.public_id}.{sub.id}", instrument)
            instrument_def = get_instrument(instrument)
            bands = instrument_def.scoring.bands
            obs = fr.observation(
                instrument=instrument,
                short_name=instrument_def.short_name,
                total=value,
                band=bands.classify(value) if bands else None,
                session=sub.session,
                rater=sub.rater,
                effective=aware(sub.submitted_at),
                patient_url=patient_url,
                episode_url=episode_url,
                derived_from=None,
                base=base,
            )
            obs["extension"] += _set_extension(form_set or f"{client.public_id}.{sub.id}", base)
            system, _, value_text = ident.rpartition("|")
            obs = {
                "resourceType": "Observation",
                "identifier": [{"system": system, "value": value_text}],
            } | obs
            yield fr.entry(fr.full_url(base, "Observation", ident), obs)


def _form_set(client: Client, sub: Submission, base: str) -> str | None:
    """The key of the forms sent together as one submission (``<client id>.<submission>``, or the
    key it was restored with); None for a submission imported from one outside response, which
    keeps that response's identifier."""
    if sub.source_identifier is None:
        return f"{client.public_id}.{sub.id}"
    system, _, value = sub.source_identifier.rpartition("|")
    return value if system.endswith(("namingsystem:submission", "NamingSystem/submission")) else None


def _set_extension(form_set: str | None, base: str) -> list[dict[str, Any]]:
    if form_set is None:
        return []
    return [
        {
            "url": fr.extension_url("submission"),
            "valueIdentifier": {"system": fr.identifier_system("submission", base), "value": form_set},
        }
    ]


def _ident(base: str, kind: str, form_set: str | None, instrument: str) -> str:
    return f"{fr.identifier_system(kind, base)}|{form_set}.{instrument}"


def _comment_home(instruments: list[str], comment: str | None) -> str | None:
    """The form whose free-text item holds the submission's comment, if any has one."""
    if not comment:
        return None
    for instrument in instruments:
        if any(s.type in ("string", "text") for s in get_instrument(instrument).items.values()):
            return instrument
    return None


def _extras(sub: Submission, identifiers: dict[int, str], comment_here: bool) -> list[dict[str, Any]]:
    """What a stored submission knows beyond its answers: how the therapist worked, the rating it
    corrects, and a comment no form of it has a text item for."""
    out: list[dict[str, Any]] = []
    if sub.approach:
        out.append({"url": fr.extension_url("approach"), "valueCode": sub.approach})
    if sub.supersedes_id is not None and sub.supersedes_id in identifiers:
        system, _, value = identifiers[sub.supersedes_id].rpartition("|")
        out.append(
            {"url": fr.extension_url("replaces"), "valueIdentifier": {"system": system, "value": value}}
        )
    if comment_here and sub.comment:
        out.append({"url": fr.extension_url("comment"), "valueString": sub.comment})
    return out


def _alerts(
    db: Session, client: Client, episode_urls: dict[int, str], patient_url: str, base: str
) -> Iterator[dict[str, Any]]:
    rows = db.scalars(
        select(KeptAlert)
        .where(KeptAlert.client_id == client.id, KeptAlert.status.in_(WAITING))
        .order_by(KeptAlert.id)
    )
    for row in rows:
        label = alert_kind(row.kind).label
        episode_url = episode_urls[row.episode_id]
        yield fr.entry(
            fr.full_url(base, "Flag", f"{client.public_id}/alert/{row.id}"),
            fr.flag(
                kind=row.kind,
                label=label,
                reason=row.reason,
                severity=row.severity,
                opened_at=aware(row.opened_at),
                patient_url=patient_url,
                episode_url=episode_url,
                base=base,
            ),
        )
        if row.probability is not None:
            yield fr.entry(
                fr.full_url(base, "RiskAssessment", f"{client.public_id}/alert/{row.id}"),
                fr.risk_assessment(
                    kind=row.kind,
                    label=label,
                    reason=row.reason,
                    probability=row.probability,
                    at=aware(row.changed_at),
                    patient_url=patient_url,
                    episode_url=episode_url,
                    base=base,
                ),
            )
