"""One-click unsubscribe over real HTTP, served by the workspace's app: a GET never unsubscribes, a POST
does (with no form token: a mail client has none), a forged token fails, the health check answers."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
import requests
from werkzeug.serving import make_server

from pipeline.context import open_context
from pipeline.records import Subscriber
from pipeline.settings import load_settings
from pipeline.storage.store import Repositories
from pipeline.tokens import sign
from pipeline.web.app import create_app
from tests.conftest import EXAMPLE


@pytest.fixture
def site(store: Repositories, tmp_path: Path) -> Iterator[str]:
    store.subscribers.upsert(
        [Subscriber("head@school.example.org", "Mrs A", "School", ("headteachers",), "form", date(2025, 9, 1))]
    )
    settings = load_settings(environ={}, env_file=None, workspace=EXAMPLE, secret_key="secret")
    server = make_server("127.0.0.1", 0, create_app(open_context(settings, repos=store)), threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


def test_one_click_unsubscribe(site: str, store: Repositories) -> None:
    url = f"{site}/unsubscribe?token={sign('head@school.example.org', 'secret')}"
    page = requests.get(url, timeout=5)
    assert page.status_code == 200 and "<button" in page.text and "head@school.example.org" in page.text
    assert store.subscribers.all(status="active"), "a GET (a link scanner) unsubscribes nobody"
    done = requests.post(url, data={"List-Unsubscribe": "One-Click"}, timeout=5)
    assert done.status_code == 200 and "You are unsubscribed" in done.text
    assert [s.email for s in store.subscribers.all(status="unsubscribed")] == ["head@school.example.org"]
    again = requests.post(url, data={"List-Unsubscribe": "One-Click"}, timeout=5)
    assert again.status_code == 200, "a second click (or a retrying mail client) is fine"


def test_a_forged_or_altered_token_is_refused(site: str, store: Repositories) -> None:
    forged = sign("head@school.example.org", "someone-elses-key")
    response = requests.post(f"{site}/unsubscribe?token={forged}", timeout=5)
    assert response.status_code == 400 and "This link is not valid" in response.text
    assert store.subscribers.all(status="active")
    health = requests.get(f"{site}/healthz", timeout=5)
    assert health.status_code == 200 and health.text == "ok"


def test_a_link_sent_before_lists_were_named_leaves_every_list_and_says_so(site: str, store: Repositories) -> None:
    old = f"{site}/unsubscribe?token={sign('head@school.example.org', 'secret')}"
    asked = requests.get(old, timeout=5).text
    assert "Unsubscribe from all emails from Thurrock Council" in asked and "before each list" in asked
    browser = requests.Session()  # a person's browser: the way back is a form with a CSRF token
    done = browser.post(old, timeout=5).text
    assert "You are unsubscribed from all emails from Thurrock Council" in done
    assert [s.email for s in store.subscribers.all(status="unsubscribed")] == ["head@school.example.org"]
    csrf = done.split('name="csrf_token" value="')[1].split('"')[0]
    back = browser.post(old.replace("/unsubscribe", "/resubscribe"), data={"csrf_token": csrf}, timeout=5)
    assert back.status_code == 200 and "You are subscribed again to all emails from Thurrock Council" in back.text
    assert [s.email for s in store.subscribers.all(status="active")] == ["head@school.example.org"]


def test_a_list_link_names_the_council_and_the_list_and_leaves_only_it(site: str, store: Repositories) -> None:
    url = f"{site}/unsubscribe?token={sign('head@school.example.org', 'secret', 'headteacher-bulletin')}"
    asked = requests.get(url, timeout=5).text
    assert "Stop sending the Thurrock headteacher bulletin from Thurrock Council to head@school.example.org?" in asked
    done = requests.post(url, timeout=5).text
    assert "You are unsubscribed from the Thurrock headteacher bulletin" in done
    (head,) = store.subscribers.all()
    assert head.status == "active" and head.left_lists == ("headteacher-bulletin",)
    assert store.subscribers.recipients({"headteachers"}, "headteacher-bulletin") == []
    assert [r[0] for r in store.subscribers.recipients({"headteachers"}, "resident-newsletter")] == [head.email]
    assert store.subscribers.audience_counts({"headteachers"}, "headteacher-bulletin") == {}
    assert store.subscribers.audience_counts({"headteachers"}, "resident-newsletter") == {"headteachers": 1}
    other_list = sign("head@school.example.org", "secret", "resident-newsletter").split(".")[0]
    moved = f"{other_list}.{sign('head@school.example.org', 'secret', 'headteacher-bulletin').split('.')[1]}"
    assert requests.post(f"{site}/unsubscribe?token={moved}", timeout=5).status_code == 400, "the list is signed"
