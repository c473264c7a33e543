"""Change statistics: how far a client's scores moved, and whether the move is more than noise.

Reliable change and clinical significance (Jacobson & Truax 1991), the NHS Talking Therapies paired
outcome definitions and their national rate denominators. Pure functions over numbers, numpy arrays
and pandas tables; the only files read are the parameter files beside these modules.
"""

from attunement.change.clinical_significance import (
    ChangeAssessment,
    Cutoff,
    assess_change,
    classify_combined,
    classify_cutoff_crossing,
    classify_reliable_change,
    classify_table,
    cutoff_for,
    cutoff_from_norms,
    given_cutoff,
)
from attunement.change.nhs_talking_therapies import (
    PairedOutcomes,
    paired_outcomes,
    service_counts,
    service_rates,
)
from attunement.change.reliable_change import (
    ChangeThreshold,
    direction_for,
    reliable_change_index,
    reliable_deterioration,
    reliable_improvement,
    standard_error_of_difference,
    threshold_for,
    threshold_from_reliability,
    threshold_from_set,
)
from attunement.change.sudden_gains import (
    SuddenGainRules,
    SuddenGainsResult,
    SuddenGainSummary,
    find_sudden_gains,
    reliable_change_cutoff,
)

__all__ = [
    "ChangeAssessment",
    "ChangeThreshold",
    "Cutoff",
    "PairedOutcomes",
    "SuddenGainRules",
    "SuddenGainSummary",
    "SuddenGainsResult",
    "assess_change",
    "classify_combined",
    "classify_cutoff_crossing",
    "classify_reliable_change",
    "classify_table",
    "cutoff_for",
    "cutoff_from_norms",
    "find_sudden_gains",
    "given_cutoff",
    "paired_outcomes",
    "reliable_change_cutoff",
    "reliable_change_index",
    "reliable_deterioration",
    "reliable_improvement",
    "service_counts",
    "service_rates",
    "standard_error_of_difference",
    "threshold_for",
    "direction_for",
    "threshold_from_reliability",
    "threshold_from_set",
]
