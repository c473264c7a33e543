"""Vectorised scoring of many completed forms at once (one row per form, one column per item).

The same rules as :func:`attunement.instruments.scoring.score`, over a DataFrame, for research
exports and batch work where scoring form by form would be too slow.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from attunement.errors import FieldProblem, InvalidInputError
from attunement.instruments.definition import Bands, Instrument
from attunement.instruments.scoring import from_mean, keyed

MAX_REPORTED = 20


def score_frame(instrument: Instrument, wide: pd.DataFrame) -> pd.DataFrame:
    """Score every row of ``wide`` (columns are item linkIds; NaN is a missing answer).

    Returns, on the same index: ``total`` (NaN when too many items are missing), ``valid``,
    ``missing`` (count), one column per subscale and composite, ``band``, ``caseness`` and one
    boolean column ``flag_<kind>`` per critical item plus ``unanswered_<item>`` for each one
    left blank, so that no safety item is dropped.
    """
    values = _validated(instrument, wide)
    scoring = instrument.scoring
    items = values.reindex(columns=scoring.items)
    for link_id in scoring.reverse:
        items[link_id] = keyed(instrument, link_id, items[link_id])

    out = pd.DataFrame(index=wide.index)
    missing = items.isna().sum(axis=1)
    out["missing"] = missing
    out["valid"] = missing <= int(scoring.max_missing.value)
    if scoring.method:
        total = from_mean(scoring.method, items.mean(axis=1), len(scoring.items))
        out["total"] = total.where(out["valid"])
    for sub in scoring.subscales:
        part = items[sub.items]
        score = from_mean(sub.method, part.mean(axis=1), len(sub.items))
        out[sub.id] = score.where(part.isna().sum(axis=1) <= sub.max_missing)
    for comp in scoring.composites:
        out[comp.id] = sum(w * out[s] for s, w in comp.weights.items())
    if scoring.bands and scoring.method:
        out["band"] = _bands(out["total"], scoring.bands)
    if scoring.caseness and scoring.method:
        case = scoring.caseness.is_case(out["total"])
        out["caseness"] = pd.Series(case, index=out.index).where(out["total"].notna())
    for critical in scoring.critical_items:
        column = values.get(critical.item, pd.Series(np.nan, index=values.index))
        out[f"flag_{critical.flag}"] = column >= critical.min_value
        out[f"unanswered_{critical.item}"] = column.isna()
    return out


def _bands(total: pd.Series, banding: Bands) -> pd.Series:
    bands = banding.bands
    mins = np.array([b.min for b in bands])
    labels = np.array([b.label for b in bands], dtype=object)
    position = np.searchsorted(mins, total.to_numpy(), side="right") - 1
    inside = total.notna().to_numpy() & (position >= 0) & (total.to_numpy() <= bands[-1].max)
    return pd.Series(np.where(inside, labels[np.clip(position, 0, None)], None), index=total.index)


def _validated(instrument: Instrument, wide: pd.DataFrame) -> pd.DataFrame:
    problems: list[FieldProblem] = []
    unknown = [c for c in wide.columns if c not in instrument.items]
    if unknown:
        problems.append(
            FieldProblem("item", ", ".join(map(str, unknown)), f"items of {instrument.short_name}")
        )
        raise InvalidInputError(f"{instrument.short_name} answers", problems)
    numbers = wide.apply(pd.to_numeric, errors="coerce").astype("float64")
    for link_id in numbers.columns:
        spec = instrument.items[link_id]
        column = numbers[link_id]
        if spec.allowed is not None:
            ok = column.isin(spec.allowed)
        else:
            ok = column.between(spec.min, spec.max)
            if spec.type == "integer":
                ok &= column % 1 == 0
        bad = (column.notna() & ~ok) | (wide[link_id].notna() & column.isna())
        for row in column.index[bad][:MAX_REPORTED]:
            raw = wide.at[row, link_id]
            raw = raw.item() if hasattr(raw, "item") else raw
            problems.append(FieldProblem(f"{_label(row)}, item {link_id}", raw, spec.expected()))
    if problems:
        raise InvalidInputError(f"{instrument.short_name} answers", problems)
    return numbers


def _label(row: object) -> str:
    if isinstance(row, tuple):
        return "form " + "/".join(map(str, row))
    return f"form {row}"
