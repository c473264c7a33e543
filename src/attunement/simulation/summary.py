"""What a simulated run looks like from the outside: counts and rates from the written tables.

The summary uses only what a service would see (the canonical ``measures`` and ``episodes``)
plus the truth table for the latent class and rupture shares. Outcome rates follow the NHS
Talking Therapies definitions of :mod:`attunement.change.nhs_talking_therapies` on finished
courses (at least two attended sessions), first against last observed scores, so they can be
set beside the national figures. Counts add up across blocks, so a run of millions of clients
is summarised block by block (:func:`block_counts`, then :func:`summarise`).
"""

from __future__ import annotations

from collections import Counter

import pandas as pd

from attunement.change.nhs_talking_therapies import COUNTS, paired_outcomes, service_counts, service_rates
from attunement.simulation.generate import SimulatedClinic
from attunement.simulation.scales import outcome_ids
from attunement.simulation.truth import finished_sessions
from attunement.tables import session_scores


def first_and_last_scores(measures: pd.DataFrame) -> pd.DataFrame:
    """Per client: first and last observed PHQ-9 and anxiety scores (``phq9_first`` ... columns)."""
    columns = {}
    for instrument in outcome_ids():
        scores = session_scores(measures, instrument).sort_values(["client_id", "session"])
        grouped = scores.groupby("client_id")["score"]
        columns[f"{instrument}_first"] = grouped.first()
        columns[f"{instrument}_last"] = grouped.last()
    return pd.DataFrame(columns)


def block_counts(clinic: SimulatedClinic) -> Counter:
    """Additive counts of one block (or of a whole run)."""
    episodes, truth = clinic.episodes, clinic.truth
    finished = episodes.loc[episodes["sessions_attended"] >= finished_sessions(), "client_id"]
    courses = first_and_last_scores(clinic.measures).reindex(finished)
    counts: Counter = Counter(service_counts(paired_outcomes(courses)))
    counts["clients"] = len(episodes)
    counts["sessions_attended"] = int(episodes["sessions_attended"].sum())
    counts["finished_sessions_attended"] = int(
        episodes.loc[episodes["sessions_attended"] >= finished_sessions(), "sessions_attended"].sum()
    )
    counts["measure_rows"] = len(clinic.measures)
    counts["dropouts"] = int((episodes["end_reason"] == "dropout").sum())
    finished_truth = truth[truth["end_session"] >= finished_sessions()]
    counts["finished_with_rupture"] = int(finished_truth["rupture_happened"].sum())
    counts["ruptures"] = len(clinic.ruptures)
    counts["ruptures_repaired"] = int(clinic.ruptures["repaired"].sum())
    for name, n in truth["latent_class"].value_counts().items():
        counts[f"class:{name}"] = int(n)
    return counts


def summarise(counts: Counter, class_names: tuple[str, ...]) -> dict:
    """Rates (in percent) and means from the summed counts of a run."""
    finished = counts["finished_course_treatment"]
    clients = counts["clients"]

    def percent(part: float, whole: float) -> float | None:
        return 100.0 * part / whole if whole else None

    nhs = service_rates({k: counts[k] for k in COUNTS})
    return {
        "clients": clients,
        "sessions_attended": counts["sessions_attended"],
        "measure_rows": counts["measure_rows"],
        "dropout_percent": percent(counts["dropouts"], clients),
        "finished_courses": finished,
        "mean_sessions_finished": counts["finished_sessions_attended"] / finished if finished else None,
        "nhs_rates_percent": {k: (None if v != v else v) for k, v in nhs.items()},
        "finished_at_caseness_percent": percent(counts["at_caseness"], finished),
        "rupture_percent_of_finished": percent(counts["finished_with_rupture"], finished),
        "ruptures_repaired_percent": percent(counts["ruptures_repaired"], counts["ruptures"]),
        "class_percent": {name: percent(counts[f"class:{name}"], clients) for name in class_names},
    }
