"""Fitting therapy to the client: tailoring rules, the clinical support checklist and the caseload
check for one approach for everyone. Rules, checklist and settings are JSON data beside the code."""

from attunement.tailoring.approach_check import ApproachCheck, DimensionResult, check_approaches
from attunement.tailoring.engine import Caution, Recommendation, TailoringResult, tailor
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
    "Caution",
    "Checklist",
    "ChecklistItem",
    "DimensionResult",
    "Recommendation",
    "RuleSet",
    "SupportContext",
    "TailoringResult",
    "check_approaches",
    "load_rules",
    "record_use",
    "support_checklist",
    "tailor",
]
