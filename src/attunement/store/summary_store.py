"""The stored client summaries: computed when a client's data changes, read by page views.

A summary is of the client's current (latest) episode: its scores by session, and its kept
alerts. Computing it brings the kept alerts up to date with what fires now
(:mod:`attunement.store.kept_alerts`): course alerts only while the episode is active, safety
from the critical items of every form (:mod:`attunement.alerts.critical`), and for a member of
a couple, family or group the room alerts their case raises on them (:mod:`attunement.store.rooms`).

Every change to a client's answers or alert records raises ``Client.data_version`` first thing
in its transaction (which also makes two changes to one client wait for each other), then
:func:`refresh` computes that client's summary and alerts and writes them in the same
transaction, so a committed change never leaves a summary behind it. An alert's support steps
are filled in from the client's intake profile when there is one. Page views read the stored
rows; a row that is missing or out of date (an older counter, or computed by other code or
another forecast model: the ``basis``) is computed again for all such clients of the page in one
vectorised call, and stored.
"""

from __future__ import annotations

import json
import logging
import threading
from collections import OrderedDict
from collections.abc import Mapping, Sequence

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from attunement.alerts import Alert, for_episode
from attunement.alerts.alert import NEEDS_ACTION
from attunement.alerts.fired import plain
from attunement.alerts.lifecycle import LIVE, WAITING, undecided_kinds
from attunement.alerts.support import support_steps
from attunement.prediction.histories import Histories
from attunement.profile import Profile
from attunement.profile.intake import profile_or_none
from attunement.store.alert_source import current_alerts
from attunement.store.changes import lock_client
from attunement.store.clients import measure_rows
from attunement.store.clock import aware, now
from attunement.store.episodes import current_episodes
from attunement.store.forecast_source import model_in_use
from attunement.store.intake import current_intake
from attunement.store.kept_alerts import alert_history, keep, kept_alerts, latest_notes
from attunement.store.models import Client, ClientSummaryRow, Episode, KeptAlert, Submission
from attunement.store.risk import dealt_with, open_risk
from attunement.store.risk import risk_forms as _risk_forms
from attunement.store.rooms import room_alerts_for
from attunement.store.score_rows import (
    ITEM9,
    JUDGED,
    MEASURE_OF,
    ClientRef,
    build_histories,
    form_total,
    series_by_client,
)
from attunement.store.settings import get_setting
from attunement.store.summaries import AlertView, ClientSummary, summarise

log = logging.getLogger("attunement.web")
#: Raised whenever what a summary holds, or how it is computed, changes: older rows are recomputed.
SUMMARY_FORMAT = 7


def basis(db: Session) -> str:
    """What computed a summary: this format and the forecast model in use (the bundled model by a
    digest of its file, a stored one by the digest of its JSON), so activating another model, or
    going back to the bundled one, has every stored summary computed again on its next view."""
    return f"v{SUMMARY_FORMAT}:{model_in_use(db).key}"


class _Parsed:
    """Stored summaries already read from their JSON, by (client id, public id, version, basis).

    A caseload page shows every client's summary and a client page is opened again and again;
    a summary row never changes under its version and basis (a change raises the version), so
    what was read once can be handed out again without reading its JSON."""

    def __init__(self, most: int = 4096):
        self.most = most
        self.found: OrderedDict[tuple[int, str, int, str], ClientSummary] = OrderedDict()
        self.lock = threading.Lock()

    def take(self, keys: Mapping[tuple[int, str, int, str], int]) -> dict[int, ClientSummary]:
        with self.lock:
            hits = {client_id: self.found.get(key) for key, client_id in keys.items()}
            for key in keys:
                if key in self.found:
                    self.found.move_to_end(key)
        return {client_id: summary for client_id, summary in hits.items() if summary is not None}

    def put(self, key: tuple[int, str, int, str], summary: ClientSummary) -> None:
        with self.lock:
            self.found[key] = summary
            while len(self.found) > self.most:
                self.found.popitem(last=False)


_PARSED = _Parsed()


def summaries_for(db: Session, clients: Sequence[Client]) -> dict[int, ClientSummary]:
    """The summary of each client, by client id: the stored one when current, else recomputed."""
    if not clients:
        return {}
    ids = [c.id for c in clients]
    made_by = basis(db)
    stored = db.execute(
        select(ClientSummaryRow.client_id, ClientSummaryRow.version).where(
            ClientSummaryRow.client_id.in_(ids), ClientSummaryRow.basis == made_by
        )
    ).all()
    versions = dict(db.execute(select(Client.id, Client.data_version).where(Client.id.in_(ids))).all())
    current = {client_id: version for client_id, version in stored if version == versions.get(client_id)}
    # The public id too: SQLite may give an erased client's id to the next new client.
    public = {c.id: c.public_id for c in clients}
    out = _PARSED.take({(c, public[c], v, made_by): c for c, v in current.items()})
    unread = [c for c in current if c not in out]
    if unread:
        for client_id, version, payload in db.execute(
            select(ClientSummaryRow.client_id, ClientSummaryRow.version, ClientSummaryRow.payload).where(
                ClientSummaryRow.client_id.in_(unread), ClientSummaryRow.basis == made_by
            )
        ):
            if version == current[client_id]:  # else changed since: computed again below
                out[client_id] = ClientSummary.from_payload(json.loads(payload))
                _PARSED.put((client_id, public[client_id], version, made_by), out[client_id])
    stale = [c for c in clients if c.id not in out]
    if stale:
        out.update(refresh(db, stale))
    return out


def refresh(db: Session, clients: Sequence[Client]) -> dict[int, ClientSummary]:
    """Compute and store the summaries of ``clients`` (alerts for all of them in one call), bringing
    their kept alerts up to date."""
    clients = sorted(clients, key=lambda c: c.id)  # one lock order for every writer
    ids = [c.id for c in clients]
    for client_id in ids:  # a page view may recompute too: never two at once for one client
        lock_client(db, client_id)
    # The counters are read before the data, so a stored version never claims newer data than it holds.
    versions = dict(db.execute(select(Client.id, Client.data_version).where(Client.id.in_(ids))).all())
    episodes = current_episodes(db, ids)
    rows = measure_rows(db, [episodes[c.id].id for c in clients])
    out = _summarise(db, clients, episodes, _histories(db, clients, episodes, rows))
    _store(db, [(c.id, versions[c.id], out[c.id]) for c in clients])
    return out


def episode_summary(db: Session, client: Client, episode: Episode) -> ClientSummary:
    """The summary of any one episode of a client (an earlier one, for the client page), with its
    alerts as they were kept; computed and not stored."""
    episodes = {client.id: episode}
    rows = measure_rows(db, [episode.id])
    histories = _histories(db, [client], episodes, rows)
    return _summarise(db, [client], episodes, histories, keep_alerts=False)[client.id]


def _summarise(
    db: Session,
    clients: Sequence[Client],
    episodes: Mapping[int, Episode],
    histories: Histories | None,
    *,
    keep_alerts: bool = True,
) -> dict[int, ClientSummary]:
    """Each client's summary of the given episode: scores, and its kept alerts, brought up to date
    with what fires now (course alerts only while the episode is active; safety from the risk
    answers not yet dealt with) unless ``keep_alerts`` is False."""
    judged = histories if keep_alerts else None  # only kept alerts need what fires now
    firing = current_alerts(judged, model_in_use(db)) if judged is not None else {}
    latest = (
        {} if histories is None else dict(zip(map(str, histories.client_id), histories.sessions, strict=True))
    )
    kept = kept_alerts(db, [episodes[c.id].id for c in clients])
    forms = _risk_forms(db, [episodes[c.id].id for c in clients]) if keep_alerts else {}
    room = room_alerts_for(db, [c.id for c in clients]) if keep_alerts else {}
    undecided = undecided_kinds(judged) if judged is not None else {}
    profiles = _profiles(db, [c.id for c in clients])
    language = get_setting(db, "service_language")
    rows_of = {}
    for client in clients:
        key, episode = str(client.id), episodes[client.id]
        if keep_alerts:
            now_firing = [a for a in firing.get(key, []) if a.kind not in NEEDS_ACTION]
            now_firing += room.get(client.id, [])  # a split alliance or falling cohesion in their case
            risk = open_risk(forms.get(episode.id, []), dealt_with(kept[episode.id]))
            now_firing += [risk] if risk is not None else []
            now_firing = for_episode(now_firing, active=episode.active)
            rows_of[key] = keep(
                db, episode, kept[episode.id], now_firing, int(latest.get(key, 0)), undecided.get(key, ())
            )
        else:
            rows_of[key] = kept[episode.id]
    history = alert_history(db, [r.id for rows in rows_of.values() for r in rows])
    views = {
        key: [_view(row, history[row.id], profiles.get(key), language) for row in rows if _shown(row)]
        for key, rows in rows_of.items()
    }
    found = {} if histories is None else summarise(histories, views)
    return {c.id: found.get(str(c.id)) or empty_summary(c, views.get(str(c.id), [])) for c in clients}


def _shown(row: KeptAlert) -> bool:
    """A page shows the alerts waiting for the clinician, and those still firing after something
    was recorded (a finished safety alert and resolved ones are in the history only)."""
    if row.status in WAITING:
        return True
    return row.status in LIVE and row.kind not in NEEDS_ACTION


def _view(row: KeptAlert, events, profile: Profile | None, language: str) -> AlertView:
    alert = Alert(
        client_id=str(row.client_id),
        kind=row.kind,
        severity=row.severity,
        session=row.last_session,
        probability=row.probability,
        reason=row.reason,
        figures=json.loads(row.figures or "{}"),
        support=support_steps(row.kind, row.reason, profile, language),
        requires_action=row.requires_action,
    )
    action, outcome = latest_notes(events)
    return AlertView(
        alert, row.id, row.status, row.opened_session, aware(row.changed_at).isoformat(), action, outcome
    )


def refresh_after_answers(
    db: Session,
    client: Client,
    episode_id: int,
    session: int,
    rater: str,
    answers: Mapping[str, Mapping[str, float]],
) -> ClientSummary:
    """The summary after one stored submission, in its transaction (after ``store_answers``).

    When the stored summary was current just before this change (its counter one behind, the
    same basis) and the answers are for the current episode, only the new forms are scored: as
    the latest submission they take the place of the session's earlier forms, and the safety
    item keeps the highest answer given; safety is judged on the episode's risk answers not yet
    dealt with, read by one small query of the forms that carry critical items, exactly as the
    full computation does. The cost of the scores does not grow with the length of the history;
    otherwise the client is computed again from every stored row (:func:`refresh`).
    """
    version = db.scalar(select(Client.data_version).where(Client.id == client.id))
    if version is None:  # the client's row is locked by this transaction's change
        raise LookupError(f"client {client.id} is not in the database")
    episodes = current_episodes(db, [client.id])
    row = db.execute(
        select(ClientSummaryRow.version, ClientSummaryRow.basis, ClientSummaryRow.payload).where(
            ClientSummaryRow.client_id == client.id
        )
    ).first()
    if (
        row is None
        or row.version != version - 1
        or row.basis != basis(db)
        or episode_id != episodes[client.id].id
    ):
        return refresh(db, [client])[client.id]
    before = ClientSummary.from_payload(json.loads(row.payload))
    series = _by_session(before)
    for instrument, items in answers.items():
        measure = MEASURE_OF.get((instrument, rater))
        if measure is not None:
            _put(series.setdefault(measure, {}), session, form_total(instrument, items))
        if instrument == ITEM9[0]:
            _put_highest(series["phq9_item9"], session, items.get(ITEM9[1]))
        if (instrument, rater) == (JUDGED[0], "client"):  # the latest submission's answer counts
            _put(series["checkin_judged"], session, items.get(JUDGED[1]))
    ref = ClientRef(client.id, client.therapist_id, client.client_group, max(before.sessions, session))
    histories = build_histories([ref], {client.id: series})
    out = _summarise(db, [client], episodes, histories)
    _store(db, [(client.id, version, out[client.id])])
    return out[client.id]


def _put(values: dict[int, float], session: int, value: float | None) -> None:
    if value is None:
        values.pop(session, None)
    else:
        values[session] = float(value)


def _put_highest(values: dict[int, float], session: int, value: float | None) -> None:
    """The safety item: a new answer never lowers what another submission of the session said."""
    if value is not None:
        values[session] = max(float(value), values.get(session, float(value)))


def histories_of(client: Client, summary: ClientSummary) -> Histories | None:
    """One client's histories rebuilt from the stored summary (for the client page's charts)."""
    ref = ClientRef(client.id, client.therapist_id, client.client_group, summary.sessions)
    return build_histories([ref], {client.id: _by_session(summary)})


def _by_session(summary: ClientSummary) -> dict[str, dict[int, float]]:
    """A stored summary's series as {measure: {session: value}}, the form histories are built from."""
    return {
        name: {s + 1: v for s, v in enumerate(values) if v is not None}
        for name, values in summary.series().items()
    }


def empty_summary(client: Client, alerts: Sequence[AlertView] = ()) -> ClientSummary:
    """A client with no scores yet (a safety alert may stand all the same: from a form too
    incomplete to score)."""
    return ClientSummary(str(client.id), 0, [], [], [], [], None, None, list(alerts))


def _histories(
    db: Session, clients: Sequence[Client], episodes: Mapping[int, Episode], rows
) -> Histories | None:
    """The histories of the given episode of each client, from its stored ``rows``."""
    episode_ids = [episodes[c.id].id for c in clients]
    latest = dict(
        db.execute(
            select(Submission.client_id, func.max(Submission.session))
            .where(Submission.episode_id.in_(episode_ids))
            .group_by(Submission.client_id)
        ).all()
    )
    refs = [ClientRef(c.id, c.therapist_id, c.client_group, int(latest.get(c.id) or 0)) for c in clients]
    return build_histories(refs, series_by_client(rows))


def _profiles(db: Session, ids: list[int]) -> dict[str, Profile]:
    """Intake profiles by client key, for the clients that have stored intake answers."""
    found = {}
    for client_id, answers in current_intake(db, ids).items():
        profile = profile_or_none(answers, str(client_id))
        if profile is not None:
            found[str(client_id)] = profile
    return found


def _store(db: Session, rows: list[tuple[int, int, ClientSummary]]) -> None:
    """Insert or replace, keeping a newer row that another transaction stored meanwhile."""
    moment, current = now(), basis(db)
    values = [
        {
            "client_id": client_id,
            "version": version,
            "basis": current,
            "payload": json.dumps(summary.to_payload(), default=plain, separators=(",", ":")),
            "updated_at": moment,
        }
        for client_id, version, summary in rows
    ]
    insert = pg_insert if db.get_bind().dialect.name == "postgresql" else sqlite_insert
    statement = insert(ClientSummaryRow).values(values)
    statement = statement.on_conflict_do_update(
        index_elements=[ClientSummaryRow.client_id],
        set_={name: statement.excluded[name] for name in ("version", "basis", "payload", "updated_at")},
        where=(ClientSummaryRow.version <= statement.excluded.version)
        | (ClientSummaryRow.basis != statement.excluded.basis),
    )
    db.execute(statement)
