"""Users, teams and log-in: argon2 password hashes and throttling of failed attempts."""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from attunement.errors import FieldProblem, InvalidInputError
from attunement.store.audit import record
from attunement.store.clock import aware, now
from attunement.store.database import Database
from attunement.store.models import ROLES, Client, LoginAttempt, PasswordLink, Team, User
from attunement.store.rowcount import changed_rows
from attunement.store.submissions import token_hash

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
    password: str | None,
    role: str,
    *,
    display_name: str = "",
    team_id: int | None = None,
    email: str = "",
) -> User:
    """Add a user after checking every field; all problems are reported together.

    With ``password`` None the account has no password and so no access until its owner sets
    one through a link (:func:`password_link`): how an administrator adds people without ever
    knowing a password that opens client records."""
    username = username.strip().lower()
    problems: list[FieldProblem] = []
    if not re.fullmatch(r"[a-z0-9._-]{1,80}", username):
        problems.append(FieldProblem("username", username[:60], "1 to 80 letters, digits, '.', '-' or '_'"))
    elif db.scalar(select(User).where(User.username == username)) is not None:
        problems.append(FieldProblem("username", username, "a user name nobody else has"))
    if password is not None:
        problems += password_problems(password)
    if len(display_name.strip()) > 120:
        problems.append(FieldProblem("display name", display_name[:60], "a name of at most 120 characters"))
    problems += _role_problems(db, role, team_id)
    email = email.strip()
    problems += email_problems(email)
    if problems:
        raise InvalidInputError("user", problems)
    moment = now()
    user = User(
        username=username,
        display_name=display_name.strip() or username,
        password_hash=hash_password(password) if password is not None else NO_PASSWORD,
        role=role,
        team_id=team_id,
        active=True,
        session_epoch=0,
        created_at=moment,
        email=email or None,
        password_set_at=moment if password is not None else None,
    )
    db.add(user)
    db.flush()
    return user


#: Stored instead of a hash for an account whose owner has not set a password: no password matches.
NO_PASSWORD = "!not-set"
#: A set-your-password link works this long (a project choice: long enough to reach a new colleague).
PASSWORD_LINK_DAYS = 3


def password_problems(password: str, again: str | None = None) -> list[FieldProblem]:
    problems = []
    if len(password) < MIN_PASSWORD_LENGTH:
        problems.append(
            FieldProblem("password", f"{len(password)} characters", f"at least {MIN_PASSWORD_LENGTH}")
        )
    elif len(password) > 1000:
        problems.append(FieldProblem("password", f"{len(password)} characters", "at most 1000"))
    if again is not None and again != password:
        problems.append(FieldProblem("password again", "", "the same password typed twice"))
    return problems


def password_link(db: Session, user: User, by: User | None) -> str:
    """A new single-use link token for ``user`` to set their password; earlier unused links of
    theirs stop working. Only the token's hash is stored; the token is shown once."""
    moment = now()
    db.execute(
        update(PasswordLink)
        .where(PasswordLink.user_id == user.id, PasswordLink.used_at.is_(None))
        .values(expires_at=moment)
        .execution_options(synchronize_session=False)
    )
    token = secrets.token_urlsafe(32)
    db.add(
        PasswordLink(
            user_id=user.id,
            token_hash=token_hash(token),
            created_by=by.id if by is not None else None,
            created_at=moment,
            expires_at=moment + timedelta(days=PASSWORD_LINK_DAYS),
        )
    )
    db.flush()
    return token


def reset_password(db: Session, user: User, by: User) -> str:
    """A reset: the current password stops working, every session of the user ends, and a new
    set-your-password link is made (for a forgotten or possibly known password)."""
    user.password_hash, user.password_set_at = NO_PASSWORD, None
    user.session_epoch += 1
    return password_link(db, user, by)


def open_password_link(db: Session, token: str) -> tuple[PasswordLink, User] | None:
    """The link and its user while the link is unused and unexpired, else None."""
    if not token:
        return None
    link = db.scalar(select(PasswordLink).where(PasswordLink.token_hash == token_hash(token)))
    if link is None or link.used_at is not None or aware(link.expires_at) <= now():
        return None
    user = db.get(User, link.user_id)
    return (link, user) if user is not None and user.active else None


def set_password(db: Session, opened: tuple[PasswordLink, User], password: str, again: str) -> User:
    """Set the password through a link opened with :func:`open_password_link` (used once, even
    against a second request sent at the same moment), signing out every earlier session."""
    problems = password_problems(password, again)
    if problems:
        raise InvalidInputError("password", problems)
    link, user = opened
    claimed = db.execute(
        update(PasswordLink)
        .where(PasswordLink.id == link.id, PasswordLink.used_at.is_(None))
        .values(used_at=now())
        .execution_options(synchronize_session=False)
    )
    if changed_rows(claimed) != 1:
        raise InvalidInputError(
            "link", [FieldProblem("link", "", "a set-your-password link that is new and unused")]
        )
    user.password_hash, user.password_set_at = hash_password(password), now()
    user.session_epoch += 1
    return user


def change_password(db: Session, user: User, current: str, password: str, again: str) -> None:
    """A signed-in user's change of their own password (the current one first)."""
    try:
        ok: bool = _hasher.verify(user.password_hash, current)
    except (VerificationError, InvalidHashError):
        ok = False
    problems = [] if ok else [FieldProblem("current password", "", "your current password")]
    problems += password_problems(password, again)
    if problems:
        raise InvalidInputError("password", problems)
    user.password_hash, user.password_set_at = hash_password(password), now()
    user.session_epoch += 1


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


def recent_failures(db: Session) -> dict[str, int]:
    """Failed sign-ins per user name within the window that sets the waits (for the admin page)."""
    rows = db.execute(
        select(LoginAttempt.username, func.count())
        .where(LoginAttempt.at >= now() - FAILURE_WINDOW, ~LoginAttempt.success)
        .group_by(LoginAttempt.username)
    ).all()
    return {username: int(n) for username, n in rows}


def clear_sign_in_waits(db: Session, user: User) -> int:
    """An administrator's unlock: forget the user name's failed sign-ins, so neither it nor the
    addresses they came from wait on them any more (the audit log keeps that they happened)."""
    return changed_rows(
        db.execute(delete(LoginAttempt).where(LoginAttempt.username == user.username, ~LoginAttempt.success))
    )


def password_matches(check: SignInCheck, password: str) -> bool:
    """Verify without the database (the same work whether or not the user name exists)."""
    try:
        ok: bool = _hasher.verify(check.password_hash, password)
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


def confirm_password(db: Session, user: User, password: str, address: str | None = None) -> bool:
    """A signed-in user's password given again before a deliberate act (an administrator's export
    of all data): checked, throttled and recorded like a sign-in, so it cannot be guessed at
    faster than one. Raises :class:`Throttled` while the user name or address must wait."""
    check = before_sign_in(db, user.username, address)
    ok = password_matches(check, password) and check.user_id == user.id
    return after_sign_in(db, check, ok, address, password) is not None


def _role_problems(db: Session, role: str, team_id: int | None) -> list[FieldProblem]:
    """A role that exists, a team that exists, and a team for every supervisor."""
    problems = []
    if role not in ROLES:
        problems.append(FieldProblem("role", role, "one of " + ", ".join(ROLES)))
    if team_id is not None and db.get(Team, team_id) is None:
        problems.append(FieldProblem("team", team_id, "an existing team"))
    if role == "supervisor" and team_id is None:
        problems.append(FieldProblem("team", None, "a team for a supervisor"))
    return problems


def authenticate(db: Session, username: str, password: str, address: str | None = None) -> User | None:
    """The active user with these credentials, or None; records the attempt (in one transaction:
    for scripts and tests; the web app splits it so that no lock is held while hashing)."""
    check = before_sign_in(db, username, address)
    return after_sign_in(db, check, password_matches(check, password), address, password)


def change_role(db: Session, user: User, role: str, team_id: int | None) -> None:
    """A user's new role and team; they are signed out so the new access applies at once. A
    clinician who still has clients keeps the clinician role until they are reassigned."""
    problems = _role_problems(db, role, team_id)
    if user.role == "clinician" and role != "clinician":
        held = db.scalar(select(func.count()).select_from(Client).where(Client.therapist_id == user.id))
        if held:
            problems.append(
                FieldProblem(
                    "role", role, f"clinician until their {held} clients are reassigned to another clinician"
                )
            )
    if problems:
        raise InvalidInputError("role and team", problems)
    user.role, user.team_id = role, team_id
    user.session_epoch += 1


def all_users(db: Session) -> list[User]:
    """Every user, by role then user name (the administrator's list)."""
    return list(db.scalars(select(User).order_by(User.role, User.username)))


def all_teams(db: Session) -> list[Team]:
    """Every team, by name."""
    return list(db.scalars(select(Team).order_by(Team.name)))


def find_user(db: Session, user_id: int) -> User | None:
    """The user with this id, or None."""
    return db.get(User, user_id)


def clinician_named(db: Session, username: str) -> User | None:
    """The clinician with this user name, or None (another role's name gives None too)."""
    return db.scalar(select(User).where(User.username == username, User.role == "clinician"))


def set_active(user: User, active: bool) -> None:
    """Switch a user on or off; either way they are signed out everywhere."""
    user.active = active
    user.session_epoch += 1


def set_email(user: User, email: str) -> None:
    """Where the user's safety notices are e-mailed (empty: in the app only)."""
    email = email.strip()
    problems = email_problems(email)
    if problems:
        raise InvalidInputError("e-mail", problems)
    user.email = email or None


def sign_out(user: User) -> None:
    """End every session of the user (their cookies stop working)."""
    user.session_epoch += 1


@dataclass(frozen=True)
class SignIn:
    """How a sign-in went: ``user`` (id, session epoch, role) when it worked; ``wait`` when it
    was refused before the password was looked at; neither when the password was wrong."""

    user: tuple[int, int, str] | None = None
    wait: Throttled | None = None


def sign_in(database: Database, username: str, password: str, address: str | None) -> SignIn:
    """A sign-in attempt, recorded with its outcome in the audit log. Three steps, so that the
    password is hashed with no database transaction open (on SQLite a write transaction locks
    the whole database for everyone else)."""
    with database.session() as db:
        try:
            check = before_sign_in(db, username, address)
        except Throttled as wait:
            record(db, "anonymous", "", "sign_in_refused", detail=f"wait {wait.seconds} s ({wait.by})")
            return SignIn(wait=wait)
    ok = password_matches(check, password)
    with database.session() as db:
        user = after_sign_in(db, check, ok, address, password)
        if user is None:
            record(db, "anonymous", "", "sign_in_failed")
            return SignIn()
        record(db, f"user:{user.id}", user.role, "sign_in")
        return SignIn(user=(user.id, user.session_epoch, user.role))
