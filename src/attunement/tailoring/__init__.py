"""Fitting therapy to the client: tailoring rules (by profile, and by the kind of case: couple,
family, group, young person), the clinical support checklist and the caseload check for one
approach for everyone. Rules, checklist and settings are JSON data beside the code."""

from attunement.tailoring.approach_check import ApproachCheck, DimensionResult, check_approaches
from attunement.tailoring.case import CaseContext, case_context
from attunement.tailoring.engine import (
    Caution,
    Recommendation,
    TailoringResult,
    format_recommendations,
    tailor,
)
from attunement.tailoring.rules import RuleSet, load_rules
from attunement.tailoring.support import (
    ALERT_KINDS,
    Checklist,
    ChecklistItem,
    SupportContext,
    record_use,
    support_checklist,
)

__all__ = [
    "ALERT_KINDS",
    "ApproachCheck",
    "CaseContext",
    "Caution",
    "Checklist",
    "ChecklistItem",
    "DimensionResult",
    "Recommendation",
    "RuleSet",
    "SupportContext",
    "TailoringResult",
    "case_context",
    "check_approaches",
    "format_recommendations",
    "load_rules",
    "record_use",
    "support_checklist",
    "tailor",
]
