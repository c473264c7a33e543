"""Text messages through an HTTP gateway, for the delivery worker (a :class:`Sender` of
:mod:`attunement.store.delivery`).

The gateway is configured from the environment: ``ATTUNEMENT_SMS_URL`` (no URL: no text
messages), ``ATTUNEMENT_SMS_TOKEN`` (sent as ``Authorization: Bearer``), ``ATTUNEMENT_SMS_FROM``
(the sender name or number) and ``ATTUNEMENT_PUBLIC_URL``. Each message is one ``POST`` of JSON
``{"to": ..., "from": ..., "text": ..., "id": ...}`` with an ``Idempotency-Key`` header (the
message's id, the same for every try); any 2xx answer means the gateway accepted it. Most
gateways take such a request directly or through a small adapter.
"""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class HttpGateway:
    url: str
    token: str | None
    sender: str
    public_url: str
    channel: str = "sms"
    timeout: float = 10.0

    def recipient(self, contact) -> str | None:
        return contact.mobile if contact is not None else None

    def send(self, recipient: str, subject: str, body: str, message_id: str) -> None:
        from attunement.store.delivery import SendFailed

        data = json.dumps({"to": recipient, "from": self.sender, "text": body, "id": message_id}).encode()
        request = urllib.request.Request(self.url, data=data, method="POST")
        request.add_header("Content-Type", "application/json")
        request.add_header("Idempotency-Key", message_id)
        if self.token:
            request.add_header("Authorization", f"Bearer {self.token}")
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as answer:  # noqa: S310 (the clinic's own URL)
                status = answer.status
        except urllib.error.HTTPError as exc:
            raise SendFailed(f"the text-message gateway refused the message (HTTP {exc.code})") from None
        except (OSError, ValueError) as exc:
            raise SendFailed(
                f"the text-message gateway could not be reached ({type(exc).__name__})"
            ) from None
        if not 200 <= status < 300:
            raise SendFailed(f"the text-message gateway refused the message (HTTP {status})")


def gateway_from_environment(env: Mapping[str, str] | None = None) -> HttpGateway | None:
    env = os.environ if env is None else env
    url = env.get("ATTUNEMENT_SMS_URL", "").strip()
    public = env.get("ATTUNEMENT_PUBLIC_URL", "").strip().rstrip("/")
    if not url or not public or not url.startswith(("http://", "https://")):
        return None
    return HttpGateway(
        url=url,
        token=env.get("ATTUNEMENT_SMS_TOKEN") or None,
        sender=env.get("ATTUNEMENT_SMS_FROM", "attunement"),
        public_url=public,
    )
