"""Couples, families and groups in the canonical tables: read into each case's ratings, alerted by
``alerts --batch`` at each case's latest session, and accepted by ``fit`` (hand-made tables)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from attunement.alerts.batch import batch_alerts
from attunement.alerts.case_ratings import case_ratings
from attunement.cli import app
from attunement.tables import normalise_episodes, normalise_measures


def checkins(case: str, who: dict[str, tuple[str, list[float]]], instrument: dict[str, str]) -> list[dict]:
    """Score rows: ``who`` maps participant -> (role, ratings by session; NaN = not answered)."""
    rows = []
    for client, (role, ratings) in who.items():
        for session, rating in enumerate(ratings, start=1):
            if not np.isnan(rating):
                rows.append(
                    {
                        "client_id": client,
                        "case_id": case,
                        "role": role,
                        "session": session,
                        "instrument": instrument[role],
                        "rater": "client",
                        "score": rating,
                    }
                )
    return rows


CHECKIN = {
    "partner": "checkin_family",
    "parent": "checkin_family",
    "caregiver": "checkin_family",
    "young_person": "checkin_youth",
    "group_member": "checkin_group",
}
NAN = float("nan")
COUPLE = {
    "sam": ("partner", [8.0, 8.2, 7.9, 8.1, 8.0, 8.1]),
    "alex": ("partner", [8.1, 7.9, 8.0, 8.2, 5.2, 5.0]),
}
FAMILY = {
    "mum": ("parent", [9.0, 9.1, 8.9, 9.0, 9.1]),
    "dad": ("caregiver", [8.5, 8.4, 8.6, 8.5, 8.4]),
    "kai": ("young_person", [8.0, 8.1, 7.9, 8.0, 4.9]),
}
STEADY = [8.5, 8.6, 8.4, 8.5, 8.6, 8.5, 8.4]
GROUP = {f"m{i}": ("group_member", [v + 0.1 * (i % 3) for v in STEADY]) for i in range(7)}
GROUP["m7"] = ("group_member", [8.6, 8.5, 8.6, 8.4, 8.5, 5.0, 4.8])  # falls at session 6, stays down


@pytest.fixture
def tables() -> pd.DataFrame:
    rows = checkins("c1", COUPLE, CHECKIN) + checkins("f1", FAMILY, CHECKIN) + checkins("g1", GROUP, CHECKIN)
    rows += [
        {"client_id": "solo", "session": s, "instrument": "phq9", "rater": "client", "score": 12.0 + s}
        for s in (1, 2, 3)
    ]
    return pd.DataFrame(rows)


def test_each_case_becomes_its_ratings_with_format_and_names(tables):
    rooms = {room.case_id: room for room in case_ratings(normalise_measures(tables))}
    assert sorted(rooms) == ["c1", "f1", "g1"]  # the individual client is no case
    assert rooms["c1"].format == "couple" and rooms["f1"].format == "family" and rooms["g1"].format == "group"
    assert rooms["f1"].names == ("mum (parent)", "dad (caregiver)", "kai (young person)")
    assert rooms["f1"].values[2].tolist() == FAMILY["kai"][1]
    assert rooms["g1"].members().all()


def test_a_member_who_stopped_answering_is_in_the_group_only_while_their_episode_is_ongoing(tables):
    frame = tables[~((tables["client_id"] == "m7") & (tables["session"] >= 6))]
    measures = normalise_measures(frame)
    (group,) = [r for r in case_ratings(measures) if r.case_id == "g1"]
    assert group.members()[7].tolist() == [True] * 5 + [False] * 2
    episodes = normalise_episodes(
        pd.DataFrame({"client_id": ["m7"], "therapist_id": ["t1"], "end_reason": ["ongoing"]})
    )
    (group,) = [r for r in case_ratings(measures, episodes) if r.case_id == "g1"]
    assert group.members()[7].all() and np.isnan(group.values[7, 5:]).all()


@pytest.mark.parametrize("suffix", ["csv", "parquet"])
def test_batch_adds_split_alliance_and_cohesion_at_each_cases_latest_session(tables, tmp_path, suffix):
    path = tmp_path / f"measures.{suffix}"
    tables.to_csv(path, index=False) if suffix == "csv" else tables.to_parquet(path, index=False)
    result = batch_alerts(tmp_path)
    rooms = result.alerts[result.alerts["kind"].isin(["split_alliance", "cohesion"])]
    found = sorted(zip(rooms["case_id"], rooms["client_id"], rooms["kind"], rooms["session"], strict=True))
    assert found == [
        ("c1", "alex", "split_alliance", 6),
        ("f1", "kai", "split_alliance", 5),
        ("g1", "m7", "cohesion", 7),
    ]
    assert result.cases == 3
    alex = rooms[rooms["client_id"] == "alex"].iloc[0]
    assert alex["severity"] == "high" and "not yet repaired" in alex["reason"]
    assert alex["split_alliance_rule"] == "one_fell"


def test_batch_of_cases_alone_needs_no_individual_measures(tables, tmp_path):
    tables[tables["case_id"].notna()].to_csv(tmp_path / "measures.csv", index=False)
    result = batch_alerts(tmp_path)
    assert result.cases == 3 and result.clients == 2 + 3 + 8
    assert sorted(result.alerts["client_id"]) == ["alex", "kai", "m7"]


def test_a_participant_whose_episode_ended_gets_no_room_alert(tables, tmp_path):
    tables.to_csv(tmp_path / "measures.csv", index=False)
    ids = sorted(tables["client_id"].unique())
    pd.DataFrame(
        {
            "client_id": ids,
            "therapist_id": "t1",
            "end_reason": ["completed" if i == "kai" else "ongoing" for i in ids],
        }
    ).to_csv(tmp_path / "episodes.csv", index=False)
    alerts = batch_alerts(tmp_path).alerts
    assert "kai" not in set(alerts["client_id"]) and "alex" in set(alerts["client_id"])


def test_alerts_command_reports_the_cases(tables, tmp_path):
    tables.to_csv(tmp_path / "measures.csv", index=False)
    result = CliRunner().invoke(app, ["alerts", "--batch", str(tmp_path), "--json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output)
    assert summary["cases"] == 3
    assert summary["by_kind"]["split_alliance"]["high"] == 1
    assert summary["by_kind"]["cohesion"]["high"] + summary["by_kind"]["cohesion"]["medium"] == 1


def test_a_mixed_case_is_refused_by_the_batch_with_row_and_column(tables, tmp_path):
    bad = tables.copy()
    bad.loc[bad["client_id"] == "kai", "role"] = "group_member"
    bad.to_csv(tmp_path / "measures.csv", index=False)
    result = CliRunner().invoke(app, ["alerts", "--batch", str(tmp_path), "--json"])
    assert result.exit_code == 2
    assert "column role: got 'group_member'" in json.loads(result.output)["error"]


def _fit(folder, measures: pd.DataFrame, episodes: pd.DataFrame) -> dict:
    from attunement.forecast.settings import load_settings

    folder.mkdir()
    measures.to_csv(folder / "measures.csv", index=False)
    episodes.to_csv(folder / "episodes.csv", index=False)
    settings = load_settings()
    trees = {**settings.trees.value, "max_iter": 40, "learning_rate": 0.15}
    small = settings.model_copy(update={"trees": settings.trees.model_copy(update={"value": trees})})
    (folder / "settings.json").write_text(small.model_dump_json())
    command = ["fit", "--history", str(folder), "--out", str(folder / "model.json")]
    result = CliRunner().invoke(app, [*command, "--settings", str(folder / "settings.json"), "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def test_fit_accepts_case_and_role_columns_and_fits_per_participant_as_before(tmp_path):
    from attunement.simulation import simulate

    clinic = simulate(700, seed=9)
    ids = sorted(clinic.episodes["client_id"])
    couples = {client: f"case{k // 2}" for k, client in enumerate(ids[:200])}  # 100 couples
    with_cases = clinic.measures.assign(
        case_id=clinic.measures["client_id"].map(couples),
        role=np.where(clinic.measures["client_id"].isin(couples), "partner", None),
    )
    plain = _fit(tmp_path / "plain", clinic.measures, clinic.episodes)
    cased = _fit(tmp_path / "cased", with_cases, clinic.episodes)
    assert cased["trained_on"]["clients"] == plain["trained_on"]["clients"] == 700
    assert cased["validation"] == plain["validation"]
    assert cased["alert_thresholds"] == plain["alert_thresholds"]


@pytest.mark.parametrize("suffix", ["csv", "parquet"])
def test_a_participants_risk_answer_is_alerted_by_the_batch_answered_or_skipped(tables, tmp_path, suffix):
    """Rows of a case are a participant's own rows: a critical item endorsed, or left blank on a
    sent form, raises their safety alert beside the room alerts."""
    risk = [
        {
            "client_id": "sam",
            "case_id": "c1",
            "role": "partner",
            "session": 6,
            "instrument": "phq9",
            "rater": "client",
            "item": f"phq9_{i}",
            "value": 2 if i == 9 else 1,
        }
        for i in range(1, 10)
    ] + [
        {
            "client_id": "m3",
            "case_id": "g1",
            "role": "group_member",
            "session": 3,
            "instrument": "phq9",
            "rater": "client",
            "item": f"phq9_{i}",
            "value": 1,
        }
        for i in range(1, 9)  # item 9 left blank
    ]
    frame = pd.concat([tables, pd.DataFrame(risk)], ignore_index=True)
    path = tmp_path / f"measures.{suffix}"
    frame.to_csv(path, index=False) if suffix == "csv" else frame.to_parquet(path, index=False)
    alerts = batch_alerts(tmp_path).alerts
    safety = sorted(
        zip(*(alerts.loc[alerts["kind"] == "safety", c] for c in ("client_id", "session")), strict=True)
    )
    assert safety == [("m3", 3), ("sam", 6)]
    assert "alex" in set(alerts.loc[alerts["kind"] == "split_alliance", "client_id"])
