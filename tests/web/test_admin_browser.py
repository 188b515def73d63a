"""The admin side in a real browser (Debian's chromium through Playwright): axe-core finds no WCAG 2.2 A
or AA problem on any page, with and without errors shown, and the freeze can be pulled from the keyboard
alone, with focus moved to the error summary when the reason is missing."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from tests.web.people import (
    PASSWORD,
    app_with_team,
    close,
    email_of,
)

pytestmark = pytest.mark.browser
WCAG = {"runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]}}


@pytest.fixture(scope="module")
def site(team: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    folder = tmp_path_factory.mktemp("browser")
    app = app_with_team(team, folder, oidc_issuer="http://127.0.0.1:9", oidc_client_id="comms")
    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    close(app)


@pytest.fixture
def page(browser, site: str):  # type: ignore[no-untyped-def]
    context = browser.new_context(base_url=site)  # type: ignore[attr-defined]
    opened = context.new_page()
    yield opened
    context.close()


def _sign_in(page, role: str) -> None:  # type: ignore[no-untyped-def]
    page.goto("/signin")
    page.fill("#email", email_of(role))
    page.fill("#password", PASSWORD)
    page.click("button:has-text('Sign in')")
    page.wait_for_url(lambda u: "/signin" not in u)


def _no_violations(page, where: str) -> None:  # type: ignore[no-untyped-def]
    from axe_playwright_python.sync_playwright import Axe

    found = Axe().run(page, options=WCAG).response["violations"]
    problems = [f"{v['id']}: {v['help']} ({len(v['nodes'])}: {v['nodes'][0]['target']})" for v in found]
    assert not problems, f"{where}:\n" + "\n".join(problems)


def test_every_admin_page_passes_axe(page) -> None:  # type: ignore[no-untyped-def]
    page.goto("/signin")
    _no_violations(page, "sign in")
    page.fill("#email", email_of("admin"))
    page.click("button:has-text('Sign in')")
    _no_violations(page, "sign in with an error")
    page.fill("#password", PASSWORD)
    page.click("button:has-text('Sign in')")
    page.wait_for_url(lambda u: "/signin" not in u)
    for path in ("/audit", "/audit?since=31/2/2026", "/freeze", "/users", "/users/new", "/users/1", "/account"):
        page.goto(path)
        _no_violations(page, path)
    page.goto("/users/new")
    page.click("button:has-text('Add the user')")
    _no_violations(page, "add a user with errors")
    page.fill("#email", "nia.officer@council.example.gov.uk")
    page.check("#role")
    page.click("button:has-text('Add the user')")
    assert page.locator(".secret").count() == 1
    _no_violations(page, "user added")
    page.goto("/account")
    page.click("button:has-text('Change your password')")
    _no_violations(page, "account with errors")
    page.goto("/signin/callback?error=access_denied&error_description=not+assigned")
    _no_violations(page, "single sign-on refused")


def test_the_freeze_from_the_keyboard_alone(page) -> None:  # type: ignore[no-untyped-def]
    _sign_in(page, "admin")
    page.goto("/freeze")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Skip to main content"
    for _ in range(40):  # on through the header and the navigation to the reason box
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.id") == "reason":
            break
    else:
        pytest.fail("the reason box cannot be reached with Tab")
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")  # submitted with no reason
    page.wait_for_selector(".error-summary")
    assert page.evaluate("document.activeElement.className") == "error-summary", "focus moves to the problem"
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")  # the summary's link takes focus to the box
    assert page.evaluate("document.activeElement.id") == "reason"
    page.keyboard.type("critical incident in Grays")
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")
    page.wait_for_selector("text=Resume sending")
    assert "critical incident in Grays" in page.inner_text(".freeze")
    _no_violations(page, "paused")
