"""Every early-warning method the harness knows: the published baselines, ours and the oracle."""

from __future__ import annotations

from collections.abc import Sequence

from attunement.errors import FieldProblem, InvalidInputError
from attunement.evaluation.cohort import Cohort
from attunement.prediction.methods import Method


def registered_methods(cohort: Cohort, names: Sequence[str] | None = None) -> list[Method]:
    """Fresh, unfitted methods; the oracle only for a simulated cohort (it needs the true model,
    the profile the cohort folder was simulated with, or the default profile without one)."""
    from attunement.alerts import RuptureMethod
    from attunement.baselines import registered_baselines
    from attunement.forecast import ForecastMethod

    methods: list[Method] = [*registered_baselines(), ForecastMethod(), RuptureMethod()]
    if cohort.has_truth:
        from attunement.oracle import OracleMethod
        from attunement.simulation import load_parameters

        methods.append(OracleMethod(load_parameters(cohort.profile_path)))
    if not names:
        return methods
    known = {m.name: m for m in methods}
    unknown = [n for n in names if n not in known]
    if unknown:
        raise InvalidInputError(
            "evaluate", [FieldProblem("method", n, "one of " + ", ".join(known)) for n in unknown]
        )
    return [known[n] for n in names]
