"""Cases with several participants in the measures table: the optional ``case_id`` and ``role``.

Rows of one couple, family or group share a ``case_id``; ``client_id`` stays the participant who
answered, and ``role`` says who they are in the case. A row without either is an individual
client's, as before. The roles and which formats allow them are data
(:mod:`attunement.instruments.roles`). The checks refuse what would make a case's alerts wrong
rather than fail later: a role that is not a known one, a role without a case, a case without
roles, a participant with two roles in one case, and a case whose roles fit no one format (a group
member beside a partner, say).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import pandas as pd

from attunement.errors import FieldProblem
from attunement.instruments.roles import ROLES, formats

CASE_ID = "case_id"
ROLE = "role"
MAX_REPORTED = 20
#: The formats a case with several participants can take, in the order they are tried.
SHARED_FORMATS = ("couple", "family", "group")

Where = Callable[[int, str], str]


def fitting_formats(roles: Iterable[str]) -> list[str]:
    """The formats whose allowed roles include every one of ``roles``."""
    found = set(roles)
    return [f.id for f in formats() if found <= set(f.roles)]


def case_format(roles: Iterable[str], participants: int = 2) -> str | None:
    """The format of a case from its participants' roles: ``individual`` for one participant
    whose role an individual course allows, otherwise the first of couple, family and group that
    allows every role; None when none does."""
    fits = fitting_formats(roles)
    if participants == 1 and "individual" in fits:
        return "individual"
    shared = [f for f in SHARED_FORMATS if f in fits]
    if shared:
        return shared[0]
    return "individual" if "individual" in fits else None


def check_participants(out: pd.DataFrame, problems: list[FieldProblem], where: Where) -> None:
    """Check (and tidy, in place) ``case_id`` and ``role`` when the table has either column."""
    if CASE_ID not in out.columns and ROLE not in out.columns:
        return
    for column in (CASE_ID, ROLE):
        if column not in out.columns:
            out[column] = None
        text = out[column].astype("string").str.strip()
        out[column] = text.astype(object).where(text.notna() & (text != ""), None)
    case, role = out[CASE_ID], out[ROLE]
    for row in out.index[role.notna() & ~role.isin(ROLES)][:MAX_REPORTED]:
        problems.append(FieldProblem(where(row, ROLE), role[row], f"one of {', '.join(ROLES)}"))
    for row in out.index[role.notna() & case.isna()][:MAX_REPORTED]:
        problems.append(
            FieldProblem(
                where(row, CASE_ID), None, f"the case this {role[row]} belongs to (a role needs a case_id)"
            )
        )
    for row in out.index[case.notna() & role.isna()][:MAX_REPORTED]:
        problems.append(
            FieldProblem(
                where(row, ROLE),
                None,
                f"the participant's role in case {case[row]}: one of {', '.join(ROLES)}",
            )
        )
    known = case.notna() & role.isin(ROLES)
    if known.any():
        rows = out.loc[known, ["client_id", CASE_ID, ROLE]]
        _one_role_each(out, rows, problems, where)
        _one_format_per_case(out, rows, problems, where)


def _one_role_each(out: pd.DataFrame, rows: pd.DataFrame, problems: list[FieldProblem], where: Where) -> None:
    first_role = rows.groupby(["client_id", CASE_ID], sort=False)[ROLE].transform("first")
    for row in rows.index[rows[ROLE] != first_role][:MAX_REPORTED]:
        problems.append(
            FieldProblem(
                where(row, ROLE),
                out.at[row, ROLE],
                f"{first_role[row]}, the role participant {out.at[row, 'client_id']} already has in "
                f"case {out.at[row, CASE_ID]} (one role per participant and case)",
            )
        )


def _one_format_per_case(
    out: pd.DataFrame, rows: pd.DataFrame, problems: list[FieldProblem], where: Where
) -> None:
    """Walk each case's roles in the order they first appear; the first role that leaves the case
    fitting no format is refused, naming the formats and the roles each allows."""
    firsts = rows.drop_duplicates([CASE_ID, ROLE])
    allowed = "; ".join(f"{f.id}: {', '.join(f.roles)}" for f in formats())
    seen: dict[str, list[str]] = {}
    reported = 0
    for row, case_id, role in zip(firsts.index, firsts[CASE_ID], firsts[ROLE], strict=True):
        before = seen.setdefault(case_id, [])
        if before and not fitting_formats([*before, role]):
            if reported < MAX_REPORTED:
                problems.append(
                    FieldProblem(
                        where(row, ROLE),
                        role,
                        f"a role that fits one format with the case's other roles ({', '.join(before)}); "
                        f"case {case_id} cannot mix formats ({allowed})",
                    )
                )
            reported += 1
            continue
        before.append(role)
