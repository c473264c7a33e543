"""Cases with several participants in the measures table: the optional ``case_id`` and ``role``.

Rows of one couple, family or group share a ``case_id``; ``client_id`` stays the participant who
answered, and ``role`` says who they are in the case. A row without either is an individual
client's, as before. The checks refuse what would make a case's alerts wrong rather than fail
loudly later: a role that is not one of :data:`ROLES`, a role without a case, a case without
roles, a participant with two roles in one case, and a case whose roles mix formats (a group
member beside a partner, or an individual client beside anyone).
"""

from __future__ import annotations

import pandas as pd

from attunement.errors import FieldProblem

CASE_ID = "case_id"
ROLE = "role"
ROLES = ("client", "partner", "parent", "caregiver", "young_person", "group_member")
#: The roles a case of each kind holds; a case's roles all come from one of these.
ROLE_KINDS = {
    "individual": ("client",),
    "couple or family": ("partner", "parent", "caregiver", "young_person"),
    "group": ("group_member",),
}
MAX_REPORTED = 20


def case_format(roles: set[str] | frozenset[str] | tuple[str, ...]) -> str:
    """The format of a case from its participants' roles: ``individual``, ``couple`` (partners
    only), ``family`` (a parent, caregiver or young person) or ``group``."""
    found = set(roles)
    if found <= {"client"}:
        return "individual"
    if found <= {"group_member"}:
        return "group"
    if found <= {"partner"}:
        return "couple"
    return "family"


def check_participants(out: pd.DataFrame, problems: list[FieldProblem], where) -> None:
    """Check (and tidy, in place) ``case_id`` and ``role`` when the table has either column.

    ``where(row, column)`` names a row as the table's other errors do."""
    has_case, has_role = CASE_ID in out.columns, ROLE in out.columns
    if not has_case and not has_role:
        return
    for column in (CASE_ID, ROLE):
        if column not in out.columns:
            out[column] = None
        text = out[column].astype("string").str.strip()
        out[column] = text.mask(text == "").astype(object).where(text.notna() & (text != ""), None)
    case, role = out[CASE_ID], out[ROLE]
    bad = role.notna() & ~role.isin(ROLES)
    for row in out.index[bad][:MAX_REPORTED]:
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
    if not known.any():
        return
    _one_role_each(out, known, problems, where)
    _one_kind_per_case(out, known, problems, where)


def _one_role_each(out: pd.DataFrame, known: pd.Series, problems: list[FieldProblem], where) -> None:
    rows = out.loc[known, ["client_id", CASE_ID, ROLE]]
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


def _one_kind_per_case(out: pd.DataFrame, known: pd.Series, problems: list[FieldProblem], where) -> None:
    kind_of = {role: kind for kind, roles in ROLE_KINDS.items() for role in roles}
    rows = out.loc[known, ["client_id", CASE_ID, ROLE]]
    kinds = rows[ROLE].map(kind_of)
    first_kind = kinds.groupby(rows[CASE_ID], sort=False).transform("first")
    for row in rows.index[kinds != first_kind][:MAX_REPORTED]:
        problems.append(
            FieldProblem(
                where(row, ROLE),
                out.at[row, ROLE],
                f"a role of the case's kind as its earlier rows show ({first_kind[row]}: "
                f"{', '.join(ROLE_KINDS[first_kind[row]])}); case {out.at[row, CASE_ID]} cannot mix "
                "individual, couple or family, and group roles",
            )
        )
    individual = rows[kinds == "individual"]
    clients = individual.groupby(CASE_ID)["client_id"].transform("nunique")
    for row in individual.index[clients > 1][:MAX_REPORTED]:
        problems.append(
            FieldProblem(
                where(row, CASE_ID),
                out.at[row, CASE_ID],
                "one client per individual case (several participants need roles such as partner, "
                "parent or group_member)",
            )
        )
