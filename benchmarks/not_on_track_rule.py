"""The not-on-track alert as a clinician sees it, measured like every method in `attunement evaluate`.

`attunement evaluate` measures the forecast's own alert rule (a probability at or above the
model's threshold, at every session). The not-on-track alert adds its own conditions on top
(docs/alerts.md): at least two PHQ-9 scores, no no-improvement part below PHQ-9 caseness, and the
plain rule "above the expected range at the last two recorded PHQ-9s". This script runs both
through the evaluation harness on a held-out simulated cohort, session by session with data up
to each session only, and prints the figures of `attunement evaluate` for each:

    attunement simulate --clients 4000 --seed 1 --out /tmp/ref --format parquet
    attunement simulate --clients 4000 --seed 2 --out /tmp/held --format parquet
    python benchmarks/not_on_track_rule.py --cohort /tmp/held --reference /tmp/ref

Variants, per outcome (deterioration, no improvement):

- `model_rule`: the forecast's own alert for that outcome (what `attunement evaluate` reports
  for `attunement_forecast`, and what the not-on-track alert was before these conditions);
- `model_any`: either of the forecast's two alerts, whatever the outcome: the not-on-track alert
  as it was shown before these conditions;
- `alert_part`: the part of the not-on-track alert for that outcome (with its conditions);
- `above_range_part`: the plain rule alone (the same flag for both outcomes);
- `any_alert`: any not-on-track alert, whatever part fired it: what the clinician sees.

Each is measured on all held-out clients and on those whose first PHQ-9 was at caseness (the
no-improvement outcome of a client who starts below it is almost certain, so the no-improvement
part leaves them out by design).

Also, for the alert before and after these conditions, the share of attended sessions (1-20)
with a not-on-track alert, and how many of those alerts were at session 1 or for clients who
started below PHQ-9 caseness.
"""

from __future__ import annotations

import argparse
import json

import numpy as np

from attunement.alerts.forecast_alerts import at_caseness, forecast_now
from attunement.evaluation.cohort import load_cohort
from attunement.evaluation.harness import figures, run_method
from attunement.evaluation.settings import load_settings
from attunement.forecast import ForecastMethod, ForecastModel, default_model
from attunement.prediction.methods import Method, Prediction

OUTCOMES = ("deterioration", "no_improvement")
VARIANTS = ("model_rule", "model_any", "alert_part", "above_range_part", "any_alert")


class NotOnTrackVariant(Method):
    """One variant of the not-on-track alert as an early-warning method for the harness."""

    kind = "ours"
    outcomes = OUTCOMES
    citation = "attunement not-on-track alert (docs/alerts.md)"

    def __init__(self, model: ForecastModel, variant: str) -> None:
        self.model = model
        self.variant = variant

    @property
    def name(self) -> str:
        return f"not_on_track_{self.variant}"

    def fit(self, reference, labels) -> NotOnTrackVariant:
        """The model is fitted once, outside (all variants share it): fitting adopts it."""
        self.model_ = self.model
        return self

    def predict(self, histories) -> Prediction:
        self.check_fitted()
        now = forecast_now(histories, self.model_)
        n = len(histories)
        alert = {}
        for outcome in OUTCOMES:
            flag = np.zeros(n, dtype=bool)
            if self.variant == "model_rule":
                flag = now.flags[outcome]
            elif self.variant == "model_any":
                flag = now.flags["deterioration"] | now.flags["no_improvement"]
            elif self.variant == "alert_part":
                flag[now.rows] = getattr(now.verdict, outcome)
            elif self.variant == "above_range_part":
                flag[now.rows] = now.verdict.above_range
            else:
                flag[now.rows] = now.verdict.fires
            alert[outcome] = flag
        return Prediction(risk={o: now.risks[o] for o in OUTCOMES}, alert=alert, is_probability=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cohort", required=True, help="held-out simulated cohort folder")
    parser.add_argument("--reference", help="cohort to fit the forecast on (default: the bundled model)")
    args = parser.parse_args()
    held = load_cohort(args.cohort)
    if args.reference:
        reference = load_cohort(args.reference)
        model = ForecastMethod().fit(reference.histories, reference.labels).model_
    else:
        model = default_model()
    settings = load_settings()
    sessions = list(range(1, int(settings.course_sessions.value) + 1))
    out: dict = {"clients": len(held), "model": "fitted on --reference" if args.reference else "bundled"}
    cased = held.subset(at_caseness(held.histories.first("phq9")), "first PHQ-9 at caseness")
    for cohort, label in ((held, "all clients"), (cased, "first PHQ-9 at caseness")):
        out[label] = {"clients": len(cohort)}
        for variant in VARIANTS:
            run = run_method(
                NotOnTrackVariant(model, variant).fit(cohort.histories, cohort.labels),
                cohort.histories,
                sessions,
            )
            rows = [
                r for r in figures(run, cohort, settings) if r["group"] == "all" and r["session"] == "course"
            ]
            out[label][variant] = {
                r["outcome"]: {
                    "flagged_before_last_session": _round(r["sensitivity"]),
                    "false_alarms_before_last_session": _round(r["false_alarm_rate"]),
                    "delayed_responders_falsely_flagged": _round(r["delayed_responder_false_alarm_rate"]),
                }
                for r in rows
            }
            if variant in ("model_any", "any_alert"):
                out[label][variant]["sessions"] = _session_shares(run, cohort)
    print(json.dumps(out, indent=2))


def _session_shares(run, cohort) -> dict:
    """How often a not-on-track alert shows (either outcome's flag), at session 1 and for clients
    who started below caseness."""
    below = ~at_caseness(cohort.histories.first("phq9"))
    alerts = {s: run.alert("deterioration", s) | run.alert("no_improvement", s) for s in run.rows}
    shown = sum(int(a.sum()) for a in alerts.values())
    attended = sum(len(r) for r in run.rows.values())
    return {
        "attended_sessions": attended,
        "share_with_alert": _round(shown / attended),
        "alerts_at_session_1": int(alerts[1].sum()),
        "alerts_for_clients_below_caseness": int(
            sum(int((a & below[run.rows[s]]).sum()) for s, a in alerts.items())
        ),
    }


def _round(value):
    return None if value is None else round(float(value), 4)


if __name__ == "__main__":
    main()
