"""Turn intake answers (and, when available, URICA, readiness-ruler and C-NIP scores) into a profile.

Why a mapping file: the intake questions were written for attunement and have no published
cut-offs, so every step from an answer to a category is a project choice. Keeping those choices
in ``intake_mapping.json`` lets a clinic read and change them, and keeps bare numbers out of code.
Every observation quotes what the client answered, so a recommendation can say why it was made.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import Any

from pydantic import Field, model_validator

from attunement.datafiles import StrictModel, load_json_model
from attunement.errors import FieldProblem, InvalidInputError
from attunement.instruments.definition import Instrument, Status, option_ordinal
from attunement.instruments.registry import get_instrument, load_instruments
from attunement.instruments.scoring import Answer, ScoreResult, score
from attunement.profile.model import CATEGORIES, DIMENSIONS, Observation, Profile, Strength

MAPPING_FILE = Path(__file__).with_name("intake_mapping.json")


class Band(StrictModel):
    """One category on a number line; bounds are inclusive (at_most/at_least) or strict (above/below)."""

    value: str
    at_most: float | None = None
    at_least: float | None = None
    above: float | None = None
    below: float | None = None

    def holds(self, x: float) -> bool:
        return not (
            (self.at_most is not None and x > self.at_most)
            or (self.at_least is not None and x < self.at_least)
            or (self.above is not None and x <= self.above)
            or (self.below is not None and x >= self.below)
        )


def pick_band(bands: list[Band], x: float) -> str | None:
    found = [b.value for b in bands if b.holds(x)]
    return found[0] if len(found) == 1 else None


class Banding(StrictModel):
    subscale: str
    dimension: str
    describe: str
    bands: list[Band] = Field(min_length=1)
    note: str


class ChoiceValue(StrictModel):
    value: str
    strength: Strength | None = None


class ChoiceMap(StrictModel):
    dimension: str
    values: dict[str, ChoiceValue]


class IntakeMap(StrictModel):
    instrument: str
    status: Status
    source: str
    choices: dict[str, ChoiceMap]
    texts: dict[str, str]
    bands: dict[str, Banding]


class UricaMap(StrictModel):
    instrument: str
    stages: dict[str, str] = Field(description="stage -> URICA subscale id")
    order: list[str]
    readiness_composite: str
    status: Status
    source: str
    note: str


class RulerMap(StrictModel):
    instrument: str
    rulers: dict[str, str] = Field(description="profile dimension -> ruler subscale id")
    bands: list[Band]
    status: Status
    source: str
    note: str


class CnipScale(StrictModel):
    dimension: str
    positive: str
    negative: str


class CitedSetting(StrictModel):
    status: Status
    source: str
    note: str
    value: float | None = None


class CnipMap(StrictModel):
    instrument: str
    scales: dict[str, CnipScale]
    margin: CitedSetting
    pole_key: CitedSetting


class ProfileMapping(StrictModel):
    description: str
    intake: IntakeMap
    urica: UricaMap
    readiness_ruler: RulerMap
    cnip: CnipMap

    @model_validator(mode="after")
    def _known_vocabulary(self) -> ProfileMapping:
        problems: list[str] = []

        def check(dimension: str, values: list[str], where: str) -> None:
            if dimension not in DIMENSIONS:
                problems.append(f"{where}: unknown dimension {dimension!r}")
            elif dimension in CATEGORIES:
                problems.extend(
                    f"{where}: {v!r} is not a category of {dimension}"
                    for v in values
                    if v not in CATEGORIES[dimension]
                )

        for link_id, choice in self.intake.choices.items():
            check(choice.dimension, [v.value for v in choice.values.values()], link_id)
        for link_id, dimension in self.intake.texts.items():
            check(dimension, [], link_id)
        for key, banding in self.intake.bands.items():
            check(banding.dimension, [b.value for b in banding.bands], key)
        for dimension in self.readiness_ruler.rulers:
            check(dimension, [b.value for b in self.readiness_ruler.bands], "readiness_ruler")
        check("stage", list(self.urica.stages), "urica")
        for key, scale in self.cnip.scales.items():
            check(scale.dimension, [scale.positive, scale.negative], f"cnip.{key}")
        if problems:
            raise ValueError("; ".join(problems))
        return self


@cache
def load_mapping(path: Path = MAPPING_FILE) -> ProfileMapping:
    return load_json_model(path, ProfileMapping)


Scores = Mapping[str, Answer] | ScoreResult


def build_profile(
    intake: Mapping[str, Answer] | None = None,
    *,
    urica: Scores | None = None,
    ruler: Scores | None = None,
    cnip: Scores | None = None,
    client_id: str | None = None,
    mapping: ProfileMapping | None = None,
) -> Profile:
    """The profile from intake answers (by linkId) and optional URICA, ruler and C-NIP results.

    URICA, ruler and C-NIP may be given as answers by linkId (scored here with the installed
    definition) or as a ready :class:`ScoreResult`. Where two sources speak to the same dimension,
    the validated measure wins (URICA over the intake stage question, C-NIP over the intake
    preference questions once its pole key is verified) and a note records the disagreement.
    """
    m = mapping or load_mapping()
    found: dict[str, Observation] = {}
    notes: list[str] = []
    if intake:
        found.update(_from_intake(m.intake, intake))
    if ruler is not None:
        found.update(_from_ruler(m.readiness_ruler, _scored(m.readiness_ruler.instrument, ruler)))
    if urica is not None:
        stage = _from_urica(m.urica, _scored(m.urica.instrument, urica))
        if stage is not None:
            _note_disagreement(found.get("stage"), stage, "stage", notes)
            found["stage"] = stage
        else:
            notes.append("URICA could not be scored on every subscale, so it set no stage.")
    if cnip is not None:
        for dimension, obs in _from_cnip(m.cnip, _scored(m.cnip.instrument, cnip), notes).items():
            _note_disagreement(found.get(dimension), obs, dimension, notes)
            found[dimension] = obs
    return Profile(client_id=client_id, notes=notes, **found)


def _note_disagreement(old: Observation | None, new: Observation, dimension: str, notes: list[str]) -> None:
    if old is not None and old.value != new.value:
        notes.append(
            f"{dimension}: {new.source} gives {new.value.replace('_', ' ')}, the {old.source} answer gave "
            f"{old.value.replace('_', ' ')}; {new.source} is used. Talk it through with the client."
        )


def _scored(instrument_id: str, data: Scores) -> ScoreResult:
    if isinstance(data, ScoreResult):
        if data.instrument != instrument_id:
            raise InvalidInputError(
                "profile sources", [FieldProblem(instrument_id, data.instrument, f"a {instrument_id} result")]
            )
        return data
    if instrument_id not in load_instruments():
        raise InvalidInputError(
            "profile sources",
            [FieldProblem(instrument_id, "answers", f"an installed {instrument_id} definition")],
        )
    return score(get_instrument(instrument_id), data)


def answer_codes(instrument: Instrument) -> dict[str, dict[str, float]]:
    """The text code of every answer option (``strongly-agree``, ``somewhat-b`` ...) and the number
    it stands for, by linkId, read from the form so that codes and numbers can never disagree."""
    found: dict[str, dict[str, float]] = {}

    def walk(items: list[dict[str, Any]]) -> None:
        for item in items:
            walk(item.get("item", []))
            for option in item.get("answerOption", []):
                coding = option.get("valueCoding", {})
                ordinal = option_ordinal(option)
                if coding.get("code") is not None and ordinal is not None:
                    found.setdefault(item["linkId"], {})[str(coding["code"])] = float(ordinal)

    walk(instrument.questionnaire.get("item", []))
    return found


def decode_answers(instrument: Instrument, answers: Mapping[str, Answer]) -> dict[str, Answer]:
    """Answers with every option code turned into its number; numbers and free text pass unchanged.

    Intake answers arrive both ways: as the numbers the form's radio buttons post and as the text
    codes of the form definition (what a FHIR QuestionnaireResponse or an exported file carries).
    An answer that is neither a number nor one of the question's codes is refused, naming the
    question and listing what it accepts.
    """
    codes = answer_codes(instrument)
    decoded: dict[str, Answer] = {}
    problems: list[FieldProblem] = []
    for link_id, raw in answers.items():
        options = codes.get(link_id)
        if options and isinstance(raw, str) and raw.strip() != "":
            text = raw.strip()
            if text in options:
                decoded[link_id] = options[text]
                continue
            try:
                float(text)
            except ValueError:
                numbers = ", ".join(_num(v) for v in options.values())
                problems.append(
                    FieldProblem(
                        link_id, raw, f"one of the codes {', '.join(options)} (or the numbers {numbers})"
                    )
                )
                continue
        decoded[link_id] = raw
    if problems:
        raise InvalidInputError(f"{instrument.short_name} answers", problems)
    return decoded


def _from_intake(m: IntakeMap, answers: Mapping[str, Answer]) -> dict[str, Observation]:
    instrument = get_instrument(m.instrument)
    answers = decode_answers(instrument, answers)
    result = score(instrument, answers)
    wording = _wording(instrument)
    values = {k: v for k, v in answers.items() if k in m.choices and v not in (None, "")}
    found: dict[str, Observation] = {}
    for link_id, raw in values.items():
        choice = m.choices[link_id]
        key = _key(float(raw))  # already checked against the form by score()
        mapped = choice.values.get(key)
        if mapped is None:  # e.g. "no preference": nothing to adapt to
            continue
        question, options = wording[link_id]
        found[choice.dimension] = Observation(
            value=mapped.value,
            strength=mapped.strength,
            evidence=f'the client answered "{options.get(key, key)}" to "{question}"',
            source=m.instrument,
            status=m.status,
        )
    for link_id, text in result.texts.items():
        if link_id in m.texts:
            found[m.texts[link_id]] = Observation(
                value=text.strip(),
                evidence=f'the client wrote "{text.strip()}"',
                source=m.instrument,
                status=m.status,
            )
    for banding in m.bands.values():
        mean = result.subscales.get(banding.subscale)
        if mean is None:
            continue
        value = pick_band(banding.bands, mean)
        if value is not None:
            found[banding.dimension] = Observation(
                value=value,
                evidence=banding.describe.format(mean=_num(mean)),
                source=m.instrument,
                status=m.status,
            )
    return found


def _from_urica(m: UricaMap, result: ScoreResult) -> Observation | None:
    means: dict[str, float] = {}
    for stage_name, sub in m.stages.items():
        mean = result.subscales.get(sub)
        if mean is None:
            return None
        means[stage_name] = mean
    best = max(means.values())
    stage = next(s for s in m.order if math.isclose(means[s], best))
    listed = ", ".join(f"{s} {_num(means[s])}" for s in m.order)
    readiness = result.composites.get(m.readiness_composite)
    extra = f"; readiness (C + A + M - PC) {_num(readiness)}" if readiness is not None else ""
    return Observation(
        value=stage,
        evidence=(
            f"the URICA subscale means were {listed}{extra}; the highest, {stage}, is taken as the stage "
            "(an attunement rule, not a validated cut-off)"
        ),
        source=m.instrument,
        status=m.status,
    )


def _from_ruler(m: RulerMap, result: ScoreResult) -> dict[str, Observation]:
    found: dict[str, Observation] = {}
    for dimension, sub in m.rulers.items():
        value = result.subscales.get(sub)
        if value is None:
            continue
        band = pick_band(m.bands, value)
        if band is not None:
            found[dimension] = Observation(
                value=band,
                evidence=f"the client rated {dimension} {_num(value)} of 10 on the readiness ruler",
                source=m.instrument,
                status=m.status,
            )
    return found


def _from_cnip(m: CnipMap, result: ScoreResult, notes: list[str]) -> dict[str, Observation]:
    instrument = get_instrument(m.instrument)
    sizes = {s.id: len(s.items) for s in instrument.scoring.subscales}
    sums = {k: result.subscales.get(k) for k in m.scales}
    shown = ", ".join(f"{k} {_num(v)}" for k, v in sums.items() if v is not None)
    if not m.pole_key.status.is_verified:
        notes.append(
            f"C-NIP scale scores ({shown}) were not used to set preferences: which pole is positive is "
            f"{m.pole_key.status.value}. Discuss the answers with the client."
        )
        return {}
    margin = m.margin.value or 0.0
    found: dict[str, Observation] = {}
    for key, scale in m.scales.items():
        total = sums[key]
        if total is None:
            continue
        per_item = total / sizes[key]
        if abs(per_item) < margin:
            continue
        value = scale.positive if per_item > 0 else scale.negative
        found[scale.dimension] = Observation(
            value=value,
            strength="some",
            evidence=(
                f"the client's C-NIP {key} score was {_num(total)} (mean {_num(per_item)} per item on -3..+3)"
            ),
            source=m.instrument,
            status=m.margin.status,
        )
    return found


def _wording(instrument: Instrument) -> dict[str, tuple[str, dict[str, str]]]:
    """Question text and option labels by linkId, from the shipped form."""
    found: dict[str, tuple[str, dict[str, str]]] = {}

    def walk(items: list[dict[str, Any]]) -> None:
        for item in items:
            if item.get("type") == "group":
                walk(item.get("item", []))
                continue
            options: dict[str, str] = {}
            for option in item.get("answerOption", []):
                coding = option.get("valueCoding", {})
                ordinal = option_ordinal(option)
                if ordinal is not None:
                    options[_key(float(ordinal))] = coding.get("display", "")
            found[item["linkId"]] = (item.get("text", item["linkId"]), options)

    walk(instrument.questionnaire.get("item", []))
    return found


def _key(value: float) -> str:
    return str(int(value)) if value.is_integer() else str(value)


def _num(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value:.2f}".rstrip("0").rstrip(".")


def profile_or_none(answers: Mapping[str, float | str], client_id: str | None = None) -> Profile | None:
    """The profile from stored answers, or None when they no longer fit the questions."""
    try:
        return build_profile(answers, client_id=client_id)
    except InvalidInputError:
        return None
