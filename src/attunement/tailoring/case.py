"""Who a recommendation is for apart from their profile: the case's format and the participant's role.

The task forces rate the alliance in couple and family therapy, cohesion in group therapy and the
alliance with young people as effective, and each calls for its own practice (a purpose the family
shares, cohesion built early, engagement with the young person and apart from it with the carers).
None of that follows from a client's intake answers: it follows from the kind of case. A rule in
``rules.json`` may therefore carry a ``setting`` (which formats and roles it is for), checked here
against the case the engine is given. Without a case, the engine works for today's single client
(format ``individual``, role ``client``), so every existing call keeps its results.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from pydantic import model_validator

from attunement.datafiles import StrictModel
from attunement.errors import FieldProblem, InvalidInputError

Format = Literal["individual", "couple", "family", "group"]
Role = Literal["client", "partner", "parent", "caregiver", "young_person", "group_member"]
#: The formats a case can take, and the roles a participant can have in one.
FORMATS: tuple[Format, ...] = ("individual", "couple", "family", "group")
ROLES: tuple[Role, ...] = ("client", "partner", "parent", "caregiver", "young_person", "group_member")


@dataclass(frozen=True)
class CaseContext:
    """The case a participant is in (its format) and their place in it (their role; None when the
    role does not matter, e.g. a group leader asking about the group as a whole)."""

    format: Format = "individual"
    role: Role | None = "client"


#: Today's single adult client: what the engine assumes when it is given no case.
INDIVIDUAL = CaseContext()


class Setting(StrictModel):
    """The cases a rule is for: any of ``formats`` (when given) and any of ``roles`` (when given)."""

    formats: list[Format] | None = None
    roles: list[Role] | None = None

    @model_validator(mode="after")
    def _says_something(self) -> Setting:
        if not self.formats and not self.roles:
            raise ValueError("a setting names at least one format or role")
        return self

    def holds(self, case: CaseContext) -> bool:
        return (self.formats is None or case.format in self.formats) and (
            self.roles is None or case.role in self.roles
        )


def case_context(format: str, role: str | None = None) -> CaseContext:
    """A checked case: an unknown format or role is refused with the field named."""
    problems = []
    known_format = next((f for f in FORMATS if f == format), None)
    known_role = next((r for r in ROLES if r == role), None)
    if known_format is None:
        problems.append(FieldProblem("format", format, "one of " + ", ".join(FORMATS)))
    if role is not None and known_role is None:
        problems.append(FieldProblem("role", role, "one of " + ", ".join(ROLES) + ", or none"))
    if problems or known_format is None:
        raise InvalidInputError("tailoring for a case", problems)
    return CaseContext(known_format, known_role)
