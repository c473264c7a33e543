"""Where the server-drawn SVG charts plug into the pages.

Each function returns an SVG string, or None when the charts package is not installed; the
pages then show the same numbers as a table (which they show in any case, for screen readers).
"""

from __future__ import annotations


def progress_svg(instrument: str, points: list[tuple[int, float]]) -> str | None:
    return None


def outcome_svg(summary, instrument: str = "phq9") -> str | None:
    return None


def relationship_svg(summary) -> str | None:
    return None


def therapist_outcomes_svg(rows) -> str | None:
    return None
