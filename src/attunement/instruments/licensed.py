"""A clinic's licensed wording for a measure whose wording attunement may not ship.

Pure functions: no database. A clinic that holds a licence (CORE-10, WAI-SR, SRS, ...) supplies
the FHIR ``Questionnaire`` (R4 JSON) it is licensed to use. It is read the way the shipped definitions
are read (:mod:`fhir.resources` checks the resource, :class:`~attunement.instruments.definition.
Instrument` reads its items), then compared with the shipped scoring definition: the same item
ids (linkIds), the same item types and the same answer values per item. Every difference is
reported, naming the item; a file with any difference is refused as a whole.

The wording never joins the shipped definitions (their licence guard in
:mod:`attunement.instruments.registry` still refuses it there): it is kept per clinic in the
database and laid over the definition only when a client's form is built. Scoring, bands,
reliable change and the critical items always come from the shipped definition.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from fhir.resources.R4B.questionnaire import Questionnaire
from pydantic import ValidationError
from pydantic_core import ErrorDetails

from attunement.errors import FieldProblem, InvalidInputError, UnknownInstrumentError
from attunement.instruments.definition import Instrument, ItemSpec, _fmt, _item_spec, option_ordinal
from attunement.instruments.registry import get_instrument, load_instruments

#: Project choice: the largest licensed form (CORE-OM, 34 items with full wording) is a few tens
#: of kilobytes; this leaves room for translations and rendering extensions.
MAX_BYTES = 200 * 1024
#: Project choice: a licence statement is a line or two, such as the holder's copyright notice.
MAX_STATEMENT = 1000
MAX_SUPPLIER = 120

#: Project choice: what a licensed item without imported wording says, by question number.
PLACEHOLDER_TEXT = "Item {number} (licensed wording not installed)"
#: Project choice: the display item that opens such a form, saying why it holds no wording.
PLACEHOLDER_NOTE_ID = "licensed_wording_note"
PLACEHOLDER_NOTE = (
    "attunement does not ship this measure's wording: a clinic that holds a licence imports it. "
    "Each answer is shown by the number it scores."
)


@dataclass(frozen=True)
class Wording:
    """A clinic's licensed wording as a client's form uses it."""

    questionnaire: dict[str, Any]
    statement: str


def importable() -> list[Instrument]:
    """The instruments whose wording is not shipped, so a clinic may supply its own."""
    return [i for i in load_instruments().values() if not i.licence.item_text_shipped]


def read_questionnaire(raw: bytes | str) -> dict[str, Any]:
    """The JSON object of an uploaded file, or an error saying in plain words what is wrong."""
    size = len(raw.encode("utf-8") if isinstance(raw, str) else raw)
    if size == 0:
        raise _refused([FieldProblem("questionnaire file", "an empty file", "a FHIR Questionnaire in JSON")])
    if size > MAX_BYTES:
        raise _refused(
            [FieldProblem("questionnaire file", f"{size // 1024} KiB", f"at most {MAX_BYTES // 1024} KiB")]
        )
    try:
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        where = f" (line {exc.lineno}, column {exc.colno})" if isinstance(exc, json.JSONDecodeError) else ""
        raise _refused(
            [
                FieldProblem(
                    "questionnaire file", f"text that is not JSON{where}", "a FHIR Questionnaire in JSON"
                )
            ]
        ) from None
    if not isinstance(data, dict):
        raise _refused(
            [
                FieldProblem(
                    "questionnaire file", type(data).__name__, "one JSON object (a FHIR Questionnaire)"
                )
            ]
        )
    kind = data.get("resourceType")
    if kind != "Questionnaire":
        raise _refused(
            [
                FieldProblem(
                    "resourceType", str(kind)[:60] if kind else None, '"Questionnaire" (a FHIR R4 form)'
                )
            ]
        )
    return data


def identify(data: dict[str, Any], instrument_id: str | None = None) -> Instrument:
    """The shipped instrument the wording is for: the one named, else the one whose url, id or
    name the Questionnaire carries (as the shipped skeleton has them, e.g. ``core10``)."""
    choices = ", ".join(i.short_name for i in importable())
    if instrument_id:
        try:
            instrument = get_instrument(instrument_id)
        except UnknownInstrumentError:
            raise _refused(
                [FieldProblem("instrument", instrument_id[:60], f"one of the measures: {choices}")]
            ) from None
    else:
        named = _named_by(data)
        if named is None:
            raise _refused(
                [
                    FieldProblem(
                        "instrument",
                        None,
                        f"a Questionnaire whose url, id or name names a measure ({choices}), "
                        "or the measure chosen with the upload",
                    )
                ]
            )
        instrument = named
    if instrument.licence.item_text_shipped:
        raise _refused(
            [
                FieldProblem(
                    "instrument",
                    instrument.short_name,
                    f"a measure whose wording attunement does not ship ({choices}): "
                    f"{instrument.short_name}'s wording is installed already",
                )
            ]
        )
    return instrument


def _named_by(data: dict[str, Any]) -> Instrument | None:
    url = data.get("url")
    for instrument in load_instruments().values():
        if url and instrument.questionnaire.get("url") == url:
            return instrument
    for key in ("id", "name"):
        value = data.get(key)
        if isinstance(value, str) and value:
            try:
                return get_instrument(value)
            except UnknownInstrumentError:
                continue
    return None


def check_wording(instrument: Instrument, data: dict[str, Any]) -> Instrument:
    """The instrument with the clinic's wording laid over it, or one error listing every way the
    Questionnaire differs from the shipped scoring definition."""
    problems = _fhir_problems(data)
    if problems:
        raise _refused(problems)
    found, unreadable, problems = _read_items(data.get("item", []), instrument.short_name)
    problems += _placeholder_problems(data, instrument.short_name)
    expected = instrument.items
    name = instrument.short_name
    for link_id, spec in expected.items():
        if link_id not in found and link_id not in unreadable:
            problems.append(
                FieldProblem(
                    _label(name, link_id, spec),
                    None,
                    f"an item with linkId {link_id!r}: the scoring definition has it, the file lacks it",
                )
            )
    for link_id, spec in found.items():
        want = expected.get(link_id)
        if want is None:
            problems.append(
                FieldProblem(
                    f"{name} item {link_id!r}",
                    "an extra item",
                    f"only the items the scoring definition has ({len(expected)}: {', '.join(expected)})",
                )
            )
            continue
        label = _label(name, link_id, spec)
        if spec.type != want.type:
            problems.append(
                FieldProblem(label, f"type {spec.type}", f"type {want.type}, as the scoring definition has")
            )
            continue
        if _values(spec) != _values(want):
            problems.append(
                FieldProblem(label, _values(spec), f"{_values(want)}, as the scoring definition scores it")
            )
    if problems:
        raise _refused(problems)
    return with_wording(instrument, data)


def _placeholder_problems(data: dict[str, Any], name: str) -> list[FieldProblem]:
    """The form attunement hands to FHIR tools for a measure without wording (numbered items, no
    wording) uploaded as if it were the clinic's licensed wording: refused, since clients would
    then answer questions they cannot read."""
    placeholder = re.compile("^" + re.escape(PLACEHOLDER_TEXT).replace(re.escape("{number}"), ".+") + "$")
    found: list[FieldProblem] = []

    def walk(items: list[Any]) -> None:
        for item in items:
            if not isinstance(item, dict):
                continue
            if item.get("linkId") == PLACEHOLDER_NOTE_ID or placeholder.match(str(item.get("text", ""))):
                found.append(
                    FieldProblem(
                        f"{name} item {item.get('linkId')!r}",
                        str(item.get("text", ""))[:60],
                        "the licensed wording of the question: this is attunement's numbered stand-in, "
                        "which holds none",
                    )
                )
            walk(item.get("item", []))

    walk(data.get("item", []) if isinstance(data.get("item"), list) else [])
    return found


def with_wording(instrument: Instrument, questionnaire: dict[str, Any]) -> Instrument:
    """The shipped instrument (its scoring, licence and critical items) with another form."""
    return Instrument.model_validate({**instrument.model_dump(), "questionnaire": questionnaire})


def check_statement(statement: str, supplied_by: str) -> tuple[str, str]:
    """The licence statement and the supplier's name, tidied, or an error naming what is missing."""
    statement = "\n".join(" ".join(line.split()) for line in statement.strip().splitlines()).strip()
    supplied_by = " ".join(supplied_by.split())
    problems = []
    if not statement:
        problems.append(
            FieldProblem(
                "licence statement",
                None,
                "the licence under which the clinic uses this wording, with the notice the holder "
                "asks to show (shown under the client's form)",
            )
        )
    elif len(statement) > MAX_STATEMENT:
        problems.append(
            FieldProblem("licence statement", f"{len(statement)} characters", f"at most {MAX_STATEMENT}")
        )
    if not supplied_by:
        problems.append(FieldProblem("supplied by", None, "the name of the person who supplies the wording"))
    elif len(supplied_by) > MAX_SUPPLIER:
        problems.append(
            FieldProblem("supplied by", f"{len(supplied_by)} characters", f"at most {MAX_SUPPLIER}")
        )
    if problems:
        raise _refused(problems)
    return statement, supplied_by


def _fhir_problems(data: dict[str, Any]) -> list[FieldProblem]:
    """What FHIR itself finds wrong with the resource (the fhir.resources R4B model, R4's
    Questionnaire elements), one problem per error, item by linkId."""
    try:
        Questionnaire.model_validate(data)
    except ValidationError as exc:
        return [
            FieldProblem(_where(data, error["loc"]), None, _fhir_expected(error))
            for error in exc.errors()[:20]
        ]
    except ValueError as exc:
        return [FieldProblem("questionnaire", None, _plain_message(str(exc)))]
    return []


def _where(data: dict[str, Any], loc: tuple[int | str, ...]) -> str:
    """A location in the resource in words: ``item 'core10_3' type`` rather than ``item.2.type``."""
    words: list[str] = []
    node: Any = data
    for step in loc:
        if isinstance(step, int) and isinstance(node, list) and step < len(node):
            node = node[step]
            link_id = node.get("linkId") if isinstance(node, dict) else None
            words[-1:] = [
                f"{words[-1] if words else 'item'} {link_id!r}" if link_id else f"{words[-1]} {step + 1}"
            ]
            continue
        words.append(str(step))
        node = node.get(step) if isinstance(node, dict) else None
    return "questionnaire " + " ".join(words) if words else "questionnaire"


#: What the FHIR model's kinds of error ask for, in words a person editing the file can act on.
UNKNOWN_FIELD = "only fields FHIR R4 defines here: this name is not one of them"
_EXPECTED_BY_KIND = {
    "list_type": "a list of entries, in square brackets [ ]",
    "dict_type": "an object, in braces { }",
    "model_type": "an object, in braces { }",
    "model_attributes_type": "an object, in braces { }",
    "string_type": "text in double quotes",
    "bool_type": "true or false",
    "bool_parsing": "true or false",
    "int_type": "a whole number",
    "int_parsing": "a whole number",
    "float_type": "a number",
    "float_parsing": "a number",
    "decimal_type": "a number",
    "decimal_parsing": "a number",
    "extra_forbidden": UNKNOWN_FIELD,
}


def _fhir_expected(error: ErrorDetails) -> str:
    """What FHIR R4 expects there, in words."""
    kind = str(error.get("type", ""))
    if kind.endswith("missing") or "is required" in str(error.get("msg", "")):
        return "a value: FHIR R4 requires this field"
    if kind in _EXPECTED_BY_KIND:
        return _EXPECTED_BY_KIND[kind]
    return f"what FHIR R4 allows there ({_plain_message(str(error.get('msg', '')))})"


def _plain_message(message: str) -> str:
    return " ".join(message.split())[:300]


def _read_items(items: list[Any], name: str) -> tuple[dict[str, ItemSpec], set[str], list[FieldProblem]]:
    """Every answerable item, read as the shipped definitions are; an item that cannot be read
    is a problem naming it."""
    found: dict[str, ItemSpec] = {}
    unreadable: set[str] = set()
    problems: list[FieldProblem] = []

    def walk(nodes: list[Any]) -> None:
        for item in nodes:
            if not isinstance(item, dict):
                continue
            kind = item.get("type")
            if kind == "group":
                walk(item.get("item", []))
                continue
            if kind == "display":
                continue
            link_id = str(item.get("linkId"))
            if link_id in found:
                problems.append(FieldProblem(_label(name, link_id, None), "twice", "each linkId once"))
                unreadable.add(link_id)
                continue
            try:
                found[link_id] = _item_spec(item)
            except (KeyError, ValueError, TypeError) as exc:
                unreadable.add(link_id)
                problems.append(
                    FieldProblem(
                        _label(name, link_id, None),
                        None,
                        "answer options that each carry a value (valueInteger, or an ordinalValue "
                        f"extension on the option or its coding): {_plain_message(str(exc))}",
                    )
                )

    walk(items)
    return found, unreadable, problems


def _values(spec: ItemSpec) -> str:
    if spec.allowed is not None:
        return "answer values " + ", ".join(_fmt(a) for a in spec.allowed)
    if spec.min is not None or spec.max is not None:
        return f"answers from {_fmt(spec.min)} to {_fmt(spec.max)}"
    return "no answer values"


def _label(short_name: str, link_id: str, spec: ItemSpec | None) -> str:
    number = link_id.rsplit("_", 1)[-1]
    return (
        f"{short_name} item {link_id!r} (question {number})"
        if number.isdigit()
        else f"{short_name} item {link_id!r}"
    )


def problem_text(problem: FieldProblem) -> str:
    """One problem as a line of plain text (without "got None" for something missing)."""
    if problem.value is None or problem.value == "":
        return f"{problem.field}: expected {problem.expected}"
    return f"{problem.field}: got {problem.value}, expected {problem.expected}"


def _refused(problems: list[FieldProblem]) -> InvalidInputError:
    return InvalidInputError("The licensed wording was not stored", problems)


STAND_IN_NOTE = "Stand-in wording for the demo: not the licensed text"


def stand_in(instrument_id: str) -> dict[str, Any]:
    """A made-up Questionnaire that matches a measure's scoring ("Stand-in item 1", answers
    "Stand-in answer 0" ...): for the demo clinic and the tests, never the licensed wording."""
    instrument = get_instrument(instrument_id)
    data: dict[str, Any] = json.loads(json.dumps(instrument.questionnaire))
    data["title"] = f"{instrument.short_name} (stand-in wording)"

    def fill(items: list[dict[str, Any]]) -> None:
        for item in items:
            if item.get("type") not in ("group", "display"):
                number = str(item.get("prefix", item["linkId"])).rstrip(".")
                item["text"] = f"Stand-in item {number}"
                for option in item.get("answerOption", []):
                    value = _fmt(option_ordinal(option))
                    option["valueCoding"] = {"code": value, "display": f"Stand-in answer {value}"}
            fill(item.get("item", []))

    fill(data.get("item", []))
    data["item"] = [{"linkId": "stand_in_note", "type": "display", "text": STAND_IN_NOTE}, *data["item"]]
    return data
