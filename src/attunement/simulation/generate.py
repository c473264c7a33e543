"""Run the simulated clinic: draw clients block by block and write the canonical tables.

For each block of clients: draw their latent characteristics (:mod:`~.cohort`), compute their
latent course (:mod:`~.paths`), then draw what a service would record -- noisy, rounded scores,
missed forms, PHQ-9 item answers, the session that ends each course -- and the exact outcome
probabilities (:mod:`~.truth`). Each block has its own random stream derived from the seed and
the block number, so a run is reproducible and its memory stays bounded however many clients
are asked for.

Outputs, as pandas tables:

- ``measures`` (canonical): PHQ-9 item rows (``phq9_1`` ... ``phq9_9``), GAD-7 score rows,
  ``checkin`` score rows (client) and ``checkin_therapist`` score rows (therapist), one set per
  attended session, minus missed forms; with item rows, also the check-in's ``checkin_judged``
  answer as an item row beside the check-in total (:mod:`~.negative_process`);
- ``episodes`` (canonical): one row per client with ``end_reason`` ``completed`` or ``dropout``,
  plus ``client_group`` and ``sessions_attended``;
- ``truth``: per client, the latent class and parameters, the scheduled rupture, the true end and
  the true outcome probabilities;
- ``ruptures``: one row per rupture episode that happened (started within the attended sessions);
- ``negative_processes``: one row per attended session in which the therapist responded in a
  critical, blaming or pushing way (the truth the negative-process alert is measured against),
  with the points it added to the "judged" answer and whether the client's form was recorded;
- ``therapists``: each therapist's latent effect and estimate bias.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from attunement.instruments import get_instrument
from attunement.simulation import core10
from attunement.simulation.cohort import Clients, draw_clients, draw_therapists, therapist_count
from attunement.simulation.endings import draw_ends
from attunement.simulation.negative_process import JudgedAnswers, draw_judged
from attunement.simulation.observation import missed, observe, split_items
from attunement.simulation.paths import LatentPaths, latent_paths
from attunement.simulation.scales import (
    CHECKIN,
    CHECKIN_THERAPIST,
    checkin_maximum,
    outcome_ids,
    outcome_scale,
)
from attunement.simulation.specification import SimulationParameters, load_parameters
from attunement.simulation.truth import outcome_probabilities

DEPRESSION, ANXIETY = outcome_ids()
INSTRUMENT_ORDER = (DEPRESSION, ANXIETY, CHECKIN, CHECKIN_THERAPIST)
THERAPIST_STREAM = 0
BLOCK_STREAM = 1
#: The negative-process draws have a stream of their own, so that adding them left every earlier
#: draw (and every earlier simulated figure) as it was.
NEGATIVE_STREAM = 2
#: CORE-10 answers, written only when asked for, have their own stream for the same reason.
CORE10_STREAM = 3
JUDGED_ITEM = "checkin_judged"
NEGATIVE_COLUMNS = ("client_id", "session", "raised_by", "form_recorded")


def _no_negative_processes() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "client_id": np.array([], dtype=object),
            "session": np.array([], dtype=np.int64),
            "raised_by": np.array([], dtype=float),
            "form_recorded": np.array([], dtype=bool),
        },
        columns=list(NEGATIVE_COLUMNS),
    )


@dataclass(frozen=True)
class SimulatedClinic:
    """The tables of one simulated run (or of one block of it)."""

    measures: pd.DataFrame
    episodes: pd.DataFrame
    truth: pd.DataFrame
    ruptures: pd.DataFrame
    therapists: pd.DataFrame
    negative_processes: pd.DataFrame = field(default_factory=_no_negative_processes)


class ClinicSimulation:
    """A reproducible simulated clinic of ``n_clients`` clients from ``seed``.

    ``item_rows=False`` writes PHQ-9 (and CORE-10) as score rows (totals only, no item 9
    answer): smaller tables for very large runs. ``core10=True`` also writes CORE-10 at every
    form (:mod:`attunement.simulation.core10`); every other draw is the same with or without it.
    """

    def __init__(
        self,
        n_clients: int,
        seed: int,
        profile: SimulationParameters | None = None,
        *,
        item_rows: bool = True,
        core10: bool = False,
    ):
        if n_clients < 1:
            raise ValueError("n_clients must be at least 1")
        self.n_clients = int(n_clients)
        self.seed = int(seed)
        self.profile = profile or load_parameters()
        if core10 and self.profile.core10 is None:
            raise ValueError(
                f"profile {self.profile.name!r} has no core10 parameters, so it cannot simulate CORE-10"
            )
        self.item_rows = item_rows
        self.core10 = core10
        self.block_size = int(self.profile.engine.block_clients.value)
        rng = np.random.default_rng(np.random.SeedSequence(self.seed, spawn_key=(THERAPIST_STREAM,)))
        self.therapists = draw_therapists(therapist_count(self.n_clients, self.profile), self.profile, rng)
        self._client_width = len(str(self.n_clients))
        width = len(str(len(self.therapists)))
        self._therapist_labels = np.array(
            [f"t{n + 1:0{width}d}" for n in range(len(self.therapists))], dtype=object
        )

    @property
    def block_count(self) -> int:
        return math.ceil(self.n_clients / self.block_size)

    def therapist_table(self) -> pd.DataFrame:
        return pd.DataFrame(
            {
                "therapist_id": self._therapist_ids(np.arange(len(self.therapists))),
                "change_effect": self.therapists.change_effect,
                "estimate_bias": self.therapists.estimate_bias,
            }
        )

    def block(self, index: int) -> SimulatedClinic:
        """The tables of block ``index`` (0-based); the therapists table is the whole one."""
        first = index * self.block_size
        n = min(self.block_size, self.n_clients - first)
        if n <= 0:
            raise IndexError(f"block {index} is beyond the {self.block_count} blocks of this run")
        rng = np.random.default_rng(np.random.SeedSequence(self.seed, spawn_key=(BLOCK_STREAM, index)))
        clients = draw_clients(first, n, self.therapists, self.profile, rng)
        paths = latent_paths(clients, self.therapists, self.profile)
        return self._record(clients, paths, rng, index)

    def blocks(self) -> Iterator[SimulatedClinic]:
        for index in range(self.block_count):
            yield self.block(index)

    def run(self) -> SimulatedClinic:
        """All blocks, concatenated."""
        parts = list(self.blocks())
        return SimulatedClinic(
            measures=pd.concat([p.measures for p in parts], ignore_index=True),
            episodes=pd.concat([p.episodes for p in parts], ignore_index=True),
            truth=pd.concat([p.truth for p in parts], ignore_index=True),
            ruptures=pd.concat([p.ruptures for p in parts], ignore_index=True),
            therapists=self.therapist_table(),
            negative_processes=pd.concat([p.negative_processes for p in parts], ignore_index=True),
        )

    # -- drawing what a service records ------------------------------------------------------

    def _record(
        self, clients: Clients, paths: LatentPaths, rng: np.random.Generator, index: int = 0
    ) -> SimulatedClinic:
        p = self.profile
        m, a, t = p.measurement, p.alliance, p.therapists
        dep, anx = outcome_scale(DEPRESSION), outcome_scale(ANXIETY)
        step = 10.0**-a.score_decimals.value
        phq9 = observe(paths.phq9, m.phq9_noise_sd.value, dep.maximum, rng)
        gad7 = observe(paths.gad7, m.gad7_noise_sd.value, anx.maximum, rng)
        checkin = observe(paths.checkin, a.noise_sd.value, checkin_maximum(), rng, step)
        estimate = observe(paths.therapist_estimate, t.estimate_noise_sd.value, checkin_maximum(), rng, step)
        last, dropped = draw_ends(paths.completion, paths.dropout, rng.random(paths.completion.shape))
        attended = np.arange(1, p.max_sessions + 1)[None, :] <= last[:, None]
        client_missed = missed(attended.shape, m.missed_questionnaires.value, rng)
        client_missed[:, 0] = False
        therapist_missed = missed(attended.shape, m.missed_therapist_rating.value, rng)
        client_forms = attended & ~client_missed
        therapist_forms = attended & ~therapist_missed

        truth = outcome_probabilities(
            paths,
            phq9[:, 0],
            gad7[:, 0],
            m.phq9_noise_sd.value,
            m.gad7_noise_sd.value,
            m.missed_questionnaires.value,
        )
        ids = self._client_ids(clients.number)
        therapist_ids = self._therapist_ids(clients.therapist)
        judged = self._judged(len(ids), index)
        measures = self._measures(
            ids, client_forms, therapist_forms, phq9, gad7, checkin, estimate, rng, judged
        )
        if self.core10:
            measures = self._with_core10(measures, ids, client_forms, paths, index)
        groups = np.asarray(p.groups.labels, dtype=object)[clients.group]
        end_reason = np.where(dropped, "dropout", "completed").astype(object)
        episodes = pd.DataFrame(
            {
                "client_id": ids,
                "therapist_id": therapist_ids,
                "end_reason": end_reason,
                "client_group": groups,
                "sessions_attended": last,
            }
        )
        return SimulatedClinic(
            measures=measures,
            episodes=episodes,
            truth=self._truth(ids, therapist_ids, groups, clients, last, end_reason, truth),
            ruptures=self._ruptures(ids, clients, last),
            therapists=self.therapist_table(),
            negative_processes=self._negative_processes(ids, judged, attended, client_forms),
        )

    def _judged(self, n: int, index: int) -> JudgedAnswers | None:
        """The negative-process sessions and "judged" answers of a block, from their own stream."""
        if self.profile.negative_process is None:
            return None
        rng = np.random.default_rng(np.random.SeedSequence(self.seed, spawn_key=(NEGATIVE_STREAM, index)))
        return draw_judged(n, self.profile.max_sessions, self.profile.negative_process, rng)

    def _negative_processes(
        self, ids: np.ndarray, judged: JudgedAnswers | None, attended: np.ndarray, forms: np.ndarray
    ) -> pd.DataFrame:
        """One row per attended session with a negative process (the alert's known truth)."""
        if judged is None:
            return _no_negative_processes()
        rows, cols = np.nonzero(judged.happened & attended)
        return pd.DataFrame(
            {
                "client_id": ids[rows],
                "session": cols + 1,
                "raised_by": np.round(judged.raised_by[rows, cols], 2),
                # Written only with item rows: without them the alert has nothing to read.
                "form_recorded": forms[rows, cols] & self.item_rows,
            }
        )

    def _measures(
        self,
        ids: np.ndarray,
        client_forms: np.ndarray,
        therapist_forms: np.ndarray,
        phq9: np.ndarray,
        gad7: np.ndarray,
        checkin: np.ndarray,
        estimate: np.ndarray,
        rng: np.random.Generator,
        judged: JudgedAnswers | None = None,
    ) -> pd.DataFrame:
        rows, cols = np.nonzero(client_forms)
        t_rows, t_cols = np.nonzero(therapist_forms)
        parts: list[dict[str, np.ndarray]] = []
        if self.item_rows:
            parts.append(self._phq9_items(rows, cols, phq9[rows, cols], rng))
        else:
            parts.append(_score_part(rows, cols, DEPRESSION, "client", phq9[rows, cols]))
        parts.append(_score_part(rows, cols, ANXIETY, "client", gad7[rows, cols]))
        parts.append(_score_part(rows, cols, CHECKIN, "client", checkin[rows, cols]))
        if self.item_rows and judged is not None:
            part = _score_part(rows, cols, CHECKIN, "client", np.full(rows.size, np.nan))
            part.update(
                item_order=np.ones(rows.size, dtype=np.int64),
                item=np.full(rows.size, JUDGED_ITEM, dtype=object),
                value=judged.answer[rows, cols],
            )
            parts.append(part)
        parts.append(_score_part(t_rows, t_cols, CHECKIN_THERAPIST, "therapist", estimate[t_rows, t_cols]))
        joined = {key: np.concatenate([part[key] for part in parts]) for key in parts[0]}
        order = np.lexsort((joined["item_order"], joined["instrument_order"], joined["col"], joined["row"]))
        j = {key: value[order] for key, value in joined.items()}
        return pd.DataFrame(
            {
                "client_id": ids[j["row"]],
                "session": j["col"] + 1,
                "instrument": np.asarray(INSTRUMENT_ORDER, dtype=object)[j["instrument_order"]],
                "rater": j["rater"],
                "item": j["item"],
                "value": j["value"],
                "score": j["score"],
            }
        )

    def _with_core10(
        self, measures: pd.DataFrame, ids: np.ndarray, forms: np.ndarray, paths: LatentPaths, index: int
    ) -> pd.DataFrame:
        """CORE-10 at every client form, from its own random stream, after each session's other rows."""
        p = self.profile.core10
        assert p is not None  # checked in __init__
        rng = np.random.default_rng(np.random.SeedSequence(self.seed, spawn_key=(CORE10_STREAM, index)))
        totals = core10.observed_totals(core10.equated_latent(paths.phq9, paths.gad7, p), p, rng)
        rows, cols = np.nonzero(forms)
        if self.item_rows:
            items, answers = core10.item_answers(totals[rows, cols].astype(np.int64), p, rng)
            k = len(items)
            part = pd.DataFrame(
                {
                    "client_id": np.repeat(ids[rows], k),
                    "session": np.repeat(cols + 1, k),
                    "instrument": core10.CORE10,
                    "rater": "client",
                    "item": np.tile(np.asarray(items, dtype=object), rows.size),
                    "value": answers.ravel().astype(float),
                    "score": np.nan,
                }
            )
        else:
            part = pd.DataFrame(
                {
                    "client_id": ids[rows],
                    "session": cols + 1,
                    "instrument": core10.CORE10,
                    "rater": "client",
                    "item": None,
                    "value": np.nan,
                    "score": totals[rows, cols],
                }
            )
        joined = pd.concat([measures, part], ignore_index=True)
        return joined.sort_values(["client_id", "session"], kind="stable", ignore_index=True)

    def _phq9_items(
        self, rows: np.ndarray, cols: np.ndarray, totals: np.ndarray, rng: np.random.Generator
    ) -> dict[str, np.ndarray]:
        scale = outcome_scale(DEPRESSION)
        critical = {c.item for c in get_instrument(DEPRESSION).scoring.critical_items}
        weights = np.array(
            [self.profile.measurement.phq9_item9_weight.value if i in critical else 1.0 for i in scale.items]
        )
        answers = split_items(totals, len(scale.items), scale.item_max, weights, rng)
        k = len(scale.items)
        return {
            "row": np.repeat(rows, k),
            "col": np.repeat(cols, k),
            "instrument_order": np.full(rows.size * k, INSTRUMENT_ORDER.index(DEPRESSION)),
            "item_order": np.tile(np.arange(k), rows.size),
            "rater": np.full(rows.size * k, "client", dtype=object),
            "item": np.tile(np.asarray(scale.items, dtype=object), rows.size),
            "value": answers.ravel().astype(float),
            "score": np.full(rows.size * k, np.nan),
        }

    def _truth(self, ids, therapist_ids, groups, clients: Clients, last, end_reason, truth) -> pd.DataFrame:
        names = np.asarray(self.profile.class_names, dtype=object)
        scheduled = clients.rupture_session > 0
        frame = pd.DataFrame(
            {
                "client_id": ids,
                "therapist_id": therapist_ids,
                "client_group": groups,
                "latent_class": names[clients.latent_class],
                "phq9_intake_latent": clients.phq9_intake,
                "gad7_intake_latent": clients.gad7_intake,
                "change_share": clients.change_share,
                "checkin_level": clients.alliance_level,
                "good_enough_level": clients.good_enough,
                "planned_sessions": clients.planned_sessions,
                "rupture_session": pd.array(np.where(scheduled, clients.rupture_session, 0), dtype="Int64"),
                "rupture_depth": np.where(scheduled, clients.rupture_depth, np.nan),
                "rupture_repaired": pd.array(clients.rupture_repaired, dtype="boolean"),
                "rupture_happened": scheduled & (clients.rupture_session <= last),
                "end_session": last,
                "end_reason": end_reason,
                **truth,
            }
        )
        frame.loc[~scheduled, "rupture_session"] = pd.NA
        frame.loc[~scheduled, "rupture_repaired"] = pd.NA
        return frame

    def _ruptures(self, ids: np.ndarray, clients: Clients, last: np.ndarray) -> pd.DataFrame:
        happened = (clients.rupture_session > 0) & (clients.rupture_session <= last)
        return pd.DataFrame(
            {
                "client_id": ids[happened],
                "episode": np.ones(int(happened.sum()), dtype=np.int64),
                "start_session": clients.rupture_session[happened],
                "depth": clients.rupture_depth[happened],
                "repaired": clients.rupture_repaired[happened],
                "sessions_after_start": last[happened] - clients.rupture_session[happened],
            }
        )

    def _client_ids(self, numbers: np.ndarray) -> np.ndarray:
        return np.array([f"c{n + 1:0{self._client_width}d}" for n in numbers], dtype=object)

    def _therapist_ids(self, numbers: np.ndarray) -> np.ndarray:
        return self._therapist_labels[numbers]


def _score_part(
    rows: np.ndarray, cols: np.ndarray, instrument: str, rater: str, scores: np.ndarray
) -> dict[str, np.ndarray]:
    return {
        "row": rows,
        "col": cols,
        "instrument_order": np.full(rows.size, INSTRUMENT_ORDER.index(instrument)),
        "item_order": np.zeros(rows.size, dtype=np.int64),
        "rater": np.full(rows.size, rater, dtype=object),
        "item": np.full(rows.size, None, dtype=object),
        "value": np.full(rows.size, np.nan),
        "score": scores.astype(float),
    }


def simulate(
    n_clients: int,
    seed: int,
    profile: SimulationParameters | None = None,
    *,
    item_rows: bool = True,
    core10: bool = False,
) -> SimulatedClinic:
    """Simulate ``n_clients`` clients reproducibly from ``seed`` (see :class:`ClinicSimulation`)."""
    return ClinicSimulation(n_clients, seed, profile, item_rows=item_rows, core10=core10).run()
