"""Collecting national messages from RSS and Atom feeds.

Fetching uses requests (shared session, timeouts, conditional GET, a size cap, bounded redirects),
through `netguard`: public addresses only, except an internal feed's own host. Each fetch has one
total deadline (`timeout`), held while the body is read in small pieces however slowly the server
sends them. Parsing uses feedparser on the bytes with the response headers. `feedparser.parse(url)`
is never used: it has no timeout. Feed content is untrusted: only http(s) links are kept (an item
whose link is anything else is stored without one), and titles and summaries are clipped and
cleaned before storage. One failing feed never stops the others: each failure is recorded against
its feed and the feed is backed off.
"""

from __future__ import annotations

import calendar
import hashlib
import itertools
import logging
import re
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import feedparser
import requests
import urllib3

from channels.http import USER_AGENT, retry_after
from pipeline import ports
from pipeline.errors import FeedError
from pipeline.jobs.netguard import Deadline, RefusedAddress, guarded_session
from pipeline.progress import SILENT, Progress
from pipeline.records import FeedState, NationalMessage, Outcome
from pipeline.rendering.sanitise import html_to_text, sanitise_html

log = logging.getLogger(__name__)
ACCEPT = "application/atom+xml, application/rss+xml, application/xml;q=0.9, text/xml;q=0.8, */*;q=0.1"
TITLE_MAX = 300  # characters, after the title's HTML is turned to text
SUMMARY_MAX = 5_000  # characters of sanitised HTML
RAW_MAX = 50_000  # characters of a field looked at before cleaning: a 1 MB title is not parsed whole
KEY_MAX = 500  # a longer guid is kept as its digest
LINK_MAX = 2_000
READ_PIECE = 16 * 1024
# C0 and C1 controls, and the bidirectional marks, embeddings, overrides and isolates.
_UNSAFE_TITLE = re.compile("[\x00-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")


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


def safe_link(value: str) -> str:
    """The link if it is an absolute http(s) URL of a sensible length, else ""."""
    link = (value or "").strip()
    try:
        parts = urlsplit(link)
    except ValueError:
        return ""
    ok = parts.scheme.lower() in ("http", "https") and parts.hostname and len(link) <= LINK_MAX
    return link if ok and not _UNSAFE_TITLE.search(link) else ""


def clean_title(raw: str) -> str:
    """Plain text: controls and bidi overrides removed, whitespace tidied, clipped at a word."""
    text = _UNSAFE_TITLE.sub(lambda m: " " if m.group().isspace() else "", html_to_text((raw or "")[:RAW_MAX]))
    text = " ".join(text.split())
    if len(text) > TITLE_MAX:
        text = text[: TITLE_MAX - 1].rsplit(" ", 1)[0].rstrip(",.;:") + "…"
    return text or "(untitled)"


def clean_summary(raw: str, base_url: str | None) -> str:
    """Sanitised HTML of at most SUMMARY_MAX characters (a cut is sanitised again, so tags close)."""
    summary = sanitise_html((raw or "")[:RAW_MAX], base_url=base_url)
    while len(summary) > SUMMARY_MAX:
        summary = sanitise_html(summary[: SUMMARY_MAX - 200])
    return summary


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
        link = safe_link(entry.get("link") or "")
        title = clean_title(entry.get("title") or "")
        raw = entry.get("summary") or (entry.get("content") or [{}])[0].get("value", "")
        summary = clean_summary(raw, base_url=link or safe_link(base_url) or None)
        if not _wanted(f"{title} {html_to_text(summary)}", feed.spec.include, feed.spec.exclude):
            continue
        digest = hashlib.sha256(f"{title}\x1f{summary}".encode()).hexdigest()
        guid = entry.get("id") or ""
        if len(guid) > KEY_MAX:
            guid = "sha256:" + hashlib.sha256(guid.encode()).hexdigest()
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


def describe(exc: Exception, url: str) -> str:
    """A requests or urllib3 failure in words a person can act on (no connection-pool internals)."""
    host = urlsplit(url).hostname or url
    text = repr(exc)
    if "NameResolutionError" in text or "gaierror" in text:
        return f"cannot resolve {host} (no network?)"
    if isinstance(exc, requests.exceptions.SSLError):
        return f"the TLS certificate of {host} was not accepted"
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return f"timed out connecting to {host}"
    if "ConnectionRefused" in text or "Connection refused" in text:
        return f"{host} refused the connection"
    if isinstance(exc, requests.exceptions.InvalidSchema | requests.exceptions.MissingSchema):
        return "not an http or https address"
    if isinstance(exc, requests.exceptions.ConnectionError):
        return f"cannot connect to {host}"
    return f"cannot fetch ({type(exc).__name__})"


class HttpFeedFetcher:
    """Implements `ports.FeedFetcher` over HTTP with requests. Connections go only to public
    addresses, except to the own host of an internal feed or of a rewrite (see `netguard`)."""

    def __init__(
        self,
        session: requests.Session | None = None,
        *,
        timeout: float = 10.0,
        max_bytes: int = 5_000_000,
        max_redirects: int = 5,
        rewrites: dict[str, str] | None = None,
    ) -> None:
        self.rewrites = rewrites or {}  # feed URL -> where to fetch it (the demo's saved copies)
        self.max_redirects = max_redirects
        self.session = self._setup(guarded_session(None, session))
        self._allowing: dict[str, requests.Session] = {}  # a session per allowed (internal) host
        self._lock = threading.Lock()
        self.timeout, self.max_bytes = timeout, max_bytes

    def _setup(self, session: requests.Session) -> requests.Session:
        session.max_redirects = self.max_redirects
        session.headers.update({"User-Agent": USER_AGENT, "Accept": ACCEPT})
        return session

    def _session_for(self, feed: FeedState, fetch_url: str) -> requests.Session:
        """The strict session, or, for an internal feed or a rewrite, one that allows its own host."""
        host = (urlsplit(fetch_url).hostname or "").lower()
        if not host or not (feed.spec.internal or feed.spec.url in self.rewrites):
            return self.session
        with self._lock:
            if host not in self._allowing:
                self._allowing[host] = self._setup(guarded_session(host))
            return self._allowing[host]

    def fetch(self, feed: FeedState, now: datetime) -> FetchResult:
        url = feed.spec.url
        fetch_url = self.rewrites.get(url, url)
        deadline = time.monotonic() + self.timeout
        cutoff = Deadline(self.timeout)
        headers = {}
        if feed.etag:
            headers["If-None-Match"] = feed.etag
        if feed.last_modified:
            headers["If-Modified-Since"] = feed.last_modified
        try:
            with cutoff:
                response = self._session_for(feed, fetch_url).get(
                    fetch_url, headers=headers, timeout=(min(5.0, self.timeout), self.timeout), stream=True
                )
                with response:
                    self._check_status(url, response)
                    if response.status_code == 304:
                        return FetchResult(304, None, feed.etag, feed.last_modified, feed.final_url)
                    body = self._read(url, response, deadline)
        except RefusedAddress as exc:
            raise FeedError(url, str(exc), retry=True) from None
        except (requests.RequestException, urllib3.exceptions.HTTPError) as exc:
            raise self._failure(url, fetch_url, exc, cutoff) from None
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

    def _failure(self, url: str, fetch_url: str, exc: Exception, cutoff: Deadline) -> FeedError:
        if cutoff.passed:  # the deadline shut the connection, whatever the read then said
            return FeedError(url, f"timed out after {self.timeout:g} s in all (the server sends too slowly)")
        if isinstance(exc, requests.TooManyRedirects):
            return FeedError(url, "too many redirects (a redirect loop?)", retry=True)
        if isinstance(exc, requests.Timeout | urllib3.exceptions.TimeoutError):
            return FeedError(url, f"timed out after {self.timeout:g} s", retry=True)
        return FeedError(url, describe(exc, fetch_url), retry=True)

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

    def _read(self, url: str, response: requests.Response, deadline: float) -> bytes:
        """The body, read in pieces as they come; the socket waits no longer than the time left, so a
        server that trickles its bytes is cut off at the deadline."""
        declared = response.headers.get("Content-Length")
        if declared and declared.isdigit() and int(declared) > self.max_bytes:
            raise FeedError(url, f"response of {int(declared):,} bytes is over the {self.max_bytes:,} byte cap")
        raw = response.raw
        sock = getattr(getattr(raw, "connection", None), "sock", None)
        chunks: list[bytes] = []
        size = 0
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise FeedError(url, f"timed out after {self.timeout:g} s in all (the server sends too slowly)")
            if sock is not None:
                sock.settimeout(left)
            try:
                chunk = raw.read1(READ_PIECE, decode_content=True)
            except urllib3.exceptions.TimeoutError:
                continue  # the loop says it, as the deadline has passed
            if not chunk:
                return b"".join(chunks)
            size += len(chunk)
            if size > self.max_bytes:
                raise FeedError(url, f"response is over the {self.max_bytes:,} byte cap")
            chunks.append(chunk)

    def close(self) -> None:
        self.session.close()
        for session in self._allowing.values():
            session.close()


def _collected(feed: FeedState, status: int, new: int, changed: int, seconds: float) -> None:
    fields = {"url": feed.spec.url, "status": status, "new": new, "changed": changed, "seconds": round(seconds, 3)}
    log.info("feed collected", extra=fields)


class Collector:
    """Polls feeds through a fetcher and stores what they hold: it needs only the feed repository."""

    def __init__(
        self, feeds: ports.FeedRepository, fetcher: ports.FeedFetcher, workers: int = 8, progress: Progress = SILENT
    ) -> None:
        self.feeds, self.fetcher, self.workers = feeds, fetcher, max(1, workers)
        self.progress = progress

    def run(self, now: datetime, force: bool = False, only: int | None = None) -> Outcome:
        """Poll every feed that is due (or every live feed with `force`; only feed `only` if given),
        fetching in parallel and storing in this thread."""
        feeds = [f for f in self.feeds.all() if not f.retired and not f.paused] if force else self.feeds.due(now)
        if only is not None:
            feeds = [f for f in feeds if f.id == only]
        counts = {"feeds": len(feeds), "new": 0, "changed": 0, "not_modified": 0, "failed": 0}
        failures: list[str] = []
        fetched = itertools.count(1)

        def fetch(feed: FeedState) -> tuple[ports.FetchResult | FeedError, float]:
            started = time.monotonic()
            result = self._fetch(feed, now)
            self.progress("collecting feeds", next(fetched), len(feeds))
            return result, time.monotonic() - started

        self.progress("collecting feeds", 0, len(feeds))
        with ThreadPoolExecutor(max_workers=min(self.workers, max(1, len(feeds)))) as pool:
            results = list(pool.map(fetch, feeds))
        unchanged: list[int] = []
        for feed, (result, seconds) in zip(feeds, results, strict=True):
            if isinstance(result, FeedError):
                counts["failed"] += 1
                failures.append(f"{feed.spec.name}: {result.reason}")  # one line a person can read
                self.feeds.record_fetch(
                    feed.id, now, ok=False, error=str(result), retired=result.retired, retry_after=result.retry_after
                )
                log.warning(
                    "feed failed", extra={"url": feed.spec.url, "error": str(result), "seconds": round(seconds, 3)}
                )
                continue
            if result.messages is None:  # a 304: recorded for all such feeds at once, below
                counts["not_modified"] += 1
                unchanged.append(feed.id)
                _collected(feed, result.status, 0, 0, seconds)
                continue
            new, changed = self.feeds.save_messages(feed.id, result.messages, now)
            _collected(feed, result.status, new, changed, seconds)
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
