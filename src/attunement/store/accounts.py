"""Users, teams and log-in: argon2 password hashes and throttling of failed attempts."""

from __future__ import annotations

import re
from datetime import timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from attunement.errors import FieldProblem, InvalidInputError
from attunement.store.clock import now
from attunement.store.models import ROLES, LoginAttempt, Team, User

_hasher = PasswordHasher()

#: Project choice: at most this many failed log-ins per user name within the window, to slow
#: password guessing without locking a person out for long.
MAX_FAILURES = 5
FAILURE_WINDOW = timedelta(minutes=15)
MIN_PASSWORD_LENGTH = 10
#: Verified against when the user name is unknown, so both cases take the same time.
_DUMMY_HASH = _hasher.hash("not-a-real-password")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def create_team(db: Session, name: str) -> Team:
    name = name.strip()
    if not name or len(name) > 120:
        raise InvalidInputError(
            "team", [FieldProblem("name", name[:60], "a team name of 1 to 120 characters")]
        )
    if db.scalar(select(Team).where(Team.name == name)) is not None:
        raise InvalidInputError("team", [FieldProblem("name", name, "a name no other team has")])
    team = Team(name=name, created_at=now())
    db.add(team)
    db.flush()
    return team


def create_user(
    db: Session,
    username: str,
    password: str,
    role: str,
    *,
    display_name: str = "",
    team_id: int | None = None,
    email: str = "",
) -> User:
    """Add a user after checking every field; all problems are reported together."""
    username = username.strip().lower()
    problems: list[FieldProblem] = []
    if not re.fullmatch(r"[a-z0-9._-]{1,80}", username):
        problems.append(FieldProblem("username", username[:60], "1 to 80 letters, digits, '.', '-' or '_'"))
    elif db.scalar(select(User).where(User.username == username)) is not None:
        problems.append(FieldProblem("username", username, "a user name nobody else has"))
    if len(password) < MIN_PASSWORD_LENGTH:
        problems.append(
            FieldProblem("password", f"{len(password)} characters", f"at least {MIN_PASSWORD_LENGTH}")
        )
    if len(display_name.strip()) > 120:
        problems.append(FieldProblem("display name", display_name[:60], "a name of at most 120 characters"))
    if role not in ROLES:
        problems.append(FieldProblem("role", role, "one of " + ", ".join(ROLES)))
    if team_id is not None and db.get(Team, team_id) is None:
        problems.append(FieldProblem("team", team_id, "an existing team"))
    if role == "supervisor" and team_id is None:
        problems.append(FieldProblem("team", None, "a team for a supervisor"))
    email = email.strip()
    problems += email_problems(email)
    if problems:
        raise InvalidInputError("user", problems)
    user = User(
        username=username,
        display_name=display_name.strip() or username,
        password_hash=hash_password(password),
        role=role,
        team_id=team_id,
        active=True,
        session_epoch=0,
        created_at=now(),
        email=email or None,
    )
    db.add(user)
    db.flush()
    return user


def email_problems(email: str) -> list[FieldProblem]:
    """An e-mail address is optional; when given it must look like one (name@host, no spaces)."""
    if not email:
        return []
    if len(email) > 254 or not re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", email):
        return [FieldProblem("e-mail", email[:60], "an address such as name@clinic.example, or nothing")]
    return []


class Throttled(Exception):
    """Too many failed log-ins for this user name recently."""


def authenticate(db: Session, username: str, password: str) -> User | None:
    """The active user with these credentials, or None; records the attempt.

    Raises :class:`Throttled` (without checking the password) after too many recent failures.
    """
    username = username.strip().lower()[:80]
    since = now() - FAILURE_WINDOW
    failures = db.scalar(
        select(func.count())
        .select_from(LoginAttempt)
        .where(LoginAttempt.username == username, LoginAttempt.at >= since, ~LoginAttempt.success)
    )
    if failures >= MAX_FAILURES:
        raise Throttled(username)
    user = db.scalar(select(User).where(User.username == username))
    ok = False
    try:
        ok = _hasher.verify(user.password_hash if user else _DUMMY_HASH, password)
    except (VerificationError, InvalidHashError):
        ok = False
    ok = ok and user is not None and user.active
    db.add(LoginAttempt(username=username, at=now(), success=ok))
    if ok and _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    return user if ok else None
