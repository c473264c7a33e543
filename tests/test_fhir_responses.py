"""A QuestionnaireResponse in and out: every problem named by its linkId, nothing read that the web
form would refuse, and what is written reads back the same and is valid FHIR R4 (R4B models)."""

from __future__ import annotations

import copy
from datetime import UTC, datetime

import pytest
from fhir.resources.R4B.questionnaireresponse import QuestionnaireResponse

from attunement.errors import InvalidInputError
from attunement.fhir.canonical import instrument_of, questionnaire_url
from attunement.fhir.responses import ReadResponse, read_response, session_of, write_response
from attunement.instruments import get_instrument, instrument_ids

PHQ9 = {f"phq9_{i}": 1.0 for i in range(1, 10)} | {"phq9_9": 2.0}
WHEN = datetime(2026, 3, 1, 10, 30, tzinfo=UTC)


def _phq9(**changes):
    resource = write_response(
        "phq9", PHQ9, identifier="urn:clinic|qr-1", authored=WHEN, subject="Patient/abc"
    )
    resource.update(changes)
    return resource


def _item(resource, link_id):
    return next(i for i in resource["item"] if i["linkId"] == link_id)


def _problems(resource) -> dict[str, str]:
    with pytest.raises(InvalidInputError) as caught:
        read_response(resource)
    return {p.field: p.expected for p in caught.value.problems}


def test_a_written_response_is_valid_fhir_and_reads_back_the_same():
    resource = _phq9()
    QuestionnaireResponse.model_validate(resource)
    assert read_response(resource) == ReadResponse(
        instrument="phq9",
        answers=PHQ9,
        comment=None,
        identifier="urn:clinic|qr-1",
        authored=WHEN,
        status="completed",
    )


@pytest.mark.parametrize("instrument_id", [i for i in instrument_ids() if i != "intake_profile"])
def test_every_instrument_round_trips_at_its_lowest_answers(instrument_id):
    instrument = get_instrument(instrument_id)
    answers = {link: instrument.items[link].low for link in instrument.scoring.items}
    resource = write_response(instrument_id, answers, identifier=None, authored=None, session=2)
    QuestionnaireResponse.model_validate(resource)
    read = read_response(resource)
    assert read.answers == answers
    assert session_of(resource) == 2


def test_licensed_forms_are_written_without_wording():
    instrument = get_instrument("core10")
    answers = {link: 1.0 for link in instrument.scoring.items}
    resource = write_response("core10", answers, identifier=None, authored=None)
    assert "text" not in str(resource) and "display" not in str(resource)


def test_the_questionnaire_may_be_named_three_ways():
    for reference in (
        "urn:attunement:questionnaire:phq9",
        "https://forms.example/fhir/Questionnaire/phq9|1",
        "phq9",
    ):
        assert instrument_of(reference) == "phq9"
        assert read_response(_phq9(questionnaire=reference)).instrument == "phq9"
    assert questionnaire_url("phq9", "https://c.example/fhir/") == "https://c.example/fhir/Questionnaire/phq9"


def test_problems_are_named_by_link_id():
    resource = _phq9()
    resource["item"] = copy.deepcopy(resource["item"]) + [
        {"linkId": "phq9_99", "answer": [{"valueInteger": 1}]}
    ]
    _item(resource, "phq9_1")["answer"] = [{"valueString": "often"}]  # wrong type
    _item(resource, "phq9_2")["answer"] = [{"valueInteger": 7}]  # out of range
    _item(resource, "phq9_3")["answer"] = [{"valueCoding": {"display": "2"}}]  # a display only
    _item(resource, "phq9_4")["answer"] = [{"valueCoding": {"system": "http://other", "code": "LA6569-3"}}]
    resource["item"] = [i for i in resource["item"] if i["linkId"] != "phq9_5"]  # missing
    problems = _problems(resource)
    assert set(problems) == {"phq9_99", "phq9_1", "phq9_2", "phq9_3", "phq9_4", "phq9_5"}
    assert "a linkId of PHQ-9" in problems["phq9_99"]
    assert problems["phq9_2"] == "one of 0, 1, 2, 3"
    assert "display alone" in problems["phq9_3"] and "LA6568-5 (= 0)" in problems["phq9_3"]
    assert problems["phq9_5"].startswith("an answer")


def test_a_refusal_names_the_risk_answer_it_holds():
    resource = _phq9()
    resource["item"] = [i for i in resource["item"] if i["linkId"] != "phq9_1"]
    with pytest.raises(InvalidInputError, match="holds a risk answer"):
        read_response(resource)


def test_a_number_is_accepted_for_a_choice_with_that_ordinal_and_nested_items_are_read():
    resource = _phq9()
    _item(resource, "phq9_1")["answer"] = [{"valueInteger": 3}]
    resource["item"] = [{"linkId": "phq9_1", "answer": resource["item"][0]["answer"]}] + [
        {"linkId": "intro", "item": resource["item"][1:]}
    ]
    assert read_response(resource).answers["phq9_1"] == 3.0


def test_integer_items_refuse_fractions_and_text_items_give_the_comment():
    answers = {f"checkin_{c}": 7.0 for c in ("heard", "topics", "goals", "respected", "fit", "judged")}
    resource = write_response("checkin", answers, identifier=None, authored=None, comment="More on work")
    assert read_response(resource).comment == "More on work"
    _item(resource, "checkin_heard")["answer"] = [{"valueDecimal": 6.5}]
    _item(resource, "checkin_different")["answer"] = [{"valueString": "x" * 2001}]
    assert set(_problems(resource)) == {"checkin_heard", "checkin_different"}


def test_unfinished_and_invalid_resources_are_refused_plainly():
    assert "status" in _problems(_phq9(status="in-progress"))
    assert "questionnaire" in _problems(_phq9(questionnaire="urn:attunement:questionnaire:nope"))
    assert "resourceType" in _problems({"resourceType": "Patient"})
    with pytest.raises(InvalidInputError, match="Not a valid FHIR QuestionnaireResponse"):
        read_response(_phq9(item="not a list"))
