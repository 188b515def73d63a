"""The ports, one Protocol each: the channel adapter, the feed fetcher, and each storage concern.

The real code is typed against these, and `tests/contract/test_ports_typed.py` (checked by mypy) holds
a typed assignment per implementation, so an adapter or repository that drifts from its port fails the
type check. Every implementation of a port is also run through the same contract tests (`tests/contract/`).
The outbox and ledger repositories get their Protocols once their new shape (leases) has settled.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, timedelta
from typing import Protocol

from channels.port import ChannelAdapter, ChannelSettings
from content_calendar.models import Entry, Strategy
from pipeline.records import FeedSpec, FeedState, Freeze, JobRun, MetricPoint, NationalMessage, Subscriber

__all__ = [
    "CalendarRepository",
    "ChannelAdapter",
    "ChannelSettings",
    "ControlRepository",
    "FeedFetcher",
    "FeedRepository",
    "FetchResult",
    "MetricsRepository",
    "SubscriberRepository",
]


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

    def import_plan(self, strategy: Strategy, entries: list[Entry], now: datetime) -> None: ...

    def strategy(self) -> Strategy | None:
        """The imported strategy; None before the first import."""
        ...

    def entries(self) -> list[Entry]: ...


class ControlRepository(Protocol):
    """The incident freeze, job runs, and the named locks (the single clock)."""

    def set_freeze(self, paused: bool, by: str, reason: str, now: datetime) -> None: ...

    def freeze(self) -> Freeze: ...

    def start_job(self, job: str, now: datetime) -> int:
        """Records a job run's start; returns its id for `finish_job`."""
        ...

    def finish_job(self, run_id: int, now: datetime, outcome: str, detail: str) -> None: ...

    def last_runs(self) -> list[JobRun]:
        """The most recent run of each job."""
        ...

    def acquire_lock(self, name: str, holder: str, now: datetime, stale_after: timedelta) -> str | None:
        """None when `holder` now has the lock, else who holds it. A heartbeat older than `stale_after`
        is a dead holder's, and is taken over."""
        ...

    def release_lock(self, name: str, holder: str) -> None: ...


class FeedRepository(Protocol):
    """The feed registry, each feed's health and backoff, and the national messages collected."""

    def upsert(self, specs: Iterable[FeedSpec]) -> int: ...

    def remove(self, url: str) -> bool: ...

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

    def mark_messages_used(self, ids: Iterable[int]) -> None: ...

    def messages(self, limit: int = 50) -> list[NationalMessage]: ...


class MetricsRepository(Protocol):
    """Reach metrics, one row per (day, channel, audience, objective, item, metric)."""

    def add(self, points: list[MetricPoint]) -> int:
        """Adds the points whose import_key is not stored yet; returns how many were added."""
        ...

    def totals(self, first: date, last: date) -> list[MetricPoint]: ...

    def between(self, first: date, last: date) -> list[MetricPoint]: ...


class SubscriberRepository(Protocol):
    """Subscribers: an address, a name, an organisation, audiences and consent."""

    def upsert(self, subscribers: list[Subscriber]) -> tuple[int, int]:
        """Adds new addresses and updates known ones; returns (added, updated)."""
        ...

    def all(self, status: str | None = None) -> list[Subscriber]: ...

    def recipients(self, audiences: set[str]) -> list[tuple[str, str, Subscriber]]:
        """Active subscribers in any of `audiences`: (address, the audience matched, subscriber)."""
        ...

    def set_status(self, email: str, status: str, now: datetime, reason: str = "") -> bool: ...

    def erase(self, email: str) -> bool: ...

    def counts(self) -> dict[str, int]: ...
