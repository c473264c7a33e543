"""Room alerts kept like any alert, on SQLite and PostgreSQL: a couple where one partner's check-in
falls while the other's holds (split alliance on that partner), a group where one member falls
(falling cohesion on that member), and every member's summary recomputed when one answers."""

from __future__ import annotations

import json

from room_clinic import answer, checkin_answers, open_case
from sqlalchemy import select

from attunement.store.models import AlertEvent, Client, KeptAlert, User
from attunement.store.summary_store import summaries_for

SAM = [8, 7, 8, 8, 8]
ALEX = [7, 8, 8, 7, 8]


def _kept(clinic, public_id: str, kind: str) -> list[KeptAlert]:
    with clinic.db.session() as db:
        client_id = db.scalar(select(Client.id).where(Client.public_id == public_id))
        return list(
            db.scalars(select(KeptAlert).where(KeptAlert.client_id == client_id, KeptAlert.kind == kind))
        )


def _open_kinds(clinic, public_id: str) -> set[str]:
    with clinic.db.session() as db:
        client = db.scalar(select(Client).where(Client.public_id == public_id))
        return {a.alert.kind for a in summaries_for(db, [client])[client.id].open_alerts}


def _couple(clinic) -> dict[str, str]:
    ids = open_case(clinic, "Couple K", "couple", [("Sam", "partner"), ("Alex", "partner")])
    for session, (sam, alex) in enumerate(zip(SAM, ALEX, strict=True), start=1):
        answer(clinic, ids["Sam"], "partner", session, sam)
        answer(clinic, ids["Alex"], "partner", session, alex)
    return ids


def test_a_partner_whose_check_in_falls_while_the_other_holds_gets_a_split_alliance(clinic):
    ids = _couple(clinic)
    assert _kept(clinic, ids["Sam"], "split_alliance") == [], "no split while both hold"
    answer(clinic, ids["Alex"], "partner", 6, 8)
    answer(clinic, ids["Sam"], "partner", 6, 2)
    assert "split_alliance" in _open_kinds(clinic, ids["Sam"])
    assert "split_alliance" not in _open_kinds(clinic, ids["Alex"]), "on the partner who moved only"
    (kept,) = _kept(clinic, ids["Sam"], "split_alliance")
    assert kept.status == "open" and kept.opened_session == 6
    assert "Sam" in kept.reason and json.loads(kept.figures)


def test_a_split_alliance_is_seen_and_resolved_like_any_alert(clinic):
    from web_clinic import record_alerts

    ids = _couple(clinic)
    answer(clinic, ids["Alex"], "partner", 6, 8)
    answer(clinic, ids["Sam"], "partner", 6, 2)
    assert _open_kinds(clinic, ids["Sam"]) >= {"split_alliance"}
    seen = record_alerts(clinic, ids["Sam"], "seen", ("split_alliance",))
    assert seen.status_code == 303, seen.text
    (kept,) = _kept(clinic, ids["Sam"], "split_alliance")
    assert kept.status == "acknowledged"
    for session in (7, 8, 9):  # Sam's ratings come back to their level
        answer(clinic, ids["Alex"], "partner", session, 8)
        answer(clinic, ids["Sam"], "partner", session, 8)
    _open_kinds(clinic, ids["Sam"])
    (kept,) = _kept(clinic, ids["Sam"], "split_alliance")
    assert kept.status == "resolved"
    with clinic.db.session() as db:
        actions = list(db.scalars(select(AlertEvent.action).where(AlertEvent.alert_id == kept.id)))
    assert actions[0] == "opened" and "acknowledged" in actions and actions[-1] == "resolved"


def test_one_member_answering_makes_every_members_summary_out_of_date(clinic):
    ids = open_case(clinic, "Couple K", "couple", [("Sam", "partner"), ("Alex", "partner")])
    with clinic.db.session() as db:
        before = dict(db.execute(select(Client.public_id, Client.data_version)).all())
    answer(clinic, ids["Sam"], "partner", 1, 8)
    with clinic.db.session() as db:
        after = dict(db.execute(select(Client.public_id, Client.data_version)).all())
    assert after[ids["Alex"]] == before[ids["Alex"]] + 1, "the other partner's room changed"
    assert after[ids["Sam"]] == before[ids["Sam"]] + 1
    assert after[clinic.clients["of_a"]] == before[clinic.clients["of_a"]], "nobody outside the case"


def test_a_group_member_who_falls_gets_falling_cohesion_and_the_others_do_not(clinic):
    people = [(f"G{n}", "group_member") for n in range(1, 7)]
    ids = open_case(clinic, "Tuesday group", "group", people)
    for session in range(1, 6):
        for n, (name, _) in enumerate(people):
            answer(clinic, ids[name], "group_member", session, 8 if (n + session) % 2 else 7)
    for name, _ in people:
        answer(clinic, ids[name], "group_member", 6, 2 if name == "G3" else 8)
    assert "cohesion" in _open_kinds(clinic, ids["G3"])
    for name, _ in people:
        if name != "G3":
            assert "cohesion" not in _open_kinds(clinic, ids[name]), name


def test_two_partners_answering_at_the_same_moment_wait_for_each_other(clinic):
    """Each answer raises both partners' counters; every member's lock is taken in one order
    first, so the two transactions run one after the other instead of deadlocking."""
    import threading
    import time

    ids = open_case(clinic, "Couple K", "couple", [("Sam", "partner"), ("Alex", "partner")])
    with clinic.db.session() as db:
        before = dict(db.execute(select(Client.public_id, Client.data_version)).all())
    errors: list[BaseException] = []
    first_in = threading.Event()

    def slow_alex() -> None:
        from attunement.instruments.roles import checkin_for
        from attunement.store.cases import lock_room
        from attunement.store.episodes import current_episode
        from attunement.store.submissions import store_answers

        try:
            with clinic.db.session() as db:
                alex = db.scalar(select(Client).where(Client.public_id == ids["Alex"]))
                lock_room(db, alex.id)
                first_in.set()
                time.sleep(0.5)
                answers = {checkin_for("partner"): checkin_answers("partner", 8)}
                store_answers(db, alex.id, current_episode(db, alex.id).id, 1, "client", answers, None)
        except BaseException as exc:  # reported below
            errors.append(exc)

    def sam() -> None:
        try:
            answer(clinic, ids["Sam"], "partner", 1, 7)
        except BaseException as exc:
            errors.append(exc)

    first = threading.Thread(target=slow_alex)
    first.start()
    assert first_in.wait(10)
    second = threading.Thread(target=sam)
    second.start()
    first.join(30)
    second.join(30)
    assert errors == []
    with clinic.db.session() as db:
        after = dict(db.execute(select(Client.public_id, Client.data_version)).all())
    for name in ("Sam", "Alex"):
        assert after[ids[name]] == before[ids[name]] + 2, name


def test_a_session_whose_links_asked_no_check_in_is_not_read_as_missed(clinic):
    """A first session's link asks no check-in: the room starts at the first session someone
    rated, so nobody is 'at risk of leaving' for a check-in that was never asked."""
    from attunement.store.cases import case_record, cases_for
    from attunement.store.episodes import current_episode
    from attunement.store.rooms import room_ratings
    from attunement.store.submissions import store_answers

    people = [(f"M{n}", "group_member") for n in range(1, 5)]
    ids = open_case(clinic, "Group 7", "group", people)
    with clinic.db.session() as db:
        for name, _ in people:
            client = db.scalar(select(Client).where(Client.public_id == ids[name]))
            phq9 = {"phq9": {f"phq9_{i}": 1.0 for i in range(1, 10)}}
            store_answers(db, client.id, current_episode(db, client.id).id, 1, "client", phq9, None)
    for name, _ in people:
        answer(clinic, ids[name], "group_member", 2, 2 if name == "M3" else 8)
    with clinic.db.session() as db:
        record = case_record(
            db, cases_for(db, db.scalar(select(User).where(User.username == "clin_a")))[0].case
        )
        ratings = room_ratings(db, record)
    assert list(ratings.sessions) == [2]
    with clinic.db.session() as db:
        m3 = db.scalar(select(Client).where(Client.public_id == ids["M3"]))
        reasons = [a.alert.reason for a in summaries_for(db, [m3])[m3.id].open_alerts]
    assert not any("leaving" in r for r in reasons), reasons
