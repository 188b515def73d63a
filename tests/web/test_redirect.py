"""GET /r/<token>: a counted link goes where the edition linked, counted once per browser per link per
day, by audience and objective, never by person; HEAD and prefetches go through uncounted; a changed or
foreign token is refused, so the workspace is no open redirect; link counting off counts nothing."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from flask import Flask

from pipeline.links import LinkCounter, sign_link
from pipeline.records import LINK_CLICKS
from tests.web.people import SECRET_KEY, app_with_team, close, context

LINK = "https://www.educateagainsthate.com/parents/?utm=bulletin&x=1"


@pytest.fixture
def counted(app: Flask) -> tuple[int, str]:
    return counted_link(app)


def counted_link(app: Flask) -> tuple[int, str]:
    """A sent bulletin (objectives 3 and 6) and the counted form of one of its links for headteachers."""
    ctx = context(app)
    item = ctx.repos.outbox.add_item(
        datetime(2026, 11, 3, 9, 0, tzinfo=UTC),
        occurrence_key="headteacher-bulletin@2026-11-05",
        entry_id="headteacher-bulletin",
        channel="headteacher-bulletin",
        kind="email",
        title="Headteacher bulletin",
        due_at=datetime(2026, 11, 5, 8, 0, tzinfo=UTC),
        status="sent",
        objectives=["3", "6"],
        audiences=["headteachers"],
    )
    url = LinkCounter(ctx.settings.public_base_url, SECRET_KEY).url(item.id, "headteachers", LINK)
    return item.id, url.split("localhost:8000", 1)[1]


def clicks(app: Flask) -> dict[tuple[str, str], float]:
    return {(f.audience, f.objective): f.value for f in context(app).repos.metrics.figures(source=LINK_CLICKS)}


def test_a_click_goes_where_the_edition_linked_and_is_counted_once(app: Flask, counted: tuple[int, str]) -> None:
    item_id, path = counted
    browser = app.test_client()
    response = browser.get(path)
    assert response.status_code == 302 and response.headers["Location"] == LINK
    assert clicks(app) == {("headteachers", "3"): 1, ("headteachers", "6"): 1}
    cookie = response.headers["Set-Cookie"]
    assert f"Path={path}" in cookie and "HttpOnly" in cookie and "comms_seen=1" in cookie
    assert browser.get(path).headers["Location"] == LINK
    assert clicks(app)[("headteachers", "3")] == 1, "the same browser again the same day: not counted again"
    assert app.test_client().get(path).status_code == 302
    assert clicks(app)[("headteachers", "3")] == 2, "another browser: another click"
    [figure] = [f for f in context(app).repos.metrics.figures(source=LINK_CLICKS) if f.objective == "3"]
    assert figure.item_ref == f"outbox:{item_id} {LINK}" and figure.channel == "headteacher-bulletin"
    assert figure.day.isoformat() == "2026-11-05"


def test_head_requests_and_prefetches_are_not_clicks(app: Flask, counted: tuple[int, str]) -> None:
    _item, path = counted
    assert app.test_client().head(path).status_code == 302
    assert app.test_client().get(path, headers={"Sec-Purpose": "prefetch;prerender"}).status_code == 302
    assert app.test_client().get(path, headers={"Purpose": "prefetch"}).status_code == 302
    assert clicks(app) == {}


def test_the_token_names_no_person(counted: tuple[int, str]) -> None:
    item_id, path = counted
    payload = path.removeprefix("/r/").split(".")[0]
    assert json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))) == [
        item_id,
        "headteachers",
        LINK,
    ]


def _tampered(path: str, url: str) -> str:
    payload, mac = path.removeprefix("/r/").split(".")
    item_id, audience, _ = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    other = base64.urlsafe_b64encode(json.dumps([item_id, audience, url]).encode()).rstrip(b"=").decode()
    return f"/r/{other}.{mac}"


def test_a_changed_or_foreign_link_is_refused_never_redirected(app: Flask, counted: tuple[int, str]) -> None:
    item_id, path = counted
    client = app.test_client()
    for bad in (
        _tampered(path, "https://evil.example/phish"),  # another destination under our signature
        path[:-2] + ("AA" if not path.endswith("AA") else "BB"),  # the signature changed
        "/r/" + sign_link(b"another key" * 3, item_id, "headteachers", "https://evil.example/"),
        "/r/" + "https:%2F%2Fevil.example",
        "/r/not-a-token",
    ):
        response = client.get(bad)
        assert response.status_code in (400, 404), bad
        assert "Location" not in response.headers
    assert clicks(app) == {}
    # a token we signed can still only name an http(s) address
    ctx = context(app)
    from pipeline.links import link_key

    script = "/r/" + sign_link(link_key(ctx.settings.secret_key), item_id, "headteachers", "javascript:alert(1)")
    assert client.get(script).status_code == 400


@pytest.fixture
def uncounted(team: Path, tmp_path: Path) -> Iterator[Flask]:
    built = app_with_team(team, tmp_path, link_counting=False)
    yield built
    close(built)


def test_with_link_counting_off_links_still_go_but_nothing_is_counted(uncounted: Flask) -> None:
    _item, path = counted_link(uncounted)
    response = uncounted.test_client().get(path)
    assert response.status_code == 302 and response.headers["Location"] == LINK
    assert clicks(uncounted) == {}
