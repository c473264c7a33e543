"""Support steps for an alert, from the clinical support checklist of :mod:`attunement.tailoring`.

Without a profile the checklist for an alert kind is the same for every client except for the
alert's reason, so it is built once per kind (with a marker in place of the reason) and the
reason is put in afterwards; this keeps thousands of alerts cheap. With a profile it is built
once per kind and profile, the same way. Which checklist a kind brings
is in ``kinds.json``.
"""

from __future__ import annotations

from functools import cache, lru_cache

from attunement.alerts.kinds import alert_kinds
from attunement.profile.model import Profile
from attunement.tailoring.engine import DEFAULT_SERVICE_LANGUAGE, Recommendation, tailor
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
        steps = _for_profile(kind, profile.model_dump_json(), service_language)
    else:
        steps = _template(kind)
    return tuple(step.replace(_MARK, reason) for step in steps)


@lru_cache(maxsize=1024)
def _for_profile(kind: str, profile: str, service_language: str) -> tuple[str, ...]:
    """A kind's checklist filled in for one profile (as JSON), the reason still a marker: a client's
    alerts are summarised again on every answer, each tailored by ranking every recommendation,
    while the profile changes only when the client answers intake questions."""
    context = SupportContext(
        reason=_MARK,
        recommendations=list(_recommendations(profile, service_language)),
        service_language=service_language,
    )
    checklist = support_checklist(CHECKLIST_FOR_KIND[kind], Profile.model_validate_json(profile), context)
    return tuple(f"{section.title}: {item.text}" for section in checklist.sections for item in section.items)


@lru_cache(maxsize=512)
def _recommendations(profile: str, service_language: str) -> tuple[Recommendation, ...]:
    """The tailoring of one profile (as JSON), shared by the checklists of all its alert kinds."""
    found = tailor(Profile.model_validate_json(profile), service_language=service_language)
    return tuple(found.recommendations)
