"""Safety from item answers held as columns: the one rule behind every safety alert.

A risk answer must reach a clinician however the answers came in: forms sent through the web app
(:func:`attunement.alerts.critical.critical_alerts`), the item rows of a national measures table
(:mod:`attunement.alerts.batch`) or the session arrays of a history
(:func:`attunement.alerts.safety.safety_alerts`). Each turns its answers into :class:`Answers`
and :func:`critical_fired` decides, so the rule exists once:

- a **form** is the answers of one course (a client, or an episode of care) at one session to one
  instrument, as the client gave them (``form`` splits it further, e.g. two submissions);
- a form was **sent** when at least one of its items has an answer;
- every critical item its instrument's definition declares (PHQ-9 item 9, CORE-10 item 6, the
  CORE-OM risk items, or one a clinic imports later) is **flagged** when it is endorsed (at or
  above its ``min_value``) or left blank on a sent form, because a blank is not a no; whether
  the form can be scored does not matter;
- any session counts, a pre-treatment assessment (session 0) included;
- per course the alert is for the **latest session with a flag**, so calmer answers later never
  hide it, and it names every item flagged at that session (one entry per item: of two forms of
  that session, the highest answer), ordered by instrument and item.

The wording comes from the definitions, as in :func:`attunement.instruments.critical_flags`
(which judges a single form for ``attunement score``). Everything runs on integer codes and whole
arrays: a national table has millions of item rows. Python only visits the instruments and items
named in the data, and the reasons of the rare answers that are not whole numbers.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from attunement.alerts.fired import Fired, join, text
from attunement.alerts.kinds import kind
from attunement.errors import UnknownInstrumentError
from attunement.instruments import get_instrument
from attunement.instruments.definition import CriticalItem

SAFETY = "safety"
#: The flag of a critical item left blank on a sent form (as :func:`critical_flags` names it).
UNANSWERED = "critical_item_unanswered"
NOT_ANSWERED = "not answered"


@dataclass(frozen=True)
class Answers:
    """Item answers as columns, one entry per item of a form.

    ``course`` is an integer code per course (entries with a negative code are ignored);
    ``instrument`` and ``item`` are codes into ``instruments`` and ``items`` (-1 for none);
    ``value`` is NaN where the item was left blank; ``form`` (optional) tells apart two forms of
    one course, session and instrument.
    """

    course: np.ndarray
    session: np.ndarray
    instrument: np.ndarray
    instruments: Sequence[str]
    item: np.ndarray
    items: Sequence[str]
    value: np.ndarray
    form: np.ndarray | None = None

    @classmethod
    def from_text(
        cls,
        course: np.ndarray,
        session: np.ndarray,
        instrument: Sequence[str] | np.ndarray,
        item: Sequence[str] | np.ndarray,
        value: np.ndarray,
        form: np.ndarray | None = None,
    ) -> Answers:
        """Answers from text columns of instrument and item ids (small tables; large ones come
        with their codes already, e.g. from Parquet's dictionary encoding)."""
        instrument_code, instruments = pd.factorize(pd.Series(instrument, dtype=object))
        item_code, items = pd.factorize(pd.Series(item, dtype=object))
        return cls(
            course=np.asarray(course, dtype=np.int64),
            session=np.asarray(session, dtype=np.int64),
            instrument=instrument_code,
            instruments=[str(i) for i in instruments],
            item=item_code,
            items=[str(i) for i in items],
            value=np.asarray(value, dtype=float),
            form=None if form is None else np.asarray(form, dtype=np.int64),
        )


@dataclass(frozen=True)
class _Catalogue:
    """The critical items of the instruments the answers name, numbered 0..n-1 in instrument
    order. Per instrument code: ``first`` critical item and ``count`` (0 for an instrument that
    declares none or is not installed); ``pair[instrument, item]`` the critical item an answer
    is (-1 for none; code -1 lands on the last row or column, which is -1). Per critical item:
    its definition, the id its instrument was named by, that instrument's short name, and
    ``rank`` in the order of (instrument as named, item)."""

    first: np.ndarray
    count: np.ndarray
    pair: np.ndarray
    critical: list[CriticalItem]
    named: list[str]
    short_name: list[str]
    rank: np.ndarray

    @property
    def min_value(self) -> np.ndarray:
        return np.array([c.min_value for c in self.critical], dtype=float)


def _catalogue(instruments: Sequence[str], items: Sequence[str]) -> _Catalogue:
    first = np.zeros(len(instruments) + 1, dtype=np.int64)
    count = np.zeros(len(instruments) + 1, dtype=np.int64)
    pair = np.full((len(instruments) + 1, len(items) + 1), -1, dtype=np.int64)
    item_code = {name: code for code, name in enumerate(items)}
    critical: list[CriticalItem] = []
    named: list[str] = []
    short_name: list[str] = []
    for code, name in enumerate(instruments):
        declared = _declared(name)
        first[code], count[code] = len(critical), len(declared)
        for c in declared:
            if c.item in item_code:
                pair[code, item_code[c.item]] = len(critical)
            critical.append(c)
            named.append(name)
            short_name.append(get_instrument(name).short_name)
    order = sorted(range(len(critical)), key=lambda k: (named[k], critical[k].item))
    rank = np.empty(len(critical), dtype=np.int64)
    rank[order] = np.arange(len(critical))
    return _Catalogue(first, count, pair, critical, named, short_name, rank)


def _declared(instrument_id: str) -> tuple[CriticalItem, ...]:
    """The critical items an instrument declares (none when it is not installed: a clinic may
    keep scores of any measure)."""
    try:
        return tuple(get_instrument(instrument_id).scoring.critical_items)
    except UnknownInstrumentError:
        return ()


def declares_critical(answers: Answers) -> bool:
    """Whether any answer belongs to an instrument with critical items: without one (tables of
    totals only) safety could not be checked at all, which a report must say."""
    if not len(answers.course):
        return False
    named = np.array([bool(_declared(name)) for name in answers.instruments] + [False])
    return bool(np.any(named[answers.instrument] & (answers.course >= 0)))


def critical_fired(answers: Answers) -> Fired:
    """The safety alert of every course with a critical answer, by the rule of the module doc
    (``rows`` are course codes, in ascending order)."""
    catalogue = _catalogue(answers.instruments, answers.items)
    keep = (answers.course >= 0) & (catalogue.count[answers.instrument] > 0)
    if not keep.any():
        return _no_alerts()
    columns = [answers.course, answers.session, answers.instrument, answers.item, answers.value]
    if answers.form is not None:
        columns.append(answers.form)
    if not keep.all():
        columns = [c[keep] for c in columns]
    keys = [columns[0], columns[1], columns[2], *columns[5:]]
    order, starts = _forms(keys)
    if order is not None:
        columns = [c[order] for c in columns]
    course, session, instrument, item, value = columns[:5]

    # Entries: one per critical item of each sent form, holding the highest answer given to it.
    answered = ~np.isnan(value)
    sent = np.flatnonzero(np.logical_or.reduceat(answered, starts))
    form_instrument = instrument[starts[sent]]
    per_form = catalogue.count[form_instrument]
    first_entry = np.cumsum(per_form) - per_form
    entry_form = np.repeat(np.arange(len(sent)), per_form)
    entry_critical = catalogue.first[form_instrument][entry_form] + (
        np.arange(len(entry_form)) - first_entry[entry_form]
    )
    entry_value = np.full(len(entry_form), np.nan)
    given = np.flatnonzero(answered & (catalogue.pair[instrument, item] >= 0))
    form_of = np.searchsorted(starts, given, side="right") - 1  # every form with an answer was sent
    offset = catalogue.pair[instrument[given], item[given]] - catalogue.first[instrument[given]]
    np.fmax.at(entry_value, first_entry[np.searchsorted(sent, form_of)] + offset, value[given])
    flagged = np.isnan(entry_value) | (entry_value >= catalogue.min_value[entry_critical])
    if not flagged.any():
        return _no_alerts()
    at_form = starts[sent][entry_form[flagged]]
    entry_course, entry_session = course[at_form], session[at_form]

    # Forms are in course and session order: keep each course's latest session.
    same = entry_course[1:] == entry_course[:-1]
    last = np.flatnonzero(np.append(~same, True))
    run = np.cumsum(np.insert(~same, 0, False))
    latest = entry_session == entry_session[last][run]
    return _alerts(
        catalogue,
        entry_course[latest],
        entry_session[latest],
        entry_critical[flagged][latest],
        entry_value[flagged][latest],
    )


def _alerts(
    catalogue: _Catalogue, course: np.ndarray, session: np.ndarray, critical: np.ndarray, value: np.ndarray
) -> Fired:
    """One alert per course from its flagged entries (all of one session): one entry per item,
    the highest answer first, items in the order of (instrument, item)."""
    weight = np.where(np.isnan(value), -1.0, value)
    order = np.lexsort((-weight, catalogue.rank[critical], course))
    course, session, critical, value = course[order], session[order], critical[order], value[order]
    single = np.append(True, (course[1:] != course[:-1]) | (critical[1:] != critical[:-1]))
    course, session, critical, value = course[single], session[single], critical[single], value[single]
    starts = np.flatnonzero(np.append(True, course[1:] != course[:-1]))
    offsets = pa.array(np.append(starts, len(course)).astype(np.int32))
    items = np.array([c.item for c in catalogue.critical], dtype=object)
    reasons = pc.binary_join(pa.ListArray.from_arrays(offsets, _reasons(catalogue, critical, value)), "; ")
    blank = np.isnan(value[starts])
    flags = np.array([c.flag for c in catalogue.critical], dtype=object)
    answer = value[starts].astype(object)
    answer[blank] = NOT_ANSWERED
    n = len(starts)
    return Fired(
        kind=SAFETY,
        rows=course[starts],
        session=session[starts],
        severity=np.full(n, "high", dtype=object),
        reason=join("Session ", text(session[starts], 0), ": ", reasons),
        requires_action=kind(SAFETY).needs_action,
        figures={
            "item": items[critical[starts]],
            "answer": answer,
            "flag": np.where(blank, UNANSWERED, flags[critical[starts]]).astype(object),
            "items": pc.binary_join(
                pa.ListArray.from_arrays(offsets, pa.array(items[critical], pa.string())), ", "
            ).to_numpy(zero_copy_only=False),
        },
    )


def _reasons(catalogue: _Catalogue, critical: np.ndarray, value: np.ndarray) -> pa.Array:
    """Each flagged item in words: the definition's reason with the answer, or that it was left
    blank on a form that was sent."""
    before, after, blank = [], [], []
    for c, short in zip(catalogue.critical, catalogue.short_name, strict=True):
        head, _, tail = c.reason.partition("{value}")
        before.append(head)
        after.append(tail)
        blank.append(
            f"{item_name(c, short)} was left unanswered on a {short} that was sent"
            " (a safety item; a blank is not a no): ask directly"
        )

    def column(words: list[str]) -> pa.Array:
        return pa.array(np.asarray(words, dtype=object)[critical], pa.string())

    endorsed = join(column(before), _answer_text(value), column(after))
    return pc.if_else(pa.array(np.isnan(value)), column(blank), endorsed)


def _answer_text(values: np.ndarray) -> pa.Array:
    """Answers as the definitions' reasons show them: whole numbers without decimals, any other
    number as Python's general format (the rare case, done one by one)."""
    whole = np.isnan(values) | (values == np.round(values))
    words = text(np.where(whole, values, np.nan), 0)
    if whole.all():
        return words
    others = np.asarray(words.to_pylist(), dtype=object)
    others[~whole] = [f"{v:g}" for v in values[~whole]]
    return pa.array(others, pa.string())


def item_name(critical: CriticalItem, short_name: str) -> str:
    """The item's name as the definition's reason words it ("PHQ-9 item 9 (...)")."""
    before = critical.reason.partition("{value}")[0]
    head = before.removesuffix(" ").removesuffix("answered").strip()
    return head or f"{short_name} {critical.item}"


def _forms(columns: Sequence[np.ndarray]) -> tuple[np.ndarray | None, np.ndarray]:
    """The order that sorts the entries by the columns (None when they already are: tables are
    usually written course by course and session by session) and where each form, a run of
    entries equal in every column, starts in that order."""
    order = None if _ascending(columns) else np.lexsort(columns[::-1])
    ordered = columns if order is None else [c[order] for c in columns]
    change = np.zeros(len(ordered[0]), dtype=bool)
    change[:1] = True
    for c in ordered:
        change[1:] |= c[1:] != c[:-1]
    return order, np.flatnonzero(change)


def _ascending(columns: Sequence[np.ndarray]) -> bool:
    """Whether the entries are already in the lexicographic order of the columns."""
    ok = np.ones(max(len(columns[0]) - 1, 0), dtype=bool)
    for c in reversed(columns):
        ok = (c[1:] > c[:-1]) | ((c[1:] == c[:-1]) & ok)
    return bool(ok.all())


def _no_alerts() -> Fired:
    return Fired(
        kind=SAFETY,
        rows=np.zeros(0, dtype=np.int64),
        session=np.zeros(0, dtype=np.int64),
        severity=np.zeros(0, dtype=object),
        reason=pa.array([], pa.string()),
        requires_action=kind(SAFETY).needs_action,
        figures={name: np.zeros(0, dtype=object) for name in ("item", "answer", "flag", "items")},
    )
