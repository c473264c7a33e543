"""The FHIR resources attunement writes beside its QuestionnaireResponses: Patient, EpisodeOfCare,
Observation (scores), Flag (open alerts), RiskAssessment (forecast probabilities), and the Bundle
that holds them.

Pure builders over plain values. What they carry is what a receiving system needs and nothing a
person could be recognised by: a Patient is its opaque id alone (never a name, a label, a birth
date); a clinician is named by their username as an identifier, never by a reference or a name.
Every entry's ``fullUrl`` is a ``urn:uuid`` derived from the base and the thing it stands for, so
the same record exported twice (or exported, imported elsewhere and exported again) gives the
same ids and references.

Codes: a score carries the project's own code (``…:codesystem:scores``, code = instrument id)
and, where the reference confirms one (:data:`SCORE_CODES`, ``score_codes.json``), the LOINC
code of the total; its band, the band label of the instrument's definition under the project's
``…:codesystem:score-bands``. An alert's kind is a code of ``…:codesystem:alert-kinds``.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from pydantic import Field

from attunement.datafiles import StrictModel, load_json_model
from attunement.fhir.canonical import canonical
from attunement.instruments.definition import Status

SURVEY = {
    "system": "http://terminology.hl7.org/CodeSystem/observation-category",
    "code": "survey",
    "display": "Survey",
}


class ScoreCode(StrictModel):
    system: str
    code: str
    source: str = Field(min_length=3)
    status: Status


class ScoreCodes(StrictModel):
    description: str
    codes: dict[str, ScoreCode]


#: Confirmed LOINC total-score codes, by instrument id.
SCORE_CODES = load_json_model(Path(__file__).with_name("score_codes.json"), ScoreCodes).codes


def extension_url(name: str) -> str:
    """The project's extension ``name`` (fixed, whatever the clinic's base: an extension names a
    meaning, not a place)."""
    return canonical(None, "StructureDefinition", name)


def identifier_system(kind: str, base: str | None) -> str:
    """The system of the project's identifiers of ``kind`` ("client", "user", "episode",
    "response")."""
    return canonical(base, "NamingSystem", kind)


def code_system(name: str, base: str | None) -> str:
    return canonical(base, "CodeSystem", name)


def full_url(base: str | None, kind: str, key: str) -> str:
    """A stable ``urn:uuid`` for the ``kind`` resource of ``key`` under ``base``."""
    return f"urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, f'{canonical(base, kind, key)}')}"


def resource_id(url: str) -> str:
    return url.removeprefix("urn:uuid:")


def entry(url: str, resource: dict[str, Any]) -> dict[str, Any]:
    return {"fullUrl": url, "resource": {**resource, "id": resource_id(url)}}


def bundle(entries: Iterable[dict[str, Any]], *, timestamp: datetime | None = None) -> dict[str, Any]:
    """A ``collection`` Bundle: a set of resources to read or keep, not a list of orders to a
    server (attunement imports it itself, in its own order and transaction)."""
    out: dict[str, Any] = {"resourceType": "Bundle", "type": "collection"}
    if timestamp is not None:
        out["timestamp"] = _instant(timestamp)
    out["entry"] = list(entries)
    return out


def patient(public_id: str, *, base: str | None) -> dict[str, Any]:
    """The client as an opaque id and nothing else."""
    return {
        "resourceType": "Patient",
        "identifier": [{"system": identifier_system("client", base), "value": public_id}],
    }


def user_identifier(username: str, base: str | None) -> dict[str, Any]:
    return {"system": identifier_system("user", base), "value": username}


def episode_of_care(
    *,
    public_id: str,
    number: int,
    active: bool,
    started_on: date,
    ended_on: date | None,
    end_reason: str | None,
    care_manager: str,
    client_group: str | None,
    patient_url: str,
    base: str | None,
) -> dict[str, Any]:
    """One episode of care: its number (as an identifier), status, period, why it ended and the
    clinician in charge (their username)."""
    extensions = []
    if end_reason:
        extensions.append({"url": extension_url("end-reason"), "valueCode": end_reason})
    if client_group:
        extensions.append({"url": extension_url("client-group"), "valueString": client_group})
    period = {"start": started_on.isoformat()}
    if ended_on is not None:
        period["end"] = ended_on.isoformat()
    resource: dict[str, Any] = {"resourceType": "EpisodeOfCare"}
    if extensions:
        resource["extension"] = extensions
    resource |= {
        "identifier": [{"system": identifier_system("episode", base), "value": f"{public_id}/{number}"}],
        "status": "active" if active else "finished",
        "patient": {"reference": patient_url},
        "period": period,
        "careManager": {"identifier": user_identifier(care_manager, base)},
    }
    return resource


def session_extensions(episode_url: str, session: int, rater: str) -> list[dict[str, Any]]:
    """Where a response or score belongs: its episode of care, its session, who answered."""
    return [
        {"url": extension_url("episode-of-care"), "valueReference": {"reference": episode_url}},
        {"url": extension_url("session"), "valueInteger": int(session)},
        {"url": extension_url("rater"), "valueCode": rater},
    ]


def observation(
    *,
    instrument: str,
    short_name: str,
    total: float,
    band: str | None,
    session: int,
    rater: str,
    effective: datetime,
    patient_url: str,
    episode_url: str,
    derived_from: str | None,
    base: str | None,
) -> dict[str, Any]:
    """One form's total score. ``derived_from``: the QuestionnaireResponse it was scored from, or
    None for a score recorded as it was given (an imported table's ready-made score)."""
    codings = [{"system": code_system("scores", base), "code": instrument, "display": f"{short_name} score"}]
    known = SCORE_CODES.get(instrument)
    if known is not None:
        codings.insert(0, {"system": known.system, "code": known.code})
    resource: dict[str, Any] = {
        "resourceType": "Observation",
        "extension": session_extensions(episode_url, session, rater),
        "status": "final",
        "category": [{"coding": [SURVEY]}],
        "code": {"coding": codings, "text": f"{short_name} score"},
        "subject": {"reference": patient_url},
        "effectiveDateTime": _instant(effective),
        "valueQuantity": {"value": _number(total)},
    }
    if band is not None:
        resource["interpretation"] = [
            {
                "coding": [
                    {"system": code_system("score-bands", base), "code": band_code(band), "display": band}
                ],
                "text": band,
            }
        ]
    if derived_from is not None:
        resource["derivedFrom"] = [{"reference": derived_from}]
    return resource


def band_code(label: str) -> str:
    """A band label as a code: lower case, words joined by hyphens ("moderately-severe")."""
    return re.sub(r"[^a-z0-9]+", "-", label.lower()).strip("-") or "band"


def flag(
    *,
    kind: str,
    label: str,
    reason: str,
    severity: str,
    opened_at: datetime,
    patient_url: str,
    episode_url: str,
    base: str | None,
) -> dict[str, Any]:
    """An open alert: its kind, the reason in the words the clinician reads, since when."""
    return {
        "resourceType": "Flag",
        "extension": [
            {"url": extension_url("episode-of-care"), "valueReference": {"reference": episode_url}},
            {"url": extension_url("severity"), "valueCode": severity},
        ],
        "status": "active",
        "code": {
            "coding": [{"system": code_system("alert-kinds", base), "code": kind, "display": label}],
            "text": reason,
        },
        "subject": {"reference": patient_url},
        "period": {"start": _instant(opened_at)},
    }


def risk_assessment(
    *,
    kind: str,
    label: str,
    reason: str,
    probability: float,
    at: datetime,
    patient_url: str,
    episode_url: str,
    base: str | None,
) -> dict[str, Any]:
    """A forecast probability behind an alert: what it is the probability of, and how likely."""
    return {
        "resourceType": "RiskAssessment",
        "extension": [
            {"url": extension_url("episode-of-care"), "valueReference": {"reference": episode_url}}
        ],
        "status": "final",
        "code": {"coding": [{"system": code_system("alert-kinds", base), "code": kind, "display": label}]},
        "subject": {"reference": patient_url},
        "occurrenceDateTime": _instant(at),
        "prediction": [{"outcome": {"text": reason}, "probabilityDecimal": round(float(probability), 6)}],
    }


def extension_value(resource: Mapping[str, Any], name: str) -> Any:
    """The value of the project's extension ``name`` on a resource, or None."""
    url = extension_url(name)
    for ext in resource.get("extension") or []:
        if isinstance(ext, Mapping) and ext.get("url") == url:
            return next((v for k, v in ext.items() if k.startswith("value")), None)
    return None


def identifier_value(resource: Mapping[str, Any], kind: str, base: str | None = None) -> str | None:
    """The value of the project's identifier of ``kind`` (any base when ``base`` is None)."""
    raw = resource.get("identifier")
    for ident in raw if isinstance(raw, list) else [raw]:
        if not isinstance(ident, Mapping) or not ident.get("value"):
            continue
        system = str(ident.get("system") or "")
        wanted = identifier_system(kind, base)
        if system == wanted or (
            base is None
            and (system.endswith(f":namingsystem:{kind}") or system.endswith(f"/NamingSystem/{kind}"))
        ):
            return str(ident["value"])
    return None


def dumps(resource: Any) -> str:
    """FHIR JSON as attunement writes it: UTF-8, keys in the order built."""
    return json.dumps(resource, ensure_ascii=False)


def _instant(moment: datetime) -> str:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).isoformat()


def _number(value: float) -> int | float:
    return int(value) if float(value).is_integer() else round(float(value), 6)
