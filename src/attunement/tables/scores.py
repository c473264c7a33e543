"""Per-session scores from a measures table, whether it holds item answers or ready-made scores."""

from __future__ import annotations

import pandas as pd

from attunement.errors import FieldProblem, InvalidInputError
from attunement.instruments import get_instrument
from attunement.instruments.table_scoring import score_frame

KEYS = ["client_id", "session"]


def instruments_in(measures: pd.DataFrame) -> list[str]:
    return sorted(measures["instrument"].dropna().unique().tolist())


def session_scores(measures: pd.DataFrame, instrument: str, rater: str = "client") -> pd.DataFrame:
    """One row per client and session with that session's ``score`` on ``instrument``.

    Score rows are taken as they are; item rows are scored with the instrument's definition
    (forms with too many missing items get no score). An instrument that is not installed can
    still be used through score rows, e.g. a BDI total from a research data set.
    """
    rows = measures[(measures["instrument"] == instrument) & (measures["rater"] == rater)]
    if rows.empty:
        raise InvalidInputError(
            "measures table",
            [FieldProblem("instrument", instrument, "one of " + ", ".join(instruments_in(measures)))],
        )
    given = rows.loc[rows["score"].notna(), KEYS + ["score"]]
    items = rows[rows["item"].notna()]
    parts = [given]
    if not items.empty:
        definition = get_instrument(instrument)
        duplicated = items.duplicated(KEYS + ["item"], keep=False)
        if duplicated.any():
            first = items[duplicated].iloc[0]
            raise InvalidInputError(
                "measures table",
                [
                    FieldProblem(
                        f"client {first.client_id}, session {first.session}",
                        first["item"],
                        "one answer per item",
                    )
                ],
            )
        wide = items.pivot(index=KEYS, columns="item", values="value")
        scored = score_frame(definition, wide)["total"].rename("score").reset_index()
        parts.append(scored.dropna(subset=["score"]))
    out = pd.concat(parts, ignore_index=True)
    clash = out.duplicated(KEYS, keep=False)
    if clash.any():
        first = out[clash].iloc[0]
        raise InvalidInputError(
            "measures table",
            [
                FieldProblem(
                    f"client {first.client_id}, session {first.session}", instrument, "one score per session"
                )
            ],
        )
    return out.sort_values(KEYS).reset_index(drop=True)
