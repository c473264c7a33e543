"""What the client page shows of a client's contact and the messages sent to them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from attunement.store.clock import now
from attunement.store.contacts import can_email, can_text, contact_history, mask_email, mask_mobile
from attunement.store.delivery import email_configured, senders_from_environment, sms_configured
from attunement.store.link_schedules import (
    KINDS,
    MAX_EVERY_DAYS,
    Slot,
    blocked,
    current_schedule,
    lead_hours,
    next_slot,
    schedule_history,
    scheduled_link_ids,
)
from attunement.store.models import Client, ClientContact, Episode, LinkSchedule, User
from attunement.store.outbox import messages_of
from attunement.store.settings import clinic_zone
from attunement.store.text_messages import gateway_from_environment

PURPOSE_LABELS = {"link": "New link", "resend": "Sent again", "reminder": "Reminder"}
CHANNEL_LABELS = {"email": "E-mail", "sms": "Text message"}


@dataclass(frozen=True)
class ContactView:
    current: ClientContact | None
    history: list[ClientContact]
    people: dict[int, str]
    #: Shown in full only to the treating clinician, who records them.
    full: bool

    def email(self, row: ClientContact | None = None) -> str:
        row = row or self.current
        if row is None or not row.email:
            return ""
        return row.email if self.full else mask_email(row.email)

    def mobile(self, row: ClientContact | None = None) -> str:
        row = row or self.current
        if row is None or not row.mobile:
            return ""
        return row.mobile if self.full else mask_mobile(row.mobile)

    def by(self, user_id: int | None) -> str:
        return self.people.get(user_id, "a former user") if user_id is not None else "-"


def delivery_context(db: Session, client: Client, *, can_change: bool) -> dict[str, Any]:
    history = contact_history(db, client.id)
    ids = {i for row in history for i in (row.recorded_by, row.consent_by) if i is not None}
    people = dict(db.execute(select(User.id, User.display_name).where(User.id.in_(ids))).all()) if ids else {}
    contact = ContactView(history[0] if history else None, history, people, can_change)
    return {
        "contact": contact,
        "can_email": can_email(contact.current),
        "email_masked": mask_email(contact.current.email if contact.current else None),
        "email_ready": email_configured(),
        "can_text": can_text(contact.current),
        "mobile_masked": mask_mobile(contact.current.mobile if contact.current else None),
        "sms_ready": sms_configured(),
        "messages": messages_of(db, client.id),
        "purpose_labels": PURPOSE_LABELS,
        "channel_labels": CHANNEL_LABELS,
        "scheduled_links": scheduled_link_ids(db, client.id),
    }


@dataclass(frozen=True)
class ScheduleView:
    current: LinkSchedule | None
    history: list[LinkSchedule]
    people: dict[int, str]
    next_due: Slot | None
    waiting_because: str | None
    lead_hours: int
    sms_ready: bool
    kinds: dict[str, str]
    max_days: int

    @property
    def due_now(self) -> bool:
        return self.next_due is not None and self.next_due.due_at <= now()

    def label(self, row: LinkSchedule | None) -> str:
        if row is None or row.kind == "off":
            return "Off"
        when = "Before each planned session" if row.kind == "sessions" else f"Every {row.every_days} days"
        return f"{when}, by {CHANNEL_LABELS.get(row.channel, row.channel).lower()}"


def schedule_context(db: Session, episode: Episode) -> dict[str, Any]:
    history = schedule_history(db, episode.id)
    current = current_schedule(db, episode.id)
    ids = {row.set_by for row in history if row.set_by is not None}
    people = dict(db.execute(select(User.id, User.display_name).where(User.id.in_(ids))).all()) if ids else {}
    lead = lead_hours(db)
    slot = why = None
    if current is not None:
        slot = next_slot(db, episode, current, lead, clinic_zone(db))
        why = blocked(db, episode, current, [s.channel for s in senders_from_environment()])
    view = ScheduleView(
        current,
        history,
        people,
        slot,
        why,
        lead,
        gateway_from_environment() is not None,
        KINDS,
        MAX_EVERY_DAYS,
    )
    return {"link_schedule": view}
