"""Questionnaires as web forms, and form answers back to checked item values.

Pure functions over instrument definitions: no HTTP, no database. The form shows every scored
item of each instrument (so a safety item such as PHQ-9 item 9 is always on the page) and its
free-text items; every rating must be answered, and each problem names the question.

A measure whose wording attunement does not ship is shown in the clinic's licensed wording
(:class:`~attunement.instruments.licensed.Wording`, which the caller reads from the database),
with the licence statement the clinic supplied under it; its scoring stays the shipped one.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from attunement.errors import FieldProblem, InvalidInputError
from attunement.instruments import Instrument, get_instrument, score
from attunement.instruments.definition import option_ordinal
from attunement.instruments.licensed import Wording, with_wording

MAX_TEXT = 2000
#: The longest answer label shown two to a row on a phone (390 px wide: about 24 characters
#: fit beside the radio button, or wrap once inside a 48 px high target).
SHORT_ANSWER = 24


@dataclass(frozen=True)
class Option:
    value: str
    label: str


@dataclass(frozen=True)
class Question:
    field: str
    number: str
    text: str
    kind: str  # "choice" | "scale" | "text"
    options: tuple[Option, ...]
    low_label: str = ""
    high_label: str = ""
    #: False for a question the client may skip (the form then offers "prefer not to answer").
    required: bool = True
    #: The words of the group this question opens (e.g. what a set of statements is about).
    heading: str = ""
    #: How a problem with the answer names the question (:func:`question_label`).
    label: str = ""

    @property
    def short_options(self) -> bool:
        """Answers short enough to sit two to a row on a phone ("Several days"), which halves
        the height of a frequency question; long ones ("Strongly prefer: ...") keep a row each."""
        return self.kind == "choice" and all(len(o.label) <= SHORT_ANSWER for o in self.options)


@dataclass(frozen=True)
class Form:
    instrument: str
    title: str
    intro: str
    questions: tuple[Question, ...]
    attribution: str


def _instrument(instrument_id: str, wordings: Mapping[str, Wording] | None) -> Instrument:
    """The shipped instrument, in the clinic's licensed wording when it has one and the wording is
    not shipped."""
    instrument = get_instrument(instrument_id)
    wording = (wordings or {}).get(instrument.id)
    if wording is None or instrument.licence.item_text_shipped:
        return instrument
    return with_wording(instrument, wording.questionnaire)


def build_form(instrument_id: str, wordings: Mapping[str, Wording] | None = None) -> Form:
    """The questions of one instrument, in form order, ready for a template (``wordings``: the
    clinic's licensed wordings, by instrument id)."""
    instrument = _instrument(instrument_id, wordings)
    wording = (wordings or {}).get(instrument.id)
    raw = {item["linkId"]: item for item in _flat(instrument.questionnaire.get("item", []))}
    intro = next((i.get("text", "") for i in raw.values() if i.get("type") == "display"), "")
    questions = []
    scored = set(instrument.scoring.items)
    headings = _group_headings(instrument.questionnaire.get("item", []))
    for link_id, spec in instrument.items.items():
        item = raw[link_id]
        prefix = str(item.get("prefix", "")).rstrip(".")
        if spec.type in ("string", "text"):
            questions.append(Question(link_id, prefix, instrument.item_text(link_id), "text", ()))
        elif link_id not in scored:
            continue
        elif spec.allowed is not None:
            options = tuple(
                Option(_plain(value), label)
                for value, label in zip(spec.allowed, _option_labels(item), strict=False)
            )
            questions.append(Question(link_id, prefix, instrument.item_text(link_id), "choice", options))
        else:
            low, high = int(spec.low), int(spec.high)
            options = tuple(Option(str(v), str(v)) for v in range(low, high + 1))
            questions.append(
                Question(
                    link_id,
                    prefix,
                    instrument.item_text(link_id),
                    "scale",
                    options,
                    low_label=f"{low} = not at all",
                    high_label=f"{high} = completely",
                )
            )
    questions = [
        replace(
            q,
            required=instrument.items[q.field].required,
            heading=headings.get(q.field, ""),
            label=question_label(instrument, q.field),
        )
        for q in questions
    ]
    return Form(
        instrument=instrument.id,
        title=instrument.questionnaire.get("title", instrument.name),
        intro=intro,
        questions=tuple(questions),
        attribution=_attribution(instrument, wording),
    )


def _attribution(instrument: Instrument, wording: Wording | None) -> str:
    """The notice under the form: the licence statement the clinic supplied with its wording
    (and the Questionnaire's own copyright line when the statement does not already hold it), or
    the definition's attribution."""
    if wording is None or instrument.licence.item_text_shipped:
        return instrument.licence.attribution or ""
    copyright_line = str(instrument.questionnaire.get("copyright") or "").strip()
    if copyright_line and _same_notice(copyright_line) not in _same_notice(wording.statement):
        return f"{wording.statement}\n{copyright_line}"
    return wording.statement


def _same_notice(text: str) -> str:
    """A notice compared as written either way: "(c)" and "©" alike, spaces and case aside."""
    return " ".join(text.replace("©", "(c)").replace("(C)", "(c)").split()).lower()


@dataclass(frozen=True)
class Parsed:
    answers: dict[str, dict[str, float]]
    texts: dict[str, str]


def parse_answers(
    instrument_ids: list[str], form: Mapping[str, str], wordings: Mapping[str, Wording] | None = None
) -> Parsed:
    """Check the posted answers of several forms; raise one error listing every problem.

    Every scored item must be answered with one of its allowed values. Nothing is returned
    unless all forms are valid, so a caller never stores part of a submission.
    """
    problems: list[FieldProblem] = []
    answers: dict[str, dict[str, float]] = {}
    texts: dict[str, str] = {}
    for instrument_id in instrument_ids:
        instrument = _instrument(instrument_id, wordings)
        values: dict[str, float] = {}
        for link_id in instrument.scoring.items:
            raw = (form.get(link_id) or "").strip()
            label = question_label(instrument, link_id)
            if raw == "":
                problems.append(FieldProblem(label, None, "an answer (please choose one)"))
                continue
            try:
                number = float(raw)
            except ValueError:
                problems.append(FieldProblem(label, raw, instrument.items[link_id].expected()))
                continue
            if not instrument.items[link_id].accepts(number):
                problems.append(FieldProblem(label, raw, instrument.items[link_id].expected()))
                continue
            values[link_id] = number
        for link_id, spec in instrument.items.items():
            if spec.type in ("string", "text") and (form.get(link_id) or "").strip():
                text = form[link_id].strip()
                if len(text) > MAX_TEXT:
                    problems.append(
                        FieldProblem(
                            question_label(instrument, link_id),
                            f"{len(text)} characters",
                            f"at most {MAX_TEXT}",
                        )
                    )
                texts[link_id] = text[:MAX_TEXT]
        if len(values) == len(instrument.scoring.items):
            score(instrument, values)  # the scoring engine has the last word on validity
        answers[instrument_id] = values
    if problems:
        raise InvalidInputError("Some answers need attention", problems)
    return Parsed(answers, texts)


def question_label(instrument: Instrument, link_id: str) -> str:
    """How a problem names a question: the form, the question number and its words."""
    spec = instrument.items[link_id]
    number = link_id.rsplit("_", 1)[-1]
    raw: dict[str, Any] = next(
        (i for i in _flat(instrument.questionnaire.get("item", [])) if i["linkId"] == link_id), {}
    )
    number = str(raw.get("prefix", number)).rstrip(".")
    text = spec.text or link_id
    return f"{instrument.short_name} question {number} ({text})"


def _flat(items):
    for item in items:
        yield item
        yield from _flat(item.get("item", []))


def _group_headings(items) -> dict[str, str]:
    """linkId of the first question of each group -> the group's words."""
    found: dict[str, str] = {}
    for item in items:
        if item.get("type") == "group":
            inner = [i for i in item.get("item", []) if i.get("type") != "display"]
            if inner and item.get("text"):
                found[inner[0]["linkId"]] = item["text"]
            found.update(_group_headings(item.get("item", [])))
    return found


def _option_labels(item) -> list[str]:
    labels = []
    for option in item.get("answerOption", []):
        coding = option.get("valueCoding", {})
        ordinal = option_ordinal(option)
        labels.append(coding.get("display") or ("" if ordinal is None else _plain(ordinal)))
    return labels


def _plain(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:g}"
