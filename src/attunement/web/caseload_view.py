"""The caseload as a working list: who needs attention, who is seen today, what is waiting.

Active episodes come first, most urgent first (open safety alerts, then other open alerts by
severity), then by the next planned session. Ended episodes have their own section, without
course alerts; an ended episode whose safety alert still has no recorded action stays in the
working list until it has one, because a risk answer is never put out of sight. Each card
carries the dates a clinician plans by: last answered, next planned session, links waiting.
The list can be searched by client reference and filtered by status, alert kind and "today"
(a session planned today or answers given today).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from attunement.alerts import KINDS
from attunement.store.audit import last_views
from attunement.store.clock import local_today
from attunement.store.episodes import END_REASON_LABELS, current_episodes
from attunement.store.models import Client, Episode
from attunement.store.schedule import EpisodeFacts, episode_facts
from attunement.store.settings import clinic_zone
from attunement.store.summaries import AlertView, ClientSummary
from attunement.store.summary_store import summaries_for

STATUSES = ("active", "ended", "all")
MAX_QUERY = 80


@dataclass(frozen=True)
class CaseloadFilter:
    query: str = ""
    status: str = "all"
    kind: str = ""
    today: bool = False

    @classmethod
    def from_query(cls, params: Mapping[str, str]) -> CaseloadFilter:
        """The filter from the page's query string; anything not recognised is ignored."""
        status = params.get("status", "all")
        kind = params.get("kind", "")
        return cls(
            query=params.get("q", "").strip()[:MAX_QUERY],
            status=status if status in STATUSES else "all",
            kind=kind if kind in KINDS else "",
            today=params.get("today") == "yes",
        )

    @property
    def active(self) -> bool:
        return bool(self.query or self.status != "all" or self.kind or self.today)


@dataclass(frozen=True)
class CaseloadRow:
    client: Client
    episode: Episode
    summary: ClientSummary
    facts: EpisodeFacts
    #: When the person looking last opened this client's page (None: never).
    last_viewed: datetime | None = None

    def is_new(self, alert: AlertView) -> bool:
        """Opened or changed since the person looking last opened the client's page."""
        return self.last_viewed is None or datetime.fromisoformat(alert.changed_at) > self.last_viewed

    @property
    def handled(self) -> list[AlertView]:
        """Alerts still firing after something was recorded (done, or set aside)."""
        return [a for a in self.summary.alerts if not a.open]

    @property
    def status_label(self) -> str:
        if self.episode.active:
            return "active"
        return END_REASON_LABELS.get(self.episode.end_reason or "", "ended")

    @property
    def in_working_list(self) -> bool:
        return self.episode.active or self.summary.has_open_safety

    @property
    def today(self) -> bool:
        return self.facts.planned_today or self.facts.answered_today


@dataclass(frozen=True)
class CaseloadView:
    working: list[CaseloadRow]
    ended: list[CaseloadRow]
    total: int
    shown: int
    filter: CaseloadFilter
    kinds: tuple[str, ...]
    zone: ZoneInfo
    today: date


def caseload_view(
    db: Session, viewer: str, clients: Sequence[Client], wanted: CaseloadFilter
) -> CaseloadView:
    """The working list of ``clients`` for ``viewer`` (the audit actor: alerts changed since they
    last opened a client's page are marked new)."""
    zone = clinic_zone(db)
    summaries = summaries_for(db, clients)
    episodes = current_episodes(db, [c.id for c in clients])
    facts = episode_facts(db, [e.id for e in episodes.values()], zone)
    viewed = last_views(db, viewer, [c.id for c in clients])
    rows = [
        CaseloadRow(c, episodes[c.id], summaries[c.id], facts[episodes[c.id].id], viewed.get(c.id))
        for c in clients
    ]
    shown = [r for r in rows if _matches(r, wanted)]
    working = sorted((r for r in shown if r.in_working_list), key=_urgency)
    ended = sorted(
        (r for r in shown if not r.in_working_list),
        key=lambda r: (-(r.episode.ended_on or date.min).toordinal(), r.client.label),
    )
    return CaseloadView(working, ended, len(rows), len(shown), wanted, KINDS, zone, local_today(zone))


def _matches(row: CaseloadRow, wanted: CaseloadFilter) -> bool:
    if wanted.query and wanted.query.casefold() not in row.client.label.casefold():
        return False
    if wanted.status == "active" and not row.episode.active:
        return False
    if wanted.status == "ended" and row.episode.active:
        return False
    if wanted.kind and not any(a.alert.kind == wanted.kind for a in row.summary.open_alerts):
        return False
    return not wanted.today or row.today


def _urgency(row: CaseloadRow) -> tuple:
    planned = row.facts.next_planned or date.max
    return (row.summary.urgency(), planned.toordinal(), row.client.label)
