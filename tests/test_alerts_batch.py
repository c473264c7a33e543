"""The batch path reads large tables its own way; it must give the same alerts as the ordinary one."""

from __future__ import annotations

import json

import numpy as np
import pytest
from typer.testing import CliRunner

from attunement.alerts import alert_table
from attunement.alerts.batch import batch_alerts, read_batch_histories
from attunement.cli import app
from attunement.prediction.histories import histories_from_tables
from attunement.simulation import simulate


@pytest.fixture(scope="module", params=["items", "totals"])
def folder(tmp_path_factory, request):
    """PHQ-9 as item rows (scored on the ordinary path) or as totals only (the fast path)."""
    sim = simulate(1000, 21, item_rows=request.param == "items")
    path = tmp_path_factory.mktemp("clinic")
    sim.measures.to_parquet(path / "measures.parquet")
    sim.episodes.to_parquet(path / "episodes.parquet")
    return path, histories_from_tables(sim.measures, sim.episodes)


def test_batch_histories_equal_the_ordinary_ones(folder):
    path, expected = folder
    got, rows = read_batch_histories(path)
    assert rows > 0 and sorted(got.client_id) == sorted(expected.client_id)
    mine, theirs = np.argsort(got.client_id), np.argsort(expected.client_id)
    np.testing.assert_array_equal(got.sessions[mine], expected.sessions[theirs])
    assert set(got.scores) == set(expected.scores)
    for name in expected.scores:
        np.testing.assert_array_equal(got.scores[name][mine], expected.scores[name][theirs])


def test_batch_alerts_equal_the_ordinary_ones_whatever_the_block_size(folder):
    path, histories = folder
    expected = alert_table(histories).sort_values(["client_id", "kind", "reason"]).reset_index(drop=True)
    for block in (100, 100_000):
        got = batch_alerts(path, block=block).alerts
        got = got.sort_values(["client_id", "kind", "reason"]).reset_index(drop=True)
        assert got[["client_id", "kind", "severity", "reason"]].equals(
            expected[["client_id", "kind", "severity", "reason"]]
        )


def test_alerts_command_counts_and_writes_every_alert(folder, tmp_path):
    path, histories = folder
    out = tmp_path / "alerts.csv"
    result = CliRunner().invoke(app, ["alerts", "--batch", str(path), "--out", str(out), "--json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output)
    assert summary["clients"] == len(histories)
    written = out.read_text().count("\n") - 1
    assert summary["alerts"] == len(alert_table(histories)) > 0
    assert written >= summary["alerts"]  # reasons hold no line breaks; one line per alert at least
    assert summary["by_kind"]["safety"]["high"] == summary["requires_action"]


def test_alerts_command_refuses_a_folder_without_measures(tmp_path):
    result = CliRunner().invoke(app, ["alerts", "--batch", str(tmp_path), "--json"])
    assert result.exit_code != 0 and "measures" in result.output


def test_batch_alerts_with_the_forecast_model_equal_the_ordinary_ones(tmp_path):
    """Blocks of 500 clients walk the trees in numpy, one block of 2,500 in compiled code; both
    must give the alerts that ``current_alerts`` gives client by client."""
    from attunement.alerts import current_alerts
    from attunement.forecast import default_model
    from attunement.forecast.trees import COMPILED_FROM_ROWS

    sim = simulate(2500, 23, item_rows=False)
    sim.measures.to_parquet(tmp_path / "measures.parquet")
    sim.episodes.to_parquet(tmp_path / "episodes.parquet")
    histories = histories_from_tables(sim.measures, sim.episodes)
    assert (histories.sessions >= 1).sum() >= COMPILED_FROM_ROWS
    model = default_model()
    expected = sorted(
        (a.client_id, a.kind, a.severity, a.reason, a.probability)
        for alerts in current_alerts(histories, model).values()
        for a in alerts
    )
    assert {kind for _, kind, *_ in expected} >= {"not_on_track", "dropout_risk"}
    for block in (500, 100_000):
        table = batch_alerts(tmp_path, model, block=block).alerts
        got = sorted(
            (
                row.client_id,
                row.kind,
                row.severity,
                row.reason,
                None if np.isnan(row.probability) else row.probability,
            )
            for row in table.itertuples()
        )
        assert got == expected
