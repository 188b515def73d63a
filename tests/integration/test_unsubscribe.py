"""One-click unsubscribe over real HTTP: a GET never unsubscribes, a POST does, a forged token fails."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import date
from wsgiref.simple_server import WSGIRequestHandler, make_server

import pytest
import requests

from pipeline.records import Subscriber
from pipeline.storage.store import Repositories
from pipeline.tokens import sign
from pipeline.web.unsubscribe import make_app


class Quiet(WSGIRequestHandler):
    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def site(store: Repositories) -> Iterator[str]:
    store.subscribers.upsert(
        [Subscriber("head@school.example.org", "Mrs A", "School", ("headteachers",), "form", date(2025, 9, 1))]
    )
    server = make_server("127.0.0.1", 0, make_app(store, "secret", "Thurrock Council"), handler_class=Quiet)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


def test_one_click_unsubscribe(site: str, store: Repositories) -> None:
    url = f"{site}/unsubscribe?token={sign('head@school.example.org', 'secret')}"
    page = requests.get(url, timeout=5)
    assert page.status_code == 200 and "<button" in page.text
    assert store.subscribers.all(status="active"), "a GET (a link scanner) unsubscribes nobody"
    done = requests.post(url, data={"List-Unsubscribe": "One-Click"}, timeout=5)
    assert done.status_code == 200 and "You are unsubscribed" in done.text
    assert [s.email for s in store.subscribers.all(status="unsubscribed")] == ["head@school.example.org"]


def test_a_forged_or_altered_token_is_refused(site: str, store: Repositories) -> None:
    forged = sign("head@school.example.org", "someone-elses-key")
    response = requests.post(f"{site}/unsubscribe?token={forged}", timeout=5)
    assert response.status_code == 400
    assert store.subscribers.all(status="active")
    assert requests.get(f"{site}/healthz", timeout=5).text == "ok"
