"""The perception-gap rule against the simulator's true ruptures: fixed threshold and own usual difference.

The numbers in src/attunement/alerts/parameters.json (perception_gap) were chosen on a reference
cohort (seed 101) and are checked on a held-out one (seed 202):

    python benchmarks/perception_gap.py --clients 20000 --seed 101
    python benchmarks/perception_gap.py --clients 20000 --seed 202

For every attended session 1-20 whose check-in and therapist estimate are both recorded (a paired
session), with the session's truth (a rupture in progress or not): the gap (therapist minus
client), its widening against the pair's own usual difference where the own rule applies, and
how often each rule alerts. The simulated gap has no steady per-pair offset beyond the therapist's
optimism (docs/simulation.md), so the steady-offset case is covered by tests, not here.
"""

from __future__ import annotations

import argparse
import json

import numpy as np

from attunement.alerts.parameters import load_parameters
from attunement.alerts.perception import gap_course
from attunement.prediction.histories import histories_from_tables
from attunement.prediction.outcomes import labels_from_tables
from attunement.simulation import simulate

WIDENINGS = (0.75, 1.0, 1.25, 1.5)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=20000)
    parser.add_argument("--seed", type=int, default=202)
    args = parser.parse_args()
    sim = simulate(args.clients, args.seed)
    h = histories_from_tables(sim.measures, sim.episodes)
    labels = labels_from_tables(h, sim.episodes, sim.truth, sim.ruptures)
    width = min(20, h.max_session)
    client, therapist = h.score("checkin")[:, :width], h.score("checkin_therapist")[:, :width]
    attended = h.sessions[:, None] >= np.arange(1, width + 1)[None, :]
    rupture = np.column_stack([labels.rupture_in_progress(s) for s in range(1, width + 1)]) & attended
    start = labels.rupture_start
    onset = np.zeros_like(attended)
    begun = np.flatnonzero((start > 0) & (start <= np.minimum(h.sessions, width)))
    onset[begun, start[begun] - 1] = True
    params = load_parameters().perception_gap
    course = gap_course(client, therapist, params)
    paired = ~np.isnan(course.gap) & attended
    own = course.own & attended
    fixed = paired & (course.gap >= params.gap_points.value - 1e-9)
    out = {
        "clients": len(h),
        "seed": args.seed,
        "paired_sessions": int(paired.sum()),
        "own_rule_sessions": int(own.sum()),
        "gap_without_rupture": _spread(course.gap[paired & ~rupture]),
        "widening_without_rupture": _spread(course.widening[own & ~rupture]),
        "widening_with_rupture": _spread(course.widening[own & rupture]),
        "fixed_threshold_everywhere": _rates(fixed, paired, own, rupture, onset),
    }
    for widening in WIDENINGS:
        value = params.widening_points.model_copy(update={"value": widening})
        trial = gap_course(client, therapist, params.model_copy(update={"widening_points": value}))
        name = f"own_rule_from_widening_{widening:g}" + (
            " (chosen)" if widening == params.widening_points.value else ""
        )
        out[name] = _rates(trial.fires & paired, paired, own, rupture, onset)
    print(json.dumps(out, indent=2))


def _rates(fires, paired, own, rupture, onset) -> dict[str, float]:
    """Share of paired sessions alerting, without and with a rupture in progress, at the onset
    session of a true rupture, and the same on the sessions where the own rule applies."""
    return {
        "no_rupture": _share(fires[paired & ~rupture]),
        "rupture_in_progress": _share(fires[paired & rupture]),
        "rupture_onset": _share(fires[paired & onset]),
        "own_rule_sessions_no_rupture": _share(fires[own & ~rupture]),
        "own_rule_sessions_rupture_onset": _share(fires[own & onset]),
    }


def _spread(values: np.ndarray) -> dict[str, float]:
    return {
        "mean": round(float(values.mean()), 2),
        "sd": round(float(values.std()), 2),
        "q95": round(float(np.quantile(values, 0.95)), 2),
        "q975": round(float(np.quantile(values, 0.975)), 2),
    }


def _share(flags: np.ndarray) -> float:
    return round(float(flags.mean()), 3) if flags.size else float("nan")


if __name__ == "__main__":
    main()
