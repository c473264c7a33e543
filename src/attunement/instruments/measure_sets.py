"""Which questionnaires a client link may carry, read from ``measure_sets.json``.

Pure functions over the instrument definitions and that data file: no database. A measure may
go on a client's form only when it is client-rated and its wording is shipped, or the clinic
holds its licensed wording (``licensed``: the measures the clinic imported wording for; a
measure without wording would show the client item ids, not questions). The intake profile is
not a measure: it goes with intake links apart. PHQ-9 is in every set, because it carries the
safety question.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TypedDict

from attunement.instruments.definition import Instrument
from attunement.instruments.registry import load_instruments

DATA_FILE = Path(__file__).with_name("measure_sets.json")
#: Always on a client's link: it carries the safety question (item 9).
ALWAYS_OFFERED = ("phq9",)
#: Asked at intake through its own form, never chosen as a measure.
INTAKE = "intake_profile"


@dataclass(frozen=True)
class ServiceType:
    key: str
    label: str
    measures: tuple[str, ...]


@dataclass(frozen=True)
class NotOffered:
    """An installed measure that cannot be put on a client's form, and why, in plain words."""

    id: str
    short_name: str
    reason: str


class _ServiceTypeSpec(TypedDict):
    label: str
    measures: list[str]


class _MeasureSetsFile(TypedDict):
    """The fields of ``measure_sets.json`` read here (its notes aside)."""

    default_service_type: str
    service_types: dict[str, _ServiceTypeSpec]
    about_the_session: list[str]
    relationship_measures: list[str]


@cache
def _data() -> _MeasureSetsFile:
    data: _MeasureSetsFile = json.loads(DATA_FILE.read_text(encoding="utf-8"))
    return data


def service_types() -> list[ServiceType]:
    return [
        ServiceType(key, spec["label"], tuple(spec["measures"]))
        for key, spec in _data()["service_types"].items()
    ]


def default_service_type() -> str:
    return _data()["default_service_type"]


def about_the_session() -> frozenset[str]:
    """Measures that ask how the session just held went: not asked before the first session."""
    return frozenset(_data()["about_the_session"])


def relationship_measures() -> frozenset[str]:
    """Measures of the session or the therapy relationship, shown apart from the outcome charts."""
    return frozenset(_data()["relationship_measures"])


def _offerable(instrument: Instrument, licensed: frozenset[str] = frozenset()) -> bool:
    return (
        instrument.rater == "client"
        and instrument.id != INTAKE
        and (instrument.licence.item_text_shipped or instrument.id in licensed)
    )


def offerable_measures(licensed: frozenset[str] = frozenset()) -> list[str]:
    """Every measure a client's link may carry (client-rated, wording shipped or imported by the
    clinic), in form order: PHQ-9 first, the measures about the session last."""
    found = [
        i.id for i in load_instruments().values() if _offerable(i, licensed) and i.id not in ALWAYS_OFFERED
    ]
    session = about_the_session()
    return [*ALWAYS_OFFERED, *(i for i in found if i not in session), *(i for i in found if i in session)]


def not_offered(licensed: frozenset[str] = frozenset()) -> list[NotOffered]:
    """Installed client measures that cannot be offered, each with the reason."""
    found = []
    for instrument in load_instruments().values():
        if instrument.rater != "client" or instrument.id == INTAKE or _offerable(instrument, licensed):
            continue
        if instrument.licence.tier in ("nc_nd_pack", "import_only"):
            reason = (
                "the licence does not let attunement ship the wording; they can be offered once an "
                "administrator imports the clinic's licensed wording (Licensed wording, below)"
            )
        else:
            reason = (
                "the wording has not been added yet (scoring only); a clinic that holds it may "
                "import it (Licensed wording, below)"
            )
        found.append(NotOffered(instrument.id, instrument.short_name, reason))
    return found


def service_defaults(service_type: str, enabled: list[str]) -> list[str]:
    """A new episode's measures: the service type's set, kept to what the clinic offers, and
    PHQ-9 always, in the clinic's order."""
    sets = {s.key: s.measures for s in service_types()}
    wanted = set(sets.get(service_type, sets[default_service_type()])) | set(ALWAYS_OFFERED)
    return [i for i in enabled if i in wanted] or [*ALWAYS_OFFERED]


def for_session(measures: list[str], session: int) -> list[str]:
    """The measures a link for ``session`` carries: before the first session (a link for session
    1) there is no session to ask about, so the measures about the session are left out."""
    if session <= 1:
        skip = about_the_session()
        return [i for i in measures if i not in skip]
    return list(measures)
