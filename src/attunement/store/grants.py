"""What a PostgreSQL role that runs the app may do: everything its pages need, and on the audit
log only read and append.

The migrations run as the database's owner; the app then connects as a role of its own, with the
grants below. That role cannot update, delete or truncate an audit entry or a seal, and, not
owning the tables, cannot switch off or drop the triggers that refuse those changes either: the
audit log stays append-only even for someone who takes over the app's own connection. Run the
grants again after an upgrade that adds tables.
"""

from __future__ import annotations

import re

from attunement.errors import FieldProblem, InvalidInputError
from attunement.store.models import Base

#: Read and append only.
AUDIT_TABLES = ("audit_events", "audit_seals")
_ROLE = re.compile(r"[a-z_][a-z0-9_]{0,62}")


def app_role_grants(role: str) -> list[str]:
    """The statements, for the database's owner to run, that let ``role`` run the app."""
    if not _ROLE.fullmatch(role):
        raise InvalidInputError(
            "grants", [FieldProblem("role", role, "a role name of lower-case letters, digits and _")]
        )
    quoted = f'"{role}"'
    tables = sorted(name for name in Base.metadata.tables if name not in AUDIT_TABLES)
    return [
        f"GRANT USAGE ON SCHEMA public TO {quoted}",
        f"GRANT SELECT ON alembic_version TO {quoted}",
        f"GRANT SELECT, INSERT, UPDATE, DELETE ON {', '.join(tables)} TO {quoted}",
        f"GRANT SELECT, INSERT ON {', '.join(AUDIT_TABLES)} TO {quoted}",
        f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {quoted}",
    ]
