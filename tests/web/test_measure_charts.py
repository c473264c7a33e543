"""Every measure an episode holds is charted on the client page and in both reports: the demo
clinic's client who answered PHQ-4 at every session gets a PHQ-4 chart (no cut-off is recorded for
its total, and the chart says so), the client who answered AUDIT-C gets one with AUDIT-C's
caseness line, each from the stored summary's series; the reports list each measure's scores,
with change statistics only where the measure has published parameters."""

from __future__ import annotations

import re

from sqlalchemy import select
from test_reports import _login

from attunement.store.demo import seed_demo
from attunement.store.models import Client, Episode
from attunement.store.summary_store import summaries_for
from attunement.web import create_app


def _clients_with(database, *measures: str) -> dict[str, tuple[str, int, list[float | None]]]:
    """For each measure, a demo client answering it: (public id, episode number, its series)."""
    found = {}
    with database.session() as db:
        seed_demo(db, clients=12)
        clients = list(db.scalars(select(Client).order_by(Client.id)))
        summaries = summaries_for(db, clients)
        for measure in measures:
            client = next(c for c in clients if measure in summaries[c.id].others)
            number = db.scalar(
                select(Episode.number).where(Episode.client_id == client.id).order_by(Episode.number.desc())
            )
            found[measure] = (client.public_id, number, summaries[client.id].others[measure])
    return found


def _chart(page: str, measure: str) -> str:
    match = re.search(rf'<svg [^>]*id="outcome-{measure}".*?</svg>', page, re.S)
    assert match, f"no {measure} chart"
    return match.group(0)


def test_each_measure_of_the_episode_has_its_chart_and_its_report_rows(database):
    found = _clients_with(database, "phq4", "auditc")
    browser = _login(create_app(database=database), "clinician")
    public_id, number, series = found["phq4"]
    page = browser.get(f"/clients/{public_id}/episodes/{number}").text
    chart = _chart(page, "phq4")
    assert "PHQ-4 scores by session" in chart and "PHQ-4 score (lower is better)" in chart
    assert "no caseness cut-off recorded" in chart and 'class="caseness"' not in chart
    given = [(s + 1, v) for s, v in enumerate(series) if v is not None]
    assert re.findall(r'class="score" data-session="(\d+)" data-value="([\d.]+)"', chart) == [
        (str(s), f"{v:g}") for s, v in given
    ], "the chart draws the stored series"
    assert 'id="outcome-phq9"' in page, "PHQ-9 stays beside it"
    report = browser.get(f"/clients/{public_id}/episodes/{number}/report").text
    assert _chart(report, "phq4") and '<th scope="row">PHQ-4</th>' in report
    assert '<th scope="col">PHQ-4</th>' in report, "the sessions table has a PHQ-4 column"
    assert "no published reliable-change parameters" in report
    last_session, last = given[-1]
    summary = browser.get(f"/clients/{public_id}/episodes/{number}/sessions/{last_session}/summary").text
    assert _chart(summary, "phq4") and f"{last:g}" in summary

    public_id, number, series = found["auditc"]
    page = browser.get(f"/clients/{public_id}/episodes/{number}").text
    chart = _chart(page, "auditc")
    assert re.search(r'class="caseness" data-value="3" data-rule="&gt;="', chart), "AUDIT-C's cut-off"
    assert "AUDIT-C score (lower is better)" in chart
    report = browser.get(f"/clients/{public_id}/episodes/{number}/report").text
    assert _chart(report, "auditc") and '<th scope="row">AUDIT-C</th>' in report
