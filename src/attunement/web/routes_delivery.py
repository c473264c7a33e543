"""A client's contact details and consent, and the messages that carry their links: record or
change the contact (the treating clinician only), send a link again. Links are sent by e-mail
from the link form (:mod:`attunement.web.routes_clinician`); the delivery worker sends what is
queued after the change is stored (:mod:`attunement.store.delivery`).
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.background import BackgroundTask

from attunement.store.contacts import can_text, current_contact, parse_contact, record_contact
from attunement.store.link_schedules import parse_schedule, set_schedule
from attunement.store.outbox import queue_resend
from attunement.store.text_messages import gateway_from_environment
from attunement.web.clinician_change import Done, clinician_change
from attunement.web.dependencies import CheckedForm, Clinician, Db
from attunement.web.form_values import whole_number

router = APIRouter()


def wake_delivery(request: Request) -> None:
    """Tell the app's delivery worker that a message is waiting (when it runs in this app)."""
    worker = getattr(request.app.state, "delivery", None)
    if worker is not None:
        worker.wake()


def wake_after(request: Request, response: Response) -> Response:
    """The response, set to wake the delivery worker once it is sent (so after the change that
    queued a message is committed), unless the change was refused."""
    if response.status_code < 400:
        response.background = BackgroundTask(wake_delivery, request)
    return response


@router.post("/clients/{public_id}/contact")
def save_contact(request: Request, public_id: str, form: CheckedForm, user: Clinician, db: Db):
    def save(db, user, client, episode, form):
        given = parse_contact(
            form.get("contact_email", ""), form.get("contact_mobile", ""), form.get("contact_consent", "")
        )
        changed = record_contact(db, client.id, user, given)
        return Done("record_contact", changed or "unchanged")

    return clinician_change(request, db, user, public_id, form, save, "contact-h")


@router.post("/clients/{public_id}/messages/resend")
def resend_link(request: Request, public_id: str, form: CheckedForm, user: Clinician, db: Db):
    def resend(db, user, client, episode, form):
        link_id = whole_number(form.get("link", ""), "link")
        message = queue_resend(db, client.id, link_id, user)
        return Done("resend_link", f"link {link_id} by {message.channel}")

    response = clinician_change(request, db, user, public_id, form, resend, "messages-h")
    return wake_after(request, response)


def sms_refusal(db, client_id: int) -> str | None:
    """Why a text message cannot be chosen for this client now, or None when it can."""
    if gateway_from_environment() is None:
        return "e-mail: text messages are not configured on this server"
    if not can_text(current_contact(db, client_id)):
        return "e-mail: record the client's mobile number and consent under Contact first"
    return None


@router.post("/clients/{public_id}/schedule")
def save_schedule(request: Request, public_id: str, form: CheckedForm, user: Clinician, db: Db):
    """The episode's link schedule: off, before each planned session, or every N days."""

    def save(db, user, client, episode, form):
        given = parse_schedule(
            form.get("schedule_kind", ""),
            form.get("schedule_days", ""),
            form.get("schedule_channel", ""),
            sms_possible=sms_refusal(db, client.id),
        )
        changed = set_schedule(db, episode, user, given)
        return Done("set_link_schedule", f"episode {episode.number}: {changed or 'unchanged'}")

    response = clinician_change(request, db, user, public_id, form, save, "schedule-h")
    return wake_after(request, response)
