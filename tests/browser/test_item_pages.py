"""The approval queue and the item pages in a real browser: each passes axe-core (WCAG 2.2 A and AA) as
each role sees it, with its error states, and an approval can be made from the keyboard alone."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from pipeline.app import Pipeline
from pipeline.records import ItemStatus
from pipeline.services.actor import Actor, Role
from pipeline.services.outbox import OutboxService
from tests.browser.conftest import Workspace, axe_violations, sign_in

pytestmark = pytest.mark.browser


def _composed(served: Workspace) -> tuple[int, int]:
    ctx = served.ctx
    p = Pipeline(ctx.settings, ctx.repos, ctx.workspace, ctx.renderer, ctx.adapter_for)
    p.import_plan(now=datetime(2026, 11, 1, tzinfo=UTC))
    p.import_subscribers()
    p.compose(datetime(2026, 11, 3, 23, 0, tzinfo=UTC), entry="headteacher-bulletin")
    p.compose(datetime(2026, 11, 8, 12, 0, tzinfo=UTC), entry="interfaith-week")
    items = {i.entry_id: i.id for i in p.repos.outbox.items()}
    return items["headteacher-bulletin"], items["interfaith-week"]


@pytest.mark.parametrize("role", ["viewer", "author", "approver"])
def test_the_queue_and_item_pages_pass_axe(served: Workspace, page: Any, role: str) -> None:
    email, post = _composed(served)
    sign_in(page, served.url, role)
    paths = ["/queue", f"/items/{email}", f"/items/{post}"]
    if role != "viewer":
        paths += [f"/items/{email}/edit", f"/items/{post}/edit"]
    for path in paths:
        response = page.goto(f"{served.url}{path}")
        assert response is not None and response.status == 200, path
        assert axe_violations(page) == [], f"{path} as {role}"


def test_error_states_pass_axe(served: Workspace, page: Any) -> None:
    _email, post = _composed(served)
    sign_in(page, served.url, "approver")
    page.goto(f"{served.url}/items/{post}")
    page.get_by_role("button", name="Reject").click()
    assert page.locator(".error-summary").is_visible()
    assert page.evaluate("document.activeElement.className") == "error-summary", "focus moves to the summary"
    assert axe_violations(page) == [], "the item page with its error summary"
    page.goto(f"{served.url}/items/{post}/edit")
    page.get_by_label("Text of the post").fill("")
    page.get_by_role("button", name="Save changes").click()
    assert page.locator(".error-summary").is_visible() and axe_violations(page) == []
    page.goto(f"{served.url}/items/{post}")
    author = Actor.person("author@thurrock.gov.uk", Role.AUTHOR)
    OutboxService.of(served.ctx).edit(author, post, datetime.now(UTC), body="Changed while the page was open")
    page.get_by_role("button", name="Approve").click()
    assert page.get_by_text("This item changed after you opened it").is_visible()
    assert axe_violations(page) == [], "the item page with the change shown"


def test_approving_from_the_keyboard(served: Workspace, page: Any) -> None:
    _email, post = _composed(served)
    sign_in(page, served.url, "approver")
    page.goto(f"{served.url}/items/{post}")
    for _ in range(40):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.textContent.trim()") == "Approve":
            break
    else:
        raise AssertionError("the Approve button cannot be reached with Tab")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    page.locator(".banner--success").wait_for()
    assert "Approved." in page.locator(".banner--success").inner_text()
    item = served.ctx.repos.outbox.item(post)
    assert item is not None and item.status == ItemStatus.APPROVED
