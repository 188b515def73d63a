"""Every page of the workspace passes axe-core (WCAG 2.2 A and AA) in a real browser, as each role sees it,
and the sign-in works from the keyboard alone."""

from __future__ import annotations

from typing import Any

import pytest

from tests.browser.conftest import PASSWORD, Workspace, axe_violations, email_of, sign_in

pytestmark = pytest.mark.browser

PAGES = ["/queue", "/audit", "/freeze", "/users", "/calendar", "/calendar/upload"]
PAGES += ["/", "/reports", "/metrics", "/feeds", "/subscribers"]


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
