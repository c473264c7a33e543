"""``attunement instruments`` and ``attunement score`` in text and JSON."""

import json

from typer.testing import CliRunner

from attunement.cli import app
from attunement.instruments import load_instruments

runner = CliRunner()


def run(*args: str):
    return runner.invoke(app, list(args), env={"COLUMNS": "200"})


def test_score_phq9_example_text():
    # 2+2+1+1+2+1+1+0+1 = 11: "moderate" (10-14, Kroenke et al. 2001), item 9 endorsed.
    result = run("score", "--instrument", "phq9", "--answers", "2,2,1,1,2,1,1,0,1")
    assert result.exit_code == 0, result.output
    assert "PHQ-9 total 11 (moderate)" in result.output
    assert "caseness: yes" in result.output
    assert "SAFETY PHQ-9 item 9" in result.output


def test_score_phq9_example_json():
    result = run("score", "--instrument", "PHQ-9", "--answers", "2,2,1,1,2,1,1,0,1", "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["total"] == 11
    assert data["band"] == "moderate"
    assert data["caseness"] is True
    assert [f["kind"] for f in data["flags"]] == ["self_harm"]


def test_score_prorates_one_gap_and_reports_it():
    result = run("score", "--instrument", "phq9", "--answers", "3,3,3,3,,3,3,3,0", "--json")
    data = json.loads(result.output)
    assert data["prorated"] is True
    assert data["total"] == 23.625  # (7 x 3 + 0) / 8 answered = 2.625, x 9 items
    assert data["missing"] == ["phq9_5"]


def test_score_errors_name_item_value_and_expectation():
    result = run("score", "--instrument", "phq9", "--answers", "2,2,1,1,2,1,1,0,7", "--json")
    assert result.exit_code == 2
    assert json.loads(result.output)["error"] == "PHQ-9 answers: phq9_9: got '7', expected one of 0, 1, 2, 3"


def test_score_too_many_missing_keeps_the_safety_flag():
    result = run("score", "--instrument", "phq9", "--answers", ",,,1,2,1,1,0,2")
    assert result.exit_code == 2
    assert "at most 1 of 9 items missing" in result.output
    assert "Safety flags still stand" in result.output


def test_score_unknown_instrument():
    result = run("score", "--instrument", "bdi", "--answers", "1")
    assert result.exit_code == 2
    assert "unknown instrument 'bdi'" in result.output


def test_instruments_lists_every_definition_with_its_licence():
    data = json.loads(run("instruments", "--json").output)
    assert {row["id"] for row in data} == set(load_instruments())
    by_id = {row["id"]: row for row in data}
    assert by_id["phq9"]["item_text_shipped"] is True
    assert by_id["wai_sr"]["item_text_shipped"] is False
    assert by_id["checkin"]["validated"] is False
    text = run("instruments").output
    assert "import your licensed text" in text
