"""Values read from forms and paths, checked: each problem names the field and what was
expected, in words a person can act on; nothing unchecked reaches the database (no number too
large for a column, no digit of another script, no NUL)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, time
from typing import Literal, overload

from attunement.errors import FieldProblem, InvalidInputError
from attunement.web.pages import NotFound

#: Fields never put back into a form shown again: passwords, and the CSRF token (the page gets
#: a fresh one).
NOT_KEPT = frozenset({"csrf_token", "password", "again", "current"})

#: The form value that asks for a new session instead of an existing one.
NEW = "new"
#: Larger than any session, episode or record number the app makes, and within a 32-bit column.
LARGEST = 999_999


def entered(form: Mapping[str, str], **lists: Sequence[str]) -> dict[str, str | list[str]]:
    """What a form held, to fill it in again after a problem: every field as typed or chosen
    (``lists`` for fields sent several times, such as ticked boxes), except :data:`NOT_KEPT`.
    Templates read it as ``values``: ``values.get(name, default)`` for a text field, a choice or
    a single box, ``values.get(name)`` as a list for ticked boxes."""
    kept: dict[str, str | list[str]] = {k: v for k, v in form.items() if k not in NOT_KEPT}
    kept.update({k: list(v) for k, v in lists.items()})
    return kept


@overload
def whole_number(value: str, field: str, *, required: Literal[True] = True) -> int: ...


@overload
def whole_number(value: str, field: str, *, required: bool) -> int | None: ...


def whole_number(value: str, field: str, *, required: bool = True) -> int | None:
    """A whole number from 1 to :data:`LARGEST` (None when left empty and not ``required``)."""
    value = (value or "").strip()
    if not value and not required:
        return None
    if not (value.isascii() and value.isdigit()) or not 1 <= int(value) <= LARGEST:
        raise InvalidInputError(
            field, [FieldProblem(field, value[:40], f"a whole number from 1 to {LARGEST:,}")]
        )
    return int(value)


def path_number(value: str) -> int:
    """A number from the page's address, or no such page (never a database error)."""
    try:
        return whole_number(value, "path")
    except InvalidInputError:
        raise NotFound() from None


def parse_choice(value: str, allowed: Sequence[int], field: str, what: str) -> int | None:
    """A session number from a form's choice (None for a new session), or an error."""
    value = (value or "").strip()
    if value == NEW:
        return None
    number = int(value) if value.isascii() and value.isdigit() and len(value) < 7 else -1
    if number not in allowed:
        offered = ", ".join(f"session {n}" for n in allowed)
        raise InvalidInputError(
            field, [FieldProblem(field, value, f"{what}: {offered + ' or ' if offered else ''}a new session")]
        )
    return number


def parse_date(value: str, field: str) -> date | None:
    """An ISO date from a form (None when left empty), or an error naming the field."""
    value = (value or "").strip()
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise InvalidInputError(field, [FieldProblem(field, value, "a date such as 2026-12-03")]) from None


def parse_time(value: str, field: str) -> time | None:
    value = (value or "").strip()
    if not value:
        return None
    try:
        parsed = time.fromisoformat(value)
    except ValueError:
        raise InvalidInputError(field, [FieldProblem(field, value, "a time such as 14:30")]) from None
    return parsed.replace(second=0, microsecond=0, tzinfo=None)
