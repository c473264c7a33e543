"""The demo clinic's couple, family and group show every room feature in a realistic state."""

from __future__ import annotations

from sqlalchemy import select

from attunement.store import open_database
from attunement.store.cases import cases_for, latest_case_session
from attunement.store.demo import seed_demo
from attunement.store.models import User
from attunement.store.rooms import room_alerts_for
from attunement.web.case_view import session_answers


def test_the_demo_has_a_split_couple_a_split_family_and_a_group_with_one_member_falling(tmp_path):
    db = open_database(f"sqlite:///{tmp_path / 'demo.db'}")
    try:
        with db.session() as session:
            seed_demo(session, clients=3)
        with db.session() as session:
            lead = session.scalar(select(User).where(User.username == "clinician"))
            records = {r.case.label: r for r in cases_for(session, lead)}
            assert set(records) == {"Couple 01", "Family 02", "Tuesday group"}
            group = records["Tuesday group"]
            assert len(group.current) == 8 and [p.client.label for p in group.left] == ["Ivy"]
            assert len(records["Family 02"].current_therapists) == 2
            people = {p.client.id: p.client.label for r in records.values() for p in r.participants}
            fired = room_alerts_for(session, list(people))
            assert {(people[c], a.kind) for c, alerts in fired.items() for a in alerts} == {
                ("Alex", "split_alliance"),
                ("Jo", "split_alliance"),
                ("Dee", "cohesion"),
            }
            latest = latest_case_session(session, group.case)
            answers = session_answers(session, group, latest)
            assert latest == 8 and len(answers) == 8
            assert [m.participant.client.label for m in answers if not m.answered] == ["Fay"]
            # The leader sees at a glance whose cohesion is falling.
            flagged = {m.participant.client.label: [a.alert.kind for a in m.room_alerts] for m in answers}
            assert flagged["Dee"] == ["cohesion"] and not any(v for k, v in flagged.items() if k != "Dee")
    finally:
        db.dispose()
