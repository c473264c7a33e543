"""The Questionnaires attunement hands to FHIR tools (form renderers, EHR apps, validators).

The shipped definitions are written for attunement itself: their ``url`` is a name
(``urn:attunement:questionnaire:phq9``) no tool can resolve, and a measure whose wording
attunement may not ship carries no text at all, so a renderer such as LHC-Forms shows bare
numbers and "undefined". :func:`handed_out` is the form as a FHIR client should get it:

- a resolvable canonical ``url`` (``{base}/Questionnaire/{id}``, where the server answers it;
  ``id`` is the Questionnaire's FHIR id, ``caregiver-report`` for the instrument
  ``caregiver_report``, as FHIR ids allow no underscore) and
  the definition's ``version``, with the old ``urn:`` name kept as an identifier;
- for a licensed measure, the clinic's imported wording laid over the definition when the clinic
  has one, never otherwise;
- for a licensed measure without it, a stand-in that holds no wording: item text "Item 3
  (licensed wording not installed)" and answers shown by their numbers ("0" .. "4"), so a
  renderer shows a readable form.

The stand-in exists only in what is handed out: the definitions on disk stay wordless and the
licence guard (:func:`attunement.instruments.registry._restricted_text`) still refuses any
wording in them. The JSON is FHIR R4 (4.0.1) in shape and is checked with the ``fhir.resources``
R4B (4.3.0) Questionnaire model, whose elements are those of R4 (fhir.resources has no R4
package). Pure: no HTTP, no database; the caller reads the clinic's wording and the base.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from attunement.fhir.canonical import questionnaire_url
from attunement.instruments import get_instrument
from attunement.instruments.definition import Instrument, _fmt, option_ordinal
from attunement.instruments.licensed import PLACEHOLDER_NOTE, PLACEHOLDER_NOTE_ID, PLACEHOLDER_TEXT, Wording

#: The identifier system of a URI (RFC 3986), for the definition's own ``urn:`` name.
URI_SYSTEM = "urn:ietf:rfc:3986"


def handed_out(instrument_id: str, *, base: str, wording: Wording | None) -> dict[str, Any]:
    """The Questionnaire of one instrument as a FHIR client gets it (see the module's doc).

    ``wording`` is the clinic's licensed wording of this measure (already checked against the
    definition when it was imported), or None; it is used only for a measure whose wording
    attunement does not ship. Raises :class:`~attunement.errors.UnknownInstrumentError`."""
    instrument = get_instrument(instrument_id)
    if instrument.licence.item_text_shipped:
        form = copy.deepcopy(instrument.questionnaire)
    elif wording is not None:
        form = _clinic_wording(instrument, wording)
    else:
        form = _placeholder(instrument)
    return _addressed(instrument, form, base)


def _addressed(instrument: Instrument, form: dict[str, Any], base: str) -> dict[str, Any]:
    """The form with its id, canonical address and version first, as FHIR readers expect."""
    definition = instrument.questionnaire
    identifiers = [i for i in form.pop("identifier", []) if i.get("value") != definition["url"]]
    head: dict[str, Any] = {
        "resourceType": "Questionnaire",
        "id": definition["id"],
        "url": questionnaire_url(definition["id"], base),
        "identifier": [{"system": URI_SYSTEM, "value": definition["url"]}, *identifiers],
        "version": definition["version"],
    }
    for key in ("resourceType", "id", "url", "version"):
        form.pop(key, None)
    return {**head, **form}


def _clinic_wording(instrument: Instrument, wording: Wording) -> dict[str, Any]:
    """The clinic's Questionnaire, with the definition's name and status and the licence
    statement the clinic supplied as its copyright (the notice shown under the form)."""
    form = copy.deepcopy(wording.questionnaire)
    form["name"] = instrument.questionnaire.get("name", form.get("name"))
    form["status"] = instrument.questionnaire.get("status", "active")
    if wording.statement:
        form["copyright"] = wording.statement
    return form


def _placeholder(instrument: Instrument) -> dict[str, Any]:
    """The wordless definition made readable: numbered item texts and numeric answer displays."""
    form = copy.deepcopy(instrument.questionnaire)

    def fill(items: list[dict[str, Any]]) -> None:
        for item in items:
            if item.get("type") not in ("group", "display") and not item.get("text"):
                item["text"] = PLACEHOLDER_TEXT.format(number=question_number(item))
            for option in item.get("answerOption", []):
                coding = option.get("valueCoding")
                if coding is not None and not coding.get("display"):
                    value = option_ordinal(option)
                    coding["display"] = _fmt(value) if value is not None else coding.get("code", "")
            fill(item.get("item", []))

    fill(form.get("item", []))
    note = {"linkId": PLACEHOLDER_NOTE_ID, "type": "display", "text": PLACEHOLDER_NOTE}
    form["item"] = [note, *form.get("item", [])]
    return form


def question_number(item: Mapping[str, Any]) -> str:
    """An item's question number: its prefix without the full stop ("3." -> "3"), else the
    number its linkId ends with, else the linkId."""
    prefix = str(item.get("prefix") or "").strip().rstrip(".)")
    if prefix:
        return prefix
    link_id = str(item.get("linkId", ""))
    tail = link_id.rsplit("_", 1)[-1]
    return tail if tail.isdigit() else link_id
