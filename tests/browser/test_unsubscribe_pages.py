"""The unsubscribe pages in a real browser, on a phone's width: each state passes axe-core (WCAG 2.2 AA),
leaving a list and coming back work from the keyboard alone, and the page names the council and the list."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from pipeline.records import Subscriber
from pipeline.tokens import sign
from tests.browser.conftest import Workspace, axe_violations

pytestmark = pytest.mark.browser
HEAD = "head@gable-hall.example.org"


def test_leaving_one_list_and_coming_back_by_keyboard_at_375px(served: Workspace, browser: Any) -> None:
    served.ctx.repos.subscribers.upsert(
        [Subscriber(HEAD, "Mrs A. Patel", "Gable Hall", ("headteachers", "residents"), "form", date(2025, 9, 1))]
    )
    token = sign(HEAD, served.settings.secret_key, "headteacher-bulletin")
    context = browser.new_context(viewport={"width": 375, "height": 740}, locale="en-GB")
    page = context.new_page()
    try:
        page.goto(f"{served.url}/unsubscribe?token={token}")
        assert page.get_by_role("heading", level=1).inner_text() == (
            "Unsubscribe from the Thurrock headteacher bulletin"
        )
        assert "Thurrock Council" in page.inner_text("main")
        assert axe_violations(page) == [], "the question"
        assert page.evaluate("document.documentElement.scrollWidth") <= 375, "no sideways scrolling"
        _press_button(page, "Unsubscribe")
        page.wait_for_selector("text=You are unsubscribed from the Thurrock headteacher bulletin")
        assert served.ctx.repos.subscribers.find(HEAD).left_lists == ("headteacher-bulletin",)  # type: ignore[union-attr]
        assert axe_violations(page) == [], "done, with the way back"
        _press_button(page, "Subscribe again to the Thurrock headteacher bulletin")
        page.wait_for_selector("text=You are subscribed again to the Thurrock headteacher bulletin")
        assert served.ctx.repos.subscribers.find(HEAD).left_lists == ()  # type: ignore[union-attr]
        assert axe_violations(page) == [], "back on the list"
    finally:
        context.close()


def _press_button(page: Any, name: str) -> None:
    """Tab to the button (as someone without a mouse would) and press Enter."""
    for _ in range(20):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.textContent.trim()") == name:
            page.keyboard.press("Enter")
            return
    raise AssertionError(f"the {name!r} button cannot be reached with Tab")
