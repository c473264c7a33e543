"""The clinician's pages: the caseload as a working list, a client's page for each episode of
care, new clients, links for the next session, planned sessions, ratings and their corrections,
and the record kept for each alert. A supervisor may open the client pages of their team, read
only. Episode changes (end, reopen, a new episode) are in :mod:`attunement.web.routes_episodes`.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from starlette.background import BackgroundTask

from attunement.errors import FieldProblem, InvalidInputError
from attunement.store import Database
from attunement.store.approaches import approach_checks, approach_choices, parse_approach
from attunement.store.audit import record, record_list, seal_if_due
from attunement.store.cases import cases_for
from attunement.store.client_links import make_link
from attunement.store.clients import create_client, visible_clients
from attunement.store.contacts import can_email, can_text, current_contact, mask_email, mask_mobile
from attunement.store.delivery import email_configured, sms_configured
from attunement.store.episode_measures import set_measures
from attunement.store.episodes import current_episode, episode_numbered
from attunement.store.intake import described, parse_intake_choice
from attunement.store.kept_alerts import record_on_alerts
from attunement.store.notifications import deliver
from attunement.store.outbox import queue_message
from attunement.store.schedule import (
    link_choices,
    new_session,
    plan_session,
    rating_choices,
    session_row,
    session_states,
    session_today,
)
from attunement.store.settings import clinic_today, clinic_zone
from attunement.store.submissions import item_values, rating_history, store_rating
from attunement.store.summary_store import refresh, refresh_after_answers
from attunement.store.supervision import flagged
from attunement.web.approach_view import WARNING_VERDICTS, why_it_matters
from attunement.web.caseload_view import CaseloadFilter, caseload_view
from attunement.web.clinician_change import Done, changeable, client_for, client_page, clinician_change
from attunement.web.dependencies import CheckedForm, ClientReader, Clinician, Db, number_in_path
from attunement.web.form_values import (
    entered,
    parse_choice,
    parse_date,
    parse_time,
    path_number,
    whole_number,
)
from attunement.web.pages import NotFound, actor, database, redirect, render
from attunement.web.questionnaires import build_form, parse_answers
from attunement.web.routes_delivery import wake_after
from attunement.web.security import base_url

router = APIRouter()
#: The session of a rating's address (checked before the role, like any parsing).
SessionNumber = Annotated[int, Depends(number_in_path("number"))]
MAX_NOTE = 2000


@router.get("/approaches")
def approaches_page(request: Request, user: Clinician, db: Db):
    """The clinician's own "one approach for everyone" check, from the sessions they rated."""
    mine = approach_checks(db, [user.id])[user.id]
    record(db, actor(user), user.role, "view_approaches")
    context = {"a": mine, "why": why_it_matters(), "warning_verdicts": WARNING_VERDICTS}
    return render(request, "approaches.html", context)


@router.get("/caseload")
def caseload(request: Request, user: Clinician, db: Db):
    wanted = CaseloadFilter.from_query(request.query_params)
    view = caseload_view(db, actor(user), visible_clients(db, user), wanted)
    shown = [row.client.id for row in view.working + view.ended]
    record_list(db, actor(user), user.role, "view_caseload", shown)
    context = {"view": view, "flags": flagged(db, shown), "cases": cases_for(db, user)}
    response = render(request, "caseload.html", context)
    # Once the page is sent (so after the commit): notices raised while the caseload was brought
    # up to date, any the mail server missed, and a new seal of the audit log.
    response.background = BackgroundTask(_after_caseload, database(request))
    return response


def _after_caseload(db: Database) -> None:
    deliver(db)
    with db.session() as session:
        seal_if_due(session)


@router.get("/clients/new")
def new_client_page(request: Request, user: Clinician):
    return render(request, "client_new.html", {"problems": [], "values": {}})


@router.post("/clients")
def new_client(request: Request, form: CheckedForm, user: Clinician, db: Db):
    try:
        client = create_client(db, user, form.get("label", ""), form.get("client_group", ""))
    except InvalidInputError as exc:
        return render(request, "client_new.html", {"problems": exc.problems, "values": entered(form)}, 400)
    record(db, actor(user), user.role, "create_client", client_id=client.id)
    return redirect(f"/clients/{client.public_id}")


@router.get("/clients/{public_id}")
def current_episode_page(request: Request, public_id: str, user: ClientReader, db: Db):
    client = client_for(db, request, user, public_id)
    return client_page(request, db, user, client)


@router.get("/clients/{public_id}/episodes/{number}")
def episode_page(request: Request, public_id: str, number: str, user: ClientReader, db: Db):
    """Any episode of the client, the earlier ones read only."""
    client = client_for(db, request, user, public_id)
    episode = episode_numbered(db, client.id, path_number(number))
    if episode is None:
        raise NotFound()
    return client_page(request, db, user, client, episode=episode)


#: The ways a link made on the client page can be sent, as the audit log names them.
SEND_CHANNELS = {"email": "e-mail", "sms": "text message"}


def _recipient_or_refuse(db, client_id: int, channel: str) -> str:
    """The masked address or number a link goes to by ``channel``; refused, naming the choice,
    when the client has none or did not agree, or (text messages) the clinic has no gateway."""
    contact = current_contact(db, client_id)
    if channel == "email":
        if contact is None or not can_email(contact):
            raise InvalidInputError(
                "send",
                [
                    FieldProblem(
                        "send by e-mail",
                        "",
                        "a client who agreed to be contacted and has an e-mail address: "
                        "record them under Contact first",
                    )
                ],
            )
        return mask_email(contact.email)
    if not sms_configured():
        raise InvalidInputError(
            "send", [FieldProblem("send by text message", "", "a clinic with a text-message gateway")]
        )
    if contact is None or not can_text(contact):
        raise InvalidInputError(
            "send",
            [
                FieldProblem(
                    "send by text message",
                    "",
                    "a client who agreed to be contacted and has a mobile number: "
                    "record them under Contact first",
                )
            ],
        )
    return mask_mobile(contact.mobile)


@router.post("/clients/{public_id}/links")
def issue_client_link(request: Request, public_id: str, form: CheckedForm, user: Clinician, db: Db):
    def issue(db, user, client, episode, form):
        today = clinic_today(db)
        choices = link_choices(session_states(db, episode.id), today)
        chosen = parse_choice(
            form.get("session", ""),
            [s.number for s in choices],
            "session",
            "a session without answers from the client",
        )
        session = chosen if chosen is not None else new_session(db, episode, user).number
        # The next part of the intake questions goes with the client's first links, unless the
        # clinician asks for all of them or none (never none on a client's first link).
        made = make_link(db, episode, user, session, parse_intake_choice(form.get("intake")))
        token, link, days = made.token, made.link, made.days
        asked = described(made.intake)
        detail = f"episode {episode.number} session {session}" + (f" with {asked}" if asked else "")
        channel = form.get("send") if form.get("send") in SEND_CHANNELS else None
        sent_to = None
        if channel is not None:
            sent_to = _recipient_or_refuse(db, client.id, channel)
            queue_message(db, link, token, "link", user, channel=channel)
            detail += f" sent by {SEND_CHANNELS[channel]}"
        url = base_url(request) + f"/c/{token}"
        page = render(
            request,
            "link_issued.html",
            {
                "client": client,
                "url": url,
                "session": session,
                "planned": session_row(db, episode.id, session),
                "days": days,
                "with_intake": asked,
                "sent_to": sent_to,
                "channel": channel,
                "email_ready": email_configured(),
            },
        )
        return Done("issue_link", detail, page)

    response = clinician_change(request, db, user, public_id, form, issue, "link-h")
    return wake_after(request, response)


@router.post("/clients/{public_id}/measures")
def choose_measures(request: Request, public_id: str, form: CheckedForm, user: Clinician, db: Db):
    """The measures the episode's next links carry; links already sent keep theirs."""

    def choose(db, user, client, episode, form, ticked):
        new = set_measures(db, episode, user, ticked)
        detail = f"episode {episode.number}: " + (",".join(new) if new is not None else "unchanged")
        return Done("set_measures", detail)

    return clinician_change(request, db, user, public_id, form, choose, "measures-h", lists=("measure",))


@router.post("/clients/{public_id}/sessions")
def plan_next_session(request: Request, public_id: str, form: CheckedForm, user: Clinician, db: Db):
    def plan(db, user, client, episode, form):
        problems = []
        planned_on = planned_time = None
        try:
            planned_on = parse_date(form.get("date", ""), "date")
            if planned_on is None:
                problems.append(FieldProblem("date", "", "the date of the next session"))
        except InvalidInputError as exc:
            problems.extend(exc.problems)
        try:
            planned_time = parse_time(form.get("time", ""), "time")
        except InvalidInputError as exc:
            problems.extend(exc.problems)
        if problems:
            raise InvalidInputError("planning a session", problems)
        row = plan_session(db, episode, user, planned_on, planned_time)
        return Done("plan_session", f"episode {episode.number} session {row.number}")

    return clinician_change(request, db, user, public_id, form, plan, "sessions-h")


@router.post("/clients/{public_id}/rating")
def rate_session(request: Request, public_id: str, form: CheckedForm, user: Clinician, db: Db):
    def rate(db, user, client, episode, form):
        replaces = whole_number(form.get("replaces", ""), "replaces", required=False)
        if replaces is None:
            choices = rating_choices(session_states(db, episode.id), clinic_today(db))
            chosen = parse_choice(
                form.get("session", ""),
                [s.number for s in choices],
                "session",
                "a session you have not rated yet",
            )
        else:
            chosen = whole_number(form.get("session", ""), "session")
            if session_row(db, episode.id, chosen) is None:
                raise InvalidInputError(
                    "session", [FieldProblem("session", form.get("session", ""), "a session of this episode")]
                )
        parsed = parse_answers(["checkin_therapist"], form)
        approach = parse_approach(form.get("approach", ""))
        session = chosen if chosen is not None else session_today(db, episode, user).number
        note = form.get("checkin_therapist_notes", "").strip()[:MAX_NOTE] or None
        store_rating(db, episode, session, user, parsed.answers, note, replaces, approach)
        refresh_after_answers(db, client, episode.id, session, "therapist", parsed.answers)
        action = "edit_rating" if replaces is not None else "rate_session"
        return Done(action, f"episode {episode.number} session {session}")

    def edit_page(db, user, client, episode, form, problems, values):
        """A corrected rating that is refused goes back to the page it was changed on."""
        if not form.get("replaces"):
            return None
        number = form.get("session", "").strip()
        if not (number.isascii() and number.isdigit() and len(number) < 7):
            return None
        return _rating_edit_page(request, db, client, episode, int(number), values, problems)

    return clinician_change(request, db, user, public_id, form, rate, "sessions-h", problem_page=edit_page)


def _rating_edit_page(request: Request, db, client, episode, number: int, values=None, problems=()):
    """The form to change the rating of session ``number``: filled with the rating that counts
    now, or with what was entered after a problem (None: no rating to change)."""
    history = rating_history(db, episode.id, number)
    if not history or not episode.active:
        return None
    if values is None:
        values = item_values(db, history[0].id)
        values["checkin_therapist_notes"] = history[0].comment or ""
        values["approach"] = history[0].approach or ""
    return render(
        request,
        "rating_edit.html",
        {
            "client": client,
            "episode": episode,
            "session": number,
            "history": history,
            "zone": clinic_zone(db),
            "rating_form": build_form("checkin_therapist"),
            "approaches": approach_choices(),
            "values": values,
            "problems": list(problems),
        },
        400 if problems else 200,
    )


@router.get("/clients/{public_id}/sessions/{number}/rating")
def edit_rating_page(request: Request, public_id: str, session: SessionNumber, user: Clinician, db: Db):
    """Change a rating: the form filled with the rating that counts now, and its history."""
    client = changeable(db, request, user, public_id)
    page = _rating_edit_page(request, db, client, current_episode(db, client.id), session)
    if page is None:
        raise NotFound()
    return page


@router.post("/clients/{public_id}/alerts")
def save_alert_record(request: Request, public_id: str, form: CheckedForm, user: Clinician, db: Db):
    """One record for one or more of the episode's current alerts: seen, what was done and what
    happened next, or set aside with a reason; each becomes a step of every ticked alert's history."""

    def save(db, user, client, episode, form, ticked):
        ids = [whole_number(value, "alerts") for value in ticked]
        shown = {i: whole_number(form.get(f"through-{i}", ""), "alerts", required=False) for i in ids}
        recorded = record_on_alerts(
            db,
            episode,
            user,
            ids,
            form.get("what", ""),
            action=form.get("action", ""),
            outcome=form.get("outcome", ""),
            reason=form.get("reason", ""),
            seen_through={i: n for i, n in shown.items() if n is not None},
        )
        refresh(db, [client])
        detail = (
            f"episode {episode.number}: {recorded.what} on alerts {', '.join(map(str, recorded.alert_ids))}"
        )
        return Done("record_alert", detail)

    return clinician_change(request, db, user, public_id, form, save, "alerts", lists=("alert",))
