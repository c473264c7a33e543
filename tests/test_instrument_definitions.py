"""The contract every instrument definition file must keep.

Each file loads, carries a valid FHIR R4 Questionnaire, keeps licensed wording out of the repository,
cites every clinical number, and describes its items, ranges, bands and safety items consistently.
Counts and codes below are taken from /work/shared/reference/instruments.md (cited per table).
"""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest
from fhir.resources.R4B.questionnaire import Questionnaire
from pydantic import BaseModel

from attunement.errors import DefinitionError
from attunement.instruments import load_instruments
from attunement.instruments.definition import Bands, Cited, Instrument, Status
from attunement.instruments.registry import DEFINITIONS_DIR, parse_instrument

FILES = sorted(DEFINITIONS_DIR.glob("*.json"))
RESTRICTED_TIERS = ("nc_nd_pack", "import_only")


def raw(instrument_id: str) -> dict:
    return json.loads((DEFINITIONS_DIR / f"{instrument_id}.json").read_text(encoding="utf-8"))


def parsed(path: Path) -> Instrument:
    return parse_instrument(json.loads(path.read_text(encoding="utf-8")), origin=path.name)


def walk_items(items: list[dict]):
    for item in items:
        yield item
        yield from walk_items(item.get("item", []))


def cited_parts(value, where: str = "scoring"):
    """Every Cited object inside a scoring section, with where it sits."""
    if isinstance(value, Cited):
        yield where, value
    if isinstance(value, list):
        for i, part in enumerate(value):
            yield from cited_parts(part, f"{where}[{i}]")
    elif isinstance(value, BaseModel):
        for name in type(value).model_fields:
            yield from cited_parts(getattr(value, name), f"{where}.{name}")


def ids(paths: list[Path]) -> list[str]:
    return [p.stem for p in paths]


# --------------------------------------------------------------------------- loading and FHIR


def test_the_registry_loads_every_file_under_its_own_id():
    assert sorted(load_instruments()) == sorted(ids(FILES))


@pytest.mark.parametrize(
    "instrument_id",
    [
        "phq9",
        "gad7",
        "phq2",
        "gad2",
        "phq4",
        "auditc",
        "urica",
        "readiness_ruler",
        "wai_sr",
        "sai",
        "srs",
        "ors",
        "core10",
        "core_om",
        "cnip",
        "checkin",
        "checkin_therapist",
        "checkin_family",
        "checkin_group",
        "checkin_youth",
    ],
)
def test_every_supported_instrument_is_defined(instrument_id):
    assert instrument_id in load_instruments()


@pytest.mark.parametrize("path", FILES, ids=ids(FILES))
def test_each_form_is_a_valid_fhir_r4_questionnaire(path):
    data = json.loads(path.read_text(encoding="utf-8"))
    form = Questionnaire.model_validate(data["questionnaire"])
    assert form.status in ("active", "draft")
    link_ids = [item["linkId"] for item in walk_items(data["questionnaire"]["item"])]
    assert len(link_ids) == len(set(link_ids)), "linkIds must be unique within a form"


# Item counts: instruments.md section 2 (summary table) and section 3;
# the check-ins have six or seven rated items by design.
@pytest.mark.parametrize(
    ("instrument_id", "n_items"),
    [
        ("phq9", 9),
        ("gad7", 7),
        ("phq2", 2),
        ("gad2", 2),
        ("phq4", 4),
        ("auditc", 3),
        ("urica", 32),
        ("readiness_ruler", 2),
        ("wai_sr", 12),
        ("sai", 6),
        ("srs", 4),
        ("ors", 4),
        ("core10", 10),
        ("core_om", 34),
        ("cnip", 18),
        ("checkin", 6),
        ("checkin_therapist", 6),
        ("checkin_family", 7),
        ("checkin_group", 6),
        ("checkin_youth", 7),
    ],
)
def test_scored_item_counts_match_the_reference(instrument_id, n_items):
    assert len(load_instruments()[instrument_id].scoring.items) == n_items


# Response ranges: instruments.md sections 2 and 3 (SAI: see the file's response_scale, unverified).
@pytest.mark.parametrize(
    ("instrument_id", "low", "high"),
    [
        ("phq2", 0, 3),
        ("gad2", 0, 3),
        ("phq4", 0, 3),
        ("auditc", 0, 4),
        ("urica", 1, 5),
        ("readiness_ruler", 0, 10),
        ("wai_sr", 1, 5),
        ("srs", 0, 10),
        ("ors", 0, 10),
        ("core10", 0, 4),
        ("core_om", 0, 4),
        ("cnip", -3, 3),
        ("checkin", 0, 10),
        ("checkin_therapist", 0, 10),
        ("checkin_family", 0, 10),
        ("checkin_group", 0, 10),
        ("checkin_youth", 0, 10),
    ],
)
def test_every_scored_item_has_the_published_response_range(instrument_id, low, high):
    instrument = load_instruments()[instrument_id]
    for link_id in instrument.scoring.items:
        spec = instrument.items[link_id]
        assert (spec.low, spec.high) == (low, high), link_id


@pytest.mark.parametrize("path", FILES, ids=ids(FILES))
def test_the_stated_total_range_follows_from_the_items(path):
    instrument = parsed(path)
    scoring = instrument.scoring
    if scoring.method is None:
        assert scoring.range is None or scoring.range[0] < scoring.range[1]
        return
    lows = [instrument.items[i].low for i in scoring.items]
    highs = [instrument.items[i].high for i in scoring.items]
    n = len(scoring.items)
    expected = {
        "sum": (sum(lows), sum(highs)),
        "mean": (sum(lows) / n, sum(highs) / n),
        "mean_x10": (10 * sum(lows) / n, 10 * sum(highs) / n),
    }[scoring.method]
    assert scoring.range == pytest.approx(expected)


# --------------------------------------------------------------------------- licence


@pytest.mark.parametrize("path", FILES, ids=ids(FILES))
def test_no_restricted_wording_is_shipped(path):
    data = json.loads(path.read_text(encoding="utf-8"))
    licence = data["licence"]
    if licence["tier"] in RESTRICTED_TIERS:
        assert licence["item_text_shipped"] is False
    if licence["item_text_shipped"]:
        return
    for item in walk_items(data["questionnaire"]["item"]):
        assert "text" not in item, item["linkId"]
        for option in item.get("answerOption", []):
            assert "valueString" not in option, item["linkId"]
            assert "display" not in option.get("valueCoding", {}), item["linkId"]


@pytest.mark.parametrize("instrument_id", ["core10", "core_om", "wai_sr", "sai", "srs", "ors", "cnip"])
def test_restricted_instruments_are_scoring_skeletons(instrument_id):
    licence = load_instruments()[instrument_id].licence
    assert licence.tier in RESTRICTED_TIERS
    assert not licence.item_text_shipped


def test_a_restricted_definition_carrying_item_text_is_refused():
    bad = raw("core10")
    bad["questionnaire"]["item"][0]["text"] = "licensed wording pasted in"
    with pytest.raises(DefinitionError, match="carries text but the licence forbids"):
        parse_instrument(bad, origin="core10-copy.json")


def test_a_restricted_definition_carrying_answer_wording_is_refused():
    bad = raw("wai_sr")
    bad["questionnaire"]["item"][0]["answerOption"][0] = {
        "valueCoding": {
            "code": "1",
            "display": "licensed answer wording",
            "extension": [{"url": "http://hl7.org/fhir/StructureDefinition/ordinalValue", "valueDecimal": 1}],
        }
    }
    with pytest.raises(DefinitionError, match="answer wording"):
        parse_instrument(bad, origin="wai_sr-copy.json")


def test_a_restricted_definition_claiming_its_text_may_ship_is_refused():
    bad = raw("srs")
    bad["licence"]["item_text_shipped"] = True
    with pytest.raises(DefinitionError, match="forbids shipping item text"):
        parse_instrument(bad, origin="srs-copy.json")


RENDERING_XHTML = "http://hl7.org/fhir/StructureDefinition/rendering-xhtml"


@pytest.mark.parametrize(
    "where, change",
    [
        ("prefix", lambda q: q["item"][0].update(prefix="1. Made-up question words")),
        ("code display", lambda q: q["item"][0].update(code=[{"code": "x", "display": "made-up words"}])),
        (
            "rendering extension on 'text'",
            lambda q: q["item"][0].update(
                _text={"extension": [{"url": RENDERING_XHTML, "valueString": "x"}]}
            ),
        ),
        (
            "worded extension",
            lambda q: q["item"][0].update(extension=[{"url": RENDERING_XHTML, "valueString": "<b>x</b>"}]),
        ),
        ("rendering extension on 'title'", lambda q: q.update(_title={"extension": []})),
        ("description", lambda q: q.update(description="made-up words")),
        ("contained", lambda q: q.update(contained=[{"resourceType": "ValueSet", "status": "active"}])),
        (
            "answer wording",
            lambda q: q["item"][0]["answerOption"][0]["extension"].append(
                {"url": RENDERING_XHTML, "valueString": "made-up answer"}
            ),
        ),
        (
            "group",
            lambda q: q["item"].insert(
                0, {"linkId": "g", "type": "group", "text": "made-up heading", "item": [q["item"].pop(0)]}
            ),
        ),
    ],
)
def test_a_restricted_definition_carrying_wording_anywhere_is_refused(where, change):
    bad = raw("core10")
    change(bad["questionnaire"])
    with pytest.raises(DefinitionError, match="forbid"):
        parse_instrument(bad, origin="core10-copy.json")


def test_the_good_copies_load_so_the_refusals_above_are_about_the_wording():
    for instrument_id in ("core10", "wai_sr", "srs"):
        assert parse_instrument(copy.deepcopy(raw(instrument_id)), origin="copy.json").id == instrument_id


@pytest.mark.parametrize("path", FILES, ids=ids(FILES))
def test_shipped_forms_word_every_scored_item(path):
    instrument = parsed(path)
    if instrument.licence.item_text_shipped:
        assert all(instrument.items[i].text for i in instrument.scoring.items)


# --------------------------------------------------------------------------- citations


@pytest.mark.parametrize("path", FILES, ids=ids(FILES))
def test_every_clinical_parameter_has_a_source_and_a_status(path):
    instrument = parsed(path)
    scoring = instrument.scoring
    found = list(cited_parts(scoring))
    assert found, "at least the prorating limit is cited"
    for where, part in found:
        assert part.source.strip(), where
        assert isinstance(part.status, Status), where
        assert part.tag == ("" if part.status.is_verified else f"[{part.status.value}]")
    if scoring.reverse:
        assert scoring.reverse_key is not None
    for sub in scoring.subscales:
        assert sub.key is not None, f"subscale {sub.id} needs a cited key"
    assert instrument.licence.source.strip() and isinstance(instrument.licence.status, Status)


@pytest.mark.parametrize("path", FILES, ids=ids(FILES))
def test_unvalidated_forms_say_so(path):
    instrument = parsed(path)
    if instrument.licence.tier == "project" and not instrument.validated:
        text = f"{instrument.description} {instrument.interpretation}".lower()
        assert "validated" in text and "not" in text


# LOINC codes confirmed in instruments.md section 3.1 (PHQ/GAD panels, items, answers) and 3.13 (AUDIT-C
# panel and items); PHQ-9 item codes as in the LHC-Forms PHQ-9; AUDIT-C answer codes from the LOINC answer
# lists LL2179-1 / LL2180-9 / LL2181-7 as used in public LHC/HL7 FHIR content.
CONFIRMED_LOINC = {
    "44249-1",
    "44250-9",
    "44255-8",
    "44259-0",
    "44254-1",
    "44251-7",
    "44258-2",
    "44252-5",
    "44253-3",
    "44260-8",
    "69722-7",
    "LA6572-7",
    "LA6573-5",
    "LA6574-3",
    "LA6575-0",
    "69737-5",
    "69725-0",
    "68509-9",
    "69733-4",
    "69734-2",
    "69735-9",
    "69689-8",
    "69736-7",
    "55757-9",
    "69724-3",
    "LA6568-5",
    "LA6569-3",
    "LA6570-1",
    "LA6571-9",
    "72109-2",
    "68518-0",
    "68519-8",
    "68520-6",
    "LA6270-8",
    "LA18926-8",
    "LA18927-6",
    "LA18928-4",
    "LA18929-2",
    "LA15694-5",
    "LA15695-2",
    "LA18930-0",
    "LA18931-8",
    "LA18932-6",
    "LA18933-4",
    "LA18876-5",
    "LA18891-4",
    "LA18934-2",
}


def loinc_codes(node):
    if isinstance(node, dict):
        if node.get("system") == "http://loinc.org" and "code" in node:
            yield node["code"]
        for value in node.values():
            yield from loinc_codes(value)
    elif isinstance(node, list):
        for value in node:
            yield from loinc_codes(value)


@pytest.mark.parametrize("path", FILES, ids=ids(FILES))
def test_only_confirmed_loinc_codes_are_used(path):
    data = json.loads(path.read_text(encoding="utf-8"))
    assert set(loinc_codes(data["questionnaire"])) <= CONFIRMED_LOINC


# --------------------------------------------------------------------------- bands, subscales, safety


@pytest.mark.parametrize("path", FILES, ids=ids(FILES))
def test_bands_are_contiguous_and_cover_the_range(path):
    instrument = parsed(path)
    bands: Bands | None = instrument.scoring.bands
    if bands is None:
        return
    assert instrument.scoring.range is not None
    low, high = instrument.scoring.range
    assert bands.bands[0].min == low
    assert bands.bands[-1].max == high
    for lower, upper in zip(bands.bands, bands.bands[1:], strict=False):
        assert lower.min <= lower.max
        assert 0 < upper.min - lower.max <= 1, f"gap or overlap between {lower.label!r} and {upper.label!r}"


# Subscale sizes: URICA four 8-item subscales (instruments.md 3.9); WAI-SR 4 items each (3.6);
# CORE-OM domains W 4, P 12, F 12, R 6 (Evans et al. 2002, recalled); C-NIP 5/5/3/5 (3.10).
@pytest.mark.parametrize(
    ("instrument_id", "sizes"),
    [
        ("urica", {"precontemplation": 8, "contemplation": 8, "action": 8, "maintenance": 8}),
        ("wai_sr", {"task": 4, "bond": 4, "goal": 4}),
        ("core_om", {"wellbeing": 4, "problems": 12, "functioning": 12, "risk": 6, "non_risk": 28}),
        ("cnip", {"directiveness": 5, "emotional_intensity": 5, "orientation": 3, "challenge": 5}),
        ("phq4", {"depression": 2, "anxiety": 2}),
        ("readiness_ruler", {"importance": 1, "confidence": 1}),
    ],
)
def test_subscales_have_their_published_sizes(instrument_id, sizes):
    subscales = {s.id: len(s.items) for s in load_instruments()[instrument_id].scoring.subscales}
    assert subscales == sizes


@pytest.mark.parametrize(("instrument_id", "n_subscales"), [("urica", 4), ("wai_sr", 3), ("cnip", 4)])
def test_partitioning_subscales_use_each_item_once(instrument_id, n_subscales):
    scoring = load_instruments()[instrument_id].scoring
    used = [i for s in scoring.subscales[:n_subscales] for i in s.items]
    assert sorted(used) == sorted(scoring.items)


@pytest.mark.parametrize("path", FILES, ids=ids(FILES))
def test_critical_items_exist_and_can_fire(path):
    instrument = parsed(path)
    for critical in instrument.scoring.critical_items:
        spec = instrument.items[critical.item]
        assert spec.low < critical.min_value <= spec.high
        assert critical.reason.strip() and critical.flag


@pytest.mark.parametrize(
    ("instrument_id", "safety_items"),
    [
        ("phq9", {"phq9_9"}),
        ("core10", {"core10_6"}),
        ("core_om", {"core_om_6", "core_om_9", "core_om_16", "core_om_22", "core_om_24", "core_om_34"}),
    ],
)
def test_instruments_with_a_risk_item_flag_it(instrument_id, safety_items):
    critical = {c.item for c in load_instruments()[instrument_id].scoring.critical_items}
    assert critical == safety_items


def test_client_and_therapist_check_ins_pair_item_by_item():
    instruments = load_instruments()
    client, therapist = instruments["checkin"], instruments["checkin_therapist"]
    assert (client.rater, therapist.rater) == ("client", "therapist")
    client_codes = [client.items[i].code for i in client.scoring.items]
    therapist_codes = [therapist.items[i].code for i in therapist.scoring.items]
    assert client_codes == therapist_codes
    assert [i.removeprefix("checkin_") for i in client.scoring.items] == [
        i.removeprefix("checkin_therapist_") for i in therapist.scoring.items
    ]
    assert client.scoring.reverse == ["checkin_judged"]
    assert therapist.scoring.reverse == ["checkin_therapist_judged"]


def test_the_check_in_free_text_question_is_optional_and_unscored():
    instrument = load_instruments()["checkin"]
    text_items = [i for i, spec in instrument.items.items() if spec.type == "text"]
    assert text_items == ["checkin_different"]
    assert "checkin_different" not in instrument.scoring.items
    assert not instrument.items["checkin_different"].required


ROOM_CHECK_INS = {
    # id: (the reverse-keyed item, the codes of its rated items in form order)
    "checkin_family": ("judged", ["heard", "topics", "goals", "together", "respected", "safe", "judged"]),
    "checkin_group": (
        "left_out",
        ["belong", "care", "open", "leader_understood", "leader_goals", "left_out"],
    ),
    "checkin_youth": ("judged", ["heard", "topics", "goals", "respected", "safe", "fit", "judged"]),
}


@pytest.mark.parametrize("instrument_id", sorted(ROOM_CHECK_INS))
def test_the_room_check_ins_are_unvalidated_project_forms_like_the_individual_one(instrument_id):
    instrument = load_instruments()[instrument_id]
    reversed_code, codes = ROOM_CHECK_INS[instrument_id]
    assert (instrument.rater, instrument.direction) == ("client", "higher_is_better")
    assert not instrument.validated
    assert (instrument.licence.tier, instrument.licence.item_text_shipped) == ("project", True)
    assert instrument.domain == load_instruments()["checkin"].domain
    scoring = instrument.scoring
    assert (scoring.method, scoring.range, scoring.critical_items) == ("mean", (0, 10), [])
    assert scoring.items == [f"{instrument_id}_{code}" for code in codes]
    assert [instrument.items[i].code for i in scoring.items] == codes
    assert scoring.reverse == [f"{instrument_id}_{reversed_code}"]
    systems = {
        c["system"] for item in walk_items(instrument.questionnaire["item"]) for c in item.get("code", [])
    }
    assert systems == {"urn:attunement:codesystem:checkin"}
    assert "own earlier answers" in instrument.description and "own earlier answers" in (
        instrument.interpretation or ""
    )


@pytest.mark.parametrize("instrument_id", sorted(ROOM_CHECK_INS))
def test_the_room_check_ins_keep_the_open_question_optional_and_unscored(instrument_id):
    instrument = load_instruments()[instrument_id]
    text_items = [i for i, spec in instrument.items.items() if spec.type == "text"]
    assert text_items == [f"{instrument_id}_different"]
    assert text_items[0] not in instrument.scoring.items
    assert not instrument.items[text_items[0]].required


def test_the_family_check_in_asks_about_shared_purpose_and_safety():
    instrument = load_instruments()["checkin_family"]
    together = instrument.item_text("checkin_family_together")
    assert "couple" in together and "family" in together and "same thing" in together
    assert instrument.item_text("checkin_family_safe") == "I felt safe saying what I really think here today."


def test_the_youth_check_in_reads_in_short_plain_sentences():
    # A readability rule of thumb for about age 11, chosen for attunement: one sentence of at most
    # eight words per rated item, and no word longer than three syllables' worth of letters (10).
    instrument = load_instruments()["checkin_youth"]
    for link_id in instrument.scoring.items:
        text = instrument.item_text(link_id)
        words = text.rstrip(".").split()
        assert text.count(".") == 1 and text.endswith("."), text
        assert len(words) <= 8, text
        assert max(len(w) for w in words) <= 10, text
    intro = instrument.questionnaire["item"][0]["text"]
    assert "0 means not at all" in intro and "10 means totally" in intro


def test_readiness_rulers_carry_the_hl7_pco_codes():
    instrument = load_instruments()["readiness_ruler"]
    codes = {i: instrument.items[i].code for i in instrument.scoring.items}
    assert codes == {"importance": "importance", "confidence": "confidence"}
    system = instrument.questionnaire["code"][0]["system"]
    assert system == "http://hl7.org/fhir/us/pco/CodeSystem/readiness-assessment-concepts"
