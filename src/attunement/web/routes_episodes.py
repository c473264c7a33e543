"""Ending an episode of care with its reason, reopening it, and starting a new one for a client
who returns. Each change is recorded in the episode's history and in the audit log.

A new episode cannot start while the latest one still has a safety alert without a recorded
action: the alert belongs to that episode, and starting another would take it off the page.
"""

from __future__ import annotations

from fastapi import APIRouter, Request

from attunement.errors import FieldProblem, InvalidInputError
from attunement.store.episodes import end_episode, new_episode, reopen_episode
from attunement.store.summary_store import refresh, summaries_for
from attunement.web.clinician_change import Done, clinician_change
from attunement.web.dependencies import CheckedForm, Clinician, Db
from attunement.web.form_values import parse_date

router = APIRouter()


@router.post("/clients/{public_id}/episode/end")
def end(request: Request, public_id: str, form: CheckedForm, user: Clinician, db: Db):
    def change(db, user, client, episode, form):
        ended_on = parse_date(form.get("date", ""), "end date")
        closed = end_episode(
            db, episode, user, form.get("reason", "").strip(), ended_on, form.get("note", "")
        )
        refresh(db, [client])
        return Done(
            "end_episode", f"episode {episode.number}: {episode.end_reason}; {closed} waiting links closed"
        )

    return clinician_change(request, db, user, public_id, form, change, "episode-h")


@router.post("/clients/{public_id}/episode/reopen")
def reopen(request: Request, public_id: str, form: CheckedForm, user: Clinician, db: Db):
    def change(db, user, client, episode, form):
        reopen_episode(db, episode, user, form.get("note", ""))
        refresh(db, [client])
        return Done("reopen_episode", f"episode {episode.number}")

    return clinician_change(request, db, user, public_id, form, change, "episode-h")


@router.post("/clients/{public_id}/episodes")
def start_new(request: Request, public_id: str, form: CheckedForm, user: Clinician, db: Db):
    def change(db, user, client, episode, form):
        if summaries_for(db, [client])[client.id].has_open_safety:
            raise InvalidInputError(
                "starting a new episode",
                [
                    FieldProblem(
                        "safety alert",
                        f"episode {episode.number}",
                        "a recorded action for the open safety alert first: record what was done, "
                        "then start the new episode",
                    )
                ],
            )
        started_on = parse_date(form.get("date", ""), "start date")
        opened = new_episode(db, client, user, started_on, form.get("note", ""))
        refresh(db, [client])
        return Done("new_episode", f"episode {opened.number}")

    return clinician_change(request, db, user, public_id, form, change, "episode-h")
