"""The ports, one Protocol each: the channel adapter, the feed fetcher, and each storage concern.

The real code is typed against these, and `tests/contract/test_ports_typed.py` (checked by mypy) holds
a typed assignment per implementation, so an adapter or repository that drifts from its port fails the
type check. Every implementation of a port is also run through the same contract tests (`tests/contract/`).

The repositories are gathered in `pipeline.storage.store.Repositories`, whose fields are typed as these
Protocols; the use cases (`pipeline.services`) and the jobs (`pipeline.jobs`) see only the ports.
The words the ports speak in (records, `Claim`, the events) are in `pipeline.records`.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Sequence
from datetime import date, datetime, timedelta
from typing import Any, Protocol, Unpack

from channels.port import ChannelAdapter, ChannelSettings
from content_calendar.models import Entry, Override, Strategy
from pipeline.records import (
    Approval,
    Audited,
    AuditEntry,
    Claim,
    Comment,
    Delivery,
    Edition,
    Event,
    FeedSpec,
    FeedState,
    Figure,
    FigureChange,
    Freeze,
    ImportReplaced,
    ItemLine,
    ItemSettled,
    ItemVersion,
    JobRun,
    MessageOrigin,
    MetricImport,
    MetricPoint,
    NationalMessage,
    NewEdition,
    NewItem,
    OutboxItem,
    Provenance,
    PublishedPost,
    PullState,
    Subscriber,
    User,
)

__all__ = [
    "AdapterLookup",
    "AuditRepository",
    "CalendarRepository",
    "ChannelAdapter",
    "ChannelSettings",
    "ControlRepository",
    "FeedFetcher",
    "FeedRepository",
    "FetchResult",
    "LedgerRepository",
    "MeasureRepository",
    "MetricsRepository",
    "OutboxRepository",
    "SubscriberRepository",
    "UserRepository",
]


AdapterLookup = Callable[[str, str], ChannelAdapter]
"""The adapter of a channel, by its code and kind (`pipeline.context.ChannelAdapters` is the real one)."""


# Feeds ------------------------------------------------------------------------------------------


class FetchResult(Protocol):
    status: int
    messages: list[tuple[str, NationalMessage]] | None
    etag: str | None
    last_modified: str | None
    final_url: str | None
    warnings: list[str]


class FeedFetcher(Protocol):
    """Fetches one feed over HTTP, conditionally, within time and size limits.

    Returns the parsed messages (with their per-feed dedupe keys) and the new validators, or None
    for the messages on a 304. Raises `FeedError` with `retry`/`retired` set for failures.
    """

    def fetch(self, feed: FeedState, now: datetime) -> FetchResult: ...


# Storage, one concern each ----------------------------------------------------------------------


class CalendarRepository(Protocol):
    """The imported strategy and calendar, replaced whole in one transaction or not at all."""

    def import_plan(
        self,
        strategy: Strategy,
        entries: list[Entry],
        now: datetime,
        *,
        expect_digest: str | None = None,
        audit: Audited | None = None,
    ) -> None:
        """Replace the plan; with `expect_digest`, only while the stored entries still have that
        `plan_digest` (else `PlanChanged`). `audit` is written in the same transaction."""
        ...

    def strategy(self) -> Strategy | None:
        """The imported strategy; None before the first import."""
        ...

    def entries(self) -> list[Entry]: ...

    def version(self) -> str | None:
        """Changes whenever the plan is imported; None before the first import."""
        ...

    def overrides(self) -> dict[str, Override]:
        """Every skip and move of one occurrence, by the occurrence's key."""
        ...

    def save_override(self, override: Override, audit: Audited | None = None) -> None:
        """Record or replace one occurrence's override, with its audit entry, in one transaction."""
        ...

    def remove_override(self, key: str, audit: Audited | None = None) -> bool: ...


class ControlRepository(Protocol):
    """The incident freeze, job runs, and the named locks (the single clock)."""

    def set_freeze(self, paused: bool, by: str, reason: str, now: datetime) -> None: ...

    def freeze(self) -> Freeze: ...

    def start_job(self, job: str, now: datetime, queue_job_id: int | None = None) -> int:
        """Records a job run's start (with the queue's job id, when a queue worker runs it); returns its
        id for `finish_job`."""
        ...

    def finish_job(self, run_id: int, now: datetime, outcome: str, detail: str) -> None: ...

    def last_runs(self) -> list[JobRun]:
        """The most recent run of each job."""
        ...

    def queue_job_runs(self, queue_job_id: int, limit: int = 20) -> list[JobRun]:
        """The runs of one queued job (one per attempt), newest first."""
        ...

    def acquire_lock(
        self, name: str, holder: str, now: datetime, stale_after: timedelta, *, take: bool = True
    ) -> str | None:
        """None when `holder` now has the lock, else who holds it. A heartbeat older than `stale_after`
        is a dead holder's, and is taken over; with `take=False` a holder only refreshes a lock that is
        still its own (a heartbeat)."""
        ...

    def release_lock(self, name: str, holder: str) -> None: ...


class FeedRepository(Protocol):
    """The feed registry, each feed's health and backoff, and the national messages collected."""

    def upsert(self, specs: Iterable[FeedSpec], *, revive: bool = False) -> int:
        """Add or update feeds by URL; with `revive`, a removed feed of the same URL is polled again."""
        ...

    def remove(self, url: str) -> bool: ...

    def set_paused(self, url: str, paused: bool) -> bool:
        """Pause or resume polling a feed; False if no feed (not removed) has this URL."""
        ...

    def all(self) -> list[FeedState]: ...

    def due(self, now: datetime) -> list[FeedState]: ...

    def record_fetch(
        self,
        feed_id: int,
        now: datetime,
        *,
        ok: bool,
        error: str | None = None,
        etag: str | None = None,
        last_modified: str | None = None,
        final_url: str | None = None,
        retired: bool = False,
        retry_after: float | None = None,
    ) -> None:
        """A poll's outcome: failures back off exponentially (at most a day, at least `retry_after`)."""
        ...

    def record_not_modified(self, feed_ids: list[int], now: datetime) -> None: ...

    def save_messages(
        self, feed_id: int, messages: list[tuple[str, NationalMessage]], now: datetime
    ) -> tuple[int, int]:
        """Stores a feed's messages by their dedupe keys; returns (new, changed)."""
        ...

    def messages_for(
        self, audiences: set[str], objectives: set[str], since: datetime | None, limit: int = 6
    ) -> list[NationalMessage]: ...

    def messages_by_link(self, links: Iterable[str]) -> list[NationalMessage]:
        """The stored messages with these links, whatever their age (what a calendar entry pins)."""
        ...

    def mark_messages_used(self, ids: Iterable[int]) -> None: ...

    def messages(self, limit: int = 50) -> list[NationalMessage]: ...

    def origins(self, ids: Iterable[int]) -> dict[int, MessageOrigin]:
        """The stored messages with these ids, each with its feeds and when it was fetched and changed;
        an id no longer stored is left out."""
        ...


class MetricsRepository(Protocol):
    """Reach metrics, one row per (day, channel, audience, objective, item, metric), and the imports
    that added them. `audit` makes the audit record of a change, written in the change's transaction."""

    def add(self, points: list[MetricPoint]) -> int:
        """Adds the points whose import_key is not stored yet; returns how many were added."""
        ...

    def totals(self, first: date, last: date) -> list[MetricPoint]: ...

    def between(self, first: date, last: date) -> list[MetricPoint]: ...

    def figures(
        self,
        *,
        first: date | None = None,
        last: date | None = None,
        objective: str | None = None,
        metric: str | None = None,
        source: str | None = None,
        limit: int | None = None,
    ) -> list[Figure]:
        """Stored figures with their ids, by day (the first `limit`); `source` also matches the name of
        an imported file."""
        ...

    def figure(self, figure_id: int) -> Figure | None: ...

    def put(
        self,
        point: MetricPoint,
        *,
        key: str,
        add: bool,
        at: datetime,
        by: str,
        audit: Callable[[FigureChange], Audited] | None = None,
    ) -> FigureChange:
        """Sets the one figure of the point's month, source, objective, metric, channel and audience
        (or adds to it, with `add`); `key` is that figure's unique key."""
        ...

    def correct(
        self,
        figure_id: int,
        value: float,
        *,
        at: datetime,
        by: str,
        audit: Callable[[FigureChange], Audited] | None = None,
    ) -> FigureChange:
        """Sets one figure's value; NotFound if there is no such figure."""
        ...

    def remove(self, figure_id: int, *, audit: Callable[[FigureChange], Audited] | None = None) -> FigureChange:
        """Removes one figure; NotFound if there is no such figure."""
        ...

    def imports(self, name: str | None = None) -> list[MetricImport]: ...

    def replace_import(
        self,
        *,
        name: str,
        content_hash: str,
        options: str,
        points: list[MetricPoint],
        at: datetime,
        by: str,
        audit: Callable[[ImportReplaced], Audited] | None = None,
    ) -> ImportReplaced:
        """Stores a file's figures as one import, removing first what earlier imports of the same file
        (the same content, or the same name over any of the same months) added."""
        ...


class MeasureRepository(Protocol):
    """Figures measured at the source (`pipeline.storage.measure_store`): the posts to measure, each
    pulled figure kept once per (channel, post, objective, metric) by its import_key, deleted posts
    marked, clicks counted, and the last pull of each channel."""

    def published(self, *, since: date | None = None, channels: Sequence[str] | None = None) -> list[PublishedPost]:
        """Posts the pipeline published, with the destination's id, oldest first."""
        ...

    def store_measured(self, points: Sequence[MetricPoint], *, at: datetime) -> tuple[int, int]:
        """Each point the one figure of its import_key, new or replaced; returns (added, replaced)."""
        ...

    def mark_gone(self, channel: str, item_refs: Iterable[str], *, at: datetime) -> int: ...

    def count(self, points: Sequence[MetricPoint], *, at: datetime) -> None:
        """Adds each point's value to the figure of its import_key, atomically."""
        ...

    def provenance(self, first: date, last: date) -> list[Provenance]: ...

    def pull_states(self) -> list[PullState]: ...

    def record_pull(
        self, channel: str, account: str, *, at: datetime, ok: bool, error: str = "", posts: int = 0, figures: int = 0
    ) -> None: ...


class SubscriberRepository(Protocol):
    """Subscribers: an address, a name, an organisation, audiences and consent."""

    def upsert(self, subscribers: list[Subscriber], saved: Callable[[int], None] | None = None) -> tuple[int, int]:
        """Adds new addresses and updates known ones, in one transaction; returns (added, updated).
        `saved` (a progress report) is told how many rows are done as it goes."""
        ...

    def all(self, status: str | None = None) -> list[Subscriber]: ...

    def find(self, email: str) -> Subscriber | None:
        """The subscriber with this address (any case), or None."""
        ...

    def emails(self) -> set[str]:
        """Every stored address (as stored: lower case)."""
        ...

    def recipients(self, audiences: set[str], list_code: str | None = None) -> list[tuple[str, str, Subscriber]]:
        """Active subscribers in any of `audiences` who have not left the list `list_code` (an email
        channel's code): (address, the audience matched, subscriber)."""
        ...

    def recipients_among(
        self, audiences: set[str], emails: list[str], list_code: str | None = None
    ) -> list[tuple[str, str, Subscriber]]:
        """`recipients`, only among these addresses."""
        ...

    def audience_counts(self, audiences: set[str], list_code: str | None = None) -> dict[str, int]:
        """How many active subscribers `recipients(audiences, list_code)` would return, by the audience
        matched (audiences nobody matched are absent). Counted in the database, without reading each one."""
        ...

    def leave_list(self, email: str, list_code: str) -> Subscriber | None:
        """Takes the address off one list, whatever its audiences; None if the address is not on file."""
        ...

    def rejoin_list(self, email: str, list_code: str) -> Subscriber | None:
        """Puts the address back on a list it left; None if the address is not on file."""
        ...

    def set_status(self, email: str, status: str, now: datetime, reason: str = "") -> bool: ...

    def erase(self, email: str, digest: str, now: datetime, reason: str = "") -> bool:
        """Deletes the subscriber, suppresses `digest`, and has every other concern replace its copies of
        the address (deliveries, ledger keys, error texts), all in one transaction; False if unknown."""
        ...

    def suppressed(self, digests: Collection[str]) -> set[str]:
        """Which of these keyed digests belong to erased addresses."""
        ...

    def unsuppress(self, digest: str) -> bool: ...

    def counts(self) -> dict[str, int]: ...


class OutboxRepository(Protocol):
    """Editions, the outbox items and their life cycle, and each item's per-recipient deliveries.

    Which moves are allowed is decided by the caller (`pipeline.services.outbox`, the dispatcher);
    the repository writes them, conditionally on the status the caller read. Raises `NotFound` for
    an unknown item and `Conflict` when the item's status changed meanwhile. The dispatcher's writes
    (`record_attempt`, `settle`) publish the events that the other concerns handle, in the same
    transaction.
    """

    # editions
    def save_edition(self, **values: Unpack[NewEdition]) -> Edition:
        """Stores the occurrence's edition, replacing the one composed for it before."""
        ...

    def edition(self, edition_id: int) -> Edition | None: ...

    def edition_inputs(self, edition_id: int) -> dict[str, Any]:
        """The JSON inputs the edition was rendered from (empty for an unknown edition)."""
        ...

    def last_edition(self, entry_id: str, before: str) -> Edition | None:
        """The entry's latest composed edition other than the occurrence `before`."""
        ...

    def list_history(self, channel: str, before: str, since: datetime) -> list[dict[str, Any]]:
        """The inputs of the channel's editions composed since `since` (other than the occurrence
        `before`) whose items were not cancelled or missed: what the list had or has on its way."""
        ...

    def editions(self, limit: int = 100) -> list[Edition]:
        """The latest editions, newest first."""
        ...

    # items
    def add_item(self, now: datetime, **values: Unpack[NewItem]) -> OutboxItem:
        """Queues an item once per occurrence; an item already queued for the occurrence is returned
        as it is. An auto-approved item awaiting approval is approved at once."""
        ...

    def item(self, item_id: int) -> OutboxItem | None: ...

    def items(
        self,
        status: str | None = None,
        channel: str | None = None,
        due_from: datetime | None = None,
        due_to: datetime | None = None,
    ) -> list[OutboxItem]:
        """Items by due time, filtered; `due_to` is exclusive."""
        ...

    def lines(
        self,
        status: str | Collection[str],
        due_to: datetime | None = None,
        *,
        latest_first: bool = False,
        limit: int | None = None,
    ) -> list[ItemLine]:
        """The items in `status` (one or several) by due time, the latest first if asked, due before
        `due_to` if given, at most `limit` of them; without their content."""
        ...

    def items_for_occurrences(self, keys: Collection[str]) -> dict[str, tuple[int, str]]:
        """The item (id, status) composed for each of these occurrence keys; keys without one left out."""
        ...

    def status_counts(self) -> dict[str, int]:
        """How many items are in each status (statuses with none are absent)."""
        ...

    def transition(
        self,
        item_id: int,
        to: str,
        now: datetime,
        *,
        by: str | None = None,
        reason: str | None = None,
        allowed_from: Collection[str] = (),
        audit: Audited | None = None,
    ) -> OutboxItem:
        """Writes an item's new status with who and when, if it is still in `allowed_from` (Conflict
        otherwise); approving records the approved text, going back to draft or awaiting approval
        drops the approval. `audit` is written to the audit log in the same transaction."""
        ...

    def approve(
        self,
        item_id: int,
        seen_hash: str,
        by: str,
        now: datetime,
        *,
        allowed_from: Collection[str],
        audit: Audited | None = None,
    ) -> tuple[OutboxItem, tuple[Approval, ...]]:
        """Records `by`'s approval of the version `seen_hash` (Conflict if the content or status changed);
        with as many distinct approvals of it as the item requires, the item is approved, bound to it."""
        ...

    def approvals(self, item_id: int, content_hash: str | None = None) -> tuple[Approval, ...]:
        """The approvals of one version of the item, its current one by default."""
        ...

    def current_approvals(self, item_ids: Collection[int]) -> dict[int, tuple[Approval, ...]]:
        """The approvals of each item's current version, in one read (items with none are absent)."""
        ...

    def versions(self, item_id: int) -> tuple[ItemVersion, ...]:
        """Every version of the item's content, oldest first."""
        ...

    def add_comment(self, item_id: int, content_hash: str, by: str, text: str, now: datetime) -> Comment: ...

    def comments(self, item_id: int) -> tuple[Comment, ...]: ...

    def edit_item(
        self,
        item_id: int,
        now: datetime,
        changes: dict[str, str],
        *,
        by: str,
        status: str,
        allowed_from: Collection[str] = (),
        edition: tuple[int, dict[str, Any]] | None = None,
        audit: Audited | None = None,
    ) -> OutboxItem:
        """Writes an item's new content (keeping the version), who edited it and the status the caller
        decided; an item not left approved loses its approval. With `edition` (id, new inputs) the
        edition is rewritten in the same transaction."""
        ...

    # deliveries
    def ensure_deliveries(self, item_id: int, recipients: list[tuple[str, str]]) -> None:
        """A pending delivery per (recipient, audience) not yet known for the item; safe to run in two
        processes at once."""
        ...

    def deliveries(
        self,
        item_id: int,
        status: str | None = None,
        recipients: list[str] | None = None,
        ids: tuple[int, int] | None = None,
    ) -> list[Delivery]: ...

    def has_pending(self, item_id: int) -> bool:
        """Whether any of the item's deliveries is still pending."""
        ...

    def record_attempt(
        self,
        key: str,
        delivery_id: int,
        status: str,
        now: datetime,
        *,
        ledger: str | None,
        detail: str = "",
        error: str | None = None,
        external_id: str | None = None,
        url: str | None = None,
        next_attempt_at: datetime | None = None,
        also: tuple[Event, ...] = (),
    ) -> None:
        """After one send attempt, in one transaction: the delivery's new state, the ledger claim on
        `key` settled (`ledger` "done" or "failed") or released for a retry (`ledger` None), and the
        events in `also` (a refused recipient)."""
        ...

    def settle(
        self, item_id: int, to: str, now: datetime, *, reason: str | None, event: ItemSettled | None = None
    ) -> bool:
        """Moves an approved item to sent, failed or missed, publishing `event` in the same
        transaction. Only one process makes the move: False if the item was no longer approved."""
        ...

    def sync_sent(self, item_id: int, key_prefix: str, now: datetime, recipients: list[str] | None = None) -> int:
        """Marks pending deliveries sent whose ledger key (`key_prefix` + recipient) is done (only these
        `recipients`', if given); returns how many."""
        ...

    def reset_failed_deliveries(self, item_id: int) -> int:
        """Failed deliveries made pending again, to be retried; returns how many."""
        ...


class UserRepository(Protocol):
    """The comms team's accounts (by lower-case email) and failed sign-ins (by key, for the rate limit)."""

    def add_user(self, email: str, name: str, role: str, password_hash: str | None, source: str, now: datetime) -> User:
        """Conflict if the email is taken."""
        ...

    def user(self, email: str) -> User | None: ...

    def password_hash(self, email: str) -> str | None: ...

    def users(self, role: str | None = None, active_only: bool = False) -> list[User]: ...

    def count_users(self) -> int: ...

    def update_user(self, email: str, **changes: object) -> User:
        """NotFound for an unknown email."""
        ...

    def failed_signin(self, keys: list[str], now: datetime) -> None: ...

    def failed_signins(self, key: str, since: datetime) -> int: ...

    def forget_signins(self, key: str | None = None, before: datetime | None = None) -> None: ...


class AuditRepository(Protocol):
    """The append-only audit log."""

    def record(self, entry: Audited) -> None: ...

    def entries(
        self,
        *,
        actor: str | None = None,
        action: str | None = None,
        target: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        limit: int | None = 100,
        offset: int = 0,
    ) -> tuple[list[AuditEntry], int]:
        """Newest first, and the number matching in all; `action` matches a prefix."""
        ...


class LedgerRepository(Protocol):
    """The effects ledger: one row per effect key (a send, a compose, a report), which decides what is
    due and what is done.

    A claim is held by its `owner` (one process) under a `lease` measured on `clock` (the wall clock,
    apart from the `now` a job acts as of). While a lease is alive nobody else acts on the key; an
    expired or released claim is recovered by the next claimant (`Claim.RECOVERED`: the earlier
    attempt may have landed, so the channel's own idempotency decides).
    """

    @property
    def owner(self) -> str:
        """This process's name on its claims."""
        ...

    @property
    def lease(self) -> timedelta:
        """How long a claim stays this process's without being renewed."""
        ...

    @property
    def clock(self) -> Callable[[], datetime]:
        """The wall clock the leases are measured on."""
        ...

    def state(self, key: str) -> str | None:
        """started, done or failed; None for a key never claimed."""
        ...

    def states_for(self, keys: list[str]) -> dict[str, str]:
        """The states of these keys; keys never claimed are left out."""
        ...

    def claim(self, key: str, kind: str, now: datetime, *, retry_failed: bool = False) -> Claim:
        """Claims one effect for this process (see `claim_many`)."""
        ...

    def claim_many(self, keys: list[str], kind: str, now: datetime, *, retry_failed: bool = False) -> dict[str, Claim]:
        """Claims effects for this process under a lease: new keys are made, expired or released
        claims taken over (failed ones too with `retry_failed`); each key says what was found, and
        only `Claim.go` ones are this process's to attempt."""
        ...

    def release(self, keys: Iterable[str]) -> None:
        """Gives up this process's live claims on these keys: the next claimant recovers them at once."""
        ...

    def renew(self, keys: Iterable[str]) -> set[str]:
        """Extends this process's leases on these keys; returns the keys it still holds."""
        ...

    def finish(self, key: str, now: datetime, *, ok: bool = True, detail: str = "") -> None:
        """Marks an effect done (or failed, with `ok=False`) and drops its lease. KeyError for a key
        never claimed."""
        ...

    def finish_fast(self, key: str, now: datetime, detail: str = "") -> None:
        """Marks one effect done and commits at once: the per-recipient hot path. Safe to call from
        several threads."""
        ...

    def close(self) -> None:
        """Closes the connections `finish_fast` kept for its threads (after a dispatch run)."""
        ...
