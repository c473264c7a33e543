"""Clinic-wide settings and the secret that signs session cookies, kept in the database.

Keeping the secret in the database means sessions survive a restart and every server process
that shares the database signs alike, without a secret in a config file.
"""

from __future__ import annotations

import secrets
from datetime import date
from functools import cache
from zoneinfo import ZoneInfo, available_timezones

from sqlalchemy.orm import Session

from attunement.errors import FieldProblem, InvalidInputError
from attunement.store.clock import local_today
from attunement.store.models import Setting

#: Names no country or service on purpose: the clinic replaces it with its own (admin page).
CRISIS_DEFAULT = (
    "If you might act on thoughts of harming yourself, or you feel unsafe right now, call your local "
    "emergency number or go to the nearest emergency department. You can also contact your "
    "therapist or clinic, or a crisis line."
)
#: Questionnaires a client link may offer. PHQ-9 is always offered: it carries the safety item.
LINK_INSTRUMENTS = ("phq9", "gad7", "checkin")
ALWAYS_OFFERED = ("phq9",)
DEFAULTS = {
    "link_instruments": ",".join(LINK_INSTRUMENTS),
    "client_progress_chart": "yes",
    "link_valid_days": "7",
    #: The clinic's time zone (IANA name): planned sessions, "today" and every time shown are in it.
    "timezone": "UTC",
    #: The user name of a clinician told of every risk answer besides the client's own (optional).
    "duty_clinician": "",
    #: Shown to a client who has just answered a risk question; the clinic writes its own services.
    "crisis_text": CRISIS_DEFAULT,
    #: "yes" in a database seeded by ``serve --demo``: simulated clients and published passwords.
    "demo_data": "no",
}


def get_setting(db: Session, key: str) -> str:
    row = db.get(Setting, key)
    return row.value if row is not None else DEFAULTS[key]


def set_setting(db: Session, key: str, value: str) -> None:
    row = db.get(Setting, key)
    if row is None:
        db.add(Setting(key=key, value=value))
    else:
        row.value = value


@cache
def _zone_names() -> frozenset[str]:
    return frozenset(available_timezones())


def check_zone(name: str) -> ZoneInfo:
    """The time zone of an IANA name such as Europe/London, or an error naming what was expected.

    Only names of the time zone database are accepted (never a path or a folder of it)."""
    name = name.strip()
    if name not in _zone_names():
        raise InvalidInputError(
            "time zone",
            [FieldProblem("time zone", name[:60], "a time zone name such as Europe/London or UTC")],
        )
    return ZoneInfo(name)


def clinic_zone(db: Session) -> ZoneInfo:
    try:
        return check_zone(get_setting(db, "timezone"))
    except InvalidInputError:  # a setting written before the check existed: fall back, never fail a page
        return ZoneInfo("UTC")


def clinic_today(db: Session) -> date:
    return local_today(clinic_zone(db))


def offered_instruments(db: Session) -> list[str]:
    chosen = set(get_setting(db, "link_instruments").split(",")) | set(ALWAYS_OFFERED)
    return [i for i in LINK_INSTRUMENTS if i in chosen]


def signing_secret(db: Session) -> str:
    """The cookie-signing secret, created on first use."""
    row = db.get(Setting, "secret_key")
    if row is None:
        row = Setting(key="secret_key", value=secrets.token_urlsafe(48))
        db.add(row)
        db.flush()
    return row.value
