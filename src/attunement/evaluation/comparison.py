"""The published baselines on a clinic's own held-out episodes, beside a model fitted on the rest.

When a clinic fits a model of its own history, an administrator deciding whether to switch to it
needs to know not only how it does, but how the simple published rules do on the same episodes:
a model that cannot beat the rational rules on this clinic's data is not worth activating. Each
baseline is fitted on the episodes the model was fitted on and measured on the episodes it held
out, with the harness's own figures (AUC at session 3, and the alert rule's share of clients
flagged before their last session), so the numbers mean what they mean in docs/validation.md.
"""

from __future__ import annotations

import numpy as np

from attunement.evaluation.cohort import Cohort
from attunement.evaluation.harness import NOT_APPLICABLE, evaluate
from attunement.prediction.histories import Histories
from attunement.prediction.outcomes import Labels

OUTCOMES = ("deterioration", "no_improvement")
SESSION = "3"


def baselines_on_held_out(histories: Histories, labels: Labels, held_out: np.ndarray) -> dict:
    """Per baseline and outcome: AUC at session 3, share of clients with the outcome flagged before
    their last session and share without it flagged, or the reason it does not apply."""
    from attunement.baselines import registered_baselines

    everyone = Cohort("clinic", histories, labels, has_truth=False)
    reference = everyone.subset(~held_out, "fitting episodes")
    test = everyone.subset(held_out, "held-out episodes")
    rows, _ = evaluate(reference, test, registered_baselines())
    out: dict[str, dict] = {}
    for row in rows:
        if row["group"] != "all" or row["outcome"] not in OUTCOMES:
            continue
        entry = out.setdefault(row["method"], {}).setdefault(row["outcome"], {})
        if row["session"] == NOT_APPLICABLE:
            entry["reason"] = row["reason"]
        elif str(row["session"]) == SESSION:
            entry["auc_session_3"] = row["auc"]
        elif row["session"] == "course":
            entry["sensitivity_before_last_session"] = row["sensitivity"]
            entry["false_alarm_rate_before_last_session"] = row["false_alarm_rate"]
    return out
