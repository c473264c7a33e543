"""``attunement change``: the Jacobson & Truax worked example and instrument parameter sets, in text
and JSON, and clear refusals of bad input."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from attunement.cli import app

runner = CliRunner()
JT_EXAMPLE = ["change", "--pre", "47.5", "--post", "32.5", "--sd", "7.5", "--reliability", "0.80"]


def run(*args: str):
    return runner.invoke(app, list(args))


def words(text: str) -> str:
    """The output with line wrapping undone."""
    return " ".join(text.split())


def test_worked_example_in_text():
    # Jacobson & Truax 1991 (prediction.md section 6): SE_m 3.354, S_diff 4.743, threshold 9.30,
    # RC -3.16, a reliable improvement on a lower-is-better scale.
    result = run(*JT_EXAMPLE)
    assert result.exit_code == 0, result.output
    text = words(result.stdout)
    for shown in (
        "SE_m 3.354",
        "S_diff 4.743",
        "(RC) -3.16",
        "threshold: 9.30 points",
        "reliable improvement",
    ):
        assert shown in text


def test_worked_example_in_json():
    result = run(*JT_EXAMPLE, "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["s_diff"] == pytest.approx(4.743, abs=5e-4)
    assert data["standard_error_of_measurement"] == pytest.approx(3.354, abs=5e-4)
    assert data["threshold"] == pytest.approx(9.30, abs=5e-3)
    assert data["rci"] == pytest.approx(-3.16, abs=5e-3)
    assert data["classification"] == "improved" and data["reliable_improvement"] is True
    assert data["category"] is None and data["parameter_set"] is None


def test_direction_and_cutoff():
    higher = json.loads(run(*JT_EXAMPLE, "--direction", "higher", "--json").stdout)
    assert higher["classification"] == "deteriorated"
    combined = json.loads(run(*JT_EXAMPLE, "--cutoff", "40", "--json").stdout)
    assert (combined["clinical_pre"], combined["clinical_post"], combined["category"]) == (
        True,
        False,
        "recovered",
    )
    assert "combined: recovered" in words(run(*JT_EXAMPLE, "--cutoff", "40").stdout)
    still = json.loads(run(*JT_EXAMPLE, "--cutoff", "30", "--json").stdout)
    assert still["category"] == "improved"


def test_instrument_default_set_shows_its_citation_and_status():
    # PHQ-9, NHS Talking Therapies convention: change >= 6, caseness >= 10 [unverified: secondary].
    result = run("change", "--pre", "18", "--post", "9", "--instrument", "phq9")
    assert result.exit_code == 0, result.output
    text = words(result.stdout)
    assert "nhs_tt" in text and "[unverified: secondary]" in text and "Saunders et al. 2021" in text
    assert "threshold: 6.00 points" in text and "change >= 6 points" in text
    assert "combined: recovered" in text
    data = json.loads(run("change", "--pre", "18", "--post", "9", "-i", "phq9", "--json").stdout)
    assert data["parameter_set"]["id"] == "nhs_tt"
    assert (
        data["parameter_set"]["status"] == "unverified: secondary"
        and data["parameter_set"]["verified"] is False
    )
    assert (data["threshold"], data["rule"], data["rci"]) == (6, ">=", None)
    assert data["cutoff"]["value"] == 10 and data["cutoff"]["status"] == "unverified: secondary"
    assert data["category"] == "recovered"


def test_instrument_named_set():
    data = json.loads(
        run(
            "change", "--pre", "18", "--post", "9", "-i", "gad7", "--set", "spitzer2006_retest", "--json"
        ).stdout
    )
    assert data["parameter_set"]["id"] == "spitzer2006_retest" and data["sd"] == 5.1
    assert data["s_diff"] is not None and data["rci"] < 0


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--sd", "7.5", "--reliability", "1.2"], "--reliability: got 1.2"),
        (["--sd", "7.5", "--reliability", "0"], "--reliability: got 0.0"),
        (["--reliability", "0.8"], "--sd: got None"),
        (["--sd", "0", "--reliability", "0.8"], "--sd: got 0.0"),
        (["--sd", "7.5"], "--reliability: got None"),
        (["-i", "phq9", "--set", "nope"], "got 'nope', expected one of nhs_tt"),
        (["-i", "nosuch"], "unknown instrument 'nosuch'"),
        (["-i", "phq9", "--sd", "5"], "no --sd with --instrument"),
        (["-i", "phq9", "--direction", "higher"], "--direction: got 'higher'"),
        (["--set", "nhs_tt", "--sd", "5", "-r", "0.8"], "--set: got 'nhs_tt'"),
    ],
)
def test_bad_input_is_refused_clearly(args, message):
    result = run("change", "--pre", "18", "--post", "9", *args)
    assert result.exit_code == 2
    assert message in words(result.stderr)
    as_json = run("change", "--pre", "18", "--post", "9", *args, "--json")
    assert as_json.exit_code == 2 and message in json.loads(as_json.stdout)["error"]


def test_scores_outside_the_instrument_range_are_refused():
    result = run("change", "--pre", "30", "--post", "9", "-i", "phq9")
    assert result.exit_code == 2 and "a PHQ-9 score from 0 to 27" in words(result.stderr)


def test_help():
    result = run("change", "--help")
    assert result.exit_code == 0 and "--reliability" in result.stdout and "--json" in result.stdout
