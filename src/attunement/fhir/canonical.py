"""Canonical addresses of what attunement defines itself (questionnaires, code systems, extensions).

One rule for every address, so that the forms, the scores and the flags a clinic exports name the
same things the same way: under a URN base (the default, ``urn:attunement``) names are joined with
colons, the shape the shipped definitions already use (``urn:attunement:questionnaire:phq9``,
``urn:attunement:codesystem:checkin``); under a web base (a clinic's own
``https://clinic.example/fhir``) they are FHIR-style paths (``…/Questionnaire/phq9``). The base
is chosen in one place, :func:`fhir_base`: ``ATTUNEMENT_FHIR_BASE`` when set, else the server's
public address with ``/fhir`` (where the server answers ``GET /fhir/Questionnaire/{id}``).
"""

from __future__ import annotations

import os
from collections.abc import Mapping

#: The base of every canonical address when neither a base nor the server's address is known.
DEFAULT_BASE = "urn:attunement"
#: The environment variable that sets the base of the canonical addresses
#: (e.g. ``https://clinic.example/fhir``).
BASE_VARIABLE = "ATTUNEMENT_FHIR_BASE"
#: Where the server answers FHIR reads, under its public address.
FHIR_PATH = "/fhir"


def fhir_base(server_url: str | None, environ: Mapping[str, str] | None = None) -> str:
    """The base of the canonical addresses: ``ATTUNEMENT_FHIR_BASE`` when set, else the server's
    public address with ``/fhir``, else :data:`DEFAULT_BASE`."""
    environ = os.environ if environ is None else environ
    configured = environ.get(BASE_VARIABLE, "").strip().rstrip("/")
    if configured:
        return configured
    return server_url.strip().rstrip("/") + FHIR_PATH if server_url and server_url.strip() else DEFAULT_BASE


def canonical(base: str | None, kind: str, name: str) -> str:
    """The canonical address of ``name`` of resource ``kind`` ("Questionnaire", "CodeSystem",
    "StructureDefinition") under ``base``."""
    root = (base or DEFAULT_BASE).rstrip("/:")
    if root.startswith("urn:"):
        return f"{root}:{kind.lower()}:{name}"
    return f"{root}/{kind}/{name}"


def questionnaire_url(questionnaire_id: str, base: str | None = None) -> str:
    """The canonical address of a Questionnaire, by its FHIR id (``caregiver-report`` for the
    instrument ``caregiver_report``: FHIR ids allow no underscore)."""
    return canonical(base, "Questionnaire", questionnaire_id)


def instrument_of(reference: str) -> str:
    """The instrument id a ``QuestionnaireResponse.questionnaire`` names: a URN
    (``urn:attunement:questionnaire:phq9``), any address ending ``/Questionnaire/phq9`` (with or
    without ``|version``), or the bare id."""
    text = reference.strip().split("|", 1)[0].rstrip("/")
    if "/Questionnaire/" in text:
        return text.rsplit("/Questionnaire/", 1)[1]
    if text.startswith("urn:") and ":questionnaire:" in text:
        return text.rsplit(":questionnaire:", 1)[1]
    return text
