"""One FHIR QuestionnaireResponse to checked answers, and answers back to a QuestionnaireResponse.

:func:`read_response` is the FHIR door into the same answers a web form gives: it checks the
resource against the FHIR model, then every answer against the instrument's Questionnaire, and
reports every problem at once, each naming its linkId and what was expected. It asks what the web
form asks (:func:`attunement.web.questionnaires.parse_answers`): every scored item answered with
one of its allowed values, a free-text answer of at most :data:`MAX_TEXT` characters, and the
scoring engine's last word. A response that cannot be stored but holds a risk answer says so in
its error, so that refusing it never hides that answer from the person importing it.

:func:`write_response` is the way out: the answer option's own Coding (system, code and display
exactly as the definition has them, so never wording a licence keeps out) with its ordinal.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from pydantic import ValidationError

from attunement.errors import FieldProblem, InvalidInputError, UnknownInstrumentError
from attunement.fhir.canonical import canonical, instrument_of, questionnaire_url
from attunement.instruments import critical_flags, get_instrument, instrument_ids, score
from attunement.instruments.definition import ORDINAL_VALUE_URL, Instrument, ItemSpec, _fmt, option_ordinal

#: The longest free-text answer kept, as on the web form.
MAX_TEXT = 2000
#: The statuses of a response whose answers count: finished, or finished and then corrected.
USABLE_STATUS = ("completed", "amended")
#: The extension on a QuestionnaireResponse naming the session of the episode it belongs to
#: (``valueInteger``; 0 = the assessment before treatment).
SESSION_EXTENSION = canonical(None, "StructureDefinition", "session")

#: The highest session number a response may name (far beyond any course of therapy).
MAX_SESSION = 9999

_PARTIAL_DATE = re.compile(r"^\d{4}(-\d{2})?$")


@dataclass(frozen=True)
class ReadResponse:
    """The checked content of one QuestionnaireResponse."""

    instrument: str  # instrument id, from QR.questionnaire canonical
    answers: dict[str, float]  # linkId -> number, every answered numeric/choice item
    comment: str | None  # a text item's answer (e.g. the check-in's open question), else None
    identifier: str | None  # "system|value", or "value" when no system
    authored: datetime | None
    status: str


def read_response(resource: dict[str, Any], *, complete: bool = True) -> ReadResponse:
    """The answers of one QuestionnaireResponse, checked against its instrument's Questionnaire.

    Raises :class:`InvalidInputError` listing every problem, each naming the linkId (or the
    resource's field) and what was expected; nothing is returned unless all is well.
    ``complete=False`` reads a form as it was stored, items left out included (a restore of
    attunement's own export, whose history may hold partial forms); new answers are read with
    the default, which asks what the web form asks.
    """
    _check_model(resource)
    reference = str(resource.get("questionnaire") or "")
    problems: list[FieldProblem] = []
    try:
        instrument = get_instrument(instrument_of(reference))
    except UnknownInstrumentError:
        expected = (
            "a questionnaire attunement has, e.g. urn:attunement:questionnaire:phq9; one of "
            + ", ".join(instrument_ids())
        )
        raise InvalidInputError(
            "QuestionnaireResponse", [FieldProblem("questionnaire", reference or None, expected)]
        ) from None
    status = str(resource.get("status"))
    if status not in USABLE_STATUS:
        problems.append(
            FieldProblem("status", status, "completed or amended (a finished response; this one is not)")
        )
    answers, texts = _answers(instrument, resource.get("item") or [], problems)
    for link_id in instrument.scoring.items if complete else ():
        if link_id not in answers and not _already_reported(link_id, problems):
            problems.append(FieldProblem(link_id, None, f"an answer: {instrument.items[link_id].expected()}"))
    authored = _authored(resource.get("authored"), problems)
    if not problems:
        try:  # the scoring engine has the last word on validity, as for a web form
            score(instrument, answers, allow_incomplete=not complete)
        except InvalidInputError as exc:
            problems.extend(exc.problems)
    if problems:
        raise InvalidInputError(_context(instrument, answers), problems)
    return ReadResponse(
        instrument=instrument.id,
        answers=answers,
        comment=next(iter(texts.values()), None),
        identifier=_identifier(resource.get("identifier")),
        authored=authored,
        status=status,
    )


def session_of(resource: Mapping[str, Any]) -> int | None:
    """The session a response names with :data:`SESSION_EXTENSION`, or None."""
    for ext in resource.get("extension") or []:
        if isinstance(ext, Mapping) and ext.get("url") == SESSION_EXTENSION:
            value = ext.get("valueInteger")
            if isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= MAX_SESSION:
                return value
            raise InvalidInputError(
                "QuestionnaireResponse",
                [
                    FieldProblem(
                        f"extension {SESSION_EXTENSION}",
                        value,
                        f"valueInteger, a session number from 0 to {MAX_SESSION}",
                    )
                ],
            )
    return None


def write_response(
    instrument_id: str,
    answers: Mapping[str, float],
    *,
    identifier: str | None,
    authored: datetime | None,
    comment: str | None = None,
    subject: str | None = None,
    base: str | None = None,
    session: int | None = None,
) -> dict[str, Any]:
    """One QuestionnaireResponse holding ``answers`` (linkId -> number) in the Questionnaire's own
    item structure; ``comment`` goes to the instrument's free-text item, ``subject`` is a
    reference such as ``Patient/abc``, ``session`` the episode's session number (an extension)."""
    instrument = get_instrument(instrument_id)
    unknown = [link for link in answers if link not in instrument.items]
    text_item = next((s.link_id for s in instrument.items.values() if s.type in ("string", "text")), None)
    problems = [FieldProblem(link, answers[link], f"an item of {instrument.short_name}") for link in unknown]
    if comment and text_item is None:
        problems.append(
            FieldProblem("comment", comment, f"no comment: {instrument.short_name} has no text item")
        )
    if problems:
        raise InvalidInputError(f"{instrument.short_name} response", problems)
    values: dict[str, dict[str, Any]] = {
        link: _answer_value(instrument, instrument.items[link], float(value))
        for link, value in answers.items()
    }
    if comment and text_item is not None:
        values[text_item] = {"valueString": comment}
    resource: dict[str, Any] = {"resourceType": "QuestionnaireResponse"}
    if session is not None:
        resource["extension"] = [{"url": SESSION_EXTENSION, "valueInteger": int(session)}]
    if identifier:
        system, _, value = identifier.rpartition("|")
        resource["identifier"] = {"system": system, "value": value} if system else {"value": value}
    resource["questionnaire"] = questionnaire_url(instrument.questionnaire["id"], base)
    resource["status"] = "completed"
    if subject:
        resource["subject"] = {"reference": subject}
    if authored is not None:
        resource["authored"] = _fhir_datetime(authored)
    resource["item"] = _write_items(instrument.questionnaire.get("item", []), values)
    return resource


# --- reading -------------------------------------------------------------------------------


def _check_model(resource: Any) -> None:
    """A plain error for JSON that is not a valid FHIR QuestionnaireResponse at all."""
    if not isinstance(resource, Mapping) or resource.get("resourceType") != "QuestionnaireResponse":
        kind = resource.get("resourceType") if isinstance(resource, Mapping) else type(resource).__name__
        raise InvalidInputError(
            "FHIR resource", [FieldProblem("resourceType", kind, "QuestionnaireResponse")]
        )
    from fhir.resources.R4B.questionnaireresponse import QuestionnaireResponse

    try:
        QuestionnaireResponse.model_validate(dict(resource))
    except ValidationError as exc:
        problems = [
            FieldProblem(
                ".".join(str(part) for part in error["loc"] if part != "__root__") or "QuestionnaireResponse",
                _short(error.get("input")),
                f"valid FHIR R4 ({error['msg']})",
            )
            for error in exc.errors()[:20]
        ]
        raise InvalidInputError("Not a valid FHIR QuestionnaireResponse", problems) from None


def _short(value: Any) -> Any:
    text = repr(value)
    return value if len(text) <= 80 else text[:77] + "..."


def _walk(items: list[Any]) -> Iterator[dict[str, Any]]:
    """Every item of the response, groups and answers' nested items included."""
    for item in items:
        if not isinstance(item, dict):
            continue
        yield item
        yield from _walk(item.get("item") or [])
        for answer in item.get("answer") or []:
            if isinstance(answer, dict):
                yield from _walk(answer.get("item") or [])


def _answers(
    instrument: Instrument, items: list[Any], problems: list[FieldProblem]
) -> tuple[dict[str, float], dict[str, str]]:
    containers = {
        i["linkId"]
        for i in _flat(instrument.questionnaire.get("item", []))
        if i.get("type") in ("group", "display")
    }
    values: dict[str, float] = {}
    texts: dict[str, str] = {}
    seen: set[str] = set()
    for item in _walk(items):
        link_id = str(item.get("linkId"))
        given = [a for a in item.get("answer") or [] if isinstance(a, dict)]
        if link_id in containers:
            if given and any(k.startswith("value") for a in given for k in a):
                problems.append(
                    FieldProblem(link_id, "an answer", "no answer: this item is a heading, not a question")
                )
            continue
        spec = instrument.items.get(link_id)
        if spec is None:
            problems.append(
                FieldProblem(
                    link_id,
                    _first_value(given),
                    f"a linkId of {instrument.short_name}: {', '.join(instrument.items)}",
                )
            )
            continue
        if link_id in seen:
            problems.append(FieldProblem(link_id, "answered twice", "each question once"))
            continue
        seen.add(link_id)
        if not given:
            continue
        if len(given) > 1:
            problems.append(FieldProblem(link_id, f"{len(given)} answers", "one answer"))
            continue
        if spec.type in ("string", "text"):
            text = _text(spec, given[0], problems)
            if text:
                texts[link_id] = text
            continue
        number = _number(instrument, spec, given[0], problems)
        if number is not None:
            values[link_id] = number
    return values, texts


def _first_value(answers: list[dict[str, Any]]) -> Any:
    for answer in answers:
        for key, value in answer.items():
            if key.startswith("value"):
                return value
    return None


def _text(spec: ItemSpec, answer: dict[str, Any], problems: list[FieldProblem]) -> str | None:
    if "valueString" not in answer:
        problems.append(FieldProblem(spec.link_id, _value_kind(answer), "valueString (a free-text answer)"))
        return None
    text = str(answer["valueString"]).strip()
    if len(text) > MAX_TEXT:
        problems.append(FieldProblem(spec.link_id, f"{len(text)} characters", f"at most {MAX_TEXT}"))
        return None
    return text or None


def _value_kind(answer: dict[str, Any]) -> str:
    kinds = [k for k in answer if k.startswith("value")]
    return ", ".join(kinds) if kinds else "no value"


def _number(
    instrument: Instrument, spec: ItemSpec, answer: dict[str, Any], problems: list[FieldProblem]
) -> float | None:
    if spec.type == "choice":
        return _choice(instrument, spec, answer, problems)
    if spec.type == "integer":
        raw = answer.get("valueInteger", answer.get("valueDecimal"))
        kinds = "valueInteger (a whole number)"
    elif spec.type == "decimal":
        raw = answer.get("valueDecimal", answer.get("valueInteger"))
        kinds = "valueDecimal or valueInteger"
    else:
        problems.append(
            FieldProblem(spec.link_id, _value_kind(answer), f"no answer: a {spec.type} item is not read")
        )
        return None
    if raw is None or isinstance(raw, bool) or not isinstance(raw, int | float):
        problems.append(FieldProblem(spec.link_id, _value_kind(answer), kinds))
        return None
    number = float(raw)
    if (
        not math.isfinite(number)
        or (spec.type == "integer" and not number.is_integer())
        or not spec.accepts(number)
    ):
        problems.append(FieldProblem(spec.link_id, raw, spec.expected()))
        return None
    return number


def _choice(
    instrument: Instrument, spec: ItemSpec, answer: dict[str, Any], problems: list[FieldProblem]
) -> float | None:
    options = _options(instrument, spec.link_id)
    if "valueCoding" in answer:
        coding = answer["valueCoding"] or {}
        code, system = coding.get("code"), coding.get("system")
        for option in options:
            given = option.get("valueCoding") or {}
            if (
                code is not None
                and given.get("code") == code
                and (system is None or given.get("system") == system)
            ):
                return option_ordinal(option)
        hint = " (a display alone is not read as the answer)" if code is None else ""
        problems.append(
            FieldProblem(
                spec.link_id,
                _coding_text(coding),
                f"a Coding with the code of one answer option{hint}: " + _codes(options),
            )
        )
        return None
    if "valueInteger" in answer and not isinstance(answer["valueInteger"], bool):
        number = float(answer["valueInteger"])
        if spec.accepts(number):
            return number
        problems.append(FieldProblem(spec.link_id, answer["valueInteger"], spec.expected()))
        return None
    problems.append(
        FieldProblem(
            spec.link_id, _value_kind(answer), "valueCoding with one answer option's code: " + _codes(options)
        )
    )
    return None


def _coding_text(coding: dict[str, Any]) -> str:
    parts = [f"{k}={coding[k]!r}" for k in ("system", "code", "display") if coding.get(k) is not None]
    return "Coding(" + ", ".join(parts) + ")"


def _codes(options: list[dict[str, Any]]) -> str:
    shown = []
    for option in options:
        coding = option.get("valueCoding") or {}
        where = f"{coding['system']}|" if coding.get("system") else ""
        shown.append(f"{where}{coding.get('code')} (= {_fmt(option_ordinal(option))})")
    return ", ".join(shown)


def _options(instrument: Instrument, link_id: str) -> list[dict[str, Any]]:
    item = next(i for i in _flat(instrument.questionnaire.get("item", [])) if i.get("linkId") == link_id)
    return list(item.get("answerOption", []))


def _already_reported(link_id: str, problems: list[FieldProblem]) -> bool:
    return any(p.field == link_id for p in problems)


def _authored(raw: Any, problems: list[FieldProblem]) -> datetime | None:
    if raw is None:
        return None
    text = str(raw)
    if _PARTIAL_DATE.match(text):
        problems.append(FieldProblem("authored", text, "a full date (YYYY-MM-DD) or date and time"))
        return None
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        problems.append(FieldProblem("authored", text, "a FHIR dateTime such as 2026-03-01T10:30:00+00:00"))
        return None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _identifier(raw: Any) -> str | None:
    if isinstance(raw, list):  # a list is what later FHIR versions allow; R4 has one
        raw = raw[0] if raw else None
    if not isinstance(raw, Mapping) or not raw.get("value"):
        return None
    system, value = raw.get("system"), str(raw["value"])
    return f"{system}|{value}" if system else value


def _context(instrument: Instrument, answers: Mapping[str, float]) -> str:
    """The headline of a refusal; it names any risk answer, so a refusal never hides one."""
    risky = [f for f in critical_flags(instrument, answers) if f.kind != "critical_item_unanswered"]
    if not risky:
        return f"{instrument.short_name} QuestionnaireResponse not stored"
    return (
        f"{instrument.short_name} QuestionnaireResponse not stored, but it holds a risk answer that a "
        f"clinician must see now ({'; '.join(f.reason for f in risky)}); fix the problems and import it again"
    )


# --- writing -------------------------------------------------------------------------------


def _answer_value(instrument: Instrument, spec: ItemSpec, value: float) -> dict[str, Any]:
    if not spec.accepts(value):
        raise InvalidInputError(
            f"{instrument.short_name} response", [FieldProblem(spec.link_id, value, spec.expected())]
        )
    if spec.type == "choice":
        for option in _options(instrument, spec.link_id):
            ordinal = option_ordinal(option)
            if ordinal is not None and math.isclose(ordinal, value):
                if "valueCoding" not in option:
                    return {"valueInteger": int(value)}
                coding = {
                    k: option["valueCoding"][k]
                    for k in ("system", "code", "display")
                    if k in option["valueCoding"]
                }
                coding["extension"] = [{"url": ORDINAL_VALUE_URL, "valueDecimal": _plain_number(ordinal)}]
                return {"valueCoding": coding}
    if spec.type == "integer":
        return {"valueInteger": int(value)}
    return {"valueDecimal": _plain_number(value)}


def _write_items(items: list[dict[str, Any]], values: Mapping[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """The answered items in the Questionnaire's order and nesting (groups kept, empty ones left out)."""
    out: list[dict[str, Any]] = []
    for item in items:
        link_id = item["linkId"]
        if item.get("type") == "group":
            inner = _write_items(item.get("item", []), values)
            if inner:
                out.append({"linkId": link_id, "item": inner})
        elif link_id in values:
            out.append({"linkId": link_id, "answer": [values[link_id]]})
    return out


def _fhir_datetime(moment: datetime) -> str:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.isoformat()


def _flat(items: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    for item in items:
        yield item
        yield from _flat(item.get("item", []))


def _plain_number(value: float) -> int | float:
    return int(value) if float(value).is_integer() else float(value)
