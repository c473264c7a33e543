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


def day(value: date | None, today: date | None = None) -> str:
    """A date as people read it: "Thu 3 Dec 2026"; without the year when ``today`` is given and
    the date falls in the same year (for tables, where every character counts)."""
    if value is None:
        return "-"
    year = "" if today is not None and value.year == today.year else f" {value:%Y}"
    return f"{value:%a} {value.day} {value:%b}{year}"


def moment(value: datetime | None, zone: ZoneInfo, today: date | None = None) -> str:
    """A stored time as the clinic's wall-clock time: "3 Dec 2026, 14:02" (no year, as for
    :func:`day`, when ``today`` is given and it is the same year)."""
    if value is None:
        return "-"
    local = local_time(value, zone)
    year = "" if today is not None and local.year == today.year else f" {local:%Y}"
    return f"{local.day} {local:%b}{year}, {local:%H:%M}"


def clock(value: time | None) -> str:
    return "" if value is None else f"{value:%H:%M}"
