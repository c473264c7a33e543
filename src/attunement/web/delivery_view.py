"""What the client page shows of a client's contact and the messages sent to them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from attunement.store.contacts import can_email, contact_history, mask_email, mask_mobile
from attunement.store.delivery import email_configured
from attunement.store.models import Client, ClientContact, User
from attunement.store.outbox import messages_of

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
        "messages": messages_of(db, client.id),
        "purpose_labels": PURPOSE_LABELS,
        "channel_labels": CHANNEL_LABELS,
    }
