"""Cases with several participants (couple, family, group), on SQLite and PostgreSQL: opening a
case, participants joining (new records or the clinician's own clients) and leaving (their row
kept), co-therapists, who may open a participant's page, and erasing one participant."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select

from attunement.errors import InvalidInputError
from attunement.store.cases import (
    add_co_therapist,
    add_participant,
    case_record,
    cases_for,
    co_treats,
    create_case,
    member_leaves,
    remove_co_therapist,
)
from attunement.store.models import CaseMember, Client, User


def _user(db, name: str) -> User:
    return db.scalar(select(User).where(User.username == name))


def _couple(clinic) -> tuple[str, list[str]]:
    """A couple of clin_a's with two new partners; returns the case and participant public ids."""
    with clinic.db.session() as db:
        clin_a = _user(db, "clin_a")
        case = create_case(db, clin_a, "Couple K", "couple")
        sam = add_participant(db, clin_a, case, "partner", label="Sam K")
        alex = add_participant(db, clin_a, case, "partner", label="Alex K")
        return case.public_id, [sam.client.public_id, alex.client.public_id]


def test_a_couple_has_two_participants_each_a_client_of_their_own(clinic):
    case_id, ids = _couple(clinic)
    with clinic.db.session() as db:
        clin_a = _user(db, "clin_a")
        (record,) = cases_for(db, clin_a)
        assert record.case.public_id == case_id and record.case.format == "couple"
        assert [p.client.public_id for p in record.current] == ids
        assert [p.row.role for p in record.current] == ["partner", "partner"]
        assert [p.row.first_session for p in record.current] == [1, 1]
        assert {p.client.therapist_id for p in record.current} == {clin_a.id}
        assert [u.username for _, u in record.current_therapists] == ["clin_a"]
        assert record.current[0].name == "Sam K (partner)"
        # Each is an ordinary client with their own active episode.
        assert db.scalar(select(Client).where(Client.public_id == ids[0])).label == "Sam K"


def test_a_role_the_format_does_not_allow_and_a_missing_reference_are_named(clinic):
    with clinic.db.session() as db:
        clin_a = _user(db, "clin_a")
        case = create_case(db, clin_a, "Group 1", "group")
        with pytest.raises(InvalidInputError) as refused:
            add_participant(db, clin_a, case, "partner", label="")
        fields = {p.field for p in refused.value.problems}
        assert fields == {"role", "label"}
        with pytest.raises(InvalidInputError) as refused:
            create_case(db, clin_a, "", "individual")
        assert {p.field for p in refused.value.problems} == {"label", "format"}


def test_an_existing_client_joins_with_their_earlier_sessions_outside_the_room(clinic):
    from test_client_link import ANSWERS, submit
    from web_clinic import WITH_CHECKIN, issue_link

    submit(clinic, issue_link(clinic, issued_with=WITH_CHECKIN), ANSWERS)  # of_a answers session 1
    with clinic.db.session() as db:
        clin_a = _user(db, "clin_a")
        case = create_case(db, clin_a, "Family R", "family")
        joined = add_participant(db, clin_a, case, "parent", existing=clinic.clients["of_a"])
        assert (joined.row.first_session, joined.row.own_first_session) == (1, 2)
        assert joined.case_session(2) == 1 and joined.own_session(3) == 4
        with pytest.raises(InvalidInputError):  # already in a case
            add_participant(db, clin_a, case, "parent", existing=clinic.clients["of_a"])
        with pytest.raises(InvalidInputError):  # not clin_a's own client
            add_participant(db, clin_a, case, "parent", existing=clinic.clients["of_b"])


def test_a_member_who_leaves_keeps_their_row_and_a_newcomer_joins_at_the_next_session(clinic):
    from test_client_link import ANSWERS, submit
    from web_clinic import WITH_CHECKIN, issue_link

    with clinic.db.session() as db:
        clin_a = _user(db, "clin_a")
        case = create_case(db, clin_a, "Tuesday group", "group")
        first = add_participant(db, clin_a, case, "group_member", label="G1")
        clinic.clients["g1"] = first.client.public_id
    submit(clinic, issue_link(clinic, client="g1", issued_with=WITH_CHECKIN), ANSWERS)
    with clinic.db.session() as db:
        clin_a = _user(db, "clin_a")
        (record,) = cases_for(db, clin_a)
        case = record.case
        later = add_participant(db, clin_a, case, "group_member", label="G2")
        assert later.row.first_session == 2, "joins at the session after the latest one answered"
        with pytest.raises(InvalidInputError) as refused:
            member_leaves(db, case, first.client.public_id, date(1999, 1, 1), "")
        assert [p.field for p in refused.value.problems] == ["left_on"]
        member_leaves(db, case, first.client.public_id, None, "moved away")
    with clinic.db.session() as db:
        record = cases_for(db, _user(db, "clin_a"))[0]
        assert [p.client.label for p in record.current] == ["G2"]
        (gone,) = record.left
        assert gone.row.left_reason == "moved away" and gone.row.last_session == 1
        assert db.scalar(select(CaseMember.id).where(CaseMember.client_id == gone.client.id))


def test_a_co_therapist_opens_every_participant_and_stops_when_removed(clinic):
    case_id, ids = _couple(clinic)
    clin_b = clinic.login("clin_b")
    assert clin_b.get(f"/clients/{ids[0]}").status_code == 404, "not theirs yet"
    with clinic.db.session() as db:
        clin_a = _user(db, "clin_a")
        case = cases_for(db, clin_a)[0].case
        add_co_therapist(db, clin_a, case, "clin_b")
        with pytest.raises(InvalidInputError):
            add_co_therapist(db, clin_a, case, "super_a")  # not a clinician
    for public_id in ids:
        assert clin_b.get(f"/clients/{public_id}").status_code == 200
    assert clinic.login("clin_other").get(f"/clients/{ids[0]}").status_code == 404
    with clinic.db.session() as db:
        clin_a, clin_b_user = _user(db, "clin_a"), _user(db, "clin_b")
        case = cases_for(db, clin_a)[0].case
        member = db.scalar(select(Client).where(Client.public_id == ids[1]))
        assert co_treats(db, clin_b_user, member.id)
        remove_co_therapist(db, clin_a, case, clin_b_user.id)
        with pytest.raises(InvalidInputError):
            remove_co_therapist(db, clin_a, case, clin_a.id)  # the last therapist stays
        assert len(case_record(db, case).therapists) == 2, "the removed therapist's row is kept"
    assert clin_b.get(f"/clients/{ids[0]}").status_code == 404


def test_erasing_a_participant_removes_their_membership_and_leaves_the_others(clinic):
    from attunement.store.client_record import erase
    from attunement.store.episodes import current_episode, end_episode

    case_id, ids = _couple(clinic)
    with clinic.db.session() as db:
        clin_a = _user(db, "clin_a")
        sam = db.scalar(select(Client).where(Client.public_id == ids[0]))
        end_episode(db, current_episode(db, sam.id), clin_a, "completed", None)
    with clinic.db.session() as db:
        sam = db.scalar(select(Client).where(Client.public_id == ids[0]))
        erased = erase(db, sam, "operator", "admin")
        assert erased.rows["case_members"] == 1
    with clinic.db.session() as db:
        (record,) = cases_for(db, _user(db, "clin_a"))
        assert [p.client.public_id for p in record.participants] == [ids[1]]
