"""Clinic-wide settings, kept in the database, and the keys that sign session cookies, which are
not: they come from the environment (a demo clinic's excepted)."""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from datetime import date
from functools import cache
from pathlib import Path
from zoneinfo import ZoneInfo, available_timezones

from sqlalchemy import delete
from sqlalchemy.orm import Session

from attunement.errors import AttunementError, FieldProblem, InvalidInputError
from attunement.instruments.measure_sets import ALWAYS_OFFERED, default_service_type, offerable_measures
from attunement.store.clock import local_today
from attunement.store.licensed_wording import licensed_instruments
from attunement.store.models import ClientSummaryRow, Setting
from attunement.store.read_once import forget, read_once

#: Names no country or service on purpose: the clinic replaces it with its own (admin page).
CRISIS_DEFAULT = (
    "If you might act on thoughts of harming yourself, or you feel unsafe right now, call your local "
    "emergency number or go to the nearest emergency department. You can also contact your "
    "therapist or clinic, or a crisis line."
)
#: Questionnaires the clinic offers until an administrator changes it (any measure with shipped
#: wording may be offered: :func:`attunement.instruments.measure_sets.offerable_measures`). PHQ-9
#: is always offered: it carries the safety item.
LINK_INSTRUMENTS = ("phq9", "gad7", "checkin")
DEFAULTS = {
    "link_instruments": ",".join(LINK_INSTRUMENTS),
    #: Which measures a new episode starts with (measure_sets.json names the sets).
    "service_type": default_service_type(),
    "client_progress_chart": "yes",
    "link_valid_days": "7",
    #: The clinic's time zone (IANA name): planned sessions, "today" and every time shown are in it.
    "timezone": "UTC",
    #: The user name of a clinician told of every risk answer besides the client's own (optional).
    "duty_clinician": "",
    #: Shown to a client who has just answered a risk question; the clinic writes its own services.
    "crisis_text": CRISIS_DEFAULT,
    #: The language the service works in: the tailoring's language check fires only for another one.
    "service_language": "English",
    #: A link sent by e-mail and not answered gets one reminder this many hours before it expires
    #: (0: no reminders). With links valid 7 days, 24 hours leaves the client a day to answer.
    "reminder_hours_before_expiry": "24",
    #: An episode scheduled "before each planned session" gets its link this many hours before the
    #: session starts (a session planned without a time counts as starting at 09:00). With links
    #: valid 7 days and a reminder 24 hours before expiry, 24 hours gives the client the day before.
    "schedule_hours_before_session": "24",
    #: "yes" in a database seeded by ``serve --demo``: simulated clients and published passwords.
    "demo_data": "no",
}


def get_setting(db: Session, key: str) -> str:
    """A stored setting, else its default (read once a transaction: see :mod:`read_once`)."""

    def read() -> str:
        row = db.get(Setting, key)
        return row.value if row is not None else DEFAULTS[key]

    return read_once(db, f"setting:{key}", read)


def set_setting(db: Session, key: str, value: str) -> None:
    forget(db)
    row = db.get(Setting, key)
    if row is None:
        db.add(Setting(key=key, value=value))
    else:
        row.value = value


def set_service_language(db: Session, language: str) -> None:
    """The language the service's texts are in. Stored client summaries hold support steps worked
    out with the old language: derived data, so they are dropped and computed again on the next
    view."""
    if language != get_setting(db, "service_language"):
        set_setting(db, "service_language", language)
        db.execute(delete(ClientSummaryRow))


@cache
def _zone_names() -> frozenset[str]:
    """The time zone database's names, read once: listing them walks the whole zoneinfo folder."""
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


MAX_LANGUAGE = 60


def check_language(text: str) -> str:
    """A language name as a clinic writes it ("English", "Polish", "English (UK)"), with spaces
    tidied, or an error naming what was expected. Blank means the default."""
    name = " ".join(text.split())
    if not name:
        return DEFAULTS["service_language"]
    if len(name) > MAX_LANGUAGE or not any(ch.isalpha() for ch in name):
        raise InvalidInputError(
            "service language",
            [
                FieldProblem(
                    "service language",
                    name[:60],
                    f"a language name such as English, at most {MAX_LANGUAGE} characters",
                )
            ],
        )
    return name


def offered_instruments(db: Session) -> list[str]:
    """The measures the clinic offers, in the order of the admin page; PHQ-9 always."""
    chosen = set(get_setting(db, "link_instruments").split(",")) | set(ALWAYS_OFFERED)
    return [i for i in offerable_measures(licensed_instruments(db)) if i in chosen]


class MissingSecret(AttunementError):
    """The app cannot sign sessions: no key in the environment outside a demo clinic."""


#: The key that signs session cookies, from the environment (or a file it names), never from the
#: database: anyone who reads a copy or a backup of the database must not be able to sign in.
ENV_KEY, ENV_KEY_FILE, ENV_OLD_KEYS = (
    "ATTUNEMENT_SECRET_KEY",
    "ATTUNEMENT_SECRET_KEY_FILE",
    "ATTUNEMENT_OLD_SECRET_KEYS",
)
MIN_KEY_LENGTH = 32


def signing_keys(db: Session, env: Mapping[str, str] | None = None) -> list[str]:
    """The keys that sign session cookies, oldest first: the last signs, all of them verify.

    ``ATTUNEMENT_SECRET_KEY`` (or the first line of the file ``ATTUNEMENT_SECRET_KEY_FILE``
    names) is the current key; ``ATTUNEMENT_OLD_SECRET_KEYS`` (comma-separated) are the keys it
    replaced, still accepted for the cookies they signed (sessions last 8 hours), so a key can be
    rotated without signing everybody out. Without a key only a demo clinic runs, on a key kept
    in its database; a clinic's own database is refused with a message that says what to set.
    A key found in a clinic's database (written by an earlier version) is removed.
    """
    env = os.environ if env is None else env
    current = env.get(ENV_KEY, "").strip()
    if not current and env.get(ENV_KEY_FILE):
        try:
            current = Path(env[ENV_KEY_FILE]).read_text(encoding="utf-8").splitlines()[0].strip()
        except (OSError, IndexError):
            raise MissingSecret(f"{ENV_KEY_FILE} names a file that cannot be read or is empty") from None
    if current:
        if len(current) < MIN_KEY_LENGTH:
            raise MissingSecret(f"{ENV_KEY} is too short: use at least {MIN_KEY_LENGTH} random characters")
        stored = db.get(Setting, "secret_key")
        if stored is not None and get_setting(db, "demo_data") != "yes":
            db.delete(stored)
        old = [k.strip() for k in env.get(ENV_OLD_KEYS, "").split(",") if k.strip()]
        return [*old, current]
    if get_setting(db, "demo_data") == "yes":
        return [_demo_key(db)]
    raise MissingSecret(
        f"{ENV_KEY} is not set. A clinic's database needs a key to sign sessions, kept outside the "
        "database: set it to a long random value (for example the output of "
        "python -c 'import secrets; print(secrets.token_urlsafe(48))'), or name a file holding it "
        f"in {ENV_KEY_FILE}. Only the demo clinic (--demo) runs without one."
    )


def _demo_key(db: Session) -> str:
    """The demo clinic's key, kept in its database (its passwords are published anyway)."""
    row = db.get(Setting, "secret_key")
    if row is None:
        row = Setting(key="secret_key", value=secrets.token_urlsafe(48))
        db.add(row)
        db.flush()
    return row.value
