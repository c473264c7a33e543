"""Safety from the answers themselves: every critical item of every instrument, at any session.

The rule that :mod:`attunement.alerts.safety` applies to the session arrays (PHQ-9 item 9 only,
sessions 1 and up, on forms whose total was recorded) is applied here to each stored form as it
was given: any instrument whose definition declares critical items (PHQ-9 item 9, CORE-10 item 6,
the CORE-OM risk items, or a measure a clinic imports later), any session including a
pre-treatment assessment (session 0), and whether or not the form could be scored: an item that
is endorsed, or left unanswered on a form that was sent, raises the alert, because a blank is
not a no. The wording of each reason comes from the instrument definition, as in
:func:`attunement.instruments.critical_flags`.

Per client (or course) the alert is for the latest session with any such answer, so later,
calmer answers never hide it; what the web app does once it is recorded is its own matter.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Hashable, Iterable, Mapping
from dataclasses import dataclass

from attunement.alerts.alert import Alert
from attunement.alerts.safety import item_name
from attunement.alerts.support import support_steps
from attunement.errors import UnknownInstrumentError
from attunement.instruments import Flag, critical_flags, get_instrument

UNANSWERED = "critical_item_unanswered"


@dataclass(frozen=True)
class Form:
    """One questionnaire as one person sent it: who, which session, which instrument, the answers
    given (an item left blank is simply absent, or None)."""

    key: Hashable
    session: int
    instrument: str
    answers: Mapping[str, float | None]


def critical_alerts(forms: Iterable[Form]) -> dict[Hashable, Alert]:
    """The safety alert of each key that has a critical answer: at its latest such session, with
    every critical answer of that session in its reason."""
    flagged: dict[Hashable, dict[int, list[tuple[str, Flag]]]] = defaultdict(lambda: defaultdict(list))
    for form in forms:
        for flag in form_flags(form):
            flagged[form.key][form.session].append((form.instrument, flag))
    out = {}
    for key, sessions in flagged.items():
        session = max(sessions)
        flags = _unique(sessions[session])
        reasons = "; ".join(_reason(instrument, flag) for instrument, flag in flags)
        reason = f"Session {session}: {reasons}"
        first = flags[0][1]
        out[key] = Alert(
            client_id=str(key),
            kind="safety",
            severity="high",
            session=session,
            probability=None,
            reason=reason,
            figures={
                "item": first.item,
                "answer": first.value if first.value is not None else "not answered",
                "flag": first.kind,
                "items": ", ".join(f.item for _, f in flags),
            },
            support=support_steps("safety", reason),
            requires_action=True,
        )
    return out


def form_flags(form: Form) -> list[Flag]:
    """The critical-item flags of one form (none for an instrument that declares no critical item
    or is not installed)."""
    try:
        instrument = get_instrument(form.instrument)
    except UnknownInstrumentError:
        return []
    if not instrument.scoring.critical_items or not any(v is not None for v in form.answers.values()):
        return []
    return critical_flags(instrument, form.answers)


def _unique(flags: list[tuple[str, Flag]]) -> list[tuple[str, Flag]]:
    """One flag per item: of two submissions of one session, the one that answered (highest)."""
    best: dict[tuple[str, str], tuple[str, Flag]] = {}
    for instrument, flag in flags:
        key = (instrument, flag.item)
        held = best.get(key)
        if held is None or _weight(flag) > _weight(held[1]):
            best[key] = (instrument, flag)
    return sorted(best.values(), key=lambda pair: (pair[0], pair[1].item))


def _weight(flag: Flag) -> float:
    return -1.0 if flag.value is None else float(flag.value)


def _reason(instrument_id: str, flag: Flag) -> str:
    if flag.kind != UNANSWERED:
        return flag.reason
    instrument = get_instrument(instrument_id)
    critical = next(c for c in instrument.scoring.critical_items if c.item == flag.item)
    return (
        f"{item_name(critical, instrument.short_name)} was left unanswered on a {instrument.short_name} "
        "that was sent (a safety item; a blank is not a no): ask directly"
    )
