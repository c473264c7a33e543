"""What the client page shows of supervision: the supervisors' notes with their earlier versions,
the "for supervision" flag and its history, changes of therapist, and for a supervisor the forms
to write, flag and move the client to another clinician of the team."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from attunement.store.models import Client, User
from attunement.store.supervision import MAX_NOTE, MAX_REASON, flag_history, notes_of, team_clinicians


def supervision_context(db: Session, user: User, client: Client) -> dict[str, Any]:
    steps = flag_history(db, client.id)
    supervising = user.role == "supervisor"
    therapist = db.get(User, client.therapist_id)
    others = (
        [c for c in team_clinicians(db, therapist.team_id) if c.id != client.therapist_id]
        if supervising and therapist is not None
        else []
    )
    ids = {s.by_user for s in steps}
    people = dict(db.execute(select(User.id, User.display_name).where(User.id.in_(ids))).all()) if ids else {}
    return {
        "notes": notes_of(db, client.id),
        "flag": steps[0] if steps and steps[0].action == "raised" else None,
        "flag_steps": steps,
        "flag_people": people,
        "can_supervise": supervising,
        "other_clinicians": others,
        "max_note": MAX_NOTE,
        "max_reason": MAX_REASON,
    }
