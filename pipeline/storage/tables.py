"""SQLModel tables. Rows stay inside `pipeline.storage`; the rest of the code sees frozen records.

Times are aware datetimes stored in UTC (SQLModel's UTCDateTime); they are planned and shown in
Europe/London.
Changing a table means adding an Alembic revision under `pipeline/migrations/versions/`.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Column, Index, Table, Text, UniqueConstraint
from sqlmodel import Field, SQLModel


def _json(default: Any = None) -> Any:
    return Field(default_factory=lambda: [] if default is None else default, sa_column=Column(JSON, nullable=False))


def _text() -> Any:
    return Field(default="", sa_column=Column(Text, nullable=False))


class ObjectiveRow(SQLModel, table=True):
    __tablename__ = "objectives"
    code: str = Field(primary_key=True, max_length=40)
    title: str
    outcome: str = ""
    targets: dict[str, float] = _json({})


class AudienceRow(SQLModel, table=True):
    __tablename__ = "audiences"
    code: str = Field(primary_key=True, max_length=60)
    name: str
    parent: str | None = None


class ChannelRow(SQLModel, table=True):
    __tablename__ = "channels"
    code: str = Field(primary_key=True, max_length=60)
    name: str
    kind: str
    facing: str
    template: str | None = None
    lead_days: int = 2
    approvals: int = 1


class EntryRow(SQLModel, table=True):
    __tablename__ = "calendar_entries"
    id: str = Field(primary_key=True, max_length=80)
    data: dict[str, Any] = _json({})
    source: str = ""
    line: int = 0
    imported_at: datetime


class OverrideRow(SQLModel, table=True):
    """A person's change to one occurrence (skip it, or move it), keyed like the occurrence itself."""

    __tablename__ = "calendar_overrides"
    key: str = Field(primary_key=True, max_length=120)
    entry_id: str = Field(index=True, max_length=80)
    action: str = Field(max_length=10)
    move_to: datetime | None = None
    by: str
    reason: str = _text()
    at: datetime


class FeedRow(SQLModel, table=True):
    __tablename__ = "feeds"
    id: int | None = Field(default=None, primary_key=True)
    url: str = Field(unique=True)
    name: str
    interval_minutes: int = 60
    objectives: list[str] = _json()
    audiences: list[str] = _json()
    include: list[str] = _json()
    exclude: list[str] = _json()
    internal: bool = False
    etag: str | None = None
    last_modified: str | None = None
    final_url: str | None = None
    last_polled_at: datetime | None = None
    last_success_at: datetime | None = None
    last_error: str | None = None
    consecutive_failures: int = 0
    retired: bool = False
    next_poll_at: datetime | None = None
    items_seen: int = 0
    paused: bool = False  # not polled until resumed (0010)


class MessageRow(SQLModel, table=True):
    __tablename__ = "national_messages"
    id: int | None = Field(default=None, primary_key=True)
    guid: str
    link: str = Field(index=True)
    title: str
    summary_html: str = _text()
    published_at: datetime | None = None
    content_hash: str
    first_seen_at: datetime = Field(index=True)
    updated_at: datetime
    objectives: list[str] = _json()
    audiences: list[str] = _json()
    used_in_sent: bool = False
    changed_after_sent: bool = False


class MessageSourceRow(SQLModel, table=True):
    __tablename__ = "message_sources"
    __table_args__ = (UniqueConstraint("feed_id", "key"),)
    id: int | None = Field(default=None, primary_key=True)
    message_id: int = Field(foreign_key="national_messages.id", index=True)
    feed_id: int = Field(foreign_key="feeds.id")
    key: str  # the per-feed dedupe key: guid, else link, else content hash


class EditionRow(SQLModel, table=True):
    __tablename__ = "editions"
    id: int | None = Field(default=None, primary_key=True)
    occurrence_key: str = Field(unique=True, max_length=120)
    entry_id: str = Field(index=True)
    channel: str
    template: str
    status: str  # composed | failed
    subject: str = ""
    preheader: str = ""
    html: str = _text()
    text: str = _text()
    inputs: dict[str, Any] = _json({})
    problems: list[str] = _json()
    composed_at: datetime


class OutboxRow(SQLModel, table=True):
    __tablename__ = "outbox"
    id: int | None = Field(default=None, primary_key=True)
    occurrence_key: str = Field(unique=True, max_length=120)
    edition_id: int | None = Field(default=None, foreign_key="editions.id")
    entry_id: str = Field(index=True)
    channel: str = Field(index=True)
    kind: str  # email | post
    title: str
    subject: str = ""
    body: str = _text()
    html: str = _text()
    link: str | None = None
    audiences: list[str] = _json()
    objectives: list[str] = _json()
    due_at: datetime = Field(index=True)
    missed_after_hours: int = 24
    status: str = Field(index=True)  # draft|awaiting_approval|approved|sent|failed|cancelled|missed
    approval: str = "required"
    approvals_required: int = 1  # distinct approvers needed (`approvals: 2` on the channel)
    content_hash: str
    approved_hash: str | None = None
    approved_by: str | None = None
    approved_at: datetime | None = None
    rejected_by: str | None = None
    created_by: str | None = None  # who composed or queued it ("clock" for the pipeline itself)
    edited_by: str | None = None  # who last changed its text: never its approver
    reason: str | None = None
    last_error: str | None = None
    created_at: datetime
    updated_at: datetime


class DeliveryRow(SQLModel, table=True):
    __tablename__ = "deliveries"
    __table_args__ = (UniqueConstraint("outbox_id", "recipient"),)
    id: int | None = Field(default=None, primary_key=True)
    outbox_id: int = Field(foreign_key="outbox.id", index=True)
    recipient: str  # an address for email, "-" for a post
    audience: str = ""
    status: str = "pending"  # pending | sent | failed | skipped
    attempts: int = 0
    next_attempt_at: datetime | None = None
    external_id: str | None = None
    url: str | None = None
    last_error: str | None = None
    sent_at: datetime | None = None


class SubscriberRow(SQLModel, table=True):
    __tablename__ = "subscribers"
    id: int | None = Field(default=None, primary_key=True)
    email: str = Field(unique=True)
    name: str = ""
    organisation: str = ""
    audiences: list[str] = _json()
    consent_source: str
    consent_date: date
    status: str = "active"  # active | unsubscribed | bounced
    status_changed_at: datetime | None = None
    status_reason: str | None = None
    left_lists: list[str] = _json()  # the lists (email channels' codes) left by their footer's link


class MetricImportRow(SQLModel, table=True):
    """One import of a file of figures. A later import of the same file (the same name over the same
    months, or the same content) replaces this one's figures."""

    __tablename__ = "metric_imports"
    __table_args__ = {"sqlite_autoincrement": True}  # an id is never used twice
    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(index=True)  # the file's name, without its folder
    content_hash: str = Field(max_length=64, index=True)  # sha256 of the file's bytes
    options: str = ""  # how it was read: format, objective, audience, channel
    months: str = ""  # the months its figures fall in, YYYY-MM, comma-separated
    rows: int = 0
    imported_at: datetime
    imported_by: str
    replaced_by: int | None = None  # the later import of the same file that replaced its figures


class MetricRow(SQLModel, table=True):
    __tablename__ = "metrics"
    # AUTOINCREMENT on SQLite: a removed figure's id is never given to another (the audit log names ids)
    # Whole months' totals are kept in metric_month_totals (0015); ix_metrics_read covers the rest of a
    # report's reads of a period (any other period's totals, where each figure came from): from the index
    # alone, never the rows
    __table_args__ = (
        Index("ix_metrics_day_metric", "day", "metric"),
        Index(
            "ix_metrics_read",
            *("day", "objective", "metric", "source", "channel", "account", "audience", "value"),
            *("recorded_at", "gone_at"),
        ),
        {"sqlite_autoincrement": True},
    )
    id: int | None = Field(default=None, primary_key=True)
    day: date
    channel: str = ""
    audience: str = ""
    objective: str = ""
    item_ref: str = ""
    metric: str
    value: float
    source: str
    import_key: str | None = Field(default=None, unique=True)
    import_id: int | None = Field(default=None, foreign_key="metric_imports.id", index=True)
    recorded_by: str = ""  # who added or last corrected it ("" for the pipeline's own counts)
    recorded_at: datetime | None = None  # for a figure pulled from a channel's API: when it was fetched
    account: str = ""  # the account at the source that reported it (a Page id, a handle, a GA4 property)
    gone_at: datetime | None = None  # the post was deleted at the source; its last figures are kept


class MeasurePullRow(SQLModel, table=True):
    """The last pull of each channel's own figures (`comms metrics pull`, the daily measure job)."""

    __tablename__ = "measure_pulls"
    channel: str = Field(primary_key=True, max_length=100)
    account: str = ""
    last_attempt_at: datetime | None = None
    last_success_at: datetime | None = None
    last_error: str = _text()
    posts: int = 0
    figures: int = 0


class LedgerRow(SQLModel, table=True):
    """One row per effect. A wake-up does only what has no `done` row here."""

    __tablename__ = "ledger"
    key: str = Field(primary_key=True, max_length=400)  # send:CHANNEL:ITEM:ADDRESS, an address up to 254
    kind: str = Field(index=True)
    state: str  # started | done | failed
    started_at: datetime
    finished_at: datetime | None = None
    detail: str = ""
    owner: str | None = None  # the process holding a `started` claim (host:pid:nonce)
    lease_until: datetime | None = Field(default=None, index=True)  # wall-clock UTC; expired = recoverable


class JobRunRow(SQLModel, table=True):
    __tablename__ = "job_runs"
    id: int | None = Field(default=None, primary_key=True)
    job: str = Field(index=True)
    started_at: datetime
    finished_at: datetime | None = None
    outcome: str = ""  # ok | failed | partial
    detail: str = _text()
    queue_job_id: int | None = Field(default=None, index=True)  # procrastinate's job: one row per attempt


class ControlEventRow(SQLModel, table=True):
    """Pause and resume, with who, when and why. The latest row is the freeze state."""

    __tablename__ = "control_events"
    id: int | None = Field(default=None, primary_key=True)
    action: str  # pause | resume
    by: str
    at: datetime
    reason: str = ""


class MetricMonthTotalRow(SQLModel, table=True):
    """Each month's sum and row count of `metrics` per group, kept by the database's own triggers
    (migration 0015) in the writing transaction: never written by the application."""

    __tablename__ = "metric_month_totals"
    month: date = Field(primary_key=True)  # the first of the month
    channel: str = Field(primary_key=True)
    audience: str = Field(primary_key=True)
    objective: str = Field(primary_key=True)
    metric: str = Field(primary_key=True)
    total: float
    rows: int


class MetaRow(SQLModel, table=True):
    """Strategy-wide values that have no table of their own: its name, timezone, terms, pre-election."""

    __tablename__ = "meta"
    key: str = Field(primary_key=True, max_length=60)
    value: Any = Field(default=None, sa_column=Column(JSON, nullable=True))


class LockRow(SQLModel, table=True):
    __tablename__ = "locks"
    name: str = Field(primary_key=True, max_length=60)
    holder: str
    heartbeat_at: datetime


class SuppressionRow(SQLModel, table=True):
    """Erased addresses, kept only as a keyed digest (HMAC with COMMS_SECRET_KEY), so an import never
    brings them back and nobody can read them off the list."""

    __tablename__ = "suppressions"
    digest: str = Field(primary_key=True, max_length=64)
    reason: str = ""
    at: datetime


class UserRow(SQLModel, table=True):
    """A member of the comms team: a local account (argon2 password) or one signed in through SSO."""

    __tablename__ = "users"
    id: int | None = Field(default=None, primary_key=True)
    email: str = Field(unique=True, max_length=254)  # stored lower-case: the identity on every record
    name: str = ""
    role: str  # viewer | author | approver | admin
    password_hash: str | None = None  # None: signs in through single sign-on only
    active: bool = True
    source: str = "local"  # local | sso
    created_at: datetime
    last_signin_at: datetime | None = None


class SigninAttemptRow(SQLModel, table=True):
    """Failed sign-ins, by account and by address, for the rate limit shared by every web worker."""

    __tablename__ = "signin_attempts"
    __table_args__ = (Index("ix_signin_attempts_key_at", "key", "at"),)
    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(max_length=300)  # "email:..." or "ip:..."
    at: datetime


class AuditRow(SQLModel, table=True):
    """Append-only (a trigger refuses UPDATE and DELETE): who did what, when, to what."""

    __tablename__ = "audit_log"
    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(index=True)
    actor: str = Field(index=True)
    actor_kind: str  # person | cli | clock | system
    action: str = Field(index=True)  # e.g. item.approved, signin, freeze.paused
    target: str = ""  # e.g. item:12, user:a@b.gov.uk
    detail: str = _text()


class ApprovalRow(SQLModel, table=True):
    """One person's approval of one version (content hash) of an item."""

    __tablename__ = "approvals"
    __table_args__ = (UniqueConstraint("outbox_id", "content_hash", "by"),)
    id: int | None = Field(default=None, primary_key=True)
    outbox_id: int = Field(foreign_key="outbox.id", index=True)
    content_hash: str = Field(max_length=64)
    by: str
    at: datetime


class ItemVersionRow(SQLModel, table=True):
    """Every version of an item's content, as composed and after each edit: what was approved, and what changed."""

    __tablename__ = "item_versions"
    __table_args__ = (UniqueConstraint("outbox_id", "content_hash"),)
    id: int | None = Field(default=None, primary_key=True)
    outbox_id: int = Field(foreign_key="outbox.id", index=True)
    content_hash: str = Field(max_length=64)
    subject: str = ""
    body: str = _text()
    html: str = _text()
    by: str = ""
    at: datetime


class CommentRow(SQLModel, table=True):
    """A comment on an item, kept with the version (content hash) it was about."""

    __tablename__ = "comments"
    id: int | None = Field(default=None, primary_key=True)
    outbox_id: int = Field(foreign_key="outbox.id", index=True)
    content_hash: str = Field(max_length=64)
    by: str
    at: datetime
    text: str = _text()


def table(model: type[SQLModel]) -> Table:
    """The Core table behind a model, for the few hot paths that skip the ORM."""
    return model.__table__  # type: ignore[attr-defined, no-any-return]


class RateBucketRow(SQLModel, table=True):
    """Sends per provider credential (never the secret itself: a digest or an account name) in one
    bucket of a limit's period (a sixtieth of it), shared by every process (`rate_limits`)."""

    __tablename__ = "rate_buckets"
    credential: str = Field(primary_key=True, max_length=100)
    period: int = Field(primary_key=True)  # the limit's period, in seconds
    bucket: int = Field(sa_column=Column(BigInteger, primary_key=True))  # epoch seconds // (period / 60)
    count: int = 0
