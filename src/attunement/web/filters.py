"""Template filters: numbers rounded only for display, rates with their interval."""

from __future__ import annotations

import math


def num(value, digits: int = 0) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    return f"{value:.{digits}f}"


def proportion(p) -> str:
    if not p.n:
        return "- (no data)"
    low, high = p.interval
    return f"{p.value:.0%} ({p.successes}/{p.n}; 95% interval {low:.0%} to {high:.0%})"
