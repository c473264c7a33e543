"""The oracle: the best-possible early-warning predictor on simulated data.

It computes each outcome's posterior probability given only the data recorded up to a session,
under the true generative model of the simulated clinic; see docs/oracle.md.
"""

from attunement.oracle.method import OracleMethod, SessionPosteriors

__all__ = ["OracleMethod", "SessionPosteriors"]
