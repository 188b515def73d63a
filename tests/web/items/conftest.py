"""The web workspace on a real SQLite database and the bundled example (examples/thurrock): the plan
imported, subscribers imported, a national message collected, a headteacher bulletin and a Facebook post
composed by the real composer; one account per role; test clients signed in through the real /signin
form; and a helper to read the CSRF token from a page."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

import pytest
from flask import Flask
from flask.testing import FlaskClient

from pipeline.app import Pipeline
from pipeline.records import FeedSpec, NationalMessage, OutboxItem
from pipeline.services.actor import Actor
from pipeline.services.users import UserService
from pipeline.web.app import create_app

NOW = datetime(2026, 11, 3, 8, 0, tzinfo=UTC)
PASSWORD = "correct horse battery staple"
ROLES = {
    "viewer": "vic.viewer@thurrock.gov.uk",
    "author": "alex.author@thurrock.gov.uk",
    "approver": "ann.approver@thurrock.gov.uk",
    "approver2": "bob.approver@thurrock.gov.uk",
    "admin": "ada.admin@thurrock.gov.uk",
}
MESSAGE_LINK = "https://www.gov.uk/government/news/prevent-duty-guidance-updated"


def national_message(content_hash: str = "hash-1", title: str = "Prevent duty guidance updated") -> NationalMessage:
    return NationalMessage(
        "guid-1",
        MESSAGE_LINK,
        title,
        "<p>The Home Office has updated the Prevent duty guidance for schools.</p>",
        datetime(2026, 10, 29, 9, 0, tzinfo=UTC),
        content_hash,
        ("6",),
        ("educators",),
    )


@dataclass
class Workspace:
    """The composed example: the context, and the ids of the bulletin (email) and the post."""

    ctx: Pipeline
    email_id: int
    post_id: int

    def item(self, item_id: int) -> OutboxItem:
        found = self.ctx.repos.outbox.item(item_id)
        assert found is not None
        return found


@pytest.fixture
def workspace(pipeline: Pipeline) -> Workspace:
    pipeline.import_plan(now=NOW)
    pipeline.import_subscribers()
    pipeline.repos.feeds.upsert(
        [FeedSpec("https://www.gov.uk/feed.atom", "GOV.UK news", audiences=("educators",), objectives=("6",))]
    )
    (feed,) = pipeline.repos.feeds.all()
    pipeline.repos.feeds.save_messages(feed.id, [("guid-1", national_message())], datetime(2026, 10, 30, tzinfo=UTC))
    pipeline.compose(datetime(2026, 11, 3, 23, 0, tzinfo=UTC), entry="headteacher-bulletin")
    pipeline.compose(datetime(2026, 11, 8, 12, 0, tzinfo=UTC), entry="interfaith-week")
    items = pipeline.repos.outbox.items()
    (email,) = [i for i in items if i.entry_id == "headteacher-bulletin"]
    (post,) = [i for i in items if i.entry_id == "interfaith-week"]
    assert email.kind == "email" and post.kind == "post" and post.status == "awaiting_approval"
    for role, email_address in ROLES.items():
        UserService.of(pipeline).add(Actor.cli(), email_address, role.rstrip("2"), NOW, password=PASSWORD)
    return Workspace(pipeline, email.id, post.id)


@pytest.fixture
def items_app(workspace: Workspace) -> Flask:
    return create_app(workspace.ctx)


CSRF = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"|value="([^"]+)"[^>]*name="csrf_token"')


def csrf_token(html: str) -> str:
    """The CSRF token of the first form on the page."""
    found = CSRF.search(html)
    assert found, "no CSRF token on the page"
    return found.group(1) or found.group(2)


def field_value(html: str, name: str) -> str:
    """A hidden field's value (the first with this name)."""
    found = re.search(
        rf'<input[^>]*name="{name}"[^>]*value="([^"]*)"|<input[^>]*value="([^"]*)"[^>]*name="{name}"', html
    )
    assert found, f"no field {name} on the page"
    return found.group(1) if found.group(1) is not None else found.group(2)


@pytest.fixture
def signed_in(items_app: Flask) -> Iterator[Callable[[str], FlaskClient]]:
    """A test client signed in through the real sign-in form, by role name (see ROLES)."""
    clients: list[FlaskClient] = []

    def sign_in(role: str) -> FlaskClient:
        client = items_app.test_client()
        page = client.get("/signin")
        response = client.post(
            "/signin",
            data={"email": ROLES[role], "password": PASSWORD, "next": "", "csrf_token": csrf_token(page.text)},
        )
        assert response.status_code == 302, response.text
        clients.append(client)
        return client

    yield sign_in
    clients.clear()


def post_form(client: FlaskClient, page_url: str, action: str, data: dict[str, str] | None = None):  # type: ignore[no-untyped-def]
    """Open the page (as a browser would), then submit a form to `action` with the page's CSRF token."""
    page = client.get(page_url)
    assert page.status_code == 200, page.text
    return client.post(action, data={"csrf_token": csrf_token(page.text), **(data or {})})
