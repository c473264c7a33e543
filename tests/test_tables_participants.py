"""The measures table's optional case_id and role: accepted when consistent, refused with the row,
column, value and what was expected otherwise, and read back from CSV as text."""

from __future__ import annotations

import pandas as pd
import pytest

from attunement.errors import InvalidInputError
from attunement.tables import case_format, normalise_measures, read_measures, write_measures


def rows(*participants: tuple[str, str | None, str | None]) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {
                "client_id": client,
                "case_id": case,
                "role": role,
                "session": 1,
                "instrument": "checkin",
                "score": 8,
            }
            for client, case, role in participants
        ]
    )


def refusal(frame: pd.DataFrame) -> str:
    with pytest.raises(InvalidInputError) as caught:
        normalise_measures(frame)
    return str(caught.value)


def test_a_family_and_individual_rows_side_by_side_are_accepted():
    frame = rows(
        ("p1", "f1", "parent"), ("p2", "f1", " caregiver "), ("y1", "f1", "young_person"), ("c9", None, None)
    )
    out = normalise_measures(frame)
    assert list(out.columns[:3]) == ["client_id", "case_id", "role"]
    assert out["role"].tolist() == ["parent", "caregiver", "young_person", None]
    assert out["case_id"].tolist()[3] is None


def test_a_table_without_the_columns_comes_back_without_them():
    out = normalise_measures(
        pd.DataFrame({"client_id": ["c1"], "session": [1], "instrument": ["phq9"], "score": [4]})
    )
    assert "case_id" not in out.columns and "role" not in out.columns


def test_an_unknown_role_is_refused_naming_row_column_value_and_the_roles():
    message = refusal(rows(("p1", "f1", "parent"), ("p2", "f1", "leader")))
    assert "row 2, column role: got 'leader', expected one of client, partner, parent" in message


def test_a_role_without_a_case_is_refused():
    message = refusal(rows(("p1", None, "partner")))
    assert "row 1, column case_id" in message and "a role needs a case_id" in message


def test_a_case_without_roles_is_refused():
    message = refusal(rows(("p1", "c1", "partner"), ("p2", "c1", None)))
    assert "row 2, column role" in message and "role in case c1" in message


def test_a_case_mixing_group_and_family_roles_is_refused():
    message = refusal(
        rows(("m1", "g1", "group_member"), ("m2", "g1", "group_member"), ("p1", "g1", "partner"))
    )
    assert "row 3, column role: got 'partner'" in message
    assert "case g1 cannot mix formats (individual: client, young_person; couple: partner;" in message


def test_a_case_mixing_a_partner_with_a_group_member_is_refused_at_the_second_role():
    message = refusal(rows(("p1", "k1", "partner"), ("p2", "k1", "partner"), ("m1", "k1", "group_member")))
    assert "row 3, column role: got 'group_member'" in message and "other roles (partner)" in message


def test_a_participant_with_two_roles_in_one_case_is_refused():
    frame = pd.concat([rows(("p1", "f1", "parent")), rows(("p1", "f1", "caregiver"))], ignore_index=True)
    assert "row 2, column role: got 'caregiver', expected parent" in refusal(frame)


def test_case_ids_stay_text_through_csv(tmp_path):
    frame = rows(("p1", "007", "partner"), ("p2", "007", "partner"))
    back = read_measures(write_measures(frame, tmp_path / "measures.csv"))
    assert back["case_id"].tolist() == ["007", "007"]


@pytest.mark.parametrize(
    ("roles", "participants", "fmt"),
    [
        ({"partner"}, 2, "couple"),
        ({"parent", "young_person"}, 3, "family"),
        ({"partner", "young_person"}, 2, None),
        ({"group_member"}, 9, "group"),
        ({"client"}, 1, "individual"),
        ({"young_person"}, 1, "individual"),
        ({"partner"}, 1, "couple"),
    ],
)
def test_a_cases_format_follows_from_its_roles(roles, participants, fmt):
    assert case_format(roles, participants) == fmt
