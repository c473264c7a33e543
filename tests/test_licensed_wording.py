"""A clinic's licensed wording: checked against the shipped scoring, stored with its history, by
``attunement instruments import``. Every wording here is made up for the tests (``stand_in``:
"Stand-in item 1" ...), never a licensed text."""

from __future__ import annotations

import copy
import json

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from attunement.cli import app
from attunement.errors import InvalidInputError
from attunement.instruments.licensed import MAX_BYTES, check_wording, identify, stand_in
from attunement.store import open_database
from attunement.store.licensed_wording import current_wordings, history, licensed_instruments
from attunement.store.models import AuditEvent, LicensedWordingRow
from attunement.web.questionnaires import build_form, parse_answers

LICENCE = "Made-up licence statement for the tests. (c) Test Holder: https://example.org/licence"


def run(*args: str):
    return CliRunner().invoke(app, list(args), env={"COLUMNS": "200"})


@pytest.fixture
def url(tmp_path):
    return f"sqlite:///{tmp_path / 'clinic.db'}"


def _file(tmp_path, data, name="wording.json"):
    path = tmp_path / name
    path.write_text(data if isinstance(data, str) else json.dumps(data), encoding="utf-8")
    return str(path)


def _rows(url) -> int:
    db = open_database(url)
    try:
        with db.session() as session:
            return session.scalar(select(func.count()).select_from(LicensedWordingRow))
    finally:
        db.dispose()


def _mismatching() -> dict:
    data = stand_in("core10")
    items = data["item"]  # items[0] is the stand-in note (display)
    del items[3]  # core10_3 missing
    items[1]["answerOption"] = items[1]["answerOption"][:4]  # core10_1: 0-3 instead of 0-4
    items[4]["type"] = "string"  # core10_5: wrong type
    items[4].pop("answerOption")
    items.append({"linkId": "core10_11", "type": "choice", "text": "Test item 11", "answerOption": []})
    return data


@pytest.mark.parametrize(
    ("change", "where", "expected"),
    [
        (
            lambda d: d.update(item={"linkId": "x"}),
            "questionnaire item",
            "a list of entries, in square brackets",
        ),
        (lambda d: d["item"][1].update(required="maybe"), "item 'core10_1' required", "true or false"),
        (
            lambda d: d["item"][1].update(colour="red"),
            "item 'core10_1' colour",
            "only fields FHIR R4 defines",
        ),
        (lambda d: d["item"][1].update(linkId=5), "linkId", "text in double quotes"),
    ],
)
def test_what_fhir_refuses_in_an_uploaded_form_is_said_in_plain_words(change, where, expected):
    data = stand_in("core10")
    change(data)
    with pytest.raises(InvalidInputError) as refused:
        check_wording(identify(data), data)
    said = [(p.field, p.expected) for p in refused.value.problems]
    assert any(where in field and expected in wanted for field, wanted in said), said
    assert not any("Input should be" in wanted for _, wanted in said), said


def test_a_matching_wording_is_laid_over_the_shipped_scoring():
    data = stand_in("core10")
    instrument = check_wording(identify(data), data)
    assert instrument.id == "core10" and instrument.item_text("core10_6") == "Stand-in item 6"
    assert instrument.scoring.critical_items[0].item == "core10_6"
    assert [i for i in data["item"] if i.get("type") == "choice"][0]["text"] == "Stand-in item 1"


def test_every_difference_is_listed_by_item():
    data = _mismatching()
    with pytest.raises(InvalidInputError) as refused:
        check_wording(identify(data), data)
    text = "\n".join(str(p) for p in refused.value.problems)
    assert len(refused.value.problems) == 4, text
    assert "'core10_3' (question 3)" in text and "the file lacks it" in text
    assert "'core10_1' (question 1): got 'answer values 0, 1, 2, 3'" in text
    assert "answer values 0, 1, 2, 3, 4, as the scoring definition scores it" in text
    assert "'core10_5' (question 5): got 'type string', expected type choice" in text
    assert "core10_11" in text and "an extra item" in text


def test_the_cli_refuses_a_mismatching_file_listing_every_difference_and_stores_nothing(tmp_path, url):
    result = run(
        "instruments", "import", _file(tmp_path, _mismatching()),
        "--licence", LICENCE, "--supplied-by", "Dr Test", "--database", url,
    )  # fmt: skip
    assert result.exit_code == 2, result.output
    assert "4 problem(s)" in result.output
    for item in ("core10_3", "core10_1", "core10_5", "core10_11"):
        assert item in result.output
    assert _rows(url) == 0
    as_json = run(
        "instruments", "import", _file(tmp_path, _mismatching()),
        "--licence", LICENCE, "--supplied-by", "Dr Test", "--database", url, "--json",
    )  # fmt: skip
    assert as_json.exit_code == 2
    answer = json.loads(as_json.output)
    assert answer["error"] == "The licensed wording was not stored" and len(answer["problems"]) == 4
    assert _rows(url) == 0


def test_the_cli_stores_a_matching_file_and_keeps_every_earlier_upload(tmp_path, url):
    first = run(
        "instruments", "import", _file(tmp_path, stand_in("core10")),
        "--licence", LICENCE, "--supplied-by", "Dr Test", "--database", url,
    )  # fmt: skip
    assert first.exit_code == 0, first.output
    assert "Stored the licensed wording of CORE-10 (10 items), supplied by Dr Test" in first.output
    newer = stand_in("core10")
    newer["item"][1]["text"] = "Test item 1, second version"
    second = run(
        "instruments", "import", _file(tmp_path, newer), "--instrument", "CORE-10",
        "--licence", "Second made-up statement", "--supplied-by", "Ms Other", "--database", url, "--json",
    )  # fmt: skip
    assert second.exit_code == 0, second.output
    assert json.loads(second.output)["earlier_uploads_kept"] == 1
    db = open_database(url)
    try:
        with db.session() as session:
            kept = history(session, "core10")
            assert [r.supplied_by for r in kept] == ["Ms Other", "Dr Test"]
            assert kept[1].licence_statement == LICENCE
            assert licensed_instruments(session) == {"core10"}
            wording = current_wordings(session)["core10"]
            assert wording.statement == "Second made-up statement"
            form = build_form("core10", {"core10": wording})
            assert form.questions[0].text == "Test item 1, second version"
            assert form.questions[0].options[4].label == "Stand-in answer 4"
            assert "Second made-up statement" in form.attribution
            audited = session.scalars(select(AuditEvent.detail).where(AuditEvent.action == "import_wording"))
            assert [d.split(":")[0] for d in audited] == ["core10", "core10"]
    finally:
        db.dispose()


@pytest.mark.parametrize(
    "content, expected",
    [
        ("{not json", "not JSON (line 1, column 2)"),
        ("", "an empty file"),
        ("[1, 2]", "one JSON object"),
        (json.dumps({"resourceType": "Patient"}), 'expected "Questionnaire"'),
        (
            json.dumps({"resourceType": "Questionnaire", "status": "active", "id": "nothing"}),
            "names a measure",
        ),
        (
            json.dumps({"resourceType": "Questionnaire", "status": "active", "id": "phq9"}),
            "installed already",
        ),
        (
            json.dumps({"resourceType": "Questionnaire", "id": "core10", "item": [{"linkId": "x"}]}),
            "item 'x'",
        ),
        ("x" * (MAX_BYTES + 1), "at most 200 KiB"),
    ],
)
def test_a_bad_file_is_refused_in_plain_words_and_nothing_is_stored(tmp_path, url, content, expected):
    result = run(
        "instruments", "import", _file(tmp_path, content),
        "--licence", LICENCE, "--supplied-by", "Dr Test", "--database", url,
    )  # fmt: skip
    assert result.exit_code == 2, result.output
    assert expected in " ".join(result.output.split()), result.output
    assert "Traceback" not in result.output
    assert _rows(url) == 0


def test_a_missing_statement_an_unknown_instrument_and_a_missing_file_are_refused(tmp_path, url):
    path = _file(tmp_path, stand_in("core10"))
    blank = run("instruments", "import", path, "--licence", " ", "--supplied-by", "", "--database", url)
    assert blank.exit_code == 2 and "licence statement" in blank.output and "supplied by" in blank.output
    unknown = run(
        "instruments", "import", path, "--instrument", "nope",
        "--licence", LICENCE, "--supplied-by", "Dr Test", "--database", url,
    )  # fmt: skip
    assert unknown.exit_code == 2 and "one of the measures" in unknown.output
    missing = run(
        "instruments", "import", str(tmp_path / "absent.json"),
        "--licence", LICENCE, "--supplied-by", "Dr Test", "--database", url,
    )  # fmt: skip
    assert missing.exit_code == 2 and "cannot read" in missing.output
    assert _rows(url) == 0


def test_answers_to_the_imported_form_are_scored_with_the_shipped_scoring_and_named_in_its_words():
    wordings = {"core10": type("W", (), {"questionnaire": stand_in("core10"), "statement": LICENCE})()}
    answers = {f"core10_{n}": "1" for n in range(1, 11)}
    parsed = parse_answers(["core10"], answers, wordings)
    assert parsed.answers["core10"]["core10_6"] == 1.0
    with pytest.raises(InvalidInputError) as refused:
        parse_answers(["core10"], {**answers, "core10_6": ""}, wordings)
    assert "Stand-in item 6" in str(refused.value)


def test_the_list_still_works_with_its_json_option():
    result = run("instruments", "--json")
    assert result.exit_code == 0 and any(r["id"] == "core10" for r in json.loads(result.output))


def test_the_stand_in_wording_is_not_the_shipped_definition():
    data = stand_in("wai_sr")
    assert data != copy.deepcopy(identify(data).questionnaire)
    assert data["item"][0]["text"].startswith("Stand-in wording for the demo")


@pytest.mark.parametrize("instrument_id", ["core10", "wai_sr"])
def test_the_numbered_form_handed_to_fhir_tools_is_refused_as_licensed_wording(instrument_id):
    """The stand-in a FHIR tool gets for a measure without wording has the right items and values,
    so only its numbered texts tell it apart: a clinic uploading it would give clients questions
    they cannot read."""
    from attunement.fhir.questionnaires import handed_out
    from attunement.instruments import get_instrument

    numbered = handed_out(instrument_id, base="https://clinic.example/fhir", wording=None)
    with pytest.raises(InvalidInputError) as refused:
        check_wording(get_instrument(instrument_id), numbered)
    text = " ".join(f"{p.field} {p.expected}" for p in refused.value.problems)
    assert "numbered stand-in" in text and "licensed_wording_note" in text
    check_wording(get_instrument(instrument_id), stand_in(instrument_id))  # made-up wording still passes
