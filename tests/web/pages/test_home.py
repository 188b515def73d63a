"""The home page: today at a glance, every figure read from the core."""

from __future__ import annotations

from datetime import UTC, datetime

from flask.testing import FlaskClient

from pipeline.app import Pipeline
from pipeline.services.actor import Actor
from pipeline.services.control import ControlService
from pipeline.services.reports import ReportService, current_month
from tests.web.pages.conftest import FEED_URL, SignIn


def test_a_visitor_not_signed_in_is_asked_to_sign_in(anybody: FlaskClient) -> None:
    for path in ("/", "/reports", "/metrics", "/feeds", "/subscribers"):
        response = anybody.get(path)
        assert response.status_code == 302 and response.headers["Location"].startswith("/signin"), path


def test_signing_in_lands_on_the_home_page(pages_app, team: Pipeline) -> None:  # type: ignore[no-untyped-def]
    from tests.web.items.conftest import csrf_token
    from tests.web.pages.conftest import PASSWORD, ROLES

    client = pages_app.test_client()
    form = client.get("/signin").text
    response = client.post(
        "/signin", data={"email": ROLES["viewer"], "password": PASSWORD, "csrf_token": csrf_token(form), "next": ""}
    )
    assert response.headers["Location"] == "/"
    assert "<h1>Today</h1>" in client.get("/").text


def test_the_home_page_says_what_the_core_says(team: Pipeline, signed_in: SignIn) -> None:
    moment = datetime.now(UTC)
    page = signed_in("viewer").get("/").text
    assert "Sending is on" in page and "Awaiting approval (0)" in page and "Failed or missed (0)" in page
    assert "1 of 1 feeds are working." in page
    s = ReportService.of(team).monthly(Actor.system(), current_month(moment, team.settings.tz), moment)["summary"]
    assert f"{s['sent']} of the {s['due']} planned activities due" in page
    assert s["due"] > 0, "the example plans something every month"
    (first, *_) = ControlService.of(team).next_due(moment, 5)
    assert first.title in page, "what goes out next"


def test_the_freeze_and_a_failing_feed_show_in_plain_words(team: Pipeline, signed_in: SignIn) -> None:
    moment = datetime.now(UTC)
    ControlService.of(team).pause(Actor.cli("ada"), "A critical incident in Grays", moment)
    (feed,) = team.repos.feeds.all()
    team.repos.feeds.record_fetch(feed.id, moment, ok=False, error=f"{FEED_URL}: unexpected KeyError: 'entries'")
    page = signed_in("viewer").get("/").text
    assert "Sending is paused</strong> by ada" in page and "A critical incident in Grays" in page
    assert "0 of 1 feeds are working." in page
    assert "The feed could not be read (the details are in the log)" in page
    assert "KeyError" not in page, "never the raw exception text"
