"""'One approach for everyone': does the way a clinician works vary with clients' differing profiles?

The task forces list imposing one relationship style or treatment on every client among the
practices that do not work. This caseload check takes the approach recorded for each session and
each client's profile, reduces each client to the approach used in most of their sessions (so
one client's many sessions do not pose as many observations), and measures, per profile
dimension, the association between the dimension and the approach with Cramér's V and Pearson's
chi-square test. The verdict says in plain words whether approaches vary with profiles, and
shows the numbers behind it. The settings live in ``approach_check.json``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from functools import cache
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict
from scipy.stats import chi2_contingency
from statsmodels.stats.multitest import multipletests

from attunement.datafiles import load_json_model
from attunement.errors import FieldProblem, InvalidInputError
from attunement.evidence import get_entry
from attunement.evidence.models import suffix
from attunement.instruments.definition import Status
from attunement.profile.model import CATEGORIES, Profile, label

SETTINGS_FILE = Path(__file__).with_name("approach_check.json")

Verdict = Literal["one_approach", "tailored", "unclear", "not_tailored", "not_testable"]
DimensionVerdict = Literal["varies", "possibly", "does_not_vary", "not_testable"]


class _Setting(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    value: float
    status: Status
    source: str
    note: str


class Approaches(BaseModel):
    """The ways of working a therapist can record for a session: id -> plain label."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    description: str
    status: Status
    choices: dict[str, str]


class Settings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    description: str
    unit: str
    approaches: Approaches
    statistic: str
    min_v: _Setting
    alpha: _Setting
    min_expected: _Setting


@cache
def load_settings(path: Path = SETTINGS_FILE) -> Settings:
    return load_json_model(path, Settings)


@dataclass(frozen=True)
class DimensionResult:
    dimension: str
    verdict: DimensionVerdict
    text: str
    clients: int
    categories: list[str]
    table: dict[str, dict[str, int]]
    chi2: float | None = None
    dof: int | None = None
    p_value: float | None = None
    cramers_v: float | None = None
    approximate: bool = False
    #: ``p_value`` adjusted for testing every dimension of the profile at once (Holm).
    p_adjusted: float | None = None


@dataclass(frozen=True)
class ApproachCheck:
    verdict: Verdict
    text: str
    clients: int
    sessions: int
    approaches: dict[str, int]
    dimensions: list[DimensionResult]
    unit: str
    statistic: str
    settings: dict[str, str]
    notes: list[str] = field(default_factory=list)


def check_approaches(
    sessions: pd.DataFrame | Iterable[Mapping[str, object]],
    profiles: Mapping[str, Profile] | pd.DataFrame,
    settings: Settings | None = None,
) -> ApproachCheck:
    """Whether approaches across a caseload vary with clients' profiles.

    ``sessions`` has one row per session with ``client_id`` and ``approach``. ``profiles`` maps
    client ids to :class:`Profile` objects, or is a table with ``client_id`` and one column per
    profile dimension.
    """
    s = settings or load_settings()
    table = _sessions_table(sessions)
    per_client, ties = _predominant(table)
    dims = _profiles_table(profiles)
    notes = []
    if ties:
        notes.append(
            f"{ties} client(s) had two or more approaches equally often; the first alphabetically was used."
        )
    without = sorted(set(per_client.index) - set(dims.index))
    if without:
        notes.append(
            f"{len(without)} client(s) with sessions have no profile "
            "and are left out of the dimension checks."
        )
    approaches = per_client.value_counts().sort_index()
    settings_text = {
        name: f"{getattr(s, name).value:g} ({getattr(s, name).status.value}): {getattr(s, name).note}"
        for name in ("min_v", "alpha", "min_expected")
    }
    results = _holm([_one_dimension(d, dims[d], per_client, s) for d in dims.columns], s)

    if len(approaches) == 1:
        only = approaches.index[0]
        verdict: Verdict = "one_approach"
        text = (
            f"One approach for everyone: {_whom(len(per_client))} received mainly {only!r}, "
            f"whatever their profiles. {_listing()}"
        )
    else:
        kinds = {r.verdict for r in results}
        varies = [r for r in results if r.verdict == "varies"]
        possible = [r for r in results if r.verdict == "possibly"]
        if varies:
            verdict = "tailored"
            text = "Approaches vary with clients' profiles: " + "; ".join(_short(r) for r in varies) + "."
        elif possible:
            verdict = "unclear"
            strongest = sorted(possible, key=lambda r: -(r.cramers_v or 0.0))
            more = f"; and {len(strongest) - 3} more" if len(strongest) > 3 else ""
            text = (
                "Approaches may vary with clients' profiles, "
                "but the caseload is too small to tell from chance: "
                + "; ".join(_short(r) for r in strongest[:3])
                + more
                + "."
            )
        elif "does_not_vary" in kinds:
            verdict = "not_tailored"
            text = (
                f"{len(approaches)} approaches are used, but not in a way that follows clients' profiles: "
                "no recorded dimension is associated with the approach. Check whether differing clients "
                "get differing ways of working."
            )
        else:
            verdict = "not_testable"
            text = (
                "No profile dimension can be tested: too few clients, or every client has the same profile."
            )
    return ApproachCheck(
        verdict=verdict,
        text=text,
        clients=len(per_client),
        sessions=len(table),
        approaches={str(k): int(v) for k, v in approaches.items()},
        dimensions=results,
        unit=s.unit,
        statistic=s.statistic,
        settings=settings_text,
        notes=notes,
    )


def cramers_v(table: np.ndarray) -> tuple[float, float, int, float, np.ndarray]:
    """Cramér's V, chi-square, degrees of freedom, p-value and expected counts of a contingency table."""
    chi2, p, dof, expected = chi2_contingency(table, correction=False)
    n = table.sum()
    k = min(table.shape) - 1
    v = math.sqrt(chi2 / (n * k)) if n and k else 0.0
    return min(v, 1.0), float(chi2), int(dof), float(p), expected


def _one_dimension(name: str, values: pd.Series, per_client: pd.Series, s: Settings) -> DimensionResult:
    joined = pd.DataFrame({"value": values, "approach": per_client}).dropna()
    crosstab = pd.crosstab(joined["value"], joined["approach"])
    cats = [str(c) for c in crosstab.index]
    as_dict = {str(r): {str(c): int(crosstab.at[r, c]) for c in crosstab.columns} for r in crosstab.index}
    n = len(joined)
    shown = name.replace("_", " ")
    if crosstab.shape[0] < 2:
        only = f" ({_label(name, cats[0])})" if cats else ""
        return DimensionResult(
            name,
            "not_testable",
            f"{shown}: every client with a record has the same value{only}.",
            n,
            cats,
            as_dict,
        )
    if crosstab.shape[1] < 2:
        text = f"{shown}: the same approach ({crosstab.columns[0]!r}) for every category."
        return DimensionResult(name, "does_not_vary", text, n, cats, as_dict, cramers_v=0.0)
    v, chi2, dof, p, expected = cramers_v(crosstab.to_numpy())
    approximate = bool((expected < s.min_expected.value).any())
    numbers = f"Cramér's V = {v:.2f}, chi-square = {chi2:.2f}, df = {dof}, {_p(p)}, n = {n} clients"
    if approximate:
        numbers += "; p is approximate (small expected counts)"
    if v < s.min_v.value:
        verdict: DimensionVerdict = "does_not_vary"
        text = f"{shown}: the approach does not vary with it ({numbers})."
    else:  # settled by _holm, once every dimension's p is known
        verdict, text = "possibly", numbers
    return DimensionResult(name, verdict, text, n, cats, as_dict, chi2, dof, p, v, approximate)


def _holm(results: list[DimensionResult], s: Settings) -> list[DimensionResult]:
    """Settle the dimensions whose association is large enough, against p-values adjusted for
    testing every profile dimension at once: with twenty dimensions and a caseload whose ways of
    working are chosen at random, one of them would pass p < .05 by chance most of the time."""
    tested = [i for i, r in enumerate(results) if r.p_value is not None]
    if not tested:
        return results
    adjusted = multipletests([results[i].p_value for i in tested], alpha=s.alpha.value, method="holm")[1]
    out = list(results)
    for i, p_adj in zip(tested, adjusted, strict=True):
        r = replace(results[i], p_adjusted=float(p_adj))
        if r.verdict == "possibly":
            shown = r.dimension.replace("_", " ")
            numbers = f"{r.text}; adjusted for {len(tested)} dimensions tested, {_p(float(p_adj))}"
            if p_adj < s.alpha.value:
                r = replace(r, verdict="varies", text=f"{shown}: the approach varies with it ({numbers}).")
            else:
                r = replace(
                    r, text=f"{shown}: the approach may vary with it, but this could be chance ({numbers})."
                )
        out[i] = r
    return out


def _listing() -> str:
    """Why this matters, with the verification status of the task-force listing."""
    entry = get_entry("procrustean_bed")
    return f"The task forces list '{entry.name.lower()}' among the practices that do not work" + (
        suffix(entry.findings[0].status) + "." if entry.findings else "."
    )


def _whom(clients: int) -> str:
    return "the one client" if clients == 1 else f"all {clients} clients"


def _short(r: DimensionResult) -> str:
    return f"{r.dimension.replace('_', ' ')} (V = {r.cramers_v:.2f}, adjusted {_p(r.p_adjusted)})"


def _p(p: float | None) -> str:
    """``p < .001`` or ``p = .034``."""
    if p is None:
        return "p = -"
    return "p < .001" if p < 0.001 else "p = " + f"{p:.3f}".lstrip("0")


def _label(dimension: str, value: str) -> str:
    return label(dimension, value) if dimension in CATEGORIES else value


def _sessions_table(sessions: pd.DataFrame | Iterable[Mapping[str, object]]) -> pd.DataFrame:
    frame = sessions if isinstance(sessions, pd.DataFrame) else pd.DataFrame(list(sessions))
    missing = [c for c in ("client_id", "approach") if c not in frame.columns]
    if missing:
        raise InvalidInputError(
            "sessions",
            [
                FieldProblem(
                    "columns", ", ".join(map(str, frame.columns)) or "none", "columns client_id and approach"
                )
            ],
        )
    out = frame[["client_id", "approach"]].copy()
    out["client_id"] = out["client_id"].astype("string").str.strip()
    out["approach"] = out["approach"].astype("string").str.strip()
    out = out[out["client_id"].notna() & (out["client_id"] != "")]
    out = out[out["approach"].notna() & (out["approach"] != "")]
    if out.empty:
        raise InvalidInputError(
            "sessions", [FieldProblem("approach", "no values", "at least one session with an approach")]
        )
    return out.reset_index(drop=True)


def _predominant(table: pd.DataFrame) -> tuple[pd.Series, int]:
    counts = table.groupby(["client_id", "approach"]).size().rename("n").reset_index()
    counts = counts.sort_values(["client_id", "n", "approach"], ascending=[True, False, True])
    top = counts.groupby("client_id").head(1).set_index("client_id")["approach"]
    best = counts.groupby("client_id")["n"].transform("max")
    ties = int((counts[counts["n"] == best].groupby("client_id").size() > 1).sum())
    return top.astype(str), ties


def _profiles_table(profiles: Mapping[str, Profile] | pd.DataFrame) -> pd.DataFrame:
    if isinstance(profiles, pd.DataFrame):
        if "client_id" not in profiles.columns:
            raise InvalidInputError(
                "profiles",
                [FieldProblem("columns", ", ".join(map(str, profiles.columns)), "a client_id column")],
            )
        frame = profiles.copy()
        frame["client_id"] = frame["client_id"].astype(str).str.strip()
        frame = frame.set_index("client_id")
        return frame.astype("object").where(frame.notna(), None).map(lambda v: None if v is None else str(v))
    rows = {cid: p.categories() for cid, p in profiles.items()}
    frame = pd.DataFrame.from_dict(rows, orient="index")
    ordered = [c for c in CATEGORIES if c in frame.columns]
    return frame[ordered]
