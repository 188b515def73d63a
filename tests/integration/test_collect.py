"""Collecting feeds from local HTTP servers: the good, the conditional, and the hostile."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from pipeline.jobs.collect import Collector, HttpFeedFetcher
from pipeline.records import FeedSpec
from pipeline.rendering.sanitise import sanitise_html
from pipeline.storage.store import Repositories
from tests.conftest import EXAMPLE
from tests.httpserver import Response, Server, http_server

NOW = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
ATOM = (EXAMPLE / "feeds" / "govuk-home-office-prevent.atom").read_bytes()
RSS = (EXAMPLE / "feeds" / "act-early.rss").read_bytes()
ATOM_TYPE = {"Content-Type": "application/atom+xml; charset=utf-8"}


@pytest.fixture
def server() -> Iterator[Server]:
    with http_server() as s:
        yield s


def collector(store: Repositories, **kw) -> Collector:  # type: ignore[no-untyped-def]
    return Collector(store.feeds, HttpFeedFetcher(timeout=kw.pop("timeout", 2.0), **kw), workers=4)


def add(store: Repositories, *urls: str, **kw) -> None:  # type: ignore[no-untyped-def]
    """Register feeds; the local server is on 127.0.0.1, so they are internal unless told otherwise."""
    kw.setdefault("internal", True)
    store.feeds.upsert([FeedSpec(u, f"feed {i}", **kw) for i, u in enumerate(urls)])


def test_atom_and_rss_are_collected_with_tags(store: Repositories, server: Server) -> None:
    add(
        store,
        server.route("/gov.atom", Response(200, ATOM, ATOM_TYPE)),
        server.route("/act.rss", Response(200, RSS, {"Content-Type": "application/rss+xml"})),
        objectives=("3",),
        audiences=("residents",),
    )
    outcome = collector(store).run(NOW)
    assert outcome.counts["new"] == 5 and not outcome.failures
    assert all(m.objectives == ("3",) and m.audiences == ("residents",) for m in store.feeds.messages())
    ua = server.requests[0].headers["User-Agent"]
    assert ua.startswith("comms-pipeline/")


def test_second_poll_is_conditional_and_parses_nothing_on_304(store: Repositories, server: Server) -> None:
    def conditional(request):  # type: ignore[no-untyped-def]
        if request.headers.get("If-None-Match") == '"v1"':
            return Response(304)
        return Response(200, ATOM, {**ATOM_TYPE, "ETag": '"v1"', "Last-Modified": "Fri, 20 Nov 2026 09:30:00 GMT"})

    add(store, server.route("/gov.atom", conditional))
    collector(store).run(NOW)
    second = collector(store).run(NOW + timedelta(hours=2))
    assert second.counts == {"feeds": 1, "new": 0, "changed": 0, "not_modified": 1, "failed": 0}
    headers = server.requests[-1].headers
    assert headers["If-None-Match"] == '"v1"' and headers["If-Modified-Since"] == "Fri, 20 Nov 2026 09:30:00 GMT"


def test_redated_and_edited_items_are_not_duplicated(store: Repositories, server: Server) -> None:
    path = "/gov.atom"
    url = server.route(path, Response(200, ATOM, ATOM_TYPE))
    add(store, url)
    collector(store).run(NOW)
    store.feeds.mark_messages_used([m.id for m in store.feeds.messages()])  # type: ignore[misc]
    edited = ATOM.replace(b"2026-10-30T09:30:00", b"2026-11-21T10:00:00").replace(
        b"Official statistics on individuals", b"Updated official statistics on individuals"
    )
    server.route(path, Response(200, edited, ATOM_TYPE))
    outcome = collector(store).run(NOW + timedelta(days=1), force=True)
    assert outcome.counts["new"] == 0 and outcome.counts["changed"] == 1
    assert len(store.feeds.messages()) == 3
    assert [m.title for m in store.feeds.messages() if m.changed_after_sent] == [
        "Prevent referral statistics published for the year ending March 2026"
    ]


BAD_CASES = {
    "/malformed": (Response(200, ATOM.replace(b"</feed>", b"<entry><title>broken"), ATOM_TYPE), "ok"),
    "/wrong-type": (Response(200, RSS, {"Content-Type": "text/plain"}), "ok"),
    "/html": (
        Response(200, b"<!doctype html><html><body>Not a feed</body></html>", {"Content-Type": "text/html"}),
        "HTML page, not a feed",
    ),
    "/huge": (
        Response(200, b"<rss>" + b" " * 300_000 + b"</rss>", {"Content-Type": "application/rss+xml"}),
        "byte cap",
    ),
    "/slow": (Response(200, RSS, delay=3.0), "timed out"),
    "/loop": (Response(302, b"", {"Location": "/loop"}), "redirect"),
    "/missing": (Response(404), "HTTP 404"),
    "/gone": (Response(410), "retired"),
    "/busy": (Response(429, b"", {"Retry-After": "120"}), "HTTP 429"),
    "/broken": (Response(500), "HTTP 500"),
    "/latin1": (
        Response(
            200,
            RSS.replace(b"UTF-8", b"ISO-8859-1").replace(b"someone", "caf\xe9".encode("latin-1")),
            {"Content-Type": "application/rss+xml; charset=utf-8"},
        ),
        "ok",
    ),
    "/billion-laughs": (
        Response(
            200,
            b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 '
            b'"&lol;&lol;&lol;&lol;">]><rss version="2.0"><channel><title>&lol2;</title>'
            b"</channel></rss>",
            ATOM_TYPE,
        ),
        "entit",
    ),
}


def test_each_bad_feed_is_recorded_and_the_others_still_collected(store: Repositories, server: Server) -> None:
    good = server.route("/good", Response(200, ATOM, ATOM_TYPE))
    urls = {path: server.route(path, response) for path, (response, _) in BAD_CASES.items()}
    add(store, good, *urls.values())
    outcome = collector(store, max_bytes=200_000, timeout=1.0).run(NOW)
    feeds = {f.spec.url: f for f in store.feeds.all()}
    assert feeds[good].last_success_at == NOW
    for path, (_response, expected) in BAD_CASES.items():
        feed = feeds[urls[path]]
        if expected == "ok":
            assert feed.last_error is None, (path, feed.last_error)
        else:
            assert feed.last_error and expected in feed.last_error, (path, feed.last_error)
            assert feed.next_poll_at > NOW, "a failing feed is backed off"
    assert feeds[urls["/gone"]].retired
    assert feeds[urls["/busy"]].next_poll_at >= NOW + timedelta(seconds=120), "Retry-After is honoured"
    assert outcome.counts["failed"] == sum(1 for _, e in BAD_CASES.values() if e != "ok")


def test_undated_and_future_items(store: Repositories, server: Server) -> None:
    rss = (
        b'<rss version="2.0"><channel><title>t</title>'
        b"<item><title>No date</title><link>https://x.example/a</link></item>"
        b"<item><title>From the future</title><link>https://x.example/b</link>"
        b"<pubDate>Fri, 01 Jan 2100 00:00:00 +0000</pubDate></item></channel></rss>"
    )
    add(store, server.route("/d", Response(200, rss, {"Content-Type": "application/rss+xml"})))
    collector(store).run(NOW)
    by_title = {m.title: m for m in store.feeds.messages()}
    assert by_title["No date"].published_at is None
    assert by_title["From the future"].published_at == NOW


def test_the_sanitiser_removes_every_unsafe_construct() -> None:
    dirty = (
        '<p onclick="x()" style="color:red">Hi <a href="javascript:alert(1)">js</a> '
        '<a href="/relative/page">rel</a></p><script>alert(1)</script><style>p{}</style>'
        '<iframe src="https://evil.example"></iframe><img src="http://insecure.example/a.png" alt="a">'
        '<img src="https://ok.example/b.png" alt="b" onerror="x()"><svg onload="x()"></svg>'
    )
    clean = sanitise_html(dirty, base_url="https://www.gov.uk/government/news/item")
    for bad in (
        "onclick",
        "style",
        "javascript:",
        "<script",
        "alert(1)</",
        "<iframe",
        "http://insecure",
        "onerror",
        "<svg",
        "onload",
    ):
        assert bad not in clean, bad
    assert 'href="https://www.gov.uk/relative/page"' in clean
    assert 'src="https://ok.example/b.png"' in clean
