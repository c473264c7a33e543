"""FHIR for signed-in clinicians: import a client's QuestionnaireResponses, export their Bundle.

``POST /clients/{id}/fhir/responses`` takes FHIR JSON (``application/fhir+json`` or
``application/json``; the session cookie and the page's CSRF token in the ``X-CSRF-Token``
header, from this site) and answers JSON: 201 with what was stored, 200 when every response was
already imported, 400 with an OperationOutcome naming each problem by linkId (nothing stored).
The same address takes the upload form of the client page (a file and the form's token), and
answers it with the client page. Either way the answers are stored, scored and alerted as a web
form's are, and any safety notice is e-mailed after the commit.

``GET /clients/{id}/fhir`` is the client's Bundle (``application/fhir+json``), audited.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse
from sqlalchemy.exc import IntegrityError
from starlette.background import BackgroundTask

from attunement.errors import FieldProblem, InvalidInputError
from attunement.fhir.canonical import fhir_base
from attunement.instruments import load_instruments
from attunement.store.audit import record
from attunement.store.fhir_export import client_bundle
from attunement.store.fhir_import import import_responses
from attunement.store.notifications import deliver
from attunement.web.clinician_change import Done, changeable, client_for, clinician_change
from attunement.web.dependencies import ClientReader, Clinician, Db
from attunement.web.pages import CsrfRejected, Form, actor, database, form_data, render
from attunement.web.security import CSRF_FIELD, base_url, csrf_valid

router = APIRouter()

FHIR_JSON = "application/fhir+json"
#: The header a program sends the page's CSRF token in.
CSRF_HEADER = "X-CSRF-Token"
JSON_TYPES = (FHIR_JSON, "application/json")
FORM_TYPES = ("multipart/form-data", "application/x-www-form-urlencoded")


@dataclass(frozen=True)
class Sent:
    """What was posted: FHIR JSON from a program, or the client page's upload form."""

    body: bytes | None
    form: Form | None


async def _sent(request: Request) -> Sent:
    kind = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if kind in FORM_TYPES:
        form = await form_data(request)
        if not csrf_valid(request, form.get(CSRF_FIELD)):
            raise CsrfRejected()
        return Sent(None, form)
    if not csrf_valid(request, request.headers.get(CSRF_HEADER)):
        raise CsrfRejected()
    return Sent(await request.body() if kind in JSON_TYPES else None, None)


@router.post("/clients/{public_id}/fhir/responses")
def import_fhir(
    request: Request, public_id: str, user: Clinician, sent: Annotated[Sent, Depends(_sent)], db: Db
):
    """A client's QuestionnaireResponses (one, or a Bundle) into their current episode."""
    if sent.form is not None:
        return clinician_change(request, db, user, public_id, sent.form, _from_form(request), "fhir")
    client = changeable(db, request, user, public_id)  # import_responses takes the room's lock
    try:
        if sent.body is None:
            raise InvalidInputError(
                "FHIR import",
                [FieldProblem("Content-Type", request.headers.get("content-type"), " or ".join(JSON_TYPES))],
            )
        result = import_responses(
            db,
            client,
            _json(sent.body),
            actor=actor(user),
            role=user.role,
            user=user,
            episode_number=_episode(request),
        )
    except InvalidInputError as exc:
        db.rollback()
        return JSONResponse(outcome(exc), status_code=400, media_type=FHIR_JSON)
    except IntegrityError:  # the same identifier stored by another request at this very moment
        db.rollback()
        busy = InvalidInputError(
            "FHIR import: nothing was stored",
            [
                FieldProblem(
                    "identifier", None, "to be sent again: another import stored this identifier just now"
                )
            ],
        )
        return JSONResponse(outcome(busy), status_code=409, media_type=FHIR_JSON)
    return JSONResponse(
        result.as_dict(),
        status_code=201 if result.stored else 200,
        background=BackgroundTask(deliver, database(request)),
    )


def _from_form(request: Request):
    def change(db, user, client, episode, form: Form) -> Done:
        raw = form.upload("file")
        if not raw:
            raise InvalidInputError("FHIR import", [FieldProblem("file", None, "a FHIR JSON file to import")])
        result = import_responses(
            db,
            client,
            _json(raw),
            actor=actor(user),
            role=user.role,
            user=user,
            episode_number=episode.number,
            audited=False,
        )
        names = {i: load_instruments()[i].short_name for i in {r.instrument for r in result.responses}}
        response = render(request, "fhir_imported.html", {"result": result, "names": names})
        response.background = BackgroundTask(deliver, database(request))
        return Done("import_fhir_form", result.summary(), response)

    return change


def _json(raw: bytes) -> Any:
    try:
        return json.loads(raw.decode("utf-8"))
    except RecursionError:
        raise InvalidInputError(
            "FHIR import", [FieldProblem("body", "nested too deeply", "FHIR JSON")]
        ) from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InvalidInputError(
            "FHIR import", [FieldProblem("body", "not JSON", f"FHIR JSON ({exc})")]
        ) from None


def _episode(request: Request) -> int | None:
    raw = request.query_params.get("episode")
    if raw is None:
        return None
    if not (raw.isascii() and raw.isdigit() and 0 < len(raw) < 6):
        raise InvalidInputError("FHIR import", [FieldProblem("episode", raw[:20], "an episode number")])
    return int(raw)


def outcome(exc: InvalidInputError) -> dict[str, Any]:
    """An OperationOutcome: one issue per problem, its FHIRPath-like place in ``expression``."""
    return {
        "resourceType": "OperationOutcome",
        "issue": [
            {
                "severity": "error",
                "code": "invalid",
                "diagnostics": f"{exc.context}: {problem}" if i == 0 else str(problem),
                "expression": [problem.field],
            }
            for i, problem in enumerate(exc.problems)
        ]
        or [{"severity": "error", "code": "invalid", "diagnostics": str(exc)}],
    }


@router.get("/clients/{public_id}/fhir")
def export_fhir(request: Request, public_id: str, user: ClientReader, db: Db):
    """The client's record as a FHIR Bundle."""
    client = client_for(db, request, user, public_id)
    bundle = client_bundle(db, client, fhir_base(base_url(request)))
    record(
        db,
        actor(user),
        user.role,
        "export_fhir",
        client_id=client.id,
        detail=f"{len(bundle['entry'])} resources",
    )
    return JSONResponse(bundle, media_type=FHIR_JSON)
