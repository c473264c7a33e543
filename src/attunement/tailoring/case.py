"""Who a recommendation is for apart from their profile: the case's format and the participant's role.

The task forces rate the alliance in couple and family therapy, cohesion in group therapy and the
alliance with young people as effective, and each calls for its own practice (a purpose the family
shares, cohesion built early, engagement with the young person and apart from it with the carers).
None of that follows from a client's intake answers: it follows from the kind of case. A rule in
``rules.json`` may therefore carry a ``setting`` (which formats and roles it is for), checked here
against the case the engine is given. Without a case, the engine works for today's single client
(format ``individual``, role ``client``), so every existing call keeps its results. The formats and
roles, and which roles a format allows, are the ones of ``instruments/roles.json``.
"""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import model_validator

from attunement.datafiles import StrictModel
from attunement.errors import FieldProblem, InvalidInputError
from attunement.instruments.roles import FORMATS, ROLES, format_of


@dataclass(frozen=True)
class CaseContext:
    """The case a participant is in (its format) and their place in it (their role; None when the
    role does not matter, e.g. a group leader asking about the group as a whole). Build one with
    :func:`case_context`, which checks both."""

    format: str = "individual"
    role: str | None = "client"


#: Today's single adult client: what the engine assumes when it is given no case.
INDIVIDUAL = CaseContext()


class Setting(StrictModel):
    """The cases a rule is for: any of ``formats`` (when given) and any of ``roles`` (when given)."""

    formats: list[str] | None = None
    roles: list[str] | None = None

    @model_validator(mode="after")
    def _says_something(self) -> Setting:
        if not self.formats and not self.roles:
            raise ValueError("a setting names at least one format or role")
        unknown = [f"format {f!r}" for f in self.formats or [] if f not in FORMATS]
        unknown += [f"role {r!r}" for r in self.roles or [] if r not in ROLES]
        if unknown:
            raise ValueError(f"unknown {', '.join(unknown)}: formats are {FORMATS}, roles {ROLES}")
        return self

    def holds(self, case: CaseContext) -> bool:
        return (self.formats is None or case.format in self.formats) and (
            self.roles is None or case.role in self.roles
        )


def case_context(format: str, role: str | None = None) -> CaseContext:
    """A checked case: an unknown format, or a role the format does not have, is refused with the
    field named."""
    if format not in FORMATS:
        raise InvalidInputError(
            "tailoring for a case", [FieldProblem("format", format, "one of " + ", ".join(FORMATS))]
        )
    allowed = format_of(format).roles
    if role is not None and role not in allowed:
        expected = f"one of {', '.join(allowed)} (the roles of a {format} case), or none"
        raise InvalidInputError("tailoring for a case", [FieldProblem("role", role, expected)])
    return CaseContext(format, role)
