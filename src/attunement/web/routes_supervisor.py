"""The supervisor's team page: clients with open alerts, every client's episode status and
therapist, completion rates and outcomes per therapist, each rate with its interval."""

from __future__ import annotations

from fastapi import APIRouter, Request
from sqlalchemy import func, select

from attunement.store.approaches import approach_checks
from attunement.store.audit import record_list
from attunement.store.clients import visible_clients
from attunement.store.clock import now
from attunement.store.models import LinkToken, Team, User
from attunement.web.approach_view import WARNING_VERDICTS, why_it_matters
from attunement.web.caseload_view import CaseloadFilter, caseload_view
from attunement.web.charts_slot import therapist_outcomes_svg
from attunement.web.pages import actor, database, render, require
from attunement.web.team_figures import therapist_figures

router = APIRouter()


@router.get("/team")
def team_page(request: Request):
    with database(request).session() as db:
        user = require(request, db, "supervisor")
        clients = visible_clients(db, user)
        view = caseload_view(db, actor(user), clients, CaseloadFilter())
        rows = view.working + view.ended
        therapists = {
            t.id: t
            for t in db.scalars(
                select(User)
                .where(User.team_id == user.team_id, User.role == "clinician")
                .order_by(User.display_name)
            )
        }
        figures = [
            therapist_figures(t.display_name, [r.summary for r in rows if r.episode.therapist_id == t.id])
            for t in therapists.values()
        ]
        figures.sort(key=lambda f: -f.clients)
        links = _link_counts(db, [c.id for c in clients])
        record_list(db, actor(user), user.role, "view_team", [c.id for c in clients])
        return render(
            request,
            "team.html",
            {
                "team": db.get(Team, user.team_id),
                "alerting": [r for r in view.working if r.summary.open_alerts],
                "view": view,
                "therapists": therapists,
                "members": list(
                    db.scalars(select(User).where(User.team_id == user.team_id).order_by(User.display_name))
                ),
                "figures": figures,
                "links": links,
                "outcomes_svg": therapist_outcomes_svg(figures),
                "approaches": approach_checks(db, list(therapists)),
                "why": why_it_matters(),
                "warning_verdicts": WARNING_VERDICTS,
            },
        )


def _link_counts(db, client_ids: list[int]) -> dict[str, int]:
    if not client_ids:
        return {"issued": 0, "completed": 0, "expired": 0, "waiting": 0}
    where = LinkToken.client_id.in_(client_ids)
    issued = db.scalar(select(func.count()).select_from(LinkToken).where(where))
    completed = db.scalar(
        select(func.count()).select_from(LinkToken).where(where, LinkToken.used_at.is_not(None))
    )
    expired = db.scalar(
        select(func.count())
        .select_from(LinkToken)
        .where(where, LinkToken.used_at.is_(None), LinkToken.expires_at <= now())
    )
    return {
        "issued": issued,
        "completed": completed,
        "expired": expired,
        "waiting": issued - completed - expired,
    }
