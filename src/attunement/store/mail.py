"""The clinic's SMTP server: its settings from the environment and one function that sends a
plain-text message through it. Safety notices and client links both go through here.

SMTP settings come from the environment, like every secret: ``ATTUNEMENT_SMTP_HOST`` (no host:
no e-mail), ``ATTUNEMENT_SMTP_PORT`` (25), ``ATTUNEMENT_SMTP_FROM``, ``ATTUNEMENT_SMTP_USER`` and
``ATTUNEMENT_SMTP_PASSWORD`` (optional), ``ATTUNEMENT_SMTP_STARTTLS`` (``1`` to upgrade the
connection), and ``ATTUNEMENT_PUBLIC_URL``, the address the app answers at.
"""

from __future__ import annotations

import logging
import os
import smtplib
from collections.abc import Mapping
from dataclasses import dataclass
from email.message import EmailMessage

log = logging.getLogger("attunement.mail")

#: What a failed send raises: the caller logs its kind, never its message (it may quote an address).
SEND_ERRORS = (OSError, smtplib.SMTPException, UnicodeError, ValueError)


@dataclass(frozen=True)
class MailSettings:
    host: str
    port: int
    sender: str
    user: str | None
    password: str | None
    starttls: bool
    public_url: str

    @classmethod
    def from_environment(cls, env: Mapping[str, str] | None = None) -> MailSettings | None:
        """The SMTP settings, or None when no server is configured (nothing is e-mailed)."""
        env = os.environ if env is None else env
        host = env.get("ATTUNEMENT_SMTP_HOST", "").strip()
        if not host:
            return None
        port = env.get("ATTUNEMENT_SMTP_PORT", "25").strip() or "25"
        if not (port.isascii() and port.isdigit() and 0 < int(port) < 65536):
            log.error("ATTUNEMENT_SMTP_PORT is not a port number: nothing is e-mailed")
            return None
        return cls(
            host=host,
            port=int(port),
            sender=env.get("ATTUNEMENT_SMTP_FROM", "attunement@localhost"),
            user=env.get("ATTUNEMENT_SMTP_USER") or None,
            password=env.get("ATTUNEMENT_SMTP_PASSWORD") or None,
            starttls=env.get("ATTUNEMENT_SMTP_STARTTLS", "") == "1",
            public_url=env.get("ATTUNEMENT_PUBLIC_URL", "").rstrip("/"),
        )


def send_mail(
    settings: MailSettings, address: str, subject: str, body: str, *, message_id: str | None = None
) -> None:
    """Hand one message to the SMTP server; returns once the server has accepted it, raises one
    of :data:`SEND_ERRORS` otherwise. ``message_id`` (without the angle brackets) makes the
    Message-ID header, so a message sent again carries the same one."""
    message = EmailMessage()
    message["Subject"] = subject
    message["From"] = settings.sender
    message["To"] = address
    if message_id:
        message["Message-ID"] = f"<{message_id}>"
    message.set_content(body)
    with smtplib.SMTP(settings.host, settings.port, timeout=10) as smtp:
        if settings.starttls:
            smtp.starttls()
        if settings.user and settings.password:
            smtp.login(settings.user, settings.password)
        smtp.send_message(message)
