"""Canonical addresses of what attunement defines itself (questionnaires, code systems, extensions).

One rule for every address, so that the forms, the scores and the flags a clinic exports name the
same things the same way: under a URN base (the default, ``urn:attunement``) names are joined with
colons, the shape the shipped definitions already use (``urn:attunement:questionnaire:phq9``,
``urn:attunement:codesystem:checkin``); under a web base (a clinic's own
``https://clinic.example/fhir``) they are FHIR-style paths (``…/Questionnaire/phq9``). A clinic's
setting can later supply the base; until then :data:`DEFAULT_BASE` is used.
"""

from __future__ import annotations

#: The base of every canonical address when no clinic base is configured.
DEFAULT_BASE = "urn:attunement"


def canonical(base: str | None, kind: str, name: str) -> str:
    """The canonical address of ``name`` of resource ``kind`` ("Questionnaire", "CodeSystem",
    "StructureDefinition") under ``base``."""
    root = (base or DEFAULT_BASE).rstrip("/:")
    if root.startswith("urn:"):
        return f"{root}:{kind.lower()}:{name}"
    return f"{root}/{kind}/{name}"


def questionnaire_url(instrument_id: str, base: str | None = None) -> str:
    """The canonical address of an instrument's Questionnaire."""
    return canonical(base, "Questionnaire", instrument_id)


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
