"""The built-in demo caseload, run through the command that ``make run`` starts."""

import json

from typer.testing import CliRunner

from attunement.cli import app

runner = CliRunner()


def demo_rows() -> dict[str, dict]:
    result = runner.invoke(app, ["demo", "--json"])
    assert result.exit_code == 0, result.output
    return {row["client_id"]: row for row in json.loads(result.output)["clients"]}


def test_demo_classifies_each_example_client():
    rows = demo_rows()
    # demo-a: PHQ-9 18 -> 6 and GAD-7 15 -> 5: reliable improvement on both, below caseness on both.
    assert rows["demo-a"]["nhs_tt_outcome"] == "reliable recovery"
    assert rows["demo-a"]["phq9_change"] == "recovered"
    # demo-b: PHQ-9 14 -> 21 is a rise of 7 (>= 6), so reliable deterioration.
    assert rows["demo-b"]["nhs_tt_outcome"] == "reliable deterioration"
    # demo-c: 19 -> 11 between sessions 3 and 4 is a sudden gain by Tang & DeRubeis' criteria.
    assert rows["demo-c"]["sudden_gains"] == 1
    assert rows["demo-d"]["nhs_tt_outcome"] == "no reliable change"


def test_demo_never_drops_the_safety_item():
    rows = demo_rows()
    assert len(rows["demo-b"]["safety"]) == 1
    assert "item 9" in rows["demo-b"]["safety"][0]
    assert all(not rows[c]["safety"] for c in ("demo-a", "demo-c", "demo-d"))


def test_demo_text_output_shows_safety_and_unverified_thresholds():
    result = runner.invoke(app, ["demo"], env={"COLUMNS": "120"})
    assert result.exit_code == 0, result.output
    assert "SAFETY demo-b" in result.output
    assert "[unverified: secondary]" in result.output
