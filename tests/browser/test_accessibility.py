"""Every page of the workspace passes axe-core (WCAG 2.2 A and AA) in a real browser, as each role sees it,
and the sign-in works from the keyboard alone."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from pipeline.context import open_context
from pipeline.records import FeedSpec
from pipeline.services.actor import Actor
from pipeline.services.users import UserService
from tests.browser.conftest import PASSWORD, ROLES, Workspace, axe_violations, email_of, sign_in
from tests.browserkit import browser_reason
from tests.queuekit import Board, board_of, queue_settings, queue_url, with_queue  # noqa: F401  (queue_url: the fixture)

pytestmark = pytest.mark.browser

PAGES = ["/queue", "/audit", "/freeze", "/users", "/calendar", "/calendar/upload"]
PAGES += ["/", "/reports", "/metrics", "/feeds", "/subscribers", "/jobs"]


def test_the_sign_in_page_and_its_errors_pass_axe(served: Workspace, page: Any) -> None:
    page.goto(f"{served.url}/signin")
    assert axe_violations(page) == []
    page.get_by_role("button", name="Sign in").click()
    assert page.locator(".error-summary").is_visible()
    assert axe_violations(page) == [], "the page with its error summary"


def test_signing_in_from_the_keyboard_alone(served: Workspace, page: Any) -> None:
    page.goto(f"{served.url}/queue")
    assert "/signin" in page.url, "a visitor who is not signed in is asked to sign in"
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Skip to main content"
    for _ in range(10):  # move through the page to the email field
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.id") == "email":
            break
    page.keyboard.type(email_of("approver"))
    page.keyboard.press("Tab")
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")
    page.wait_for_url(f"{served.url}/queue")
    assert page.get_by_text(f"Signed in as {email_of('approver')}").is_visible()


@pytest.mark.parametrize("role", ["viewer", "admin"])
def test_every_page_passes_axe(served: Workspace, page: Any, role: str) -> None:
    sign_in(page, served.url, role)
    for path in PAGES:
        response = page.goto(f"{served.url}{path}")
        assert response is not None and response.status in (200, 403), path
        assert axe_violations(page) == [], f"{path} as {role}"


@pytest.fixture
def served_queue(queue_url: str, tmp_path: Path) -> Iterator[tuple[Workspace, Board]]:  # noqa: F811
    """The workspace in queue mode on the local PostgreSQL, with a job in each state (`queuekit.board_of`)."""
    reason = browser_reason()
    if reason:
        pytest.skip(reason)
    from werkzeug.serving import make_server

    from pipeline.web.app import create_app

    ctx = with_queue(open_context(queue_settings(queue_url, tmp_path)))
    users = UserService.of(ctx)
    for role in ROLES:
        users.add(Actor.cli("test"), email_of(role), role, datetime.now(UTC), name=role.title(), password=PASSWORD)
    ctx.repos.feeds.upsert([FeedSpec("https://www.gov.uk/feed.atom", "GOV.UK news")])
    (feed,) = ctx.repos.feeds.all()
    board = board_of(ctx, feed.id)
    server = make_server("127.0.0.1", 0, create_app(ctx), threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield Workspace(ctx, f"http://127.0.0.1:{server.server_port}", ctx.settings), board
    finally:
        server.shutdown()
        ctx.close()


@pytest.mark.postgres
def test_the_jobs_pages_pass_axe_with_a_queue(served_queue: tuple[Workspace, Board], page: Any) -> None:
    served, board = served_queue
    sign_in(page, served.url, "admin")
    for path in ["/", "/jobs", f"/jobs/{board.failed}", f"/jobs/{board.batch}", "/jobs?status=exploded"]:
        response = page.goto(f"{served.url}{path}")
        assert response is not None and response.status in (200, 400), path
        assert axe_violations(page) == [], path
    # the same failed job open in two tabs: retried in one (a success banner), then refused in the other
    other = page.context.new_page()
    for tab in (page, other):
        tab.goto(f"{served.url}/jobs/{board.failed}")
    page.get_by_role("button", name="Retry this job").click()
    page.wait_for_load_state()
    assert page.get_by_text("is back in the queue").is_visible()
    assert axe_violations(page) == [], "the job's page with the success banner"
    other.get_by_role("button", name="Retry this job").click()
    other.wait_for_load_state()
    assert other.locator(".error-summary").is_visible()
    assert "only a failed or stalled job can be retried" in other.locator(".error-summary").inner_text()
    assert axe_violations(other) == [], "the refusal"
