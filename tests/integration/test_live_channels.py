"""The pipeline publishing through its live adapters, each pointed at a local stand-in of its API:
composed, approved, dispatched when due, recorded with the destination's id, and never twice."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from pipeline.app import Pipeline, make_pipeline
from pipeline.settings import Settings
from tests.conftest import EXAMPLE
from tests.fakes import FakeEntra, FakeFacebook, FakeVivaEngage, FakeWordPress, FakeX
from tests.httpserver import Response, http_server

GMT = UTC  # November is GMT


@pytest.fixture
def live(settings: Settings, tmp_path: Path) -> Iterator[tuple[Pipeline, dict[str, Any]]]:
    with http_server() as server:
        entra = FakeEntra(server)
        fakes = {
            "facebook": FakeFacebook(server),
            "x": FakeX(server),
            "intranet": FakeVivaEngage(server, entra),
            "website": FakeWordPress(server),
        }
        live_settings = Settings(
            **{
                **settings.__dict__,
                "file_channels": (),
                "facebook_page_id": FakeFacebook.PAGE,
                "facebook_page_token": FakeFacebook.TOKEN,
                "facebook_graph_url": server.url + "/v21.0",
                "x_token": FakeX.TOKEN,
                "x_api_url": server.url,
                "microsoft_tenant_id": entra.TENANT,
                "microsoft_client_id": entra.CLIENT,
                "microsoft_client_secret": entra.SECRET,
                "microsoft_login_url": server.url,
                "viva_engage_group_id": FakeVivaEngage.GROUP,
                "viva_engage_api_url": server.url,
                "wordpress_url": server.url,
                "wordpress_username": FakeWordPress.USER,
                "wordpress_app_password": FakeWordPress.APP_PASSWORD,
            }
        )
        pipeline = make_pipeline(live_settings)
        yield pipeline, fakes
        pipeline.repos.engine.dispose()


def approve_all(p: Pipeline, now: datetime) -> None:
    for item in p.repos.outbox.items(status="awaiting_approval"):
        p.repos.outbox.transition(item.id, "approved", now, by="Communications Manager")


def queue_parents_post(p: Pipeline) -> None:
    """The Facebook post for parents (due 17 November, 19:00), composed and approved."""
    p.import_plan(now=datetime(2026, 10, 30, 9, 0, tzinfo=GMT))
    p.compose(datetime(2026, 11, 16, 9, 0, tzinfo=GMT), entry="parents-online-safety")
    approve_all(p, datetime(2026, 11, 16, 9, 0, tzinfo=GMT))


def test_posts_reach_each_live_destination_once_with_their_ids(live: tuple[Pipeline, dict[str, Any]]) -> None:
    p, fakes = live
    p.import_plan(now=datetime(2026, 10, 30, 9, 0, tzinfo=GMT))
    for day in range(1, 31):  # a month of wake-ups at 09:00 and the due times in between
        morning = datetime(2026, 11, day, 9, 0, tzinfo=GMT)
        p.compose(morning)
        approve_all(p, morning)
        for hour in (9, 10, 11, 12, 13, 19, 20):
            p.dispatch(datetime(2026, 11, day, hour, 35, tzinfo=GMT))
    facebook, x, intranet = fakes["facebook"], fakes["x"], fakes["intranet"]
    # Facebook: the two fortnightly myth-busters (5, 19 Nov), Inter Faith Week (9th), parents (17th)
    assert len(facebook.posts) == 4
    # ACT Early reminders, 10 and 24 November: the stand-in, like X, refuses a word-for-word repeat,
    # and the refusal is recorded in X's words against that item alone
    assert len(x.tweets) == 1
    (repeat,) = [i for i in p.repos.outbox.items(channel="x") if i.status == "failed"]
    assert repeat.due_at.date().isoformat() == "2026-11-24"
    (delivery,) = p.repos.outbox.deliveries(repeat.id)
    assert "duplicate content" in (delivery.last_error or "")
    assert len(intranet.messages) == 1  # first Monday: 2 November
    assert any("Inter Faith Week" in post["message"] for post in facebook.posts)
    sent = [i for i in p.repos.outbox.items(status="sent") if i.channel in ("facebook", "x", "intranet")]
    assert len(sent) == 6
    for item in sent:
        (delivery,) = p.repos.outbox.deliveries(item.id)
        assert delivery.external_id and delivery.url and delivery.url.startswith("https://")
    # a further wake-up publishes nothing again
    p.dispatch(datetime(2026, 11, 30, 21, 0, tzinfo=GMT))
    assert (len(facebook.posts), len(x.tweets), len(intranet.messages)) == (4, 1, 1)


def test_a_post_whose_answer_was_lost_is_found_not_made_again(live: tuple[Pipeline, dict[str, Any]]) -> None:
    p, fakes = live
    facebook = fakes["facebook"]
    queue_parents_post(p)
    adapter = p.adapter_for("facebook", "facebook")
    adapter.timeout = (1.0, 0.5)
    facebook.slow_next(1.5)  # Facebook publishes, then answers after we gave up
    due = datetime(2026, 11, 17, 19, 0, tzinfo=GMT)
    outcome = p.dispatch(due + timedelta(minutes=1))
    assert outcome.counts["sent"] == 0 and len(facebook.posts) == 1
    (item,) = [i for i in p.repos.outbox.items() if i.entry_id == "parents-online-safety"]
    (delivery,) = p.repos.outbox.deliveries(item.id)
    assert delivery.status == "pending" and "timed out" in (delivery.last_error or "")
    # a restart: a new pipeline on the same database, which knows nothing of the first attempt
    again = make_pipeline(p.settings)
    again.dispatch(due + timedelta(hours=1))
    assert len(facebook.posts) == 1, "found on the Page, not posted twice"
    (delivery,) = again.repos.outbox.deliveries(item.id)
    assert delivery.status == "sent" and delivery.external_id == facebook.posts[0]["id"]
    assert again.repos.outbox.item(item.id).status == "sent"
    again.repos.engine.dispose()


def test_an_expired_token_fails_the_post_at_once_and_says_what_to_do(live: tuple[Pipeline, dict[str, Any]]) -> None:
    p, _fakes = live
    p.adapter_for("facebook", "facebook").session.headers["Authorization"] = "Bearer expired"
    queue_parents_post(p)
    outcome = p.dispatch(datetime(2026, 11, 17, 19, 5, tzinfo=GMT))
    assert outcome.counts["failed"] == 1 and "COMMS_FACEBOOK_PAGE_TOKEN" in outcome.failures[0]
    (item,) = [i for i in p.repos.outbox.items() if i.entry_id == "parents-online-safety"]
    assert p.repos.outbox.item(item.id).status == "failed"


def test_example_workspace_names_only_known_kinds() -> None:
    from content_calendar.strategy import load_strategy

    assert {c.kind for c in load_strategy(EXAMPLE / "strategy.yaml").channels} <= {
        "email",
        "facebook",
        "x",
        "viva-engage",
        "wordpress",
    }


def test_a_surprising_answer_defers_that_post_and_stops_nothing(live: tuple[Pipeline, dict[str, Any]]) -> None:
    p, fakes = live
    facebook = fakes["facebook"]
    queue_parents_post(p)
    facebook.fail_next(Response(200, "<html>Service temporarily unavailable</html>"))  # a proxy's page
    due = datetime(2026, 11, 17, 19, 0, tzinfo=GMT)
    outcome = p.dispatch(due + timedelta(minutes=1))  # does not raise
    (item,) = [i for i in p.repos.outbox.items() if i.entry_id == "parents-online-safety"]
    (delivery,) = p.repos.outbox.deliveries(item.id)
    assert outcome.counts["sent"] == 0 and delivery.status == "pending"
    assert "unexpected error: JSONDecodeError" in (delivery.last_error or "")
    p.dispatch(due + timedelta(hours=1))
    assert len(facebook.posts) == 1 and p.repos.outbox.item(item.id).status == "sent"
