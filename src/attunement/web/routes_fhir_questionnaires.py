"""``GET /fhir/Questionnaire/{id}``: an instrument's Questionnaire as FHIR tools get it.

For every signed-in user (clinicians, supervisors and administrators read forms, and a FHIR tool
such as a form renderer or an EHR app is pointed here). The form is the one
:func:`attunement.fhir.questionnaires.handed_out` builds: its canonical address is this route's
own (``ATTUNEMENT_FHIR_BASE``, else the public address with ``/fhir``), and a measure whose
wording attunement does not ship comes in the clinic's imported wording, else without wording.
The forms hold no client data, so reading one is not audited.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from attunement.errors import UnknownInstrumentError
from attunement.fhir.canonical import fhir_base
from attunement.fhir.questionnaires import handed_out
from attunement.instruments import get_instrument
from attunement.store.licensed_wording import current_wordings
from attunement.web.dependencies import AnyRole, Db
from attunement.web.security import base_url

router = APIRouter()

FHIR_JSON = "application/fhir+json"


@router.get("/fhir/Questionnaire/{questionnaire_id}")
def questionnaire(request: Request, questionnaire_id: str, user: AnyRole, db: Db) -> JSONResponse:
    """The Questionnaire by its FHIR id (``caregiver-report``) or instrument id (``caregiver_report``);
    an unknown one is a FHIR OperationOutcome with 404."""
    try:
        instrument = get_instrument(questionnaire_id)
    except UnknownInstrumentError:
        return JSONResponse(_not_found(questionnaire_id), status_code=404, media_type=FHIR_JSON)
    wording = None if instrument.licence.item_text_shipped else current_wordings(db).get(instrument.id)
    form = handed_out(instrument.id, base=fhir_base(base_url(request)), wording=wording)
    return JSONResponse(form, media_type=FHIR_JSON)


def _not_found(questionnaire_id: str) -> dict[str, object]:
    return {
        "resourceType": "OperationOutcome",
        "issue": [
            {
                "severity": "error",
                "code": "not-found",
                "diagnostics": f"No Questionnaire {questionnaire_id[:60]!r} here.",
            }
        ],
    }
