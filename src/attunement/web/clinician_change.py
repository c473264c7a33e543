"""A clinician's change to one of their clients, and the client page it returns to.

Every change to a client's current episode (a link, a planned session, a rating, an alert
record, ending, reopening or starting an episode) goes through :func:`clinician_change`: the
route's dependencies read the form, check its CSRF token and the clinician's role; the client is
checked, the form must name the current episode, and the change runs in the request's one
transaction, rolled back whole when the input is wrong, with the page shown again naming each
problem. What was done goes to the audit log from the :class:`Done` the change returns.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from fastapi import Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from attunement.errors import FieldProblem, InvalidInputError
from attunement.store.audit import record
from attunement.store.cases import co_treats, lock_room
from attunement.store.clients import client_with_id, may_change, may_view
from attunement.store.episodes import current_episode
from attunement.store.models import Client, Episode, User
from attunement.store.notifications import has_notice, mark_opened, unopened
from attunement.web.client_view import client_context
from attunement.web.form_values import entered
from attunement.web.pages import Form, NotFound, actor, redirect, render

#: What :func:`attunement.store.clients.new_public_id` makes (URL-safe base64), with room to spare.
PUBLIC_ID = re.compile(r"[A-Za-z0-9_-]{1,40}")


@dataclass(frozen=True)
class Done:
    """What a change did, for the audit log, and the page to answer with (default: back to the
    client page)."""

    action: str
    detail: str
    response: Response | None = None


def client_for(db, request: Request, user: User, public_id: str) -> Client:
    """The client of an address the user may see, else no such page (404, as for no client)."""
    if not PUBLIC_ID.fullmatch(public_id):  # never send a NUL or a whole essay to the database
        raise NotFound()
    found = client_with_id(db, public_id)
    if found is None:
        raise NotFound()
    client, therapist = found
    if (
        not may_view(user, client, therapist)
        and not co_treats(db, user, client.id)
        and not (user.role == "clinician" and has_notice(db, user.id, client.id))
    ):  # a co-therapist of the client's case may; a duty clinician told of a risk answer, read only
        raise NotFound()
    return client


def can_change(db, user: User, client: Client) -> bool:
    """The client's own clinician, or a co-therapist of their case, records and issues links."""
    return may_change(user, client) or co_treats(db, user, client.id)


def changeable(db, request: Request, user: User, public_id: str) -> Client:
    client = client_for(db, request, user, public_id)
    if not can_change(db, user, client):
        raise NotFound()
    return client


def client_page(
    request: Request,
    db,
    user: User,
    client: Client,
    *,
    status: int = 200,
    episode: Episode | None = None,
    **extra,
):
    context = client_context(db, user, client, episode, can_change=can_change(db, user, client))
    # After the page's data (which may open an alert and its notice): the notices are now seen.
    mark_opened(db, user.id, client.id)
    if getattr(request.state, "notices", None):  # read again: this client may be beyond those shown
        request.state.notices = unopened(db, user.id)
    record(
        db,
        actor(user),
        user.role,
        "view_client",
        client_id=client.id,
        detail=f"episode {context['episode'].number}",
    )
    return render(request, "client.html", {**context, **extra}, status)


def clinician_change(
    request: Request,
    db: Session,
    user: User,
    public_id: str,
    form: Form,
    change: Callable,
    anchor: str,
    lists: tuple[str, ...] = (),
    problem_page: Callable | None = None,
):
    """A clinician's change to their own client's current episode, in the request's transaction
    (the form's CSRF token and the clinician's role are checked by the route's dependencies).

    ``change(db, user, client, episode, form, *lists)`` returns a :class:`Done`; the answer is its
    response, or the client page at ``anchor``. ``lists`` names fields that may be sent several
    times (ticked boxes); each is passed as a list after the form. A form that names an episode
    other than the current one (a page left open while a new one began) is refused, and so is
    any input the change finds wrong: everything written is rolled back and the client page is
    shown again with the problems and what was typed (or the page the form came from, when
    ``problem_page(db, user, client, episode, form, problems, values)`` gives one).
    """
    several = [form.getlist(name) for name in lists]
    client = changeable(db, request, user, public_id)
    lock_room(db, client.id)  # one change to a client (and their case) at a time, before any read
    episode = current_episode(db, client.id)
    try:
        _check_episode(form, episode)
        done = change(db, user, client, episode, form, *several)
    except InvalidInputError as exc:
        db.rollback()
        values = entered(form, **dict(zip(lists, several, strict=True)))
        own = problem_page and problem_page(db, user, client, episode, form, exc.problems, values)
        if own is not None:
            return own
        return client_page(
            request, db, user, client, status=400, problems=exc.problems, values=values, form_key=anchor
        )
    record(db, actor(user), user.role, done.action, client_id=client.id, detail=done.detail)
    return done.response or redirect(f"/clients/{public_id}#{anchor}")


def _check_episode(form: dict[str, str], episode: Episode) -> None:
    given = form.get("episode", "").strip()
    if given != str(episode.number):
        raise InvalidInputError(
            "episode",
            [
                FieldProblem(
                    "episode",
                    f"episode {given or '?'}",
                    f"the client's current episode ({episode.number}): the page was out of date, "
                    "please check it and try again",
                )
            ],
        )
