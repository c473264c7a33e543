"""Links for one session of a case, for every current member at once: the group leader's one
click before (or after) a group session, instead of one client page per member.

Each member's link is an ordinary client link (:func:`attunement.store.client_links.make_link`)
for their own session number of that case session; a member whose own episode has fewer
sessions (they missed some) has the missing sessions added first, unanswered, so their numbers
keep step with the case's. A member who has answered that session already, or whose episode has
ended, gets no link, and the page says why.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from attunement.errors import FieldProblem, InvalidInputError
from attunement.store.cases import Participant, case_record, latest_case_session, lock_room
from attunement.store.client_links import MadeLink, make_link
from attunement.store.episodes import current_episode
from attunement.store.models import Case, User
from attunement.store.schedule import new_session, next_number, session_states


@dataclass(frozen=True)
class MemberLink:
    participant: Participant
    own_session: int
    made: MadeLink


@dataclass(frozen=True)
class GroupLinks:
    links: list[MemberLink]
    #: Members who got no link, with why.
    skipped: list[tuple[Participant, str]]


def group_links(db: Session, case: Case, user: User, case_session: int) -> GroupLinks:
    """A link for ``case_session`` for every member in the case at that session: the case's
    latest session (links for those who have not answered it) or the one after it."""
    latest = latest_case_session(db, case)
    if not latest <= case_session <= latest + 1 or case_session < 1:
        expected = f"session {latest} or {latest + 1}" if latest else "1"
        raise InvalidInputError("session", [FieldProblem("session", str(case_session), expected)])
    record = case_record(db, case)
    people = [p for p in record.current if p.row.first_session <= case_session]
    if not people:
        raise InvalidInputError(
            "links", [FieldProblem("session", str(case_session), "a session with members in the case")]
        )
    lock_room(db, people[0].client.id)  # every member, in one order, before anything is read
    links, skipped = [], []
    for person in people:
        episode = current_episode(db, person.client.id)
        own = person.own_session(case_session)
        if not episode.active:
            skipped.append((person, "their episode has ended"))
            continue
        answered = {s.number for s in session_states(db, episode.id) if s.client_answered}
        if own in answered:
            skipped.append((person, "they have answered this session already"))
            continue
        while next_number(db, episode.id) <= own:
            new_session(db, episode, user)
        links.append(MemberLink(person, own, make_link(db, episode, user, own)))
    return GroupLinks(links, skipped)
