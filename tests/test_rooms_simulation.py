"""Simulated couples, families and groups: the truth the split-alliance and cohesion alerts are
measured against is what the ratings show, and the published outcome correlations hold."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from attunement.cli import app
from attunement.instruments.roles import checkin_for
from attunement.simulation.rooms import GROUP_DECLINE, MEMBER_DROP, SPLIT, simulate_rooms
from attunement.simulation.rooms_parameters import load_room_parameters
from attunement.simulation.rooms_tables import room_episodes, room_events, room_measures, room_participants
from attunement.tables import normalise_episodes, normalise_measures


@pytest.fixture(scope="module")
def cases():
    return simulate_rooms(400, seed=7)


def by_format(cases, fmt):
    return [c for c in cases if c.format == fmt]


def test_the_same_seed_gives_the_same_rooms_and_another_seed_others():
    first, again, other = simulate_rooms(20, 3), simulate_rooms(20, 3), simulate_rooms(20, 4)
    pd.testing.assert_frame_equal(room_measures(first), room_measures(again))
    pd.testing.assert_frame_equal(room_events(first), room_events(again))
    assert not room_measures(first)["score"].equals(room_measures(other)["score"])


def test_formats_have_their_participants_and_roles(cases):
    assert {c.roles for c in by_format(cases, "couple")} == {("partner", "partner")}
    families = by_format(cases, "family")
    assert {len(c.participants) for c in families} == {3, 4}
    assert all("young_person" in c.roles and "parent" in c.roles for c in families)
    groups = by_format(cases, "group")
    assert {int(c.member[:, 0].sum()) for c in groups} == {8, 9, 10}
    assert all(set(c.roles) == {"group_member"} for c in groups)


def test_open_groups_take_new_members_and_closed_ones_never(cases):
    groups = by_format(cases, "group")
    joined_late = [bool((~c.member[:, 0] & c.member.any(axis=1)).any()) for c in groups]
    assert not any(j for j, c in zip(joined_late, groups, strict=True) if not c.open_group)
    assert sum(j for j, c in zip(joined_late, groups, strict=True) if c.open_group) > 50


def test_a_split_is_one_participant_falling_while_the_others_hold(cases):
    p = load_room_parameters()
    splits = [(c, e) for c in cases for e in c.events if e.kind == SPLIT]
    assert 0.22 < len(splits) / 800 < 0.38  # split_probability 0.3 of couples and families
    for case, event in splits:
        who = case.participants.index(event.participant)
        drop = case.level[:, None] - case.latent
        full = event.onset + int(p.drift_sessions.value) - 1 if event.shape == "drift" else event.onset
        assert np.allclose(np.delete(drop, who, axis=0), 0.0)
        assert np.allclose(drop[who, : event.onset - 1], 0.0)
        if full <= len(case.sessions) and not event.repaired:
            assert drop[who, full - 1] == pytest.approx(event.depth, abs=1e-3)


def test_members_who_leave_after_a_drop_end_by_dropout_at_the_recorded_session(cases):
    groups = by_format(cases, "group")
    episodes = room_episodes(groups).set_index("client_id")
    drops = [e for c in groups for e in c.events if e.kind == MEMBER_DROP]
    left = [e for e in drops if e.left_session is not None]
    assert 0.35 < len(left) / len(drops) < 0.65  # leave_after_drop 0.5
    case_end = {c.case_id: int(c.sessions[-1]) for c in groups}
    for event in left:
        row = episodes.loc[event.participant]
        assert row["last_session"] == event.left_session
        assert event.onset < event.left_session <= event.onset + 3
        ended_early = event.left_session < case_end[event.case_id]
        assert row["end_reason"] == ("dropout" if ended_early else "completed")
    still = [e for e in drops if e.left_session is None]
    assert all(episodes.loc[e.participant, "last_session"] > e.onset for e in still)


def test_a_group_decline_lowers_every_member_together(cases):
    for case in by_format(cases, "group"):
        drop = case.level[:, None] - case.latent
        declines = [e for e in case.events if e.kind == GROUP_DECLINE]
        personal = {case.participants.index(e.participant) for e in case.events if e.kind == MEMBER_DROP}
        others = [k for k in range(len(case.participants)) if k not in personal]
        if declines:
            onset = declines[0].onset
            assert drop[others, onset - 1].min() > 0
            assert np.ptp(drop[others], axis=0).max() < 1e-9
        else:
            assert np.allclose(drop[others], 0.0)


def test_outcome_correlations_are_the_published_ones(cases):
    """Split alliance r = .316 (Friedlander et al. 2018); cohesion r = .26 (Burlingame et al. 2018)."""
    couples = by_format(cases, "couple") + by_format(cases, "family")
    depth = np.concatenate(
        [np.full(len(c.participants), max((e.depth for e in c.events), default=0.0)) for c in couples]
    )
    outcome = np.concatenate([c.outcome_z for c in couples])
    assert np.corrcoef(depth, outcome)[0, 1] == pytest.approx(-0.316, abs=0.06)
    groups = by_format(cases, "group")
    cohesion = np.concatenate(
        [[c.latent[k, c.member[k]].mean() for k in range(len(c.participants))] for c in groups]
    )
    outcome = np.concatenate([c.outcome_z for c in groups])
    assert np.corrcoef(cohesion, outcome)[0, 1] == pytest.approx(0.26, abs=0.05)


def test_ratings_use_the_check_in_noise_and_scale(cases):
    case = by_format(cases, "couple")[0]
    seen = ~np.isnan(case.observed)
    assert ((case.observed[seen] >= 0) & (case.observed[seen] <= 10)).all()
    assert np.allclose(case.observed[seen] * 10, np.round(case.observed[seen] * 10))
    residual = np.concatenate(
        [(c.observed - c.latent)[(c.latent < 8.5) & ~np.isnan(c.observed)] for c in cases]
    )
    assert residual.std() == pytest.approx(0.45, abs=0.04)


def test_tables_pass_the_canonical_checks_with_each_roles_check_in(cases):
    measures = normalise_measures(room_measures(cases[:30]))
    assert {"case_id", "role"} <= set(measures.columns)
    assert (measures["instrument"] == measures["role"].map(checkin_for)).all()
    episodes = normalise_episodes(room_episodes(cases[:30]))
    assert episodes["client_id"].is_unique
    assert len(room_participants(cases[:30])) == len(episodes)


def test_simulate_rooms_writes_the_tables_and_leaves_the_default_alone(tmp_path):
    result = CliRunner().invoke(
        app, ["simulate", "--rooms", "4", "--seed", "2", "--out", str(tmp_path / "rooms"), "--json"]
    )
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output)
    assert summary["cases"] == {"couple": 4, "family": 4, "group": 4}
    written = {p.name for p in (tmp_path / "rooms").iterdir()}
    assert written == {
        "measures.csv",
        "episodes.csv",
        "truth_room_events.csv",
        "truth_room_participants.csv",
        "room_parameters.json",
    }
    plain = CliRunner().invoke(
        app, ["simulate", "--clients", "30", "--out", str(tmp_path / "plain"), "--json"]
    )
    assert plain.exit_code == 0, plain.output
    assert "case_id" not in pd.read_csv(tmp_path / "plain" / "measures.csv").columns


def test_the_tables_give_the_ratings_the_simulator_recorded(cases):
    from attunement.alerts.case_ratings import case_ratings

    chosen = by_format(cases, "couple")[:20] + by_format(cases, "family")[:20]
    read = {room.case_id: room for room in case_ratings(normalise_measures(room_measures(chosen)))}
    for case in chosen:
        direct, room = case.ratings(), read[case.case_id]
        # a session no participant answered leaves no row, so the tables cannot show it
        assert set(case.sessions) - set(room.sessions) == {
            s for s in case.sessions if np.isnan(direct.values[:, s - 1]).all()
        }
        np.testing.assert_array_equal(room.values, direct.values[:, room.sessions - 1])
        assert read[case.case_id].format == direct.format and read[case.case_id].roles == direct.roles
        latent = case.ratings(latent=True).values
        assert np.array_equal(np.isnan(latent), np.isnan(direct.values))
        assert (np.abs(latent - direct.values)[~np.isnan(latent)] < 2.5).all()


def test_simulate_rooms_refuses_options_it_would_ignore(tmp_path):
    result = CliRunner().invoke(
        app, ["simulate", "--rooms", "2", "--measures", "phq9", "--out", str(tmp_path), "--json"]
    )
    assert result.exit_code == 2
    assert "--measures: got 'phq9', expected nothing with --rooms" in json.loads(result.output)["error"]
