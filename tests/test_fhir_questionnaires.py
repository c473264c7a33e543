"""The Questionnaires attunement hands to FHIR tools (``attunement.fhir.questionnaires``, the
command ``attunement instruments fhir``): valid for the fhir.resources R4B model, a canonical
address, the clinic's wording only where imported, and a wordless stand-in readable by a form
renderer that never reaches the definitions. Every wording here is made up for the tests
(``stand_in``: "Stand-in item 1" ...), never a licensed text."""

from __future__ import annotations

import json

import pytest
from fhir.resources.R4B.questionnaire import Questionnaire
from typer.testing import CliRunner

from attunement.cli import app
from attunement.errors import DefinitionError
from attunement.fhir.canonical import BASE_VARIABLE, fhir_base
from attunement.fhir.questionnaires import PLACEHOLDER_NOTE_ID, handed_out, question_number
from attunement.instruments import get_instrument, instrument_ids, load_instruments
from attunement.instruments.definition import option_ordinal
from attunement.instruments.licensed import Wording, stand_in
from attunement.instruments.registry import parse_instrument

BASE = "https://clinic.example/fhir"
LICENCE = "Made-up licence statement for the tests. (c) Test Holder: https://example.org/licence"
LICENSED = [i for i in instrument_ids() if not get_instrument(i).licence.item_text_shipped]
SHIPPED = [i for i in instrument_ids() if get_instrument(i).licence.item_text_shipped]


def _answerable(items):
    for item in items:
        if item.get("type") not in ("group", "display"):
            yield item
        yield from _answerable(item.get("item", []))


@pytest.mark.parametrize("instrument_id", instrument_ids())
def test_every_handed_out_questionnaire_is_valid_for_the_r4b_model_with_its_canonical_address(instrument_id):
    form = handed_out(instrument_id, base=BASE, wording=None)
    Questionnaire.model_validate(form)
    definition = get_instrument(instrument_id).questionnaire
    assert form["id"] == definition["id"]
    assert form["url"] == f"{BASE}/Questionnaire/{definition['id']}"
    assert form["version"] == definition["version"]
    assert {"system": "urn:ietf:rfc:3986", "value": definition["url"]} in form["identifier"]
    assert [i["linkId"] for i in _answerable(form["item"])] == list(get_instrument(instrument_id).items)


@pytest.mark.parametrize("instrument_id", LICENSED)
def test_a_licensed_measure_without_wording_is_numbered_items_and_numeric_answers(instrument_id):
    before = json.dumps(get_instrument(instrument_id).questionnaire, sort_keys=True)
    form = handed_out(instrument_id, base=BASE, wording=None)
    assert form["item"][0]["linkId"] == PLACEHOLDER_NOTE_ID
    for item in _answerable(form["item"]):
        assert item["text"] == f"Item {question_number(item)} (licensed wording not installed)"
        for option in item.get("answerOption", []):
            value = option_ordinal(option)
            assert option["valueCoding"]["display"] == (str(int(value)) if value.is_integer() else str(value))
    # Only what is handed out has the stand-in: the definition is untouched and still wordless,
    # and the licence guard refuses the stand-in as it refuses any text in such a definition.
    assert json.dumps(get_instrument(instrument_id).questionnaire, sort_keys=True) == before
    load_instruments.cache_clear()
    assert json.dumps(get_instrument(instrument_id).questionnaire, sort_keys=True) == before
    data = get_instrument(instrument_id).model_dump()
    with pytest.raises(DefinitionError, match="licence forbids"):
        parse_instrument({**data, "questionnaire": form}, origin=f"{instrument_id}.json")


def test_the_clinics_wording_is_laid_over_only_where_it_is_imported():
    wording = Wording(stand_in("core10"), LICENCE)
    form = handed_out("core10", base=BASE, wording=wording)
    Questionnaire.model_validate(form)
    texts = [i["text"] for i in _answerable(form["item"])]
    assert texts == [f"Stand-in item {n}" for n in range(1, 11)]
    assert form["copyright"] == LICENCE
    assert form["url"] == f"{BASE}/Questionnaire/core10"
    # A measure whose wording is shipped keeps its own, whatever is passed.
    phq9 = handed_out("phq9", base=BASE, wording=wording)
    assert phq9["item"][1]["text"] == get_instrument("phq9").questionnaire["item"][1]["text"]
    assert "Stand-in" not in json.dumps(phq9)


@pytest.mark.parametrize("instrument_id", SHIPPED)
def test_a_shipped_form_is_its_definition_with_its_address(instrument_id):
    form = handed_out(instrument_id, base=BASE, wording=None)
    definition = get_instrument(instrument_id).questionnaire
    assert form["item"] == definition["item"]
    assert {k: v for k, v in form.items() if k not in ("url", "identifier")} == {
        k: v for k, v in definition.items() if k != "url"
    }


def test_the_base_comes_from_the_setting_else_the_servers_address():
    assert fhir_base("https://clinic.example/", {}) == "https://clinic.example/fhir"
    assert fhir_base("http://x", {BASE_VARIABLE: " https://fhir.clinic.example/r4/ "}) == (
        "https://fhir.clinic.example/r4"
    )
    assert fhir_base(None, {}) == "urn:attunement"


def run(*args: str, env: dict[str, str] | None = None):
    return CliRunner().invoke(app, list(args), env={"COLUMNS": "200", **(env or {})})


def test_the_command_prints_the_questionnaire_with_the_clinics_wording_from_its_database(tmp_path):
    url = f"sqlite:///{tmp_path / 'clinic.db'}"
    bare = run("instruments", "fhir", "core10", "--base", BASE, "--database", url)
    assert bare.exit_code == 0, bare.output
    assert json.loads(bare.output)["item"][1]["text"] == "Item 1 (licensed wording not installed)"
    path = tmp_path / "wording.json"
    path.write_text(json.dumps(stand_in("core10")), encoding="utf-8")
    done = run(
        "instruments",
        "import",
        str(path),
        "--licence",
        LICENCE,
        "--supplied-by",
        "Dr Test",
        "--database",
        url,
    )
    assert done.exit_code == 0, done.output
    worded = json.loads(run("instruments", "fhir", "core10", "--base", BASE, "--database", url).output)
    assert worded["item"][1]["text"] == "Stand-in item 1" and worded["copyright"] == LICENCE
    without = json.loads(run("instruments", "fhir", "core10", "--base", BASE).output)
    assert "Stand-in" not in json.dumps(without), "no wording without the clinic's database"


def test_the_command_takes_the_configured_base_and_names_an_unknown_instrument():
    form = json.loads(run("instruments", "fhir", "PHQ-9", env={BASE_VARIABLE: BASE}).output)
    assert form["url"] == f"{BASE}/Questionnaire/phq9"
    default = json.loads(
        run("instruments", "fhir", "phq9", env={BASE_VARIABLE: "", "ATTUNEMENT_PUBLIC_URL": ""}).output
    )
    assert default["url"] == "http://127.0.0.1:8000/fhir/Questionnaire/phq9"
    wrong = run("instruments", "fhir", "phq99", "--json")
    assert wrong.exit_code == 2
    assert "unknown instrument 'phq99'" in json.loads(wrong.output)["error"]
