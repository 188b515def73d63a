"""Measuring what was published: the records a `Measurer` returns, and what every measuring adapter
shares: batches, the pause a rate limit asks for, and answers that are not what they claim to be.

An adapter reports each post's lifetime figures under the pipeline's metric names (impressions, reach,
engagements, clicks, reactions, comments, shares, page_views, downloads). A post the destination says
no longer exists is `gone`: its last stored figures are kept. A fault (an expired token, a revoked
permission, a rate limit that outlasts our patience, a page that ends early, an HTML answer) is a
problem recorded against the channel: the posts already measured keep their figures, and nothing is
counted twice, since a figure is the destination's lifetime count, stored once per post.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

import requests

from channels.base import ChannelError

T = TypeVar("T")
MAX_WAIT = 120.0  # the longest Retry-After a pull waits for; a longer one ends the channel's pull for today
ATTEMPTS = 4  # tries of one call through 429s and 5xx


@dataclass(frozen=True)
class PostFigures:
    """One post's lifetime figures, by metric; `gone`: deleted at the source (no figures)."""

    external_id: str
    figures: Mapping[str, float] = field(default_factory=dict)
    gone: bool = False


@dataclass(frozen=True)
class Measurement:
    """What one pull of a channel found: figures per post (or per month, for a web analytics
    property), and the problems met on the way, each a clear sentence naming the channel."""

    results: tuple[PostFigures, ...] = ()
    problems: tuple[str, ...] = ()
    requests: int = 0  # calls made, for the benchmark's requests per post
    fatal: bool = False  # the pull stopped (a refused token, say): its last success is not moved


def batches(items: Sequence[T], size: int) -> Iterator[Sequence[T]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


def json_body(channel: str, response: requests.Response) -> Any:
    """The JSON of an answer, or a ChannelError saying what came instead (an HTML sign-in or maintenance
    page, say, which some gateways send with status 200)."""
    kind = response.headers.get("Content-Type", "")
    try:
        return response.json()
    except ValueError:
        pass
    what = "an HTML page" if "html" in kind or response.text.lstrip()[:1] == "<" else f"{kind or 'no content type'}"
    raise ChannelError(
        channel,
        f"answered with {what} instead of JSON (HTTP {response.status_code}); a proxy, sign-in or maintenance page?",
        transient=True,
    )


class Patience:
    """Calls repeated through rate limits and server faults, never sooner than the destination asks
    (Retry-After, X's reset time), with backoff otherwise; a wait longer than `max_wait` is not waited
    for. `sleep` is a parameter so tests and the benchmark can count the time instead of spending it."""

    def __init__(
        self,
        sleep: Callable[[float], None] = time.sleep,
        max_wait: float = MAX_WAIT,
        attempts: int = ATTEMPTS,
    ) -> None:
        self.sleep, self.max_wait, self.attempts = sleep, max_wait, attempts
        self.calls = 0
        self.waited = 0.0

    def again(self) -> Patience:
        """The same patience, counting afresh (one per channel when channels are asked at once)."""
        return Patience(self.sleep, self.max_wait, self.attempts)

    def run(self, call: Callable[[], T]) -> T:
        for attempt in range(self.attempts):
            self.calls += 1
            try:
                return call()
            except ChannelError as exc:
                if not exc.transient or attempt == self.attempts - 1:
                    raise
                wait = exc.retry_after if exc.retry_after is not None else min(30.0, 2.0 * 2**attempt)
                if wait > self.max_wait:
                    raise ChannelError(
                        exc.channel,
                        f"{str(exc).removeprefix(exc.channel + ': ')}; it asks us to wait {wait:.0f} s, "
                        "longer than a pull waits: the rest is measured at the next pull",
                        transient=True,
                    ) from None
                self.waited += wait
                self.sleep(wait)
        raise AssertionError("unreachable")  # pragma: no cover


BatchFetch = Callable[[Sequence[str]], tuple[list[PostFigures], list[str]]]


def pull(posts: Sequence[str], size: int, fetch: BatchFetch, patience: Patience) -> Measurement:
    """Posts measured `size` at a time through `fetch`, each batch tried with `patience`. A batch that
    still fails ends the pull (the figures of the batches before it are kept)."""
    results: list[PostFigures] = []
    problems: list[str] = []
    start = patience.calls
    for batch in batches(posts, size):
        try:
            found, issues = patience.run(lambda batch=batch: fetch(batch))  # type: ignore[misc]
        except ChannelError as exc:
            problems.append(str(exc))
            return Measurement(tuple(results), tuple(problems), patience.calls - start, fatal=True)
        results += found
        problems += issues
    return Measurement(tuple(results), tuple(problems), patience.calls - start)


def gone_on_404(channel: str) -> Callable[[requests.Response], ChannelError | None]:
    """A classifier that reads 404 and 410 as "deleted at the source" (`NotThere`)."""

    def classify(response: requests.Response) -> ChannelError | None:
        if response.status_code in (404, 410):
            return NotThere(channel, f"HTTP {response.status_code}: not found at the source", transient=False)
        return None

    return classify


class NotThere(ChannelError):
    """The destination says the thing asked for does not exist (deleted, or never was)."""


def missing(channel: str, ids: Sequence[str]) -> str:
    shown = ", ".join(ids[:5]) + (f" and {len(ids) - 5} more" if len(ids) > 5 else "")
    return f"{channel}: the answer ended before the figures of {len(ids)} post(s) ({shown}); measured at the next pull"


def number(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None
