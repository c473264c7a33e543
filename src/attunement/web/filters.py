"""Template filters: numbers rounded only for display, rates with their interval, dates and
times in the clinic's own time zone."""

from __future__ import annotations

import math
from datetime import date, datetime, time
from zoneinfo import ZoneInfo

from attunement.store.clock import local_time


def num(value, digits: int = 0) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    return f"{value:.{digits}f}"


def proportion(p) -> str:
    if not p.n:
        return "- (no data)"
    low, high = p.interval
    return f"{p.value:.0%} ({p.successes}/{p.n}; 95% interval {low:.0%} to {high:.0%})"


def day(value: date | None) -> str:
    """A date as people read it: "Thu 3 Dec 2026"."""
    if value is None:
        return "-"
    return f"{value:%a} {value.day} {value:%b %Y}"


def moment(value: datetime | None, zone: ZoneInfo) -> str:
    """A stored time as the clinic's wall-clock time: "3 Dec 2026, 14:02"."""
    if value is None:
        return "-"
    local = local_time(value, zone)
    return f"{local.day} {local:%b %Y}, {local:%H:%M}"


def clock(value: time | None) -> str:
    return "" if value is None else f"{value:%H:%M}"
