"""The workspace pages of part 2 (home, reports, metrics, feeds, subscribers) on a real SQLite database
and the bundled example (examples/thurrock): the plan and the subscribers imported, one feed with a
national message, one account per role, clients signed in through the real sign-in form."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime

import pytest
from flask import Flask
from flask.testing import FlaskClient

from pipeline.app import Pipeline
from pipeline.records import FeedSpec
from pipeline.services.actor import Actor
from pipeline.services.users import UserService
from pipeline.web.app import create_app
from tests.web.items.conftest import csrf_token, national_message

NOW = datetime(2026, 11, 3, 8, 0, tzinfo=UTC)
PASSWORD = "correct horse battery staple"
ROLES = {
    "viewer": "vic.viewer@thurrock.gov.uk",
    "author": "alex.author@thurrock.gov.uk",
    "approver": "ann.approver@thurrock.gov.uk",
    "admin": "ada.admin@thurrock.gov.uk",
}
FEED_URL = "https://www.gov.uk/feed.atom"
SignIn = Callable[[str], FlaskClient]


@pytest.fixture
def team(pipeline: Pipeline) -> Pipeline:
    pipeline.import_plan(now=NOW)
    pipeline.import_subscribers()
    pipeline.repos.feeds.upsert([FeedSpec(FEED_URL, "GOV.UK news", audiences=("educators",), objectives=("6",))])
    (feed,) = pipeline.repos.feeds.all()
    pipeline.repos.feeds.save_messages(feed.id, [("guid-1", national_message())], datetime(2026, 10, 30, tzinfo=UTC))
    for role, email in ROLES.items():
        UserService.of(pipeline).add(Actor.cli(), email, role, NOW, password=PASSWORD)
    return pipeline


@pytest.fixture
def pages_app(team: Pipeline) -> Flask:
    return create_app(team)


@pytest.fixture
def signed_in(pages_app: Flask) -> SignIn:
    def sign_in(role: str) -> FlaskClient:
        client = pages_app.test_client()
        page = client.get("/signin")
        response = client.post(
            "/signin",
            data={"email": ROLES[role], "password": PASSWORD, "next": "", "csrf_token": csrf_token(page.text)},
        )
        assert response.status_code == 302, response.text
        return client

    return sign_in


@pytest.fixture
def anybody(pages_app: Flask) -> Iterator[FlaskClient]:
    yield pages_app.test_client()
