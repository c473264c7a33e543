"""Support steps for an alert, from the clinical support checklist of :mod:`attunement.tailoring`.

Without a profile the checklist for an alert kind is the same for every client except for the
alert's reason, so it is built once per kind (with a marker in place of the reason) and the
reason is put in afterwards; this keeps thousands of alerts cheap. Which checklist a kind brings
is in ``kinds.json``.
"""

from __future__ import annotations

from functools import cache

from attunement.alerts.kinds import alert_kinds
from attunement.profile.model import Profile
from attunement.tailoring.engine import DEFAULT_SERVICE_LANGUAGE
from attunement.tailoring.support import SupportContext, support_checklist

_MARK = "\x00reason\x00"
#: The support checklist each kind brings (``kinds.json``).
CHECKLIST_FOR_KIND = {k.id: k.checklist for k in alert_kinds()}


@cache
def _template(kind: str) -> tuple[str, ...]:
    checklist = support_checklist(CHECKLIST_FOR_KIND[kind], None, SupportContext(reason=_MARK))
    return tuple(f"{section.title}: {item.text}" for section in checklist.sections for item in section.items)


def support_steps(
    kind: str, reason: str, profile: Profile | None = None, service_language: str = DEFAULT_SERVICE_LANGUAGE
) -> tuple[str, ...]:
    """The checklist items to go through for this alert, with the alert's reason filled in; with a
    profile, filled in for the client (``service_language`` is the clinic's, for the language check)."""
    if profile is not None:
        context = SupportContext(reason=reason, service_language=service_language)
        checklist = support_checklist(CHECKLIST_FOR_KIND[kind], profile, context)
        return tuple(
            f"{section.title}: {item.text}" for section in checklist.sections for item in section.items
        )
    return tuple(step.replace(_MARK, reason) for step in _template(kind))
