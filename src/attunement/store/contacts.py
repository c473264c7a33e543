"""A client's contact details and their consent to be contacted, kept apart from the clinical
record (table ``client_contacts``).

Only the treating clinician records them. A change never replaces what was there: it is a new
row and the latest row counts, so the page can show who recorded what and when. The consent
keeps the time and the person of the row that last changed it. Addresses and numbers never go
to a log, an audit entry or a URL; pages show them masked except to the treating clinician.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from attunement.errors import FieldProblem, InvalidInputError
from attunement.store.clock import now
from attunement.store.models import ClientContact, User

EMAIL = re.compile(
    r"[^@\s<>\"(),;:\[\]\\]{1,64}@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+"
)
#: A mobile number as people type it: an optional +, then 7 to 15 digits with spaces, dashes
#: or brackets between them.
MOBILE = re.compile(r"\+?[0-9][0-9 ()-]{5,22}[0-9]")


@dataclass(frozen=True)
class ContactInput:
    email: str | None
    mobile: str | None
    consent: bool


def parse_contact(email: str, mobile: str, consent: str) -> ContactInput:
    """The contact form's fields, checked; every problem named at once."""
    problems = []
    email = email.strip()
    mobile = mobile.strip()
    if email and (len(email) > 254 or not EMAIL.fullmatch(email)):
        problems.append(FieldProblem("e-mail", email[:80], "an address like name@example.org"))
    digits = re.sub(r"\D", "", mobile)
    if mobile and (not MOBILE.fullmatch(mobile) or not 7 <= len(digits) <= 15):
        problems.append(FieldProblem("mobile", mobile[:40], "a phone number like +44 7700 900123"))
    if consent not in ("yes", "no"):
        problems.append(
            FieldProblem("consent", consent[:20], "yes or no: whether the client agrees to be contacted")
        )
    if problems:
        raise InvalidInputError("contact", problems)
    normal_mobile = ("+" if mobile.startswith("+") else "") + digits if mobile else None
    return ContactInput(email or None, normal_mobile, consent == "yes")


def current_contact(db: Session, client_id: int) -> ClientContact | None:
    return db.scalar(
        select(ClientContact)
        .where(ClientContact.client_id == client_id)
        .order_by(ClientContact.id.desc())
        .limit(1)
    )


def contact_history(db: Session, client_id: int) -> list[ClientContact]:
    """Every recorded version, latest first."""
    return list(
        db.scalars(
            select(ClientContact)
            .where(ClientContact.client_id == client_id)
            .order_by(ClientContact.id.desc())
        )
    )


def record_contact(db: Session, client_id: int, user: User, given: ContactInput) -> str | None:
    """A new version of the client's contact when anything changed; returns what changed in
    words for the audit log (no address in it), or None when nothing did."""
    before = current_contact(db, client_id)
    if before is not None and (before.email, before.mobile, before.consent) == (
        given.email,
        given.mobile,
        given.consent,
    ):
        return None
    moment = now()
    consent_changed = before is None or before.consent != given.consent
    consent_at, consent_by = (
        (moment, user.id) if before is None or consent_changed else (before.consent_at, before.consent_by)
    )
    db.add(
        ClientContact(
            client_id=client_id,
            email=given.email,
            mobile=given.mobile,
            consent=given.consent,
            consent_at=consent_at,
            consent_by=consent_by,
            recorded_at=moment,
            recorded_by=user.id,
        )
    )
    db.flush()
    changed = []
    if before is None or before.email != given.email:
        changed.append("e-mail " + ("set" if given.email else "removed"))
    if before is None or before.mobile != given.mobile:
        changed.append("mobile " + ("set" if given.mobile else "removed"))
    if consent_changed:
        changed.append("consent " + ("yes" if given.consent else "no"))
    return ", ".join(changed)


def can_email(contact: ClientContact | None) -> bool:
    return contact is not None and contact.consent and bool(contact.email)


def can_text(contact: ClientContact | None) -> bool:
    return contact is not None and contact.consent and bool(contact.mobile)


def mask_email(address: str | None) -> str:
    """``n***@example.org``: enough to recognise, not enough to copy."""
    if not address or "@" not in address:
        return "-"
    local, domain = address.rsplit("@", 1)
    return f"{local[:1]}***@{domain}"


def mask_mobile(number: str | None) -> str:
    """``***123``: the last three digits only."""
    if not number:
        return "-"
    return "***" + number[-3:]


def mask(channel: str, recipient: str | None) -> str:
    return mask_email(recipient) if channel == "email" else mask_mobile(recipient)
