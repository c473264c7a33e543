"""Clinical significance (Jacobson & Truax 1991): did the client move into the functional range?

Reliable change says a change is bigger than measurement error; clinical significance asks
whether the client ended up looking more like the functional than the clinical population. Jacobson
& Truax give three cut-offs (written for a lower-is-better scale; the signs flip for
higher-is-better scales):

- **a** = M_clin - 2 SD_clin: two SDs beyond the clinical mean, when no functional norms exist;
- **b** = M_func + 2 SD_func: within two SDs of the functional mean. This uses the *functional*
  population's SD, as Jacobson & Truax define it (the R package ``clinicalsignificance`` uses the
  clinical SD here; its criterion b results are therefore not comparable);
- **c** = (SD_clin M_func + SD_func M_clin) / (SD_clin + SD_func): the point equally likely under
  both distributions, preferred when both are known.

Classifications offered (each vectorised over pre/post pairs and usable for one client):

- :func:`classify_reliable_change`: improved / unchanged / deteriorated, by reliable change only;
- :func:`classify_combined`: recovered (reliable improvement and crossed the cut-off out of the
  clinical range), improved, unchanged, deteriorated, harmed (reliable worsening and crossed the
  cut-off into the clinical range);
- :func:`classify_cutoff_crossing`: improved / unchanged / deteriorated by the cut-off alone
  (the "statistical" approach: clinical before and functional after, or the reverse).

A score equal to a computed cut-off (a, b or c) is counted in the functional range, so only a
score strictly beyond it is clinical. Jacobson & Truax do not settle the tie; this is a project
choice, and cut-offs from real norms are rarely whole numbers. A published caseness cut-off keeps
its own rule (PHQ-9: 10 or more is a case).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
import pandas as pd

from attunement.change.elementwise import Direction, beneficial, check_direction, numeric
from attunement.change.reliable_change import ChangeThreshold, reliable_flags
from attunement.errors import FieldProblem, InvalidInputError
from attunement.instruments.definition import Comparison, Instrument, Status

Criterion = Literal["a", "b", "c"]
#: The criterion used when none is asked for: c when both populations' norms are known, else b, else a.
_PREFERRED_CRITERIA: tuple[Criterion, ...] = ("c", "b", "a")
COMBINED_CATEGORIES = ("recovered", "improved", "unchanged", "deteriorated", "harmed")
RELIABLE_CHANGE_CATEGORIES = ("improved", "unchanged", "deteriorated")
CUTOFF_CROSSING_CATEGORIES = ("improved", "unchanged", "deteriorated")


def criterion_a(clinical_mean: float, clinical_sd: float, *, direction: Direction) -> float:
    """M_clin -/+ 2 SD_clin: two clinical SDs beyond the clinical mean, towards the healthy end."""
    _positive("clinical_sd", clinical_sd)
    return clinical_mean + 2 * clinical_sd * _toward_health(direction)


def criterion_b(functional_mean: float, functional_sd: float, *, direction: Direction) -> float:
    """M_func +/- 2 SD_func (the functional SD, as Jacobson & Truax define it)."""
    _positive("functional_sd", functional_sd)
    return functional_mean - 2 * functional_sd * _toward_health(direction)


def criterion_c(
    clinical_mean: float, clinical_sd: float, functional_mean: float, functional_sd: float
) -> float:
    """(SD_clin M_func + SD_func M_clin) / (SD_clin + SD_func); the same for either direction."""
    _positive("clinical_sd", clinical_sd)
    _positive("functional_sd", functional_sd)
    return (clinical_sd * functional_mean + functional_sd * clinical_mean) / (clinical_sd + functional_sd)


@dataclass(frozen=True)
class Cutoff:
    """A line between the clinical and the functional range.

    A score ``s`` is in the clinical range when ``s rule value`` holds, e.g. ``s > 19.72`` for a
    computed cut-off on a lower-is-better scale or ``s >= 10`` for PHQ-9 caseness.
    """

    value: float
    rule: Comparison
    criterion: str
    source: str | None = None
    status: Status | None = None

    @property
    def direction(self) -> Direction:
        return "lower_is_better" if self.rule in (">", ">=") else "higher_is_better"

    @property
    def tag(self) -> str:
        return "" if self.status is None or self.status.is_verified else f"[{self.status.value}]"

    def describe(self) -> str:
        return f"clinical when score {self.rule} {self.value:.4g}"

    def is_clinical(self, scores: Any) -> Any:
        """Whether each score is in the clinical range (missing for a missing score)."""
        shape, (s,) = numeric("cut-off", score=scores)
        clinical, known = _clinical(s, self)
        return shape.flags(clinical, known, name="clinical")


def cutoff_from_norms(
    criterion: Criterion,
    *,
    direction: Direction,
    clinical_mean: float | None = None,
    clinical_sd: float | None = None,
    functional_mean: float | None = None,
    functional_sd: float | None = None,
    source: str | None = None,
    status: Status | None = None,
) -> Cutoff:
    """Compute criterion a, b or c; names every norm the criterion needs and did not get."""
    direction = check_direction(direction, "clinical cut-off")
    needs = {
        "a": {"clinical_mean": clinical_mean, "clinical_sd": clinical_sd},
        "b": {"functional_mean": functional_mean, "functional_sd": functional_sd},
        "c": {
            "clinical_mean": clinical_mean,
            "clinical_sd": clinical_sd,
            "functional_mean": functional_mean,
            "functional_sd": functional_sd,
        },
    }
    if criterion not in needs:
        raise InvalidInputError("clinical cut-off", [FieldProblem("criterion", criterion, "one of a, b, c")])
    missing = [
        FieldProblem(k, None, f"a number (criterion {criterion} needs it)")
        for k, v in needs[criterion].items()
        if v is None
    ]
    if missing:
        raise InvalidInputError(f"clinical cut-off, criterion {criterion}", missing)
    # Every norm the criterion needs is present (checked just above).
    if criterion == "a" and clinical_mean is not None and clinical_sd is not None:
        value = criterion_a(clinical_mean, clinical_sd, direction=direction)
    elif criterion == "b" and functional_mean is not None and functional_sd is not None:
        value = criterion_b(functional_mean, functional_sd, direction=direction)
    elif (
        clinical_mean is not None
        and clinical_sd is not None
        and functional_mean is not None
        and functional_sd is not None
    ):
        value = criterion_c(clinical_mean, clinical_sd, functional_mean, functional_sd)
    else:
        raise AssertionError(f"criterion {criterion}: norms checked above")
    return given_cutoff(value, direction=direction, criterion=criterion, source=source, status=status)


def given_cutoff(
    value: float,
    *,
    direction: Direction,
    clinical_at_cutoff: bool = False,
    criterion: str = "given",
    source: str | None = None,
    status: Status | None = None,
) -> Cutoff:
    """A cut-off from a number; a score equal to it is clinical only if ``clinical_at_cutoff``."""
    direction = check_direction(direction, "clinical cut-off")
    if not isinstance(value, int | float) or isinstance(value, bool) or not math.isfinite(value):
        raise InvalidInputError("clinical cut-off", [FieldProblem("cutoff", value, "a finite number")])
    if direction == "lower_is_better":
        rule: Comparison = ">=" if clinical_at_cutoff else ">"
    else:
        rule = "<=" if clinical_at_cutoff else "<"
    return Cutoff(value=float(value), rule=rule, criterion=criterion, source=source, status=status)


def cutoff_for(instrument: Instrument, criterion: Literal["caseness", "a", "b", "c"] | None = None) -> Cutoff:
    """The instrument's cut-off: its published caseness rule, or a criterion from its norms.

    Without ``criterion``: caseness when the definition has it, else c, b or a, whichever its
    norms allow (Jacobson & Truax prefer c when both populations are known).
    """
    scoring = instrument.scoring
    norms = scoring.norms
    if criterion in (None, "caseness") and scoring.caseness is not None:
        c = scoring.caseness
        return Cutoff(value=c.value, rule=c.rule, criterion="caseness", source=c.source, status=c.status)
    if criterion == "caseness":
        raise InvalidInputError(
            f"{instrument.id} cut-off",
            [FieldProblem("criterion", "caseness", "an instrument with a caseness rule")],
        )
    values = (
        {}
        if norms is None
        else {
            "clinical_mean": norms.clinical_mean,
            "clinical_sd": norms.clinical_sd,
            "functional_mean": norms.functional_mean,
            "functional_sd": norms.functional_sd,
        }
    )
    chosen: Criterion | None
    if criterion is None:
        has = {k for k, v in values.items() if v is not None}
        chosen = next((c for c in _PREFERRED_CRITERIA if _has_norms(c, has)), None)
        if chosen is None:
            raise InvalidInputError(
                f"{instrument.id} cut-off",
                [
                    FieldProblem(
                        "norms", None, "a caseness rule or clinical/functional norms in the definition"
                    )
                ],
            )
    else:
        chosen = criterion
    return cutoff_from_norms(
        chosen,
        direction=check_direction(instrument.direction, "clinical cut-off"),
        source=None if norms is None else norms.source,
        status=None if norms is None else norms.status,
        **values,
    )


def classify_reliable_change(pre: Any, post: Any, threshold: ChangeThreshold, *, direction: Direction) -> Any:
    """improved / unchanged / deteriorated by reliable change alone (missing without both scores)."""
    direction = check_direction(direction, "reliable change classification")
    shape, (pre_, post_) = numeric("reliable change classification", pre=pre, post=post)
    return shape.labels(
        _rc_labels(pre_, post_, threshold, direction), RELIABLE_CHANGE_CATEGORIES, "reliable_change"
    )


def classify_combined(pre: Any, post: Any, threshold: ChangeThreshold, cutoff: Cutoff) -> Any:
    """recovered / improved / unchanged / deteriorated / harmed (Jacobson & Truax's combined method).

    The scale's direction is the cut-off's: clinical above it means lower is better.
    """
    shape, (pre_, post_) = numeric("clinical significance classification", pre=pre, post=post)
    return shape.labels(_combined_labels(pre_, post_, threshold, cutoff), COMBINED_CATEGORIES, "category")


def classify_cutoff_crossing(pre: Any, post: Any, cutoff: Cutoff) -> Any:
    """improved (clinical -> functional) / unchanged / deteriorated (functional -> clinical)."""
    shape, (pre_, post_) = numeric("cut-off classification", pre=pre, post=post)
    return shape.labels(_crossing_labels(pre_, post_, cutoff), CUTOFF_CROSSING_CATEGORIES, "cutoff_crossing")


def classify_table(
    table: pd.DataFrame,
    threshold: ChangeThreshold,
    *,
    direction: Direction,
    cutoff: Cutoff | None = None,
    pre: str = "pre",
    post: str = "post",
) -> pd.DataFrame:
    """Classify every pre/post pair of ``table``; one output row per input row, same index.

    Columns: ``change`` (post - pre), ``rci`` (NaN for a raw-point threshold),
    ``reliable_improvement``, ``reliable_deterioration``, ``reliable_change`` (3 categories) and,
    with a cut-off, ``clinical_pre``, ``clinical_post``, ``cutoff_crossing`` and ``category``
    (the 5 combined categories). Rows missing either score get missing values, not a category.
    """
    direction = check_direction(direction, "clinical significance table")
    missing = [c for c in (pre, post) if c not in table.columns]
    if missing:
        raise InvalidInputError(
            "clinical significance table",
            [FieldProblem("columns", list(table.columns), f"a column named {c!r}") for c in missing],
        )
    _check_cutoff_direction(cutoff, direction)
    shape, (pre_, post_) = numeric("clinical significance table", **{pre: table[pre], post: table[post]})
    improved, deteriorated, known = reliable_flags(pre_, post_, threshold, direction)
    out = pd.DataFrame(index=table.index)
    out["change"] = shape.numbers(post_ - pre_)
    out["rci"] = threshold.index(table[pre], table[post])
    out["reliable_improvement"] = shape.flags(improved, known)
    out["reliable_deterioration"] = shape.flags(deteriorated, known)
    out["reliable_change"] = shape.labels(
        _rc_labels(pre_, post_, threshold, direction), RELIABLE_CHANGE_CATEGORIES
    )
    if cutoff is not None:
        clinical_pre, known_pre = _clinical(pre_, cutoff)
        clinical_post, known_post = _clinical(post_, cutoff)
        out["clinical_pre"] = shape.flags(clinical_pre, known_pre)
        out["clinical_post"] = shape.flags(clinical_post, known_post)
        out["cutoff_crossing"] = shape.labels(
            _crossing_labels(pre_, post_, cutoff), CUTOFF_CROSSING_CATEGORIES
        )
        out["category"] = shape.labels(_combined_labels(pre_, post_, threshold, cutoff), COMBINED_CATEGORIES)
    return out


@dataclass(frozen=True)
class ChangeAssessment:
    """Everything about one client's pre/post change, for a person to read or a program to store."""

    pre: float
    post: float
    direction: Direction
    change: float
    improvement: float
    s_diff: float | None
    standard_error_of_measurement: float | None
    rci: float | None
    threshold: ChangeThreshold
    reliable_improvement: bool
    reliable_deterioration: bool
    reliable_change: str
    cutoff: Cutoff | None
    clinical_pre: bool | None
    clinical_post: bool | None
    category: str | None


def assess_change(
    pre: float, post: float, threshold: ChangeThreshold, *, direction: Direction, cutoff: Cutoff | None = None
) -> ChangeAssessment:
    """One client's change: the index, the threshold, the 3-way and (with a cut-off) 5-way category."""
    direction = check_direction(direction, "change")
    _check_cutoff_direction(cutoff, direction)
    shape, (pre_, post_) = numeric("change", pre=pre, post=post)
    problems = [
        FieldProblem(field, given, "one number")
        for field, given, value in (("pre", pre, pre_), ("post", post, post_))
        if not shape.scalar or np.isnan(value)
    ]
    if problems:
        raise InvalidInputError("change", problems)
    improved, deteriorated, _ = reliable_flags(pre_, post_, threshold, direction)
    clinical_pre = clinical_post = category = None
    if cutoff is not None:
        clinical_pre = bool(_clinical(pre_, cutoff)[0])
        clinical_post = bool(_clinical(post_, cutoff)[0])
        category = str(_combined_labels(pre_, post_, threshold, cutoff).item())
    return ChangeAssessment(
        pre=float(pre_),
        post=float(post_),
        direction=direction,
        change=float(post_ - pre_),
        improvement=float(beneficial(pre_, post_, direction)),
        s_diff=threshold.s_diff,
        standard_error_of_measurement=threshold.standard_error_of_measurement,
        rci=threshold.index(float(pre_), float(post_)),
        threshold=threshold,
        reliable_improvement=bool(improved),
        reliable_deterioration=bool(deteriorated),
        reliable_change=str(_rc_labels(pre_, post_, threshold, direction).item()),
        cutoff=cutoff,
        clinical_pre=clinical_pre,
        clinical_post=clinical_post,
        category=category,
    )


def _labels(*labels: str | None) -> npt.NDArray[np.object_]:
    """Choices for ``np.select``: the labels as objects, None for an unknown result."""
    return np.array(labels, dtype=object)


def _rc_labels(
    pre: np.ndarray, post: np.ndarray, threshold: ChangeThreshold, direction: Direction
) -> np.ndarray:
    improved, deteriorated, known = reliable_flags(pre, post, threshold, direction)
    return np.select([~known, improved, deteriorated], _labels(None, "improved", "deteriorated"), "unchanged")


def _combined_labels(
    pre: np.ndarray, post: np.ndarray, threshold: ChangeThreshold, cutoff: Cutoff
) -> np.ndarray:
    improved, deteriorated, known = reliable_flags(pre, post, threshold, cutoff.direction)
    clinical_pre, _ = _clinical(pre, cutoff)
    clinical_post, _ = _clinical(post, cutoff)
    recovered = improved & clinical_pre & ~clinical_post
    harmed = deteriorated & ~clinical_pre & clinical_post
    return np.select(
        [~known, recovered, improved, harmed, deteriorated],
        _labels(None, "recovered", "improved", "harmed", "deteriorated"),
        "unchanged",
    )


def _crossing_labels(pre: np.ndarray, post: np.ndarray, cutoff: Cutoff) -> np.ndarray:
    clinical_pre, known_pre = _clinical(pre, cutoff)
    clinical_post, known_post = _clinical(post, cutoff)
    return np.select(
        [~(known_pre & known_post), clinical_pre & ~clinical_post, ~clinical_pre & clinical_post],
        _labels(None, "improved", "deteriorated"),
        "unchanged",
    )


def _clinical(scores: np.ndarray, cutoff: Cutoff) -> tuple[np.ndarray, np.ndarray]:
    known = ~np.isnan(scores)
    with np.errstate(invalid="ignore"):
        clinical = {
            ">=": scores >= cutoff.value,
            ">": scores > cutoff.value,
            "<=": scores <= cutoff.value,
            "<": scores < cutoff.value,
        }[cutoff.rule]
    return clinical & known, known


def _has_norms(criterion: str, present: set[str]) -> bool:
    need = {
        "a": {"clinical_mean", "clinical_sd"},
        "b": {"functional_mean", "functional_sd"},
        "c": {"clinical_mean", "clinical_sd", "functional_mean", "functional_sd"},
    }[criterion]
    return need <= present


def _toward_health(direction: str) -> int:
    """-1 when health lies below the clinical range (lower is better), +1 when above."""
    return -1 if check_direction(direction, "clinical cut-off") == "lower_is_better" else 1


def _positive(field: str, value: Any) -> None:
    if (
        not isinstance(value, int | float)
        or isinstance(value, bool)
        or not (math.isfinite(value) and value > 0)
    ):
        raise InvalidInputError(
            "clinical cut-off", [FieldProblem(field, value, "a standard deviation greater than 0")]
        )


def _check_cutoff_direction(cutoff: Cutoff | None, direction: str) -> None:
    if cutoff is not None and cutoff.direction != direction:
        raise InvalidInputError(
            "clinical significance",
            [
                FieldProblem(
                    "cutoff", cutoff.describe(), f"a cut-off for a {direction.replace('_', '-')} scale"
                )
            ],
        )
