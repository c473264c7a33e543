"""What actually happened to each client: the labels early warnings are judged against.

Which definition labels a cohort depends on what it measures (its
:class:`~attunement.prediction.measures.MeasureTable`):

- PHQ-9 and GAD-7 both present: the NHS Talking Therapies paired definitions on the first and
  last observed PHQ-9 and GAD-7 scores (:mod:`attunement.change.nhs_talking_therapies`), the same
  rules the simulator's exact truth uses, so the labels of a simulated cohort and its true
  probabilities mean the same thing (``definition`` ``"nhs_talking_therapies_paired"``);
- otherwise reliable change on one outcome measure (the first of
  :data:`~attunement.prediction.measures.OUTCOME_PREFERENCE` the cohort has), with the threshold,
  direction and caseness cut-off of that instrument's own definition, through
  :func:`attunement.change.classify_table` (``definition`` ``"reliable_change:core10"``).

A course with one observed session has no reliable change: no deterioration, and no reliable
improvement. ``no_improvement`` is the absence of reliable improvement; ``recovery`` (where the
measure has a caseness cut-off) is reliable improvement from the clinical to the functional range.

Rupture labels need the simulator's ``truth_ruptures`` table: an episode is *in progress* from
its start session; a repaired one for :data:`REPAIRED_IN_PROGRESS` sessions (its drop has then
mostly recovered), an unrepaired one until the end of the course.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from attunement.change.clinical_significance import classify_table, cutoff_for
from attunement.change.elementwise import check_direction
from attunement.change.nhs_talking_therapies import paired_outcomes
from attunement.change.reliable_change import threshold_for
from attunement.errors import FieldProblem, InvalidInputError
from attunement.instruments import get_instrument
from attunement.prediction.histories import Histories
from attunement.prediction.measures import MeasureTable
from attunement.tables.courses import course_keys, episode_ids

#: Sessions a repaired rupture counts as in progress (its start session and the next); an
#: evaluation convention of attunement, not a clinical number.
REPAIRED_IN_PROGRESS = 2


@dataclass(frozen=True)
class Labels:
    """Per-client outcomes, aligned with a :class:`Histories` (full, uncut)."""

    deterioration: np.ndarray
    no_improvement: np.ndarray
    end_session: np.ndarray
    dropout: np.ndarray
    rupture_start: np.ndarray | None = None
    rupture_repaired: np.ndarray | None = None
    latent_class: np.ndarray | None = None
    #: Which definition produced each client's course labels (see the module doc).
    definition: np.ndarray | None = None
    #: Reliable improvement and recovery (None when the measure has no caseness cut-off).
    improvement: np.ndarray | None = None
    recovery: np.ndarray | None = None

    def subset(self, mask: np.ndarray) -> Labels:
        def pick(values: np.ndarray | None) -> np.ndarray | None:
            return None if values is None else values[mask]

        return Labels(
            deterioration=self.deterioration[mask],
            no_improvement=self.no_improvement[mask],
            end_session=self.end_session[mask],
            dropout=self.dropout[mask],
            rupture_start=pick(self.rupture_start),
            rupture_repaired=pick(self.rupture_repaired),
            latent_class=pick(self.latent_class),
            definition=pick(self.definition),
            improvement=pick(self.improvement),
            recovery=pick(self.recovery),
        )

    @property
    def has_ruptures(self) -> bool:
        return self.rupture_start is not None

    def at(self, outcome: str, session: int) -> np.ndarray:
        """The label of ``outcome`` at ``session`` for every client (meaningful for those who
        attended it)."""
        if outcome == "deterioration":
            return self.deterioration
        if outcome == "no_improvement":
            return self.no_improvement
        if outcome == "dropout_next":
            return self.dropout & (self.end_session == session)
        if outcome == "rupture":
            return self.rupture_in_progress(session)
        raise KeyError(f"unknown outcome {outcome!r}")

    def rupture_in_progress(self, session: int) -> np.ndarray:
        if self.rupture_start is None or self.rupture_repaired is None:
            raise ValueError("rupture labels need the simulator's truth_ruptures table")
        return rupture_in_progress(self.rupture_start, self.rupture_repaired, session)


def rupture_in_progress(start: np.ndarray, repaired: np.ndarray, session: int | np.ndarray) -> np.ndarray:
    """Whether a rupture starting at ``start`` (0 for none) is in progress at ``session``: from its
    start on, for :data:`REPAIRED_IN_PROGRESS` sessions when repaired, to the end when not."""
    start = np.asarray(start)
    started = (start > 0) & (start <= session)
    lasting = ~np.asarray(repaired, dtype=bool) | (session - start < REPAIRED_IN_PROGRESS)
    return started & lasting


def labels_from_tables(
    histories: Histories,
    episodes: pd.DataFrame,
    truth: pd.DataFrame | None = None,
    ruptures: pd.DataFrame | None = None,
) -> Labels:
    """Labels for the clients of ``histories`` (in its order).

    ``episodes`` gives how each course ended (``end_reason``), matched by course key (one per
    episode of care when it has ``episode_id``); ``truth`` adds the latent class and ``ruptures``
    (the simulator's ``truth_ruptures``) the rupture episodes.
    """
    index = pd.Index(histories.client_id)
    course = course_labels(histories)
    courses = pd.Index(course_keys(episodes["client_id"], episode_ids(episodes)))
    end_reason = pd.Series(episodes["end_reason"].to_numpy(), index=courses).reindex(index)
    start = repaired = latent = None
    if ruptures is not None:
        r = ruptures.set_index(ruptures["client_id"].astype(str))
        r = r[~r.index.duplicated()]
        start = r["start_session"].reindex(index).fillna(0).to_numpy(dtype=np.int64)
        repaired = r["repaired"].reindex(index).fillna(False).to_numpy(dtype=bool)
    if truth is not None:
        latent = (
            truth.set_index(truth["client_id"].astype(str))["latent_class"]
            .reindex(index)
            .to_numpy(dtype=object)
        )
    return Labels(
        deterioration=course["deterioration"],
        no_improvement=~course["improvement"],
        end_session=histories.sessions.copy(),
        dropout=(end_reason == "dropout").to_numpy(dtype=bool),
        rupture_start=start,
        rupture_repaired=repaired,
        latent_class=latent,
        definition=course["definition"],
        improvement=course["improvement"],
        recovery=course["recovery"],
    )


def course_labels(histories: Histories, measures: MeasureTable | None = None) -> dict[str, np.ndarray]:
    """Deterioration, improvement, recovery and the definition used, per client (module doc).

    Raises a plain-language error when the cohort holds no outcome measure with reliable-change
    parameters, since then nothing can say whether a client improved.
    """
    measures = measures or MeasureTable.of(histories)
    definition = measures.label_definition
    n = len(histories)
    if definition is None:
        raise InvalidInputError(
            "outcome labels",
            [
                FieldProblem(
                    "measures",
                    sorted(measures.present),
                    "scores of an outcome measure with reliable-change parameters (e.g. phq9, gad7, core10)",
                )
            ],
        )
    if definition == "nhs_talking_therapies_paired":
        table = pd.DataFrame(
            {
                "phq9_first": histories.first("phq9"),
                "phq9_last": histories.last("phq9"),
                "gad7_first": histories.first("gad7"),
                "gad7_last": histories.last("gad7"),
            }
        )
        paired = paired_outcomes(table).table
        recovery = paired["reliable_recovery"] if "reliable_recovery" in paired.columns else None
        return {
            "deterioration": paired["reliable_deterioration"].fillna(False).to_numpy(dtype=bool),
            "improvement": paired["reliable_improvement"].fillna(False).to_numpy(dtype=bool),
            "recovery": None if recovery is None else recovery.fillna(False).to_numpy(dtype=bool),
            "definition": np.full(n, definition, dtype=object),
        }
    name = definition.split(":", 1)[1]
    instrument = get_instrument(name)
    cutoff = cutoff_for(instrument, "caseness") if instrument.scoring.caseness is not None else None
    table = pd.DataFrame({"pre": histories.first(name), "post": histories.last(name)})
    classified = classify_table(
        table,
        threshold_for(instrument),
        direction=check_direction(instrument.direction, "clinical significance table"),
        cutoff=cutoff,
    )
    recovery = None
    if cutoff is not None:
        recovery = (classified["category"] == "recovered").fillna(False).to_numpy(dtype=bool)
    return {
        "deterioration": classified["reliable_deterioration"].fillna(False).to_numpy(dtype=bool),
        "improvement": classified["reliable_improvement"].fillna(False).to_numpy(dtype=bool),
        "recovery": recovery,
        "definition": np.full(n, definition, dtype=object),
    }
