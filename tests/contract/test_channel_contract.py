"""One contract, run against every channel adapter: validate never sends, send returns a receipt, and
the same key never publishes twice at the destination."""

from __future__ import annotations

import dataclasses
import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import requests

from channels.base import ChannelError, Post
from channels.bluesky import BlueskyAdapter
from channels.email_smtp import SmtpAdapter, SmtpConfig
from channels.entra import EntraToken
from channels.facebook import FacebookAdapter
from channels.file import FileAdapter
from channels.hootsuite import HootsuiteCsvAdapter
from channels.linkedin import LinkedInAdapter
from channels.mastodon import MastodonAdapter
from channels.memory import MemoryAdapter
from channels.notify import NotifyAdapter
from channels.sharepoint import SharePointNewsAdapter
from channels.viva_engage import VivaEngageAdapter
from channels.wordpress import WordPressAdapter
from channels.x import XAdapter
from pipeline.localservers import Mailbox, smtp_server
from tests.fakes import (
    FakeBluesky,
    FakeEntra,
    FakeFacebook,
    FakeLinkedIn,
    FakeMastodon,
    FakeNotify,
    FakeSharePoint,
    FakeVivaEngage,
    FakeWordPress,
    FakeX,
)
from tests.httpserver import Response, Server, http_server

DUE = datetime(2026, 11, 17, 19, 0, tzinfo=UTC)


@dataclass
class Destination:
    adapter: Any
    published: Callable[[], int]  # distinct things the destination now shows
    recipient: str = "-"


API_KINDS = ["mastodon", "facebook", "x", "linkedin", "bluesky", "sharepoint", "viva-engage", "wordpress", "notify"]


def api_destination(kind: str, server: Server, timeout: tuple[float, float] = (5.0, 20.0)) -> tuple[Destination, Any]:
    """The adapter for `kind` pointed at a local stand-in for its API, and that stand-in."""
    fake: Any
    if kind == "mastodon":
        fake = FakeMastodon(server)
        adapter: Any = MastodonAdapter("mastodon", server.url, "good-token", timeout=timeout)
        return Destination(adapter, lambda: len(fake.statuses)), fake
    if kind == "facebook":
        fake = FakeFacebook(server)
        adapter = FacebookAdapter("facebook", fake.PAGE, fake.TOKEN, fake.url, timeout=timeout)
        return Destination(adapter, lambda: len(fake.posts)), fake
    if kind == "x":
        fake = FakeX(server)
        return Destination(XAdapter("x", fake.TOKEN, server.url, timeout=timeout), lambda: len(fake.tweets)), fake
    if kind == "linkedin":
        fake = FakeLinkedIn(server)
        adapter = LinkedInAdapter("linkedin", fake.TOKEN, fake.AUTHOR, server.url, "202411", timeout=timeout)
        return Destination(adapter, lambda: len(fake.posts)), fake
    if kind == "bluesky":
        fake = FakeBluesky(server)
        adapter = BlueskyAdapter("bluesky", fake.HANDLE, fake.PASSWORD, server.url, timeout=timeout)
        return Destination(adapter, lambda: len(fake.records)), fake
    if kind in ("sharepoint", "viva-engage"):
        entra = FakeEntra(server)
        session = requests.Session()
        scope = "https://graph.microsoft.com/.default" if kind == "sharepoint" else "https://api.yammer.com/.default"
        token = EntraToken(
            kind,
            session,
            login_url=server.url,
            tenant_id=entra.TENANT,
            client_id=entra.CLIENT,
            client_secret=entra.SECRET,
            scope=scope,
        )
        if kind == "sharepoint":
            fake = FakeSharePoint(server, entra)
            adapter = SharePointNewsAdapter(kind, fake.SITE, token, fake.url, session=session, timeout=timeout)
            return Destination(adapter, fake.published), fake
        fake = FakeVivaEngage(server, entra)
        adapter = VivaEngageAdapter(kind, fake.GROUP, token, server.url, session=session, timeout=timeout)
        return Destination(adapter, lambda: len(fake.messages)), fake
    if kind == "wordpress":
        fake = FakeWordPress(server)
        adapter = WordPressAdapter("website", server.url, fake.USER, fake.APP_PASSWORD, timeout=timeout)
        return Destination(adapter, lambda: len(fake.posts)), fake
    assert kind == "notify", kind
    fake = FakeNotify(server)
    adapter = NotifyAdapter("notify", fake.API_KEY, fake.TEMPLATE, server.url, timeout=timeout)
    return Destination(adapter, lambda: len(fake.sent), recipient="head@school.example.org"), fake


@pytest.fixture(params=["memory", "file", "hootsuite", "email", *API_KINDS])
def destination(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Destination]:
    kind = request.param
    if kind == "memory":
        memory = MemoryAdapter("facebook", counted_as="facebook")
        yield Destination(memory, lambda: len(memory.sent))
    elif kind == "file":
        yield Destination(
            FileAdapter("facebook", tmp_path, counted_as="facebook"),
            lambda: len(list((tmp_path / "facebook").glob("*.json"))),
        )
    elif kind == "hootsuite":
        adapter = HootsuiteCsvAdapter("x", tmp_path)
        yield Destination(adapter, lambda: len(adapter.path.read_text().splitlines()) if adapter.path.exists() else 0)
    elif kind in API_KINDS:
        with http_server() as server:
            dest, _fake = api_destination(kind, server)
            yield dest
            dest.adapter.close()
    else:
        box = Mailbox()
        with smtp_server(box) as (host, port):
            adapter = SmtpAdapter("newsletter", SmtpConfig(host, port, sender="Prevent <prevent@example.org>"))
            yield Destination(adapter, lambda: len(box.unique()), recipient="head@school.example.org")
            adapter.close()


def post(dest: Destination, text: str = "Inter Faith Week: our Prevent team works with faith leaders.") -> Post:
    return Post(
        channel="c",
        kind=dest.adapter.kind,
        text=text,
        subject="Prevent update",
        html="<p>x</p>",
        link="https://www.thurrock.gov.uk/prevent",
        recipient=dest.recipient,
        due_at=DUE,
    )


def test_a_good_post_validates(destination: Destination) -> None:
    assert destination.adapter.validate(post(destination)) == []
    assert destination.published() == 0, "validate never sends"


def test_an_empty_post_is_refused_before_sending(destination: Destination) -> None:
    assert destination.adapter.validate(post(destination, text="  ")) != []


def test_send_returns_a_receipt(destination: Destination) -> None:
    receipt = destination.adapter.send(post(destination), "send:c:1:" + destination.recipient)
    assert receipt.external_id
    assert destination.published() == 1


def test_the_same_key_never_publishes_twice(destination: Destination) -> None:
    key = "send:c:7:" + destination.recipient
    destination.adapter.send(post(destination), key)
    destination.adapter.send(post(destination), key)
    # (another text: X refuses a post that repeats an earlier one word for word)
    destination.adapter.send(post(destination, text="Hate crime awareness week."), "send:c:8:" + destination.recipient)
    assert destination.published() == 2


def test_over_the_limit_is_refused(destination: Destination) -> None:
    if destination.adapter.kind in ("email", "notify", "wordpress"):
        pytest.skip(f"{destination.adapter.kind} has no length limit")
    problems = destination.adapter.validate(post(destination, text="x" * 70_000))
    assert problems and "over the" in problems[0]


# Every API adapter against its failure modes -----------------------------------------------------


@pytest.mark.parametrize("kind", API_KINDS)
def test_api_failures_are_classified(kind: str) -> None:
    with http_server() as server:
        dest, fake = api_destination(kind, server)
        p = post(dest)
        for response, transient, retry_after in (
            (Response(429, "{}", {"Retry-After": "120"}), True, 120.0),
            (Response(500, "<html>Internal Server Error</html>"), True, None),
            (
                Response(
                    401, json.dumps({"message": "The access token has expired"}), {"Content-Type": "application/json"}
                ),
                False,
                None,
            ),
        ):
            fake.fail_next(response)
            with pytest.raises(ChannelError) as caught:
                dest.adapter.send(p, "send:c:1:" + dest.recipient)
            assert caught.value.transient is transient, (kind, response.status)
            assert caught.value.retry_after == retry_after, (kind, response.status)
        assert "check the channel's credentials" in str(caught.value)
        assert dest.published() == 0
        # and after the failures, the same key goes through once
        assert dest.adapter.send(p, "send:c:1:" + dest.recipient).external_id
        assert dest.published() == 1


@pytest.mark.parametrize("kind", API_KINDS)
def test_a_timeout_after_a_successful_post_is_not_posted_twice(kind: str) -> None:
    with http_server() as server:
        dest, fake = api_destination(kind, server, timeout=(1.0, 0.5))
        p = post(dest)
        key = "send:c:1:" + dest.recipient
        fake.slow_next(1.5)  # the destination publishes, then answers too late
        with pytest.raises(ChannelError) as caught:
            dest.adapter.send(p, key)
        assert caught.value.transient
        time.sleep(1.1)  # the late answer is written and dropped
        receipt = dest.adapter.send(p, key)
        assert receipt.external_id and (receipt.duplicate or kind == "mastodon")
        assert dest.published() == 1
        dest.adapter.send(dataclasses.replace(p, text="Hate crime awareness week."), "send:c:2:" + dest.recipient)
        assert dest.published() == 2


@pytest.mark.parametrize("kind", API_KINDS)
def test_a_permanent_refusal_carries_the_destinations_words(kind: str) -> None:
    with http_server() as server:
        dest, fake = api_destination(kind, server)
        body = {"error": {"message": "(#100) Invalid parameter", "code": 100}, "message": "Invalid parameter"}
        fake.fail_next(Response(422, json.dumps(body), {"Content-Type": "application/json"}))
        with pytest.raises(ChannelError) as caught:
            dest.adapter.send(post(dest), "send:c:1:" + dest.recipient)
        assert not caught.value.transient and "Invalid parameter" in str(caught.value)


@pytest.mark.parametrize("kind", API_KINDS)
def test_after_a_crash_the_post_is_found_not_made_again(kind: str) -> None:
    """A new process (a new adapter) resending a key the ledger left without an outcome."""
    with http_server() as server:
        first, _fake = api_destination(kind, server)
        p = post(first)
        made = first.adapter.send(p, "send:c:1:" + first.recipient)
        again = type(first.adapter).__new__(type(first.adapter))
        again.__dict__.update(first.adapter.__dict__, _sent={}, _tried=set())  # what a restart forgets
        receipt = again.send(dataclasses.replace(p, maybe_sent=True), "send:c:1:" + first.recipient)
        assert receipt.external_id == made.external_id
        assert receipt.duplicate or kind == "mastodon"  # Mastodon answers a repeated key with the first status
        assert first.published() == 1


@pytest.mark.parametrize("kind", API_KINDS)
def test_check_proves_the_credentials_without_posting(kind: str) -> None:
    with http_server() as server:
        dest, _fake = api_destination(kind, server)
        assert dest.adapter.check()
        assert dest.published() == 0
        assert all(r.method == "GET" or "Session" in r.path or "token" in r.path for r in server.requests)
