"""The current time, in UTC, in one place (tests may move it)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo


def now() -> datetime:
    return datetime.now(UTC)


def aware(moment: datetime) -> datetime:
    """SQLite hands back naive datetimes; every stored time is UTC."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def local_today(zone: ZoneInfo) -> date:
    """Today's date where the clinic is (planned sessions and "today" are the clinic's dates)."""
    return now().astimezone(zone).date()


def local_time(moment: datetime, zone: ZoneInfo) -> datetime:
    """A stored (UTC) time as the clinic's wall-clock time, for display."""
    return aware(moment).astimezone(zone)
