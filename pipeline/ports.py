"""The ports, one Protocol each: a channel adapter, a feed fetcher, and the store.

Every implementation of a port is run through the same contract tests (`tests/contract/`).
"""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from channels.base import Post, Receipt
from pipeline.records import FeedState, NationalMessage, OutboxItem


class ChannelAdapter(Protocol):
    """One destination. `validate` never sends; `send` publishes once per key.

    - `check()` makes a harmless authenticated call (`comms channels check`), raising ChannelError.
    - `validate(post)` returns the problems that would make the destination refuse the post.
    - `send(post, key)` publishes and returns a Receipt. Sending the same key again must not
      publish twice: the adapter uses the destination's own idempotency where it has one (an
      Idempotency-Key header, a stable Message-ID, a file named by the key).
    - Raises `ChannelError` with `transient=True` for timeouts, 429 and 5xx (retried later), and
      `transient=False` for refusals such as 401/403 or an invalid post (failed at once).
    """

    kind: str

    def check(self) -> str:
        """A harmless call that proves the settings and credentials work; says what it verified."""
        ...

    def validate(self, post: Post) -> list[str]: ...

    def send(self, post: Post, key: str) -> Receipt: ...

    def close(self) -> None: ...


class FeedFetcher(Protocol):
    """Fetches one feed over HTTP, conditionally, within time and size limits.

    Returns the parsed messages (with their per-feed dedupe keys) and the new validators, or None
    for the messages on a 304. Raises `FeedError` with `retry`/`retired` set for failures.
    """

    def fetch(self, feed: FeedState, now: datetime) -> FetchResult: ...


class FetchResult(Protocol):
    status: int
    messages: list[tuple[str, NationalMessage]] | None
    etag: str | None
    last_modified: str | None
    final_url: str | None
    warnings: list[str]


class Store(Protocol):
    """The store's contract as the jobs use it (see `pipeline.storage.store.Store`)."""

    def claim(self, key: str, kind: str, now: datetime) -> str: ...

    def finish(self, key: str, now: datetime, *, ok: bool = True, detail: str = "") -> None: ...

    def items(
        self,
        status: str | None = None,
        channel: str | None = None,
        due_from: datetime | None = None,
        due_to: datetime | None = None,
    ) -> list[OutboxItem]: ...
