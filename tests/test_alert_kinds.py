"""The one list of alert kinds (alerts/kinds.json): every entry has what the rules, the support
checklist, the lifecycle and the pages need, and each of them reads it from there."""

from __future__ import annotations

import pytest

from attunement.alerts import KINDS, OUTLAST_EPISODE, Alert, for_episode
from attunement.alerts.alert import NEEDS_ACTION, urgency
from attunement.alerts.kinds import alert_kinds
from attunement.alerts.lifecycle import Kept, next_steps
from attunement.alerts.support import support_steps
from attunement.tailoring.support import ALERT_KINDS as CHECKLISTS

EVERY_KIND = [k.id for k in alert_kinds()]


def test_the_kinds_are_unique_and_ordered_by_urgency():
    assert len(set(EVERY_KIND)) == len(EVERY_KIND) and tuple(EVERY_KIND) == KINDS
    alerts = [Alert("c", kind, "medium", 1, None, "r") for kind in reversed(EVERY_KIND)]
    assert [a.kind for a in sorted(alerts, key=urgency)] == EVERY_KIND


@pytest.mark.parametrize("kind_id", EVERY_KIND)
def test_every_kind_has_a_label_and_a_checklist_that_quotes_its_reason(kind_id):
    kind = next(k for k in alert_kinds() if k.id == kind_id)
    assert kind.label.strip() and kind.note.strip()
    assert kind.checklist in CHECKLISTS
    steps = support_steps(kind_id, "REASON-MARK")
    assert steps and any("REASON-MARK" in step for step in steps)


@pytest.mark.parametrize("kind_id", EVERY_KIND)
def test_every_kind_follows_its_entry_in_the_lifecycle_and_at_the_end_of_an_episode(kind_id):
    kind = next(k for k in alert_kinds() if k.id == kind_id)
    live = [Kept(1, kind_id, "acknowledged", 2, 2, "r")]
    resolved = next_steps(live, [], 3)
    assert (resolved == []) == kind.needs_action == (kind_id in NEEDS_ACTION)
    alert = Alert("c", kind_id, "medium", 3, None, "r")
    assert (
        (for_episode([alert], active=False) == [alert])
        == kind.outlasts_episode
        == (kind_id in OUTLAST_EPISODE)
    )


def test_the_pages_show_each_kind_by_its_label():
    from attunement.web.pages import TEMPLATES

    labels = TEMPLATES.env.globals["alert_labels"]
    assert labels == {k.id: k.label for k in alert_kinds()}


@pytest.mark.parametrize("kind_id", EVERY_KIND)
def test_every_kind_is_in_the_table_of_kinds_in_the_alerts_documentation(kind_id):
    from pathlib import Path

    alerts_doc = (Path(__file__).resolve().parents[1] / "docs" / "alerts.md").read_text(encoding="utf-8")
    assert f"| `{kind_id}` |" in alerts_doc.split("## The alert kinds", 1)[1]
