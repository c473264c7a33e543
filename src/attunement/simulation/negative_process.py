"""Negative process in the simulated sessions: known truth for the negative-process alert.

At each attended session, with probability ``probability`` (a simulation assumption, not a
clinical rate), the therapist responds in a critical, blaming or pushing way that the client
notices. The client's answer to the check-in's "I felt judged, criticised or pushed" (0-10) is

    J(s) = round(clip(u_i + e(s) + raise(s) * N(s), 0, 10))

where u_i is the client's usual answer (drawn once, cut at 0), e(s) session noise, N(s) whether
the session had a negative process and raise(s) how far it moved the answer (at least
``raise_minimum``). The check-in total and the rest of the simulated course are left as they
were drawn, so that adding this signal changes no earlier simulated figure; in real data the
total would fall by about raise/6 at such a session, since the item is one of six.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from attunement.simulation.specification import NegativeProcess


@dataclass(frozen=True)
class JudgedAnswers:
    """Per client and session (clients x sessions): whether the session had a negative process,
    the points it added, and the client's whole answer to the "judged" item."""

    happened: np.ndarray
    raised_by: np.ndarray
    answer: np.ndarray


def draw_judged(n: int, sessions: int, p: NegativeProcess, rng: np.random.Generator) -> JudgedAnswers:
    """The negative-process sessions and the "judged" answers of ``n`` clients (see module doc)."""
    usual = np.maximum(rng.normal(p.usual_mean.value, p.usual_sd.value, size=n), 0.0)
    happened = rng.random((n, sessions)) < p.probability.value
    raised = np.maximum(
        rng.normal(p.raise_mean.value, p.raise_sd.value, size=(n, sessions)), p.raise_minimum.value
    )
    raised = np.where(happened, raised, 0.0)
    noise = rng.normal(0.0, p.noise_sd.value, size=(n, sessions))
    answer = np.clip(np.round(usual[:, None] + noise + raised), 0, 10)
    return JudgedAnswers(happened, raised, answer)
