"""Charts as self-contained, accessible SVG text, drawn from plain numbers (no HTTP, no SQL).

- :func:`outcome_chart`: a client's scores on one measure, the expected range, the caseness line
  and reliable-change marks (for clinicians);
- :func:`relationship_chart`: the client's check-in, the therapist's estimate, the client's usual
  range and possible ruptures;
- :func:`therapist_outcomes_chart`: an outcome rate per therapist with its 95% interval (for
  supervisors);
- :func:`progress_chart`: the client's own scores over time, in plain words (for clients).

Each returns an ``<svg>`` element with ``role="img"``, a ``<title>`` and a ``<desc>`` that
writes out everything the chart shows, ready to be placed in an HTML page as it is.
"""

from attunement.charts.outcome import outcome_chart
from attunement.charts.progress import progress_chart
from attunement.charts.relationship import relationship_chart
from attunement.charts.supervisor import (
    Rate,
    TherapistOutcome,
    therapist_outcomes_chart,
    wilson_interval,
)

__all__ = [
    "Rate",
    "TherapistOutcome",
    "outcome_chart",
    "progress_chart",
    "relationship_chart",
    "therapist_outcomes_chart",
    "wilson_interval",
]
