"""``attunement evidence`` and ``attunement tailor`` in text and JSON, and their refusals."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from attunement.cli import app
from attunement.evidence import load_registry

runner = CliRunner()


def run(*args: str):
    return runner.invoke(app, list(args))


def words(text: str) -> str:
    return " ".join(text.split())


@pytest.mark.parametrize("command", ["evidence", "tailor"])
def test_help(command):
    result = run(command, "--help")
    assert result.exit_code == 0 and "--json" in result.stdout


def test_the_list_in_text_shows_unverified_ratings_as_such():
    result = run("evidence")
    assert result.exit_code == 0, result.output
    text = words(result.stdout)
    assert "empathy" in text and "procrustean_bed" in text
    assert "[unverified:" in text


def test_the_list_in_json_has_every_entry_and_the_status_of_each_rating():
    result = run("evidence", "--json")
    rows = json.loads(result.stdout)
    assert [r["id"] for r in rows] == [e.id for e in load_registry().entries]
    empathy = next(r for r in rows if r["id"] == "empathy")
    assert empathy["rating_2011"]["status"] == "verified"
    assert empathy["rating_2018"]["status"] == "unverified: recalled"
    assert empathy["rating_2018"]["display"].endswith("[unverified: recalled]")


def test_one_entry_in_text():
    # Elliott et al. 2011: empathy r = .31 [.28, .34], 59 samples, 3,599 clients (evidence.md section 3).
    result = run("evidence", "Empathy")
    assert result.exit_code == 0, result.output
    text = words(result.stdout)
    assert "r = 0.31; 95% CI [0.28, 0.34]; k = 59 independent samples; N = 3,599 clients" in text
    assert "Elliott, Bohart, Watson & Greenberg 2011" in text


def test_one_entry_in_json_keeps_unverified_labels_in_its_display_text():
    # Smith et al. 2011: culture d = .46; the CI .36-.56 comes from a secondary table.
    data = json.loads(run("evidence", "culture", "--json").stdout)
    first = next(e for e in data["display"]["estimates"] if e["id"] == "tf2011")
    assert "d = 0.46" in first["text"] and "[unverified: secondary]" in first["text"]
    assert data["estimates"][0]["ci"]["status"] == "unverified: secondary"
    assert data["references"]["smith2011"].startswith("Smith, Domenech")


@pytest.mark.parametrize("extra", [[], ["--json"]])
def test_an_unknown_entry_is_refused(extra):
    result = run("evidence", "telepathy", *extra)
    assert result.exit_code == 2
    assert "telepathy" in (result.stdout + result.stderr)


@pytest.fixture
def answers_file(tmp_path):
    path = tmp_path / "client.json"
    path.write_text(
        json.dumps(
            {
                "client_id": "c042",
                "answers": {
                    "ip_react_1": 5,
                    "ip_react_2": 4,
                    "ip_react_3": 4,
                    "ip_pref_direction": 5,
                    "ip_stage": 1,
                },
            }
        ),
        encoding="utf-8",
    )
    return path


def test_tailor_in_text(answers_file):
    result = run("tailor", "--profile", str(answers_file))
    assert result.exit_code == 0, result.output
    text = words(result.stdout)
    assert "Recommendations for client c042" in text
    assert "What the client asked for" in text
    assert "1. Let the client lead the sessions" in text  # their stated wish, above the inferred trait
    assert "2. Take a less directive, client-led stance" in text
    assert "4.33" in text and "demonstrably effective" in text
    assert "[unverified: recalled]" in text
    assert "Cautions" in text and "Do not confront or argue about the need to change" in text


def test_tailor_in_json(answers_file):
    data = json.loads(run("tailor", "--profile", str(answers_file), "--json").stdout)
    recs = data["result"]["recommendations"]
    assert [r["id"] for r in recs] == [
        "preference_client_led",
        "reactance_high_client_led",
        "stage_precontemplation",
    ]
    assert data["profile"]["reactance"]["value"] == "high"
    assert recs[1]["entry"] == "reactance" and recs[1]["rank"] == 2 and recs[1]["source"] == "inferred"
    assert "[unverified: recalled]" in recs[1]["ratings"]  # full detail stays in --json
    assert [w["dimension"] for w in data["result"]["wishes"]] == ["directiveness"]


def test_tailor_compares_the_language_with_the_service_language(tmp_path):
    path = tmp_path / "profile.json"
    path.write_text(json.dumps({"language": "Polish"}), encoding="utf-8")

    def listed(*extra):
        data = json.loads(run("tailor", "-p", str(path), "--json", *extra).stdout)
        return [r["id"] for r in data["result"]["recommendations"]]

    assert listed() == ["culture_language"]
    assert listed("--service-language", "polish") == []


def test_tailor_adds_the_rules_for_the_kind_of_case_and_refuses_a_role_it_does_not_have(tmp_path):
    path = tmp_path / "profile.json"
    path.write_text(json.dumps({"language": "Polish"}), encoding="utf-8")

    def listed(*extra):
        data = json.loads(run("tailor", "-p", str(path), "--json", *extra).stdout)
        return [r["id"] for r in data["result"]["recommendations"]]

    couple = listed("--format", "couple", "--role", "partner")
    assert {"couple_family_shared_purpose", "couple_family_split", "culture_language"} <= set(couple)
    assert "group_cohesion_early" in listed("--format", "group") and "couple_family_split" not in listed()
    refused = run("tailor", "-p", str(path), "--format", "group", "--role", "parent")
    assert refused.exit_code != 0
    assert "role" in words(refused.output) and "the roles of a group case" in words(refused.output)


def test_tailor_accepts_a_plain_profile_file(tmp_path):
    path = tmp_path / "profile.json"
    path.write_text(json.dumps({"stage": "contemplation", "coping_style": "internalising"}), encoding="utf-8")
    data = json.loads(run("tailor", "-p", str(path), "--json").stdout)
    assert [r["id"] for r in data["result"]["recommendations"]] == [
        "stage_contemplation",
        "coping_internalising",
    ]


@pytest.mark.parametrize(
    ("content", "named"),
    [
        (None, "existing JSON file"),
        ("{not json", "valid JSON"),
        (json.dumps({"reactance": "sky-high"}), "reactance"),
        (json.dumps({"answers": {"ip_stage": 9}}), "ip_stage"),
    ],
    ids=["missing", "not-json", "bad-category", "bad-answer"],
)
def test_tailor_refuses_bad_files_naming_the_problem(tmp_path, content, named):
    path = tmp_path / "p.json"
    if content is not None:
        path.write_text(content, encoding="utf-8")
    result = run("tailor", "--profile", str(path), "--json")
    assert result.exit_code == 2
    assert named in json.loads(result.stdout)["error"]


def test_support_checklist_for_a_rupture_quotes_the_alert_and_the_client(answers_file):
    reason = "Check-in fell from 8.4 to 5.1 and did not recover at the next session"
    profile = str(answers_file)
    result = run("support", "--alert", "rupture", "--reason", reason, "--profile", profile, "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["alert_kind"] == "rupture"
    assert data["reason"] == reason
    assert data["client_id"] == "c042"
    assert data["sections"], "a rupture alert must come with something to do"
    assert all(item["id"] for section in data["sections"] for item in section["items"])
    text = words(run("support", "--alert", "rupture", "--reason", reason).stdout)
    assert reason in text


def test_support_safety_checklist_always_has_a_required_item():
    reason = "PHQ-9 item 9 answered 2"
    data = json.loads(run("support", "--alert", "safety", "--reason", reason, "--json").stdout)
    assert any(item["required"] for section in data["sections"] for item in section["items"])


def test_support_refuses_an_unknown_alert_kind():
    result = run("support", "--alert", "boredom", "--reason", "x", "--json")
    assert result.exit_code == 2
    expected = "alert_kind: got 'boredom', expected one of not_on_track, rupture, dropout_risk, safety"
    assert expected in result.stdout
