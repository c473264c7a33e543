"""Formats of care (individual, couple, family, group) and the roles of the people in them, read
from ``roles.json``.

One list says which roles a format allows, which relationship check-in each role answers and
which room alert a format's ratings are read for, so the app, the tables and the simulator agree
on them. A role's check-in is looked up here, never spelt out where it is used: a family's parent
answers the family check-in wherever a link is made for them.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

from attunement.datafiles import StrictModel, load_json_model

ROLES_FILE = Path(__file__).with_name("roles.json")


class Format(StrictModel):
    id: str
    label: str
    #: The roles a participant of this format may have.
    roles: tuple[str, ...]
    #: The room alert its participants' ratings are read for (None: one person, no room alert).
    alert: str | None


class Role(StrictModel):
    id: str
    label: str
    #: The relationship check-in this role answers (an instrument id).
    checkin: str
    #: A young person: forms are worded for their age.
    young: bool


class RoleList(StrictModel):
    description: str
    formats: tuple[Format, ...]
    roles: tuple[Role, ...]


@cache
def _roles() -> RoleList:
    return load_json_model(ROLES_FILE, RoleList)


def formats() -> tuple[Format, ...]:
    return _roles().formats


def roles() -> tuple[Role, ...]:
    return _roles().roles


def format_of(format_id: str) -> Format:
    """One format by id; a KeyError names an unknown one."""
    return {f.id: f for f in formats()}[format_id]


def role(role_id: str) -> Role:
    """One role by id; a KeyError names an unknown one."""
    return {r.id: r for r in roles()}[role_id]


def checkin_for(role_id: str) -> str:
    """The relationship check-in a participant in this role answers."""
    return role(role_id).checkin


def room_checkins() -> tuple[str, ...]:
    """Every relationship check-in some role answers, each once."""
    return tuple(dict.fromkeys(r.checkin for r in roles()))


#: Every format id, in the order of ``roles.json``.
FORMATS = tuple(f.id for f in formats())
#: Every role id.
ROLES = tuple(r.id for r in roles())
