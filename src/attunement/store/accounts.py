"""Users, teams and log-in: argon2 password hashes and throttling of failed attempts."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from attunement.errors import FieldProblem, InvalidInputError
from attunement.store.clock import aware, now
from attunement.store.models import ROLES, LoginAttempt, Team, User

_hasher = PasswordHasher()

#: Project choices for slowing password guessing without letting anyone lock a person out. Within
#: the window, failures beyond the free ones make the next attempt wait, the wait doubling with
#: each further failure: for a user name up to a minute (so the right password always works
#: again within a minute, however many wrong ones someone else sends), for a network address up
#: to the whole window (guessing across many user names from one place).
MAX_FAILURES = 5
ADDRESS_FAILURES = 10
FAILURE_WINDOW = timedelta(minutes=15)
ACCOUNT_WAIT_CAP = timedelta(minutes=1)
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
    """Too many recent failures for this user name or from this address: wait ``seconds``."""

    def __init__(self, seconds: int, by: str):
        self.seconds, self.by = seconds, by
        super().__init__(f"wait {seconds} s ({by})")


@dataclass(frozen=True)
class SignInCheck:
    """What a sign-in needs from the database before the password is checked (outside any
    transaction: hashing takes tens of milliseconds and must not hold the database's lock)."""

    username: str
    user_id: int | None
    password_hash: str
    active: bool


def before_sign_in(db: Session, username: str, address: str | None) -> SignInCheck:
    """Raise :class:`Throttled` while this user name or address must wait; else what to check."""
    username = username.strip().lower()[:80]
    _wait(db, LoginAttempt.username == username, MAX_FAILURES, ACCOUNT_WAIT_CAP, "user name")
    if address:
        _wait(db, LoginAttempt.address == address, ADDRESS_FAILURES, FAILURE_WINDOW, "address")
    user = db.scalar(select(User).where(User.username == username))
    if user is None:
        return SignInCheck(username, None, _DUMMY_HASH, False)
    return SignInCheck(username, user.id, user.password_hash, user.active)


def _wait(db: Session, who, free: int, cap: timedelta, by: str) -> None:
    since = now() - FAILURE_WINDOW
    failures, last = db.execute(
        select(func.count(), func.max(LoginAttempt.at)).where(
            who, LoginAttempt.at >= since, ~LoginAttempt.success
        )
    ).one()
    if failures < free or last is None:
        return
    wait = min(timedelta(seconds=2 ** min(failures - free, 20)), cap)
    remaining = aware(last) + wait - now()
    if remaining > timedelta(0):
        raise Throttled(max(1, int(remaining.total_seconds() + 0.999)), by)


def password_matches(check: SignInCheck, password: str) -> bool:
    """Verify without the database (the same work whether or not the user name exists)."""
    try:
        ok = _hasher.verify(check.password_hash, password)
    except (VerificationError, InvalidHashError):
        ok = False
    return ok and check.user_id is not None and check.active


def after_sign_in(
    db: Session, check: SignInCheck, ok: bool, address: str | None, password: str
) -> User | None:
    """Record the attempt (and upgrade the hash when its parameters changed); the user when ok."""
    db.add(LoginAttempt(username=check.username, at=now(), success=ok, address=(address or None)))
    if not ok:
        return None
    user = db.get(User, check.user_id)
    if user is None or not user.active:
        return None
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    return user


def authenticate(db: Session, username: str, password: str, address: str | None = None) -> User | None:
    """The active user with these credentials, or None; records the attempt (in one transaction:
    for scripts and tests; the web app splits it so that no lock is held while hashing)."""
    check = before_sign_in(db, username, address)
    return after_sign_in(db, check, password_matches(check, password), address, password)
