"""Frozen records that cross boundaries between storage, jobs and channels. Rows never leave storage.

Also the words the ports speak in: a ledger claim's answer (`Claim`), the events one concern's change
publishes for another (`Event`), and the values a new outbox item or edition is written with.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum
from typing import Any, Required, TypedDict


class ItemStatus(StrEnum):
    """An outbox item's life cycle. The values are the strings stored in the database."""

    DRAFT = "draft"
    AWAITING_APPROVAL = "awaiting_approval"
    APPROVED = "approved"
    SENT = "sent"
    FAILED = "failed"
    CANCELLED = "cancelled"
    MISSED = "missed"


class DeliveryStatus(StrEnum):
    """One recipient's delivery of an item."""

    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"
    SKIPPED = "skipped"


@dataclass(frozen=True)
class FeedSpec:
    url: str
    name: str
    interval_minutes: int = 60
    objectives: tuple[str, ...] = ()
    audiences: tuple[str, ...] = ()
    include: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    internal: bool = False  # an intranet feed: its own host may be on a private address


@dataclass(frozen=True)
class FeedState:
    id: int
    spec: FeedSpec
    etag: str | None
    last_modified: str | None
    final_url: str | None
    last_polled_at: datetime | None
    last_success_at: datetime | None
    last_error: str | None
    consecutive_failures: int
    retired: bool
    next_poll_at: datetime | None
    items_seen: int
    paused: bool = False  # by a person: not polled until resumed


@dataclass(frozen=True)
class NationalMessage:
    guid: str
    link: str
    title: str
    summary_html: str  # already sanitised
    published_at: datetime | None
    content_hash: str
    objectives: tuple[str, ...] = ()
    audiences: tuple[str, ...] = ()
    id: int | None = None
    changed_after_sent: bool = False


@dataclass(frozen=True)
class MessageOrigin:
    """A stored national message as it is now, with where it came from: the feeds that carry it, when
    it was first fetched, and when its content last changed at the source."""

    message: NationalMessage
    feeds: tuple[str, ...]
    first_seen_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class Edition:
    id: int
    occurrence_key: str
    entry_id: str
    channel: str
    template: str
    status: str
    subject: str
    preheader: str
    html: str
    text: str
    composed_at: datetime
    problems: tuple[str, ...] = ()


@dataclass(frozen=True)
class OutboxItem:
    id: int
    occurrence_key: str
    entry_id: str
    channel: str
    kind: str  # email | post
    title: str
    subject: str
    body: str
    html: str
    link: str | None
    audiences: tuple[str, ...]
    objectives: tuple[str, ...]
    due_at: datetime
    missed_after_hours: int
    status: str
    approval: str
    approved_by: str | None
    approved_at: datetime | None
    edition_id: int | None = None
    reason: str | None = None
    last_error: str | None = None
    created_by: str | None = None  # who queued it; "clock" or None when the pipeline composed it
    edited_by: str | None = None  # who last changed its text: never its approver (four eyes)
    content_hash: str = ""  # of what will be sent: subject, text and HTML
    approved_hash: str | None = None  # the content hash that was approved; a send of anything else is refused
    approvals_required: int = 1

    @property
    def approval_current(self) -> bool:
        """Approved, and approved for exactly the content it now holds."""
        return self.approved_hash is not None and self.approved_hash == self.content_hash


@dataclass(frozen=True)
class ItemLine:
    """An outbox item as a list shows it, without its content (subject, text, HTML, audiences): cheap to
    read by the thousand, for the approval queue."""

    id: int
    entry_id: str
    channel: str
    kind: str
    title: str
    due_at: datetime
    status: str
    missed_after_hours: int
    approvals_required: int
    created_by: str | None
    edited_by: str | None
    content_hash: str


@dataclass(frozen=True)
class Delivery:
    id: int
    outbox_id: int
    recipient: str
    audience: str
    status: str
    attempts: int
    external_id: str | None
    url: str | None
    last_error: str | None
    sent_at: datetime | None
    next_attempt_at: datetime | None = None


@dataclass(frozen=True)
class Subscriber:
    email: str
    name: str
    organisation: str
    audiences: tuple[str, ...]
    consent_source: str
    consent_date: date
    status: str = "active"
    id: int | None = None
    left_lists: tuple[str, ...] = ()  # lists (email channels) left one at a time; the others still come


@dataclass(frozen=True)
class MetricPoint:
    day: date
    metric: str
    value: float
    source: str
    channel: str = ""
    audience: str = ""
    objective: str = ""
    item_ref: str = ""
    import_key: str | None = None
    count: int = 1  # rows summed into `value` (aggregated totals carry more than one)
    account: str = ""  # the account at the source that reported it (a Page id, a handle, a property)


HAND = "by hand"  # the source of a figure entered with `comms metrics add`
PIPELINE = "pipeline"  # the source of the pipeline's own counts of its sends
MEASURED = "api"  # the source of a figure a channel's own API reported (`comms metrics pull`)
LINK_CLICKS = "link clicks"  # the source of clicks counted by the web workspace's /r/ redirect


@dataclass(frozen=True)
class Figure:
    """One stored figure, with its id: what `comms metrics list` shows and `correct`/`remove` name."""

    id: int
    day: date
    metric: str
    value: float
    source: str
    channel: str = ""
    audience: str = ""
    objective: str = ""
    item_ref: str = ""
    import_id: int | None = None
    recorded_by: str = ""
    recorded_at: datetime | None = None  # for a measured figure: when it was fetched
    account: str = ""
    gone_at: datetime | None = None  # the post was deleted at the source: its last figures are kept

    @property
    def month(self) -> str:
        return f"{self.day:%Y-%m}"


@dataclass(frozen=True)
class Provenance:
    """Where the figures of one (objective, metric) in a period came from, and how fresh they are: one
    per source, channel and account. `newest`/`oldest` are when they were recorded (fetched, for a
    channel's API; None for the pipeline's own counts, made as it sent)."""

    objective: str
    metric: str
    source: str
    channel: str
    account: str
    figures: int
    newest: datetime | None
    oldest: datetime | None
    gone: int = 0  # figures of posts since deleted at the source


@dataclass(frozen=True)
class PullState:
    """The last pull of a channel's figures (`comms metrics pull`, the clock's daily measure job)."""

    channel: str
    account: str
    last_attempt_at: datetime | None
    last_success_at: datetime | None
    last_error: str
    posts: int
    figures: int


@dataclass(frozen=True)
class PublishedPost:
    """A post the pipeline published, to be measured: its item, channel, the destination's id."""

    item_id: int
    channel: str
    external_id: str
    sent_at: datetime
    day: date
    audience: str
    objectives: tuple[str, ...]


@dataclass(frozen=True)
class FigureChange:
    """A figure as it is after a change (or as it was, when removed), and its value before."""

    figure: Figure
    previous: float | None  # None: there was no such figure
    merged: int = 0  # other rows of the same figure folded into this one (duplicates from before 0007)


@dataclass(frozen=True)
class MetricImport:
    """One import of a file of figures."""

    id: int
    name: str
    content_hash: str
    options: str
    months: tuple[str, ...]
    rows: int
    imported_at: datetime
    imported_by: str


@dataclass(frozen=True)
class ImportReplaced:
    """An import stored, and what it replaced: earlier imports of the same file and their figures."""

    done: MetricImport
    replaced: tuple[MetricImport, ...]
    removed: int  # figures removed: the earlier imports', and any from before imports were recorded
    same: bool  # the figures stored are exactly those removed (the same file read the same way)


@dataclass(frozen=True)
class Freeze:
    paused: bool
    by: str = ""
    at: datetime | None = None
    reason: str = ""


@dataclass(frozen=True)
class JobRun:
    job: str
    started_at: datetime
    finished_at: datetime | None
    outcome: str
    detail: str


NOT_DONE = frozenset({"failed", "missed", "held", "feeds"})


@dataclass(frozen=True)
class Outcome:
    """What one job run did: counts by kind, and the failures it collected while carrying on."""

    counts: dict[str, int] = field(default_factory=dict)
    failures: tuple[str, ...] = ()

    @property
    def status(self) -> str:
        """ok; partial when something was done beside the failures; failed when nothing was (a count of
        failures, of items held or missed, or of feeds polled is not something done)."""
        done = any(value for kind, value in self.counts.items() if kind not in NOT_DONE)
        return "ok" if not self.failures else ("partial" if done else "failed")

    def summary(self) -> str:
        parts = [f"{k}={v}" for k, v in self.counts.items()]
        if self.failures:
            parts.append(f"failures={len(self.failures)}")
        return " ".join(parts) or "nothing to do"


# The ledger -------------------------------------------------------------------------------------


class Claim(StrEnum):
    """What a ledger claim found. Compares equal to the ledger's own words where they coincide."""

    NEW = "new"  # this call created the row: nobody has tried it
    RECOVERED = "started"  # an earlier attempt left it unfinished (crashed or deferred): it may have landed
    DONE = "done"
    FAILED = "failed"
    BUSY = "busy"  # another live process holds it: leave it alone

    @property
    def go(self) -> bool:
        return self in (Claim.NEW, Claim.RECOVERED)


# Events: what one concern's change means for another (published by the outbox, handled by the
# repository that owns each table; wired in `pipeline.storage.store.Repositories`) -----------------


@dataclass(frozen=True)
class EffectSettled:
    """A claimed effect finished: `state` is done or failed."""

    key: str
    state: str
    at: datetime
    detail: str = ""


@dataclass(frozen=True)
class EffectsReopened:
    """Failed effects a person asked to try again (`comms queue retry`): claimable once more."""

    keys: tuple[str, ...]


@dataclass(frozen=True)
class EffectReleased:
    """A claimed effect will be tried again later, by any process."""

    key: str


@dataclass(frozen=True)
class RecipientRefused:
    """The destination refused an address for good (a hard bounce)."""

    address: str
    at: datetime
    reason: str


@dataclass(frozen=True)
class ItemSettled:
    """An outbox item has no delivery left pending: its figures and the messages it carried."""

    item_id: int
    status: str
    at: datetime
    figures: tuple[MetricPoint, ...]
    used_messages: tuple[int, ...]


@dataclass(frozen=True)
class SubscriberErased:
    """An address was erased: every other concern replaces its copies with `alias` (built from a keyed
    digest), in the same transaction as the erasure."""

    address: str
    alias: str


@dataclass(frozen=True)
class Audited:
    """Something a person (or the pipeline) did, to be written to the append-only audit log in the same
    transaction as the change itself."""

    at: datetime
    actor: str
    actor_kind: str
    action: str
    target: str = ""
    detail: str = ""


Event = SubscriberErased | Audited | EffectSettled | EffectReleased | EffectsReopened | RecipientRefused | ItemSettled


# What a new outbox item or edition is written with (keyword arguments, checked by mypy) ----------


class NewItem(TypedDict, total=False):
    """An outbox item to queue (`OutboxRepository.add_item`); the rest of its fields start empty."""

    occurrence_key: Required[str]
    entry_id: Required[str]
    channel: Required[str]
    kind: Required[str]  # email | post
    title: Required[str]
    due_at: Required[datetime]
    status: Required[str]
    subject: str
    body: str
    html: str
    link: str | None
    audiences: list[str]
    objectives: list[str]
    missed_after_hours: int
    approval: str  # required | auto
    edition_id: int | None
    reason: str | None
    created_by: str | None
    approved_by: str | None  # with status approved: an entry marked for auto-approval ("auto")
    approvals_required: int


@dataclass(frozen=True)
class User:
    """A member of the comms team. `email` (lower-case) is the name recorded on everything they do."""

    id: int
    email: str
    name: str
    role: str
    active: bool
    has_password: bool
    source: str
    created_at: datetime
    last_signin_at: datetime | None = None

    @property
    def display(self) -> str:
        return self.name or self.email


@dataclass(frozen=True)
class AuditEntry:
    id: int
    at: datetime
    actor: str
    actor_kind: str
    action: str
    target: str
    detail: str


@dataclass(frozen=True)
class Approval:
    outbox_id: int
    content_hash: str
    by: str
    at: datetime


@dataclass(frozen=True)
class ItemVersion:
    outbox_id: int
    content_hash: str
    subject: str
    body: str
    html: str
    by: str
    at: datetime


@dataclass(frozen=True)
class Comment:
    id: int
    outbox_id: int
    content_hash: str
    by: str
    at: datetime
    text: str


class NewEdition(TypedDict):
    """A composed (or failed) edition (`OutboxRepository.save_edition`), replacing the occurrence's last."""

    occurrence_key: str
    entry_id: str
    channel: str
    template: str
    status: str  # composed | failed
    subject: str
    preheader: str
    html: str
    text: str
    inputs: dict[str, Any]  # JSON: what it was rendered from
    problems: list[str]
    composed_at: datetime
