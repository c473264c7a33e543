"""SQLAlchemy 2 table definitions.

Client answers are stored in the canonical long form (one row per answered item) so that the
same code that reads measures files reads the database. URLs only ever carry opaque random
identifiers (``Client.public_id``, link tokens); link tokens are stored as SHA-256 hashes.
"""

from __future__ import annotations

from datetime import date, datetime, time

from sqlalchemy import (
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    Time,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

ROLES = ("clinician", "supervisor", "admin")


class Base(DeclarativeBase):
    pass


class Team(Base):
    __tablename__ = "teams"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(120), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class User(Base):
    __tablename__ = "users"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(80), unique=True)
    display_name: Mapped[str] = mapped_column(String(120))
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(20))
    team_id: Mapped[int | None] = mapped_column(ForeignKey("teams.id"), nullable=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    #: Raised on log-out: every session cookie issued before then stops working.
    session_epoch: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    #: Where safety notices are e-mailed (optional; they always show in the app).
    email: Mapped[str | None] = mapped_column(String(254), nullable=True)
    #: When the user last set their own password (None: never, so the account has no access yet).
    password_set_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class Client(Base):
    __tablename__ = "clients"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    public_id: Mapped[str] = mapped_column(String(40), unique=True)
    label: Mapped[str] = mapped_column(String(80))
    therapist_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    client_group: Mapped[str] = mapped_column(String(40), default="all")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    #: Raised in the same transaction as every change to the client's answers or alert records;
    #: the stored summary is current only while its ``version`` equals this counter.
    data_version: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


#: How an episode of care may end (FHIR EpisodeOfCare has no fixed list; these are the task's own).
END_REASONS = ("completed", "dropout", "referred", "other")


class Episode(Base):
    """One course of care of one client (FHIR EpisodeOfCare): numbered 1, 2, ... per client.

    Every answer, rating, link, planned session and alert record belongs to one episode. Only the
    client's latest episode may be active; ``end_reason`` and ``ended_on`` are set while it is
    ended. What happened to the episode (opened, ended, reopened, by whom, when) is kept in
    :class:`EpisodeEvent`, so reopening never erases how and when it had ended.
    """

    __tablename__ = "episodes"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    therapist_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    #: "active" or "ended".
    status: Mapped[str] = mapped_column(String(20))
    started_on: Mapped[date] = mapped_column(Date)
    end_reason: Mapped[str | None] = mapped_column(String(20), nullable=True)
    ended_on: Mapped[date | None] = mapped_column(Date, nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    __table_args__ = (UniqueConstraint("client_id", "number", name="uq_episode_number"),)

    @property
    def active(self) -> bool:
        return self.status == "active"


class EpisodeEvent(Base):
    """One change of an episode, kept for good: opened, ended (with its reason), reopened, or
    reassigned to another therapist (who before, who after)."""

    __tablename__ = "episode_events"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    episode_id: Mapped[int] = mapped_column(ForeignKey("episodes.id"), index=True)
    action: Mapped[str] = mapped_column(String(20))
    end_reason: Mapped[str | None] = mapped_column(String(20), nullable=True)
    #: The start date (opened, reopened) or end date (ended) the clinician gave.
    on_date: Mapped[date | None] = mapped_column(Date, nullable=True)
    note: Mapped[str | None] = mapped_column(Text, nullable=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    by_user: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    #: A change of therapist ("reassigned"): who treated the client before, and who from now on.
    from_therapist_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    to_therapist_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)


class TherapySession(Base):
    """A session of an episode, numbered by the system (1, 2, ... within the episode).

    A row exists for every session that was planned, linked or answered; ``planned_on`` (and the
    optional ``planned_time``) is the appointment in the clinic's own time zone, when one was set.
    """

    __tablename__ = "therapy_sessions"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    episode_id: Mapped[int] = mapped_column(ForeignKey("episodes.id"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    planned_on: Mapped[date | None] = mapped_column(Date, nullable=True)
    planned_time: Mapped[time | None] = mapped_column(Time, nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    __table_args__ = (UniqueConstraint("episode_id", "number", name="uq_therapy_session_number"),)


class LinkToken(Base):
    """A single-use, expiring link for one session of one episode."""

    __tablename__ = "link_tokens"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id"), index=True)
    episode_id: Mapped[int] = mapped_column(ForeignKey("episodes.id"), index=True)
    session: Mapped[int] = mapped_column(Integer)
    instruments: Mapped[str] = mapped_column(String(200))
    created_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    #: Who answers it: "client" (the client themselves) or "caregiver" (a parent or carer reporting
    #: on a young person, stored on the young person's record under this rater).
    rater: Mapped[str] = mapped_column(String(20), default="client", server_default="client")


class Submission(Base):
    """One completed set of forms: from a client link or from the therapist's rating form.

    Submissions are never changed or deleted. A session may hold two client submissions (two
    links answered): both are kept, and the later one counts for the session's scores (the
    safety item counts from every one). A therapist's corrected rating is a new submission that
    names the one it ``supersedes``.
    """

    __tablename__ = "submissions"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id"), index=True)
    episode_id: Mapped[int] = mapped_column(ForeignKey("episodes.id"), index=True)
    session: Mapped[int] = mapped_column(Integer)
    supersedes_id: Mapped[int | None] = mapped_column(ForeignKey("submissions.id"), nullable=True)
    rater: Mapped[str] = mapped_column(String(20))
    link_token_id: Mapped[int | None] = mapped_column(
        ForeignKey("link_tokens.id"), nullable=True, unique=True
    )
    submitted_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    comment: Mapped[str | None] = mapped_column(Text, nullable=True)
    #: The therapist's rating only: how they worked in the session (an id of the approaches in
    #: ``tailoring/approach_check.json``), or None when not said.
    approach: Mapped[str | None] = mapped_column(String(40), nullable=True)
    submitted_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    #: The identifier ("system|value") of the FHIR QuestionnaireResponse these answers were
    #: imported from: one response is stored once (:mod:`attunement.store.fhir_import`,
    #: :mod:`attunement.store.fhir_restore`).
    source_identifier: Mapped[str | None] = mapped_column(String(300), nullable=True, unique=True, index=True)


class Measure(Base):
    """One canonical measures row: an item answer (item + value) or a ready-made score."""

    __tablename__ = "measures"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id"))
    episode_id: Mapped[int] = mapped_column(ForeignKey("episodes.id"))
    submission_id: Mapped[int | None] = mapped_column(ForeignKey("submissions.id"), nullable=True)
    session: Mapped[int] = mapped_column(Integer)
    instrument: Mapped[str] = mapped_column(String(40))
    rater: Mapped[str] = mapped_column(String(20))
    item: Mapped[str | None] = mapped_column(String(60), nullable=True)
    value: Mapped[float | None] = mapped_column(Float, nullable=True)
    score: Mapped[float | None] = mapped_column(Float, nullable=True)
    recorded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    __table_args__ = (
        Index("ix_measures_client_session", "client_id", "session"),
        Index("ix_measures_episode_session", "episode_id", "session"),
    )


class IntakeAnswers(Base):
    """A client's answers to the intake profile questions, sent with one submission.

    ``answers`` is JSON: {item linkId: number for a choice, text for a free-text answer}; only
    answered questions appear. The profile is built from the latest row when it is shown, so a
    change to the mapping rules applies to answers already stored.
    """

    __tablename__ = "intake_answers"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id"), index=True)
    submission_id: Mapped[int] = mapped_column(ForeignKey("submissions.id"), unique=True)
    answers: Mapped[str] = mapped_column(Text)
    recorded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class KeptAlert(Base):
    """An alert as a lasting record of one episode: opened at a session, updated while its
    condition goes on (``reason`` and ``figures`` are the latest), and closed by a clinician
    (actioned, set aside with a reason) or, for all but safety, resolved when the condition
    clears. Every change is an :class:`AlertEvent`; see :mod:`attunement.alerts.lifecycle`."""

    __tablename__ = "alerts"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id"), index=True)
    episode_id: Mapped[int] = mapped_column(ForeignKey("episodes.id"), index=True)
    kind: Mapped[str] = mapped_column(String(40))
    #: One of :data:`attunement.alerts.lifecycle.STATUSES`.
    status: Mapped[str] = mapped_column(String(20))
    severity: Mapped[str] = mapped_column(String(10))
    probability: Mapped[float | None] = mapped_column(Float, nullable=True)
    requires_action: Mapped[bool] = mapped_column(Boolean, default=False)
    opened_session: Mapped[int] = mapped_column(Integer)
    last_session: Mapped[int] = mapped_column(Integer)
    reason: Mapped[str] = mapped_column(Text)
    #: JSON: the numbers behind the latest reason.
    figures: Mapped[str] = mapped_column(Text, default="{}")
    opened_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    #: When the app last changed the alert (opened, updated with new figures, resolved): what a
    #: clinician has not seen yet is what changed after they last opened the client's page.
    changed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class AlertEvent(Base):
    """One step of an alert's history, kept for good: opened, updated, acknowledged,
    unacknowledged, actioned (with what was done), outcome (what happened next), set aside (with
    why) or resolved (with why). ``by_user`` is empty for what the app did itself."""

    __tablename__ = "alert_events"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    alert_id: Mapped[int] = mapped_column(ForeignKey("alerts.id"), index=True)
    action: Mapped[str] = mapped_column(String(30))
    session: Mapped[int | None] = mapped_column(Integer, nullable=True)
    note: Mapped[str | None] = mapped_column(Text, nullable=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    by_user: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)


class Notification(Base):
    """A notice to one clinician that a client answered a risk question: shown on every page of
    the app until the clinician opens the client's page, and e-mailed (with no client data, only
    a sign-in link) when the clinic has an SMTP server and the clinician an address."""

    __tablename__ = "notifications"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id"))
    alert_id: Mapped[int] = mapped_column(ForeignKey("alerts.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    opened_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    emailed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    email_attempts: Mapped[int] = mapped_column(Integer, default=0)


class ClientContact(Base):
    """How a client may be reached, apart from their clinical record: an e-mail address, an
    optional mobile number, and whether the client consents to be contacted (with when and by
    whom that consent was recorded). A change is a new row; the latest row counts and the
    earlier ones stay as the history."""

    __tablename__ = "client_contacts"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id"), index=True)
    email: Mapped[str | None] = mapped_column(String(254), nullable=True)
    mobile: Mapped[str | None] = mapped_column(String(20), nullable=True)
    consent: Mapped[bool] = mapped_column(Boolean)
    #: When the consent (yes or no) as this row holds it was recorded, and by whom.
    consent_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    consent_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    recorded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    recorded_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)


class OutboxMessage(Base):
    """One message to a client carrying a link (first send, a resend or a reminder), queued in
    the transaction that decided it and sent by the delivery worker after that transaction.

    ``idempotency_key`` names the message once and for all (the link and the purpose): a second
    queueing of the same message fails on it, and it makes the e-mail's Message-ID. A worker
    claims a row by setting ``lease_until``; the row is ``sent_at`` only after the mail server
    accepted the message. ``token`` is the link's secret, kept only while the link can still be
    answered (the worker clears it once the link is used or expired)."""

    __tablename__ = "outbox"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    idempotency_key: Mapped[str] = mapped_column(String(80), unique=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id"), index=True)
    link_id: Mapped[int] = mapped_column(ForeignKey("link_tokens.id"), index=True)
    #: "link" (sent with a new link), "resend" (the clinician sent it again) or "reminder".
    purpose: Mapped[str] = mapped_column(String(20))
    #: "email" or "sms".
    channel: Mapped[str] = mapped_column(String(10))
    token: Mapped[str | None] = mapped_column(String(100), nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    due_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    lease_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    #: Where it went, as it was when it was sent (the contact may change later).
    recipient: Mapped[str | None] = mapped_column(String(254), nullable=True)
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    #: Not sent and never will be: consent withdrawn, no address, the link answered or expired,
    #: or too many failures (said in ``last_error``).
    stopped_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    last_error: Mapped[str | None] = mapped_column(String(200), nullable=True)


class ClientSummaryRow(Base):
    """Derived data: what the caseload and client pages show of one client's current (latest)
    episode, computed when the
    client's data changes (a submission, a rating, an alert record) so a page view reads one row.

    ``payload`` is JSON (scores by session, band, change, alerts with their records). It is current
    when ``version`` equals ``Client.data_version`` and ``basis`` names the code and model that
    computed it; otherwise it is computed again on the next view.
    """

    __tablename__ = "client_summaries"
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id"), primary_key=True)
    version: Mapped[int] = mapped_column(Integer)
    basis: Mapped[str] = mapped_column(String(80))
    payload: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class AuditEvent(Base):
    """Append-only: database triggers refuse updates, deletes, replacing inserts and (on
    PostgreSQL) truncation; :class:`AuditSeal` rows make any later change to a sealed entry show."""

    __tablename__ = "audit_events"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    actor: Mapped[str] = mapped_column(String(80))
    role: Mapped[str] = mapped_column(String(20))
    action: Mapped[str] = mapped_column(String(60))
    client_id: Mapped[int | None] = mapped_column(Integer, nullable=True, index=True)
    detail: Mapped[str] = mapped_column(String(400), default="")
    #: The network address of the request that did it (None for the app's own work and commands).
    address: Mapped[str | None] = mapped_column(String(64), nullable=True)


class AuditSeal(Base):
    """A link of the audit log's hash chain: ``chain`` is the SHA-256 of the previous seal's chain
    and every entry after the previous seal up to ``last_event_id``, in order. Append-only like
    the log; each seal names its predecessor once (two sealers at once cannot fork the chain)."""

    __tablename__ = "audit_seals"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    #: The seal before (0 for the first): unique, so two sealers at once cannot both extend it.
    previous_id: Mapped[int] = mapped_column(Integer, unique=True)
    last_event_id: Mapped[int] = mapped_column(Integer)
    chain: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class LoginAttempt(Base):
    __tablename__ = "login_attempts"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(80), index=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    success: Mapped[bool] = mapped_column(Boolean)
    #: Where the attempt came from (the network address), for throttling by address.
    address: Mapped[str | None] = mapped_column(String(64), nullable=True, index=True)


class PasswordLink(Base):
    """A single-use, expiring link with which a user sets their own password: for a new account
    (created by an administrator, who never learns the password) or after a reset. Only the
    token's hash is stored."""

    __tablename__ = "password_links"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class Setting(Base):
    """Clinic-wide settings and the signing secret, as key/value text."""

    __tablename__ = "settings"
    key: Mapped[str] = mapped_column(String(60), primary_key=True)
    value: Mapped[str] = mapped_column(Text)


class ForecastModelRow(Base):
    """A forecast model fitted on this clinic's own ended episodes (``attunement fit --database``).

    The model file's JSON is kept whole, with what it was trained on and its held-out validation
    figures beside it, so the administrator's page reads the figures without parsing the trees.
    A model starts as a "candidate"; an administrator activates it (at most one is "active") and
    an activated model that is replaced becomes "retired": models are never deleted, so an alert
    can always be traced to the model that raised it.
    """

    __tablename__ = "forecast_models"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    #: Who fitted it: the operating-system user of ``attunement fit`` (a command, not a signed-in user).
    created_by: Mapped[str] = mapped_column(String(80))
    trained_on: Mapped[str] = mapped_column(Text)
    validation: Mapped[str] = mapped_column(Text)
    model: Mapped[str] = mapped_column(Text)
    #: SHA-256 of ``model``: names the model in the stored summaries' basis.
    digest: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(12))
    activated_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    #: The bundled model's validation figures on the same held-out episodes, when worked out.
    comparison: Mapped[str | None] = mapped_column(Text, nullable=True)

    #: At most one active model, even when two administrators activate at once.
    __table_args__ = (
        Index(
            "uq_forecast_models_one_active",
            "status",
            unique=True,
            sqlite_where=text("status = 'active'"),
            postgresql_where=text("status = 'active'"),
        ),
    )


class SupervisionNote(Base):
    """A supervisor's note on a client, for the client's therapist. Never changed: a correction is
    a new row that names the note it ``corrects`` (each note is corrected at most once, so a note's
    versions form one line), and a withdrawal is such a row with ``withdrawn`` set (its ``text``
    says why, or is empty). The earlier text stays, and the client page shows it."""

    __tablename__ = "supervision_notes"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id"), index=True)
    corrects_id: Mapped[int | None] = mapped_column(
        ForeignKey("supervision_notes.id"), nullable=True, unique=True
    )
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    text: Mapped[str] = mapped_column(Text)
    withdrawn: Mapped[bool] = mapped_column(Boolean, default=False)
    written_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class SupervisionFlag(Base):
    """One step of a client's "for supervision" flag, kept for good: raised (with why, optional)
    or cleared. The client is flagged while their latest step is "raised"."""

    __tablename__ = "supervision_flags"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id"), index=True)
    #: "raised" or "cleared".
    action: Mapped[str] = mapped_column(String(10))
    reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    by_user: Mapped[int] = mapped_column(ForeignKey("users.id"))
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class EpisodeMeasures(Base):
    """The measures an episode's links carry from ``valid_from`` on, chosen by a clinician. Never
    changed: a new choice is a new row, so every earlier choice stays. An episode without a row
    uses the clinic's default for its service type."""

    __tablename__ = "episode_measures"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id"), index=True)
    episode_id: Mapped[int] = mapped_column(ForeignKey("episodes.id"), index=True)
    #: Comma-separated instrument ids, in the clinic's order.
    instruments: Mapped[str] = mapped_column(String(200))
    valid_from: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    set_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)


class LinkSchedule(Base):
    """When an episode's links are created and sent without a clinician: ``kind`` "off",
    "sessions" (before each planned session) or "days" (every ``every_days`` days), through
    ``channel`` ("email" or "sms"). Never changed: a new choice is a new row valid from
    ``valid_from``, the earlier ones stay. An episode without a row has no schedule."""

    __tablename__ = "link_schedules"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id"), index=True)
    episode_id: Mapped[int] = mapped_column(ForeignKey("episodes.id"), index=True)
    kind: Mapped[str] = mapped_column(String(10))
    every_days: Mapped[int | None] = mapped_column(Integer, nullable=True)
    channel: Mapped[str] = mapped_column(String(10))
    valid_from: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    set_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)


class ScheduledLink(Base):
    """A link the schedule created, one per slot: ``slot`` is "session-<therapy session id>" or
    "due-<date and minute, UTC>" (every N days), unique within the episode, so a restarted worker
    or a second
    worker can never create a second link for the same slot."""

    __tablename__ = "scheduled_links"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id"), index=True)
    episode_id: Mapped[int] = mapped_column(ForeignKey("episodes.id"))
    slot: Mapped[str] = mapped_column(String(40))
    link_id: Mapped[int] = mapped_column(ForeignKey("link_tokens.id"), index=True)
    schedule_id: Mapped[int] = mapped_column(ForeignKey("link_schedules.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    __table_args__ = (UniqueConstraint("episode_id", "slot", name="uq_scheduled_link_slot"),)


class LicensedWordingRow(Base):
    """A clinic's licensed wording of a measure whose wording attunement does not ship: the FHIR
    Questionnaire as supplied, who supplied it, when, and the licence it is used under (shown
    under the client's form). Never changed: a new upload is a new row, the newest is used and
    the earlier ones stay. Clinic configuration, not any client's data."""

    __tablename__ = "licensed_wordings"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    instrument: Mapped[str] = mapped_column(String(40), index=True)
    #: The Questionnaire JSON as the clinic supplied it.
    questionnaire: Mapped[str] = mapped_column(Text)
    licence_statement: Mapped[str] = mapped_column(Text)
    #: The name of the person who supplied it, as they gave it.
    supplied_by: Mapped[str] = mapped_column(String(120))
    supplied_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    #: The administrator who uploaded it in the app (None: from the command line).
    uploaded_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)


#: How a case may end up: open while its people are seen together, closed once the work is done.
CASE_STATUSES = ("open", "closed")


class Case(Base):
    """Care given to several people together: a couple, a family or a group. Each participant is a
    client of their own (:class:`CaseMember`), with their own episode, links, answers and alerts;
    the case ties them together so their relationship ratings can be read side by side. The
    label is the clinician's reference for the case (like a client's), never shown to a client."""

    __tablename__ = "cases"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    public_id: Mapped[str] = mapped_column(String(40), unique=True)
    label: Mapped[str] = mapped_column(String(80))
    #: One of the formats of :mod:`attunement.instruments.roles` other than "individual".
    format: Mapped[str] = mapped_column(String(20))
    #: The team of the clinician who opened it: the team's supervisor may read it.
    team_id: Mapped[int | None] = mapped_column(ForeignKey("teams.id"), nullable=True)
    created_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    #: One of :data:`CASE_STATUSES`.
    status: Mapped[str] = mapped_column(String(10), default="open")


class CaseTherapist(Base):
    """One clinician's part in a case (co-therapy), kept for good: added on a date and, once they
    stop, removed on a date (the row stays). Adding them again is a new row."""

    __tablename__ = "case_therapists"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    added_on: Mapped[date] = mapped_column(Date)
    added_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    removed_on: Mapped[date | None] = mapped_column(Date, nullable=True)
    removed_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)


class CaseMember(Base):
    """A participant of a case: a client record of their own, in a role, from the case session
    ``first_session`` on. Their own episode session ``own_first_session`` is that case session
    (1 for someone who came new to the case), so their episode session s is case session
    ``first_session + s - own_first_session``. A member who leaves keeps their row, with the date,
    the reason and the last case session they were part of: the history is never overwritten.
    A client is a member of one case at most (a person in two cases has a record in each)."""

    __tablename__ = "case_members"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id"), unique=True)
    #: One of the roles of :mod:`attunement.instruments.roles` the case's format allows.
    role: Mapped[str] = mapped_column(String(20))
    first_session: Mapped[int] = mapped_column(Integer)
    own_first_session: Mapped[int] = mapped_column(Integer, default=1)
    joined_on: Mapped[date] = mapped_column(Date)
    left_on: Mapped[date | None] = mapped_column(Date, nullable=True)
    left_reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    #: The last case session they were a member at (set when they leave).
    last_session: Mapped[int | None] = mapped_column(Integer, nullable=True)
    added_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)


class ImportSource(Base):
    """What one row of an imported history became, so that importing the same file again changes
    nothing (:mod:`attunement.store.history_import`): a client, an episode or one form set
    (a session's answers by one rater) of the service's tables, keyed by a digest of its ids in
    those tables, with a digest of what was imported (``fingerprint``). A later import whose row
    has the same key and fingerprint is already imported; the same key with another fingerprint
    is a conflict and is refused, never replacing what is stored."""

    __tablename__ = "import_sources"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id"), index=True)
    episode_id: Mapped[int | None] = mapped_column(ForeignKey("episodes.id"), nullable=True)
    submission_id: Mapped[int | None] = mapped_column(ForeignKey("submissions.id"), nullable=True)
    #: "client", "episode" or "form".
    kind: Mapped[str] = mapped_column(String(10))
    #: SHA-256 of the kind and the ids in the service's tables (client_id, episode_id, session, rater).
    key: Mapped[str] = mapped_column(String(64), unique=True)
    #: SHA-256 of what was imported under the key (an episode's therapist and dates, a form's rows).
    fingerprint: Mapped[str] = mapped_column(String(64))
    imported_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
