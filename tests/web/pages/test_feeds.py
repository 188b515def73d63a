"""The feeds page: health in plain words, the latest national messages, and add, pause, resume and
remove, by role."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from pipeline.app import Pipeline
from pipeline.services.feeds import plain_failure
from tests.web.items.conftest import csrf_token
from tests.web.pages.conftest import FEED_URL, SignIn

NEW = "https://educateagainsthate.com/feed/"


@pytest.mark.parametrize(
    ("error", "said"),
    [
        (f"{FEED_URL}: HTTP 404", "The feed's address was not found (HTTP 404)"),
        (f"{FEED_URL}: HTTP 503; will retry later", "The site had a problem of its own (HTTP 503)"),
        (f"{FEED_URL}: timed out after 10 s", "The site took too long to answer"),
        (f"{FEED_URL}: cannot resolve www.gov.uk (no network?)", "The site's name could not be found"),
        (f"{FEED_URL}: this is an HTML page, not a feed", "The address is a web page, not a feed"),
        (f"{FEED_URL}: unexpected ValueError: bad things at 0x7f", "The feed could not be read"),
    ],
)
def test_a_failure_in_plain_words(error: str, said: str) -> None:
    assert plain_failure(error, FEED_URL).startswith(said)
    assert FEED_URL not in plain_failure(error, FEED_URL)


def test_health_and_the_latest_messages(team: Pipeline, signed_in: SignIn) -> None:
    (feed,) = team.repos.feeds.all()
    team.repos.feeds.record_fetch(feed.id, datetime.now(UTC), ok=False, error=f"{FEED_URL}: HTTP 404")
    page = signed_in("viewer").get("/feeds").text
    assert "GOV.UK news" in page and "failing" in page and "1 failure in a row" in page
    assert "The feed&#39;s address was not found (HTTP 404)" in page
    assert "Prevent duty guidance updated" in page
    assert "6 (Increase engagement with educators on this topic)" in page, "the message's objectives, by title"
    assert "Add the feed" not in page and "Pause" not in page, "a viewer changes nothing"


def test_an_author_adds_pauses_resumes_and_removes_a_feed(team: Pipeline, signed_in: SignIn) -> None:
    author = signed_in("author")
    token = csrf_token(author.get("/feeds").text)
    wrong = author.post(
        "/feeds/add", data={"csrf_token": token, "url": NEW, "name": "EAH", "objectives": "6, 77", "interval": "60"}
    )
    assert wrong.status_code == 400 and "Objective &#39;77&#39; is not in strategy.yaml" in wrong.text
    assert len(team.repos.feeds.all()) == 1, "nothing added"
    added = author.post(
        "/feeds/add",
        data={
            "csrf_token": token,
            "url": NEW,
            "name": "Educate Against Hate",
            "objectives": "6",
            "audiences": "educators",
        },
    )
    assert added.status_code == 302
    (eah,) = [f for f in team.repos.feeds.all() if f.spec.url == NEW]
    assert eah.spec.objectives == ("6",) and eah.spec.audiences == ("educators",)
    assert author.post("/feeds/pause", data={"csrf_token": token, "url": NEW}).status_code == 302
    later = datetime.now(UTC) + timedelta(days=2)
    assert NEW not in [f.spec.url for f in team.repos.feeds.due(later)], "a paused feed is not polled"
    assert "paused" in author.get("/feeds").text
    assert author.post("/feeds/resume", data={"csrf_token": token, "url": NEW}).status_code == 302
    assert NEW in [f.spec.url for f in team.repos.feeds.due(later)]
    assert author.post("/feeds/remove", data={"csrf_token": token, "url": NEW}).status_code == 302
    assert NEW not in [f.spec.url for f in team.repos.feeds.due(later)]
    assert author.post("/feeds/pause", data={"csrf_token": token, "url": NEW}).status_code == 404
    again = author.post("/feeds/add", data={"csrf_token": token, "url": NEW, "name": "Educate Against Hate"})
    assert again.status_code == 302
    assert NEW in [f.spec.url for f in team.repos.feeds.due(later)], "added again: polled again"
    entries, _ = team.repos.audit.entries(action="feed.", limit=10)
    actions = ["feed.added", "feed.paused", "feed.resumed", "feed.removed", "feed.added"]
    assert [e.action for e in reversed(entries)] == actions


def test_a_viewer_cannot_change_a_feed(team: Pipeline, signed_in: SignIn) -> None:
    viewer = signed_in("viewer")
    token = csrf_token(viewer.get("/metrics").text)
    for action in ("/feeds/add", "/feeds/pause", "/feeds/resume", "/feeds/remove"):
        response = viewer.post(action, data={"csrf_token": token, "url": FEED_URL, "name": "x"})
        assert response.status_code == 403, action
    (feed,) = team.repos.feeds.all()
    assert not feed.paused and not feed.retired
