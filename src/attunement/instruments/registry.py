"""Load and check the instrument definition files shipped beside this module.

A definition is refused, with the file and the reason, when its FHIR Questionnaire is not valid,
when its scoring section names items the form lacks, or when it carries item wording that its
licence does not let us redistribute (anywhere in the form: see :func:`_restricted_text`). A
clinic's licensed wording never comes through here: it is checked by
:mod:`attunement.instruments.licensed` and kept in the clinic's database.
"""

from __future__ import annotations

import json
import re
from functools import cache
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from attunement.errors import DefinitionError, UnknownInstrumentError
from attunement.instruments.definition import Instrument

DEFINITIONS_DIR = Path(__file__).with_name("definitions")


def parse_instrument(data: dict[str, Any], origin: str = "<data>", *, fhir: bool = True) -> Instrument:
    """Build and check one instrument from its JSON content (``fhir``: also check the form
    against the fhir.resources R4B Questionnaire model, R4's elements, which takes a tenth of a
    second to import)."""
    try:
        if fhir:
            from fhir.resources.R4B.questionnaire import Questionnaire

            Questionnaire.model_validate(data.get("questionnaire", {}))
        instrument = Instrument.model_validate(data)
    except (ValidationError, ValueError) as exc:
        raise DefinitionError(f"{origin}: {exc}") from exc
    problems = consistency_problems(instrument)
    if problems:
        raise DefinitionError(f"{origin}: " + "; ".join(problems))
    return instrument


def consistency_problems(instrument: Instrument) -> list[str]:
    """Ways in which the scoring section and the licence disagree with the form."""
    items = instrument.items
    scoring = instrument.scoring
    problems: list[str] = []

    def need(ids: list[str], where: str) -> None:
        problems.extend(f"{where} names item {i!r}, which the form lacks" for i in ids if i not in items)

    need(scoring.items, "scoring.items")
    need(scoring.reverse, "scoring.reverse")
    if scoring.reverse and scoring.reverse_key is None:
        problems.append("scoring.reverse is set but reverse_key gives no source")
    for sub in scoring.subscales:
        need(sub.items, f"subscale {sub.id}")
        problems.extend(
            f"subscale {sub.id} uses unscored item {i!r}" for i in sub.items if i not in scoring.items
        )
    need([c.item for c in scoring.critical_items], "critical_items")
    subscale_ids = {s.id for s in scoring.subscales}
    for comp in scoring.composites:
        problems.extend(
            f"composite {comp.id} names subscale {s!r}, which is not defined"
            for s in comp.weights
            if s not in subscale_ids
        )
    for link_id in scoring.items:
        spec = items.get(link_id)
        if spec is not None and spec.allowed is None and (spec.min is None or spec.max is None):
            problems.append(f"scored item {link_id!r} has no answer options and no min/max")
    if not instrument.licence.item_text_shipped:
        problems.extend(_restricted_text(instrument))
    return problems


#: A prefix that only numbers a question ("1.", "12", "3a)"): anything longer may be wording.
_NUMBERING = re.compile(r"^\s*[0-9]{1,3}[a-z]?[.)]?\s*$")
#: Extension values that hold words.
_TEXT_VALUES = ("valueString", "valueMarkdown")


def _restricted_text(instrument: Instrument) -> list[str]:
    """Any wording in a form whose licence forbids shipping it: item text, answer wording, code
    displays, prefixes beyond a question number, rendering extensions (``_text``, ``_title``,
    rendering-xhtml or -markdown), extensions with words in them, initial answers, a description
    or purpose, and contained resources (a ValueSet would carry answer wording). The title may
    name the measure; its licensed wording is imported per clinic, never shipped here."""
    questionnaire = instrument.questionnaire
    found: list[str] = []
    for key in ("description", "purpose"):
        if questionnaire.get(key):
            found.append(f"the form carries a {key} but the licence forbids shipping wording")
    found.extend(
        f"the form carries a rendering extension on {key[1:]!r} but the licence forbids shipping wording"
        for key in questionnaire
        if key.startswith("_")
    )
    if questionnaire.get("contained"):
        found.append("the form carries contained resources, which may hold wording the licence forbids")
    found.extend(f"the form {p}" for p in _worded_extensions(questionnaire.get("extension", [])))
    found.extend(f"the form {p}" for p in _code_displays(questionnaire.get("code", [])))

    def walk(items: list[dict[str, Any]]) -> None:
        for item in items:
            where = f"item {item.get('linkId')!r}"
            if item.get("text"):
                found.append(f"{where} carries text but the licence forbids shipping it")
            found.extend(
                f"{where} carries a rendering extension on {key[1:]!r}, which the licence forbids"
                for key in item
                if key.startswith("_")
            )
            prefix = item.get("prefix")
            if prefix is not None and not _NUMBERING.match(str(prefix)):
                found.append(
                    f"{where} carries a prefix beyond a question number ({prefix!r}): the licence forbids it"
                )
            found.extend(f"{where} {p}" for p in _code_displays(item.get("code", [])))
            found.extend(f"{where} {p}" for p in _worded_extensions(item.get("extension", [])))
            for option in item.get("answerOption", []):
                coding = option.get("valueCoding", {})
                if (
                    coding.get("display")
                    or "_display" in coding
                    or "valueString" in option
                    or "_valueString" in option
                    or _worded_extensions(option.get("extension", []) + coding.get("extension", []))
                ):
                    found.append(f"{where} carries answer wording the licence forbids")
            if any(
                "valueString" in i or i.get("valueCoding", {}).get("display") for i in item.get("initial", [])
            ):
                found.append(f"{where} carries an initial answer in words, which the licence forbids")
            walk(item.get("item", []))

    walk(questionnaire.get("item", []))
    return found


def _code_displays(codes: list[dict[str, Any]]) -> list[str]:
    return [
        "carries a code display, which may be wording the licence forbids" for c in codes if c.get("display")
    ]


def _worded_extensions(extensions: list[dict[str, Any]]) -> list[str]:
    """Extensions that hold words (rendering-xhtml, rendering-markdown, entryFormat, ...)."""
    found = []
    for ext in extensions:
        url = str(ext.get("url", ""))
        if "rendering" in url or any(key in ext for key in _TEXT_VALUES):
            found.append(f"carries a worded extension ({url.rsplit('/', 1)[-1]}), which the licence forbids")
        found.extend(_worded_extensions(ext.get("extension", [])))
    return found


@cache
def load_instruments(directory: Path = DEFINITIONS_DIR) -> dict[str, Instrument]:
    """Every instrument in ``directory``, by id. The shipped definitions are checked against the
    FHIR model by their contract test (tests/test_instrument_definitions.py), not at every start;
    any other folder is checked here."""
    found: dict[str, Instrument] = {}
    for path in sorted(directory.glob("*.json")):
        data = json.loads(path.read_text(encoding="utf-8"))
        instrument = parse_instrument(data, origin=path.name, fhir=directory != DEFINITIONS_DIR)
        if instrument.id != path.stem:
            raise DefinitionError(f"{path.name}: id {instrument.id!r} does not match the file name")
        found[instrument.id] = instrument
    return found


def instrument_ids() -> list[str]:
    return list(load_instruments())


def get_instrument(instrument_id: str) -> Instrument:
    """Look an instrument up by id, forgiving case and punctuation ("PHQ-9" finds ``phq9``)."""
    instruments = load_instruments()
    if instrument_id in instruments:
        return instruments[instrument_id]
    wanted = _normalise(instrument_id)
    for key, instrument in instruments.items():
        if _normalise(key) == wanted:
            return instrument
    raise UnknownInstrumentError(instrument_id, list(instruments))


def _normalise(name: str) -> str:
    return "".join(ch for ch in name.lower() if ch.isalnum())
