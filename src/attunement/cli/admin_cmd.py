"""``attunement admin create``: the first administrator of a real clinic's database.

A real clinic never runs with the demo clinic's published passwords: it creates its own first
administrator here, with a password typed at a hidden prompt (or read from standard input for a
script); nothing secret is printed. The administrator then adds the clinic's users in the app.
"""

from __future__ import annotations

import sys
from typing import Annotated

import typer
from sqlalchemy import select

from attunement.cli.app import JSON_HELP, app
from attunement.cli.database import DATABASE, database_session
from attunement.cli.output import console, emit, fail
from attunement.errors import AttunementError, FieldProblem, InvalidInputError

admin_app = typer.Typer(help="Set up a clinic's administrators.", no_args_is_help=True)
app.add_typer(admin_app, name="admin")


@admin_app.command("create")
def create(
    username: Annotated[str, typer.Argument(help="The administrator's user name.")],
    display_name: Annotated[str, typer.Option("--display-name", help="The name shown in the app.")] = "",
    database: Annotated[str | None, DATABASE] = None,
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from standard input (for scripts).")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help=JSON_HELP)] = False,
) -> None:
    """Create an administrator when the clinic has none yet (a fresh database, or one whose
    administrators have all been switched off). Refused on a demo clinic's database."""
    from attunement.store.accounts import create_user
    from attunement.store.models import User
    from attunement.store.settings import get_setting

    if password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = typer.prompt(
            "Password (at least 10 characters)", hide_input=True, confirmation_prompt=True
        )
    try:
        with database_session(database) as session:
            if get_setting(session, "demo_data") == "yes":
                raise InvalidInputError(
                    "admin create",
                    [FieldProblem("database", "a demo clinic", "a clinic's own database, not the demo's")],
                )
            active = session.scalar(select(User).where(User.role == "admin", User.active.is_(True)))
            if active is not None:
                raise InvalidInputError(
                    "admin create",
                    [
                        FieldProblem(
                            "database",
                            "has an administrator",
                            "a clinic with no active administrator: add more in the app",
                        )
                    ],
                )
            user = create_user(session, username, password, "admin", display_name=display_name)
            made = {"username": user.username, "role": user.role}
    except AttunementError as exc:
        fail(str(exc), as_json)
        return
    emit(
        made, as_json, lambda: console.print(f"Administrator {made['username']} created. Sign in at /login.")
    )


@admin_app.command("grants")
def grants(
    role: Annotated[str, typer.Argument(help="The PostgreSQL role the app connects as.")],
    database: Annotated[
        str | None,
        typer.Option("--database", help="The database URL, as its owner (with --apply)."),
    ] = None,
    apply: Annotated[bool, typer.Option("--apply", help="Run the statements, not print them.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help=JSON_HELP)] = False,
) -> None:
    """The PostgreSQL grants for the role that runs the app: all its pages need, and only read and
    append on the audit log. Printed, or run as the database's owner with --apply (after the
    migrations; again after an upgrade that adds tables)."""
    from sqlalchemy import text

    from attunement.store.grants import app_role_grants

    try:
        statements = app_role_grants(role)
        if apply:
            with database_session(database) as session:
                if session.get_bind().dialect.name == "sqlite":
                    raise InvalidInputError(
                        "grants", [FieldProblem("database", "SQLite", "a PostgreSQL database")]
                    )
                for statement in statements:
                    session.execute(text(statement))
    except AttunementError as exc:
        fail(str(exc), as_json)
        return
    emit(
        {"role": role, "statements": statements, "applied": apply},
        as_json,
        lambda: console.print(
            f"Granted to {role}." if apply else ";\n".join(statements) + ";", highlight=False, soft_wrap=True
        ),
    )
