"""A cohort to evaluate on: canonical tables in a folder, plus the simulator's truth when present.

A folder written by ``attunement simulate`` holds ``measures``, ``episodes``, ``truth``,
``truth_ruptures`` and ``profile.json``; a folder from elsewhere only needs ``measures`` and
``episodes`` (CSV or Parquet). Without truth, outcomes come from the observed data alone and
there are no rupture labels and no oracle.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from attunement.errors import FieldProblem, InvalidInputError
from attunement.prediction.histories import Histories, histories_from_tables
from attunement.prediction.outcomes import Labels, labels_from_tables
from attunement.tables.files import find_table, read_episodes, read_measures, read_table

PROFILE_FILE = "profile.json"


@dataclass(frozen=True)
class Cohort:
    """Histories and labels of the same clients, in the same order."""

    name: str
    histories: Histories
    labels: Labels
    has_truth: bool
    profile_path: Path | None = None

    def __len__(self) -> int:
        return len(self.histories)

    def subset(self, mask: np.ndarray, name: str) -> Cohort:
        return Cohort(
            name, self.histories.subset(mask), self.labels.subset(mask), self.has_truth, self.profile_path
        )


#: How a refusal names the folder being read.
COHORT = "cohort folder"


def load_cohort(folder: str | Path) -> Cohort:
    """Read a cohort folder (see module doc)."""
    folder = Path(folder)
    if not folder.is_dir():
        raise InvalidInputError("cohort", [FieldProblem("folder", str(folder), "an existing folder")])
    measures = read_measures(find_table(folder, "measures", context=COHORT))
    episodes = read_episodes(find_table(folder, "episodes", context=COHORT))
    truth_path = find_table(folder, "truth", required=False, context=COHORT)
    ruptures_path = find_table(folder, "truth_ruptures", required=False, context=COHORT)
    truth = read_table(truth_path) if truth_path else None
    ruptures = read_table(ruptures_path) if ruptures_path else None
    histories = histories_from_tables(measures, episodes)
    labels = labels_from_tables(histories, episodes, truth, ruptures)
    profile = folder / PROFILE_FILE
    return Cohort(
        name=folder.name,
        histories=histories,
        labels=labels,
        has_truth=truth is not None,
        profile_path=profile if profile.exists() else None,
    )


def split_by_client(cohort: Cohort, reference_share: float, seed: int) -> tuple[Cohort, Cohort]:
    """Split a cohort at random by client into a reference part and a held-out part."""
    rng = np.random.default_rng(seed)
    in_reference = rng.random(len(cohort)) < reference_share
    if in_reference.all() or not in_reference.any():
        raise InvalidInputError(
            "cohort split",
            [FieldProblem("clients", len(cohort), "enough clients for both a reference and a held-out part")],
        )
    return (
        cohort.subset(in_reference, f"{cohort.name} (reference part)"),
        cohort.subset(~in_reference, f"{cohort.name} (held-out part)"),
    )
