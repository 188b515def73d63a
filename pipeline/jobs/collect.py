"""Collecting national messages from RSS and Atom feeds.

Fetching uses requests (shared session, timeouts, conditional GET, a size cap, bounded redirects);
parsing uses feedparser on the bytes with the response headers. `feedparser.parse(url)` is never
used: it has no timeout. One failing feed never stops the others: each failure is recorded against
its feed and the feed is backed off.
"""

from __future__ import annotations

import calendar
import hashlib
import logging
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import feedparser
import requests

from channels.http import USER_AGENT, retry_after
from pipeline import ports
from pipeline.errors import FeedError
from pipeline.records import FeedState, NationalMessage, Outcome
from pipeline.rendering.sanitise import html_to_text, sanitise_html

log = logging.getLogger(__name__)
ACCEPT = "application/atom+xml, application/rss+xml, application/xml;q=0.9, text/xml;q=0.8, */*;q=0.1"


@dataclass
class FetchResult:
    status: int
    messages: list[tuple[str, NationalMessage]] | None
    etag: str | None = None
    last_modified: str | None = None
    final_url: str | None = None
    warnings: list[str] = field(default_factory=list)


def _when(entry: Any, now: datetime, warnings: list[str]) -> datetime | None:
    parsed = entry.get("published_parsed") or entry.get("updated_parsed")
    if not parsed:
        return None
    moment = datetime.fromtimestamp(calendar.timegm(parsed), tz=UTC)
    if moment > now:
        warnings.append(f"{entry.get('title', '?')!r} is dated in the future ({moment:%Y-%m-%d}); using now")
        return now
    return moment


def _wanted(text: str, include: tuple[str, ...], exclude: tuple[str, ...]) -> bool:
    lowered = text.lower()
    if include and not any(k.lower() in lowered for k in include):
        return False
    return not any(k.lower() in lowered for k in exclude)


def parse_feed(
    body: bytes, headers: dict[str, str], feed: FeedState, base_url: str, now: datetime
) -> tuple[list[tuple[str, NationalMessage]], list[str]]:
    """Messages with their per-feed dedupe keys, and warnings. Bozo feeds still give good entries."""
    head = body[:4096].lower()
    if b"<!entity" in head or b"<!doctype rss [" in head:
        raise FeedError(feed.spec.url, "the feed declares XML entities; refused (entity expansion attack)", retry=True)
    parsed = feedparser.parse(body, response_headers=headers)
    warnings = [f"malformed feed: {parsed.get('bozo_exception')}"] if parsed.get("bozo") else []
    if not parsed.entries and not parsed.get("version"):
        looks_html = b"<html" in head or b"<!doctype html" in head
        raise FeedError(
            feed.spec.url,
            "this is an HTML page, not a feed"
            if looks_html
            else f"not a feed ({parsed.get('bozo_exception') or 'no entries'})",
            retry=True,
        )
    out = []
    for entry in parsed.entries:
        link = entry.get("link") or ""
        title = html_to_text(entry.get("title") or "").strip() or "(untitled)"
        raw = entry.get("summary") or (entry.get("content") or [{}])[0].get("value", "")
        summary = sanitise_html(raw, base_url=link or base_url)
        if not _wanted(f"{title} {html_to_text(summary)}", feed.spec.include, feed.spec.exclude):
            continue
        digest = hashlib.sha256(f"{title}\x1f{summary}".encode()).hexdigest()
        guid = entry.get("id") or ""
        key = guid or link or digest
        msg = NationalMessage(
            guid=guid or link or digest,
            link=link,
            title=title,
            summary_html=summary,
            published_at=_when(entry, now, warnings),
            content_hash=digest,
            objectives=feed.spec.objectives,
            audiences=feed.spec.audiences,
        )
        out.append((key, msg))
    return out, warnings


class HttpFeedFetcher:
    """Implements `ports.FeedFetcher` over HTTP with requests."""

    def __init__(
        self,
        session: requests.Session | None = None,
        *,
        timeout: float = 10.0,
        max_bytes: int = 5_000_000,
        max_redirects: int = 5,
        rewrites: dict[str, str] | None = None,
    ) -> None:
        self.session = session or requests.Session()
        self.rewrites = rewrites or {}  # feed URL -> where to fetch it (the demo's saved copies)
        self.session.max_redirects = max_redirects
        self.session.headers.update({"User-Agent": USER_AGENT, "Accept": ACCEPT})
        self.timeout, self.max_bytes = timeout, max_bytes

    def fetch(self, feed: FeedState, now: datetime) -> FetchResult:
        url = feed.spec.url
        fetch_url = self.rewrites.get(url, url)
        headers = {}
        if feed.etag:
            headers["If-None-Match"] = feed.etag
        if feed.last_modified:
            headers["If-Modified-Since"] = feed.last_modified
        try:
            response = self.session.get(
                fetch_url, headers=headers, timeout=(min(5.0, self.timeout), self.timeout), stream=True
            )
            with response:
                self._check_status(url, response)
                if response.status_code == 304:
                    return FetchResult(304, None, feed.etag, feed.last_modified, feed.final_url)
                body = self._read(url, response)
        except requests.TooManyRedirects:
            raise FeedError(url, "too many redirects (a redirect loop?)", retry=True) from None
        except requests.Timeout:
            raise FeedError(url, f"timed out after {self.timeout:.0f} s", retry=True) from None
        except requests.RequestException as exc:
            raise FeedError(url, f"cannot fetch: {type(exc).__name__}: {exc}", retry=True) from None
        final_url = url if url in self.rewrites else response.url
        messages, warnings = parse_feed(body, dict(response.headers), feed, final_url, now)
        return FetchResult(
            response.status_code,
            messages,
            response.headers.get("ETag"),
            response.headers.get("Last-Modified"),
            final_url,
            warnings,
        )

    @staticmethod
    def _check_status(url: str, response: requests.Response) -> None:
        code = response.status_code
        if code == 410:
            raise FeedError(url, "HTTP 410 Gone: the feed is retired", retry=False, retired=True)
        if code == 429 or code >= 500:
            wait = retry_after(response.headers.get("Retry-After"))
            raise FeedError(url, f"HTTP {code}; will retry later", retry=True, retry_after=wait)
        if code >= 400:
            raise FeedError(url, f"HTTP {code}", retry=True)

    def _read(self, url: str, response: requests.Response) -> bytes:
        declared = response.headers.get("Content-Length")
        if declared and declared.isdigit() and int(declared) > self.max_bytes:
            raise FeedError(url, f"response of {int(declared):,} bytes is over the {self.max_bytes:,} byte cap")
        deadline = time.monotonic() + self.timeout * 3
        chunks, size = [], 0
        for chunk in response.iter_content(64 * 1024):
            size += len(chunk)
            if size > self.max_bytes:
                raise FeedError(url, f"response is over the {self.max_bytes:,} byte cap")
            if time.monotonic() > deadline:
                raise FeedError(url, f"response too slow (over {self.timeout * 3:.0f} s in all)")
            chunks.append(chunk)
        return b"".join(chunks)

    def close(self) -> None:
        self.session.close()


class Collector:
    """Polls feeds through a fetcher and stores what they hold: it needs only the feed repository."""

    def __init__(self, feeds: ports.FeedRepository, fetcher: ports.FeedFetcher, workers: int = 8) -> None:
        self.feeds, self.fetcher, self.workers = feeds, fetcher, max(1, workers)

    def run(self, now: datetime, force: bool = False, only: int | None = None) -> Outcome:
        """Poll every feed that is due (or every live feed with `force`; only feed `only` if given),
        fetching in parallel and storing in this thread."""
        feeds = [f for f in self.feeds.all() if not f.retired] if force else self.feeds.due(now)
        if only is not None:
            feeds = [f for f in feeds if f.id == only]
        counts = {"feeds": len(feeds), "new": 0, "changed": 0, "not_modified": 0, "failed": 0}
        failures: list[str] = []
        with ThreadPoolExecutor(max_workers=min(self.workers, max(1, len(feeds)))) as pool:
            results = list(pool.map(lambda f: self._fetch(f, now), feeds))
        unchanged: list[int] = []
        for feed, result in zip(feeds, results, strict=True):
            if isinstance(result, FeedError):
                counts["failed"] += 1
                failures.append(str(result))
                self.feeds.record_fetch(
                    feed.id, now, ok=False, error=str(result), retired=result.retired, retry_after=result.retry_after
                )
                log.warning("feed failed", extra={"url": feed.spec.url, "error": str(result)})
                continue
            log.info("feed collected", extra={"url": feed.spec.url, "status": result.status})
            if result.messages is None:  # a 304: recorded for all such feeds at once, below
                counts["not_modified"] += 1
                unchanged.append(feed.id)
                continue
            new, changed = self.feeds.save_messages(feed.id, result.messages, now)
            counts["new"] += new
            counts["changed"] += changed
            self.feeds.record_fetch(
                feed.id, now, ok=True, etag=result.etag, last_modified=result.last_modified, final_url=result.final_url
            )
        self.feeds.record_not_modified(unchanged, now)
        return Outcome(counts, tuple(failures))

    def _fetch(self, feed: FeedState, now: datetime) -> ports.FetchResult | FeedError:
        try:
            return self.fetcher.fetch(feed, now)
        except FeedError as exc:
            return exc
        except Exception as exc:  # an unexpected parser failure must not stop the other feeds
            log.exception("feed crashed", extra={"url": feed.spec.url})
            return FeedError(feed.spec.url, f"unexpected {type(exc).__name__}: {exc}")
