"""Feeds written by an adversary, served by real local HTTP servers: bad link schemes, huge and
disguised titles, private addresses and redirects to them, a server that trickles its bytes, and what
`comms collect` says when feeds fail."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from pipeline.cli import main
from pipeline.jobs.collect import SUMMARY_MAX, TITLE_MAX, Collector, HttpFeedFetcher
from pipeline.jobs.netguard import refusal
from pipeline.records import FeedSpec
from pipeline.storage.store import Repositories
from tests.conftest import EXAMPLE
from tests.httpserver import Response, Server, http_server

NOW = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
RSS_TYPE = {"Content-Type": "application/rss+xml; charset=utf-8"}
BAD_SCHEMES = (
    "javascript:alert(1)",
    "JaVaScRiPt:alert(1)",
    "vbscript:msgbox(1)",
    "data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==",
    "file:///etc/passwd",
    "smb://evil.example/share",
)


@pytest.fixture
def server() -> Iterator[Server]:
    with http_server() as s:
        yield s


def rss(*items: str) -> bytes:
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>t</title>'
        + "".join(items)
        + "</channel></rss>"
    ).encode()


def item(title: str, link: str, summary: str = "") -> str:
    esc = summary.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return f"<item><title>{title}</title><link>{link}</link><description>{esc}</description></item>"


def collect(store: Repositories, *specs: FeedSpec, timeout: float = 2.0) -> list[str]:
    """Poll the feeds; the stored error of each, in order ("" when it was collected)."""
    store.feeds.upsert(specs)
    fetcher = HttpFeedFetcher(timeout=timeout)
    try:
        Collector(store.feeds, fetcher).run(NOW, force=True)
    finally:
        fetcher.close()
    errors = {f.spec.url: f.last_error or "" for f in store.feeds.all()}
    return [errors[s.url] for s in specs]


@pytest.mark.parametrize("bad", BAD_SCHEMES)
def test_only_http_links_survive(store: Repositories, server: Server, bad: str) -> None:
    body = rss(
        item(
            "Own link is bad",
            bad.replace("&", "&amp;"),
            f'<p><a href="{bad}">click</a> <a href="https://ok.example/x">ok</a></p>',
        ),
        item("Good", "https://www.gov.uk/news/1", f'<a href="{bad}">x</a><img src="{bad}" alt="i">'),
    )
    url = server.route("/f", Response(200, body, RSS_TYPE))
    assert collect(store, FeedSpec(url, "F", internal=True)) == [""]
    by_title = {m.title: m for m in store.feeds.messages()}
    assert by_title["Own link is bad"].link == "", "a message whose own link is not http(s) is kept without one"
    assert by_title["Good"].link == "https://www.gov.uk/news/1"
    scheme = bad.split(":")[0].lower()
    for message in by_title.values():
        assert f"{scheme}:" not in message.summary_html.lower(), message.summary_html
    assert 'href="https://ok.example/x"' in by_title["Own link is bad"].summary_html


def test_a_huge_title_and_summary_are_clipped(store: Repositories, server: Server) -> None:
    words = "Prevent " * 130_000  # about 1 MB
    url = server.route("/f", Response(200, rss(item(words, "https://x.example/1", f"<p>{words}</p>")), RSS_TYPE))
    started = time.monotonic()
    assert collect(store, FeedSpec(url, "F", internal=True)) == [""]
    assert time.monotonic() - started < 10
    (message,) = store.feeds.messages()
    assert len(message.title) <= TITLE_MAX and message.title.startswith("Prevent Prevent")
    assert message.title.endswith("…")
    assert len(message.summary_html) <= SUMMARY_MAX and message.summary_html.endswith("</p>")


def test_control_and_bidi_characters_are_removed_from_titles(store: Repositories, server: Server) -> None:
    disguised = "Safe\u202eexe.txt\u202c \u2066isolated\u2069 \u200emark\u200f tab\tbell\x07 esc\x1b[31mred &#8238;x"
    url = server.route("/f", Response(200, rss(item(disguised, "https://x.example/1")), RSS_TYPE))
    collect(store, FeedSpec(url, "F", internal=True))
    (message,) = store.feeds.messages()
    assert message.title == "Safeexe.txt isolated mark tab bell esc[31mred x"


def test_a_feed_on_a_private_address_is_refused_unless_internal(store: Repositories, server: Server) -> None:
    url = server.route("/f", Response(200, rss(item("Intranet", "https://x.example/1")), RSS_TYPE))
    (error,) = collect(store, FeedSpec(url, "Not marked"))
    assert error.endswith(
        "refused: 127.0.0.1 is a loopback address; mark the feed internal in feeds.yaml if it is an intranet feed"
    )
    assert server.requests == [], "nothing is sent to a refused address"
    assert collect(store, FeedSpec(url, "Not marked", internal=True)) == [""]
    assert [m.title for m in store.feeds.messages()] == ["Intranet"]


@pytest.mark.parametrize(
    ("target", "said"),
    [
        ("http://169.254.169.254/latest/meta-data/", "169.254.169.254 is a link-local address (the cloud metadata"),
        ("http://10.0.0.5/feed", "10.0.0.5 is a private address"),
        ("http://192.168.1.1/feed", "192.168.1.1 is a private address"),
        ("http://[::1]:9/feed", "::1 is a loopback address"),
        ("http://[::ffff:127.0.0.1]:9/feed", "127.0.0.1 is a loopback address"),
        ("http://0.0.0.0:9/feed", "0.0.0.0 is an unspecified address"),
        ("http://localhost:9/feed", "is a loopback address"),
    ],
)
def test_an_internal_feed_may_not_redirect_to_another_private_host(
    store: Repositories, server: Server, target: str, said: str
) -> None:
    """`internal` allows the feed's own host only: a redirect to any other private address is refused
    before a connection is made (the addresses above need no network)."""
    url = server.route("/f", Response(302, b"", {"Location": target}))
    started = time.monotonic()
    (error,) = collect(store, FeedSpec(url, "Intranet", internal=True), timeout=5.0)
    assert "refused: " in error and said in error, error
    assert time.monotonic() - started < 3, "refused without trying to connect"


def test_a_redirect_from_a_public_feed_to_a_private_address_is_refused(store: Repositories, server: Server) -> None:
    """The demo's rewrite serves a public feed's URL from the local server, as a redirect could; the
    rewrite target's own host is allowed, the metadata address it redirects to is not."""
    local = server.route("/copy", Response(302, b"", {"Location": "http://169.254.169.254/"}))
    spec = FeedSpec("https://www.gov.uk/feed.atom", "GOV.UK")
    store.feeds.upsert([spec])
    fetcher = HttpFeedFetcher(timeout=5.0, rewrites={spec.url: local})
    try:
        outcome = Collector(store.feeds, fetcher).run(NOW, force=True)
    finally:
        fetcher.close()
    assert outcome.failures == (
        "GOV.UK: refused: 169.254.169.254 is a link-local address (the cloud metadata "
        "service); mark the feed internal in feeds.yaml if it is an intranet feed",
    )


def test_addresses_are_classified() -> None:
    for address in (
        "127.0.0.1",
        "10.1.2.3",
        "172.16.0.1",
        "192.168.0.1",
        "169.254.169.254",
        "224.0.0.1",
        "0.0.0.0",
        "240.0.0.1",
        "100.64.0.1",
        "::1",
        "fe80::1",
        "fc00::1",
        "ff02::1",
        "::",
        "::ffff:10.0.0.1",
        "fe80::1%eth0",
    ):
        assert refusal(address), address
    for address in ("151.101.0.144", "2a04:4e42::144", "8.8.8.8"):
        assert refusal(address) is None, address


def test_a_trickling_server_is_cut_off_at_the_deadline(store: Repositories, server: Server) -> None:
    """Headers at once, then a byte every 0.1 s: 8 s for the whole body, stopped at the 1 s deadline."""
    url = server.route("/f", Response(200, rss(item("Slow", "https://x.example/1")), RSS_TYPE, drip=0.1))
    started = time.monotonic()
    (error,) = collect(store, FeedSpec(url, "Slow", internal=True), timeout=1.0)
    assert time.monotonic() - started < 2.5
    assert "timed out after 1 s in all" in error


def test_a_server_trickling_its_headers_is_cut_off_at_the_deadline(store: Repositories) -> None:
    """The status line at once, then a header byte every 0.2 s: each read is quick, so only a total
    deadline on the connection itself stops it."""
    listener = socket.create_server(("127.0.0.1", 0))
    stop = threading.Event()

    def trickle() -> None:
        conn, _ = listener.accept()
        with conn:
            conn.recv(65536)
            conn.sendall(b"HTTP/1.1 200 OK\r\nX-Slow: ")
            while not stop.wait(0.2):
                try:
                    conn.sendall(b"a")
                except OSError:
                    return

    threading.Thread(target=trickle, daemon=True).start()
    url = f"http://127.0.0.1:{listener.getsockname()[1]}/feed"
    started = time.monotonic()
    try:
        (error,) = collect(store, FeedSpec(url, "Slow headers", internal=True), timeout=1.0)
    finally:
        stop.set()
        listener.close()
    assert time.monotonic() - started < 3.0
    assert "timed out after 1 s in all" in error


def test_collect_prints_one_line_per_failed_feed_and_exits_1_when_all_fail(
    tmp_path: Path, server: Server, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    workspace = tmp_path / "ws"
    workspace.mkdir()
    for name in ("strategy.yaml", "organisation.yaml"):
        (workspace / name).write_text((EXAMPLE / name).read_text())
    good = server.route("/good", Response(200, rss(item("Fine", "https://x.example/1")), RSS_TYPE))
    (workspace / "feeds.yaml").write_text(
        f"feeds:\n  - name: Local not marked\n    url: {good}\n"
        "  - name: GOV.UK Prevent\n    url: http://www.gov.uk.invalid/feed\n"
    )
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("COMMS_DATABASE_URL", f"sqlite:///{tmp_path / 'comms.db'}")
    monkeypatch.setenv("COMMS_WORKSPACE", str(workspace))
    monkeypatch.setenv("COMMS_SECRET_KEY", "cli-test")
    monkeypatch.setenv("COMMS_FEED_TIMEOUT_SECONDS", "3")
    assert main(["db", "upgrade"]) == 0
    assert main(["feeds", "import"]) == 0
    capsys.readouterr()
    assert main(["collect"]) == 1
    captured = capsys.readouterr()
    both = captured.out + captured.err
    assert "  failed: GOV.UK Prevent: cannot resolve www.gov.uk.invalid (no network?)\n" in captured.out
    assert "  failed: Local not marked: refused: 127.0.0.1 is a loopback address;" in captured.out
    assert both.count("www.gov.uk.invalid") == 1 and both.count("refused") == 1, both
    assert "HTTPConnectionPool" not in both and "NameResolutionError" not in both

    (workspace / "feeds.yaml").write_text(
        f"feeds:\n  - name: Local not marked\n    url: {good}\n    internal: true\n"
        "  - name: GOV.UK Prevent\n    url: http://www.gov.uk.invalid/feed\n"
    )
    assert main(["feeds", "import"]) == 0
    assert main(["collect", "--all"]) == 0, "some feeds failed, not all"
