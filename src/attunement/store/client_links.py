"""A client's link as both the client page and the link schedules make it: the questionnaires
the episode carries for that session (:mod:`attunement.store.episode_measures`), the next part
of the intake questions (:mod:`attunement.store.intake`) and the clinic's expiry, stored as one
single-use token (:func:`attunement.store.submissions.issued_link`). One place, so a link made
by hand and one made by a schedule never ask different things. A participant of a couple, family
or group answers the check-in of their role in place of the individual one, and a young person's
link leaves out the intake questions, which are worded for adults."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from attunement.instruments.roles import checkin_for, role
from attunement.store.cases import membership
from attunement.store.episode_measures import link_measures
from attunement.store.intake import intake_for_link
from attunement.store.models import Episode, LinkToken, User
from attunement.store.settings import get_setting
from attunement.store.submissions import issued_link


@dataclass(frozen=True)
class MadeLink:
    """The token (shown or sent once), its stored row, the intake entry it carries (None when
    none) and the days it stays valid."""

    token: str
    link: LinkToken
    intake: str | None
    days: int


def make_link(db: Session, episode: Episode, by: User, session: int, intake_choice: str = "next") -> MadeLink:
    """A new link for ``session`` of ``episode``, made by ``by``; ``intake_choice`` is the
    clinician's choice of intake questions (``next``, ``all`` or ``none``)."""
    found = membership(db, episode.client_id)
    role_id = found[1].row.role if found is not None else None
    # The intake questions are written for adults: a young person's link leaves them out.
    young = role_id is not None and role(role_id).young
    intake = None if young else intake_for_link(db, episode.client_id, intake_choice)
    instruments = _own_checkin(role_id, link_measures(db, episode, session))
    instruments += [intake] if intake else []
    days = int(get_setting(db, "link_valid_days"))
    token, link = issued_link(db, episode, by, session, instruments, days)
    return MadeLink(token, link, intake, days)


def _own_checkin(role_id: str | None, instruments: list[str]) -> list[str]:
    """The measures with the individual check-in replaced by the one of the client's role in
    their case (none: not in a case)."""
    if role_id is None:
        return instruments
    individual, own = checkin_for("client"), checkin_for(role_id)
    return [own if i == individual else i for i in instruments]
