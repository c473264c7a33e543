"""A simulated clinic whose truth is known, for measuring early-warning methods honestly.

There are no real patient records here. The simulator draws therapists and clients from an
explicit generative model (a latent trajectory class, a few Gaussian and Bernoulli random
effects, Gaussian measurement noise with rounding and clipping), writes what a service would
record in the canonical ``measures`` and ``episodes`` tables, and writes the truth beside it:
each client's class and parameters, their rupture episode, how their course really ended and
the exact probability of each outcome under the model. Every number comes from the simulation
profile (``parameters/default.json``) with its source and status; see docs/simulation.md.
"""

from attunement.simulation.generate import ClinicSimulation, SimulatedClinic, simulate
from attunement.simulation.specification import SimulationParameters, load_parameters, parse_parameters

__all__ = [
    "ClinicSimulation",
    "SimulationParameters",
    "SimulatedClinic",
    "load_parameters",
    "parse_parameters",
    "simulate",
]
