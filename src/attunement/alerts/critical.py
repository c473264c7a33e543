"""Safety from the answers themselves, for forms as the web app stores them.

Each stored form (one person's answers to one instrument at one session, one submission) becomes
entries of :class:`~attunement.alerts.critical_answers.Answers`, and the one safety rule of
:mod:`attunement.alerts.critical_answers` decides: every critical item of every instrument that
declares one, at any session including a pre-treatment assessment (session 0), endorsed or left
blank on a form that was sent, whether or not the form could be scored. The batch
(:mod:`attunement.alerts.batch`) applies the same rule to the item rows of the measures table.

Per client (or course) the alert is for the latest session with any such answer, so later,
calmer answers never hide it; what the web app does once it is recorded is its own matter.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Mapping
from dataclasses import dataclass

import numpy as np

from attunement.alerts.alert import Alert
from attunement.alerts.critical_answers import Answers, critical_fired
from attunement.alerts.fired import plain
from attunement.alerts.support import support_steps
from attunement.errors import UnknownInstrumentError
from attunement.instruments import Flag, critical_flags, get_instrument

__all__ = ["Form", "critical_alerts", "form_flags"]


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
    answers, keys = _answers(forms)
    fired = critical_fired(answers)
    reasons = fired.reason.to_pylist()
    out: dict[Hashable, Alert] = {}
    for k, row in enumerate(fired.rows):
        key = keys[row]
        out[key] = Alert(
            client_id=str(key),
            kind=fired.kind,
            severity=str(fired.severity[k]),
            session=int(fired.session[k]),
            probability=None,
            reason=reasons[k],
            figures={name: plain(values[k]) for name, values in fired.figures.items()},
            support=support_steps(fired.kind, reasons[k]),
            requires_action=fired.requires_action,
        )
    return out


def _answers(forms: Iterable[Form]) -> tuple[Answers, list[Hashable]]:
    """The forms' answers as columns (each form its own, so two submissions of one session stay
    two forms), and the keys by course code."""
    codes: dict[Hashable, int] = {}
    course, session, instrument, item, value, form = [], [], [], [], [], []
    for index, f in enumerate(forms):
        code = codes.setdefault(f.key, len(codes))
        for name, answer in f.answers.items():
            course.append(code)
            session.append(f.session)
            instrument.append(f.instrument)
            item.append(name)
            value.append(np.nan if answer is None else answer)
            form.append(index)
    answers = Answers.from_text(
        np.array(course, dtype=np.int64),
        np.array(session, dtype=np.int64),
        instrument,
        item,
        np.array(value, dtype=float),
        np.array(form, dtype=np.int64),
    )
    return answers, list(codes)


def form_flags(form: Form) -> list[Flag]:
    """The critical-item flags of one form (none for an instrument that declares no critical item
    or is not installed, and none for a form with no answer at all)."""
    try:
        instrument = get_instrument(form.instrument)
    except UnknownInstrumentError:
        return []
    if not instrument.scoring.critical_items or not any(v is not None for v in form.answers.values()):
        return []
    return critical_flags(instrument, form.answers)
