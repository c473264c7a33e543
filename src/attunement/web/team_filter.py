"""The team page's filter: by therapist, open alert kind, outcome, the "for supervision" flag and
the state of clients' links. Plain GET query parameters holding only opaque values (a therapist's
internal user id, a kind's id, a word), so a figure on the page can link to the clients behind it.
A value that is not recognised is ignored (the list is shown unfiltered on that count)."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from urllib.parse import urlencode

from attunement.alerts import KINDS
from attunement.web.caseload_view import CaseloadRow

#: ``kind=any``: any open alert.
ANY = "any"
OUTCOMES = {
    "improved": ("recovered", "improved"),
    "deteriorated": ("deteriorated", "harmed"),
}
LINK_STATES = ("waiting", "expired", "completed", "issued")


@dataclass(frozen=True)
class TeamFilter:
    therapist: int | None = None
    kind: str = ""
    outcome: str = ""
    flagged: bool = False
    links: str = ""

    @classmethod
    def from_query(cls, params: Mapping[str, str], therapists: Collection[int]) -> TeamFilter:
        raw = params.get("therapist", "").strip()
        therapist = int(raw) if raw.isascii() and raw.isdigit() and len(raw) < 10 else None
        kind = params.get("kind", "")
        outcome = params.get("outcome", "")
        links = params.get("links", "")
        return cls(
            therapist=therapist if therapist in therapists else None,
            kind=kind if kind in KINDS or kind == ANY else "",
            outcome=outcome if outcome in OUTCOMES else "",
            flagged=params.get("flagged") == "yes",
            links=links if links in LINK_STATES else "",
        )

    @property
    def active(self) -> bool:
        return bool(self.therapist or self.kind or self.outcome or self.flagged or self.links)

    def matches(self, row: CaseloadRow, flagged: Collection[int], with_links: Collection[int]) -> bool:
        s = row.summary
        if self.therapist and row.episode.therapist_id != self.therapist:
            return False
        if self.kind == ANY and not s.open_alerts:
            return False
        if self.kind and self.kind != ANY and not any(a.alert.kind == self.kind for a in s.open_alerts):
            return False
        if self.outcome and s.change not in OUTCOMES[self.outcome]:
            return False
        if self.flagged and row.client.id not in flagged:
            return False
        return not self.links or row.client.id in with_links


def team_url(anchor: str = "clients-h", **params: object) -> str:
    """The team page filtered by ``params`` (those given a value), at ``anchor``."""
    query = urlencode({k: v for k, v in params.items() if v not in (None, "", False)})
    return f"/team{'?' + query if query else ''}#{anchor}"
