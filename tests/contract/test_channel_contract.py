"""One contract, run against every channel adapter: validate never sends, send returns a receipt, and
the same key never publishes twice at the destination."""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from channels.base import ChannelError, Post
from channels.email_smtp import SmtpAdapter, SmtpConfig
from channels.file import FileAdapter
from channels.hootsuite import HootsuiteCsvAdapter
from channels.mastodon import MastodonAdapter
from channels.memory import MemoryAdapter
from pipeline.localservers import Mailbox, smtp_server
from tests.httpserver import Request, Response, Server, http_server

DUE = datetime(2026, 11, 17, 19, 0, tzinfo=UTC)


@dataclass
class Destination:
    adapter: Any
    published: Callable[[], int]  # distinct things the destination now shows
    recipient: str = "-"


class FakeMastodon:
    """Implements POST /api/v1/statuses as Mastodon does, including Idempotency-Key."""

    def __init__(self, server: Server) -> None:
        self.statuses: dict[str, dict[str, Any]] = {}
        self.ids = itertools.count(1)
        server.route("/api/v1/statuses", self.handle)

    def handle(self, request: Request) -> Response:
        if request.headers.get("Authorization") != "Bearer good-token":
            return Response(401, json.dumps({"error": "The access token is invalid"}))
        key = request.headers.get("Idempotency-Key", "")
        if key not in self.statuses:
            status_id = str(next(self.ids))
            self.statuses[key] = {
                "id": status_id,
                "url": f"https://social.example/@council/{status_id}",
                "content": request.json()["status"],
            }
        return Response(200, json.dumps(self.statuses[key]), {"Content-Type": "application/json"})


@pytest.fixture(params=["memory", "file", "hootsuite", "mastodon", "email"])
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
    elif kind == "mastodon":
        with http_server() as server:
            fake = FakeMastodon(server)
            yield Destination(MastodonAdapter("mastodon", server.url, "good-token"), lambda: len(fake.statuses))
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
    destination.adapter.send(post(destination), "send:c:8:" + destination.recipient)
    assert destination.published() == 2


def test_over_the_limit_is_refused(destination: Destination) -> None:
    if destination.adapter.kind in ("email",):
        pytest.skip("email has no length limit")
    problems = destination.adapter.validate(post(destination, text="x" * 70_000))
    assert problems and "over the" in problems[0]


# Mastodon against its failure modes -----------------------------------------------------------


def test_mastodon_failures_are_classified() -> None:
    with http_server() as server:
        adapter = MastodonAdapter("mastodon", server.url, "good-token")
        p = Post(channel="m", kind="mastodon", text="hello")
        for response, transient, retry_after in (
            (Response(429, "{}", {"Retry-After": "120"}), True, 120.0),
            (Response(500, "oops"), True, None),
            (Response(401, '{"error": "invalid token"}'), False, None),
            (Response(422, '{"error": "Text is too long"}'), False, None),
        ):
            server.route("/api/v1/statuses", response)
            with pytest.raises(ChannelError) as caught:
                adapter.send(p, "k")
            assert caught.value.transient is transient and caught.value.retry_after == retry_after
        assert "Text is too long" in str(caught.value)


def test_mastodon_timeout_after_a_successful_post_is_not_posted_twice() -> None:
    with http_server() as server:
        fake = FakeMastodon(server)
        calls = {"n": 0}

        def slow_first(request: Request) -> Response:
            calls["n"] += 1
            response = fake.handle(request)
            response.delay = 1.5 if calls["n"] == 1 else 0
            return response

        server.route("/api/v1/statuses", slow_first)
        adapter = MastodonAdapter("mastodon", server.url, "good-token", timeout=(1.0, 0.5))
        p = Post(channel="m", kind="mastodon", text="hello")
        with pytest.raises(ChannelError) as caught:
            adapter.send(p, "send:m:1:-")
        assert caught.value.transient
        receipt = adapter.send(p, "send:m:1:-")
        assert receipt.external_id == "1" and len(fake.statuses) == 1
