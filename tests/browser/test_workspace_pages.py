"""The workspace pages of part 2 in a real browser, as a person uses them: a figure corrected and the
report following it; a subscriber file with a bad audience refused by line; every page passing axe-core
as each role sees it, usable from the keyboard and fitting a 375 px wide phone."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from pipeline.app import Pipeline
from tests.browser.conftest import Workspace, axe_violations, sign_in

pytestmark = pytest.mark.browser
PAGES = ["/", "/reports?month=2026-10", "/metrics?month=2026-10", "/feeds", "/subscribers"]
BAD_SUBSCRIBERS = (
    "email,name,organisation,audiences,consent_source,consent_date\n"
    "ok@school.example.org,Ms Ok,A School,headteachers,sign-up form,2026-11-01\n"
    "typo@school.example.org,Mr Typo,B School,headteacher,sign-up form,2026-11-01\n"
)


def _planned(served: Workspace) -> Pipeline:
    ctx = served.ctx
    p = Pipeline(ctx.settings, ctx.repos, ctx.workspace, ctx.renderer, ctx.adapter_for)
    p.import_plan(now=datetime(2026, 10, 1, tzinfo=UTC))
    p.import_subscribers()
    p.import_feeds()
    return p


def _referrals(page: Any, url: str) -> str:
    page.goto(f"{url}/reports?month=2026-10")
    return str(page.locator('[data-metric="referrals"]').inner_text())


def test_correct_a_figure_and_see_the_report_change(served: Workspace, page: Any) -> None:
    _planned(served)
    sign_in(page, served.url, "author")
    assert _referrals(page, served.url).startswith("referrals: No data yet")
    page.goto(f"{served.url}/metrics?month=2026-10")
    page.get_by_label("Objective", exact=True).select_option("6")
    page.get_by_label("Metric").select_option("referrals")
    page.get_by_label("Month", exact=True).fill("2026-10")
    page.get_by_label("Value").fill("3")
    page.get_by_role("button", name="Save the figure").click()
    page.wait_for_load_state()
    assert page.get_by_text("Recorded objective 6 referrals, 2026-10 (by hand) = 3").is_visible()
    assert _referrals(page, served.url).startswith("referrals: 3 ")
    page.goto(f"{served.url}/metrics?month=2026-10")
    page.locator("table a", has_text="#").first.click()
    page.get_by_label("New value").fill("5")
    page.get_by_role("button", name="Save the new value").click()
    page.wait_for_load_state()
    assert page.get_by_text("3 → 5").is_visible()
    assert _referrals(page, served.url).startswith("referrals: 5 ")
    csv = page.request.get(f"{served.url}/reports/monthly/2026-10.csv").text()
    assert any(",referrals," in line and ",5" in line for line in csv.splitlines()), "the download follows too"


def test_import_subscribers_with_a_bad_audience_and_see_it_refused(
    served: Workspace, page: Any, tmp_path: Path
) -> None:
    p = _planned(served)
    before = len(p.repos.subscribers.all())
    bad = tmp_path / "autumn.csv"
    bad.write_text(BAD_SUBSCRIBERS, encoding="utf-8")
    sign_in(page, served.url, "admin")
    page.goto(f"{served.url}/subscribers")
    page.get_by_label("The subscribers CSV").set_input_files(str(bad))
    page.get_by_role("button", name="Preview the import").click()
    summary = page.locator(".error-summary")
    assert summary.is_visible()
    assert "autumn.csv:3: audiences: 'headteacher' is not an audience in strategy.yaml" in summary.inner_text()
    assert "did you mean 'headteachers'?" in summary.inner_text()
    assert page.get_by_text("autumn.csv was not imported: nothing was changed.").is_visible()
    assert axe_violations(page) == [], "the refusal passes axe"
    assert len(p.repos.subscribers.all()) == before
    assert p.repos.subscribers.find("ok@school.example.org") is None, "all or nothing"


@pytest.mark.parametrize("role", ["viewer", "author", "admin"])
def test_the_pages_pass_axe_and_fit_a_phone(served: Workspace, browser: Any, role: str) -> None:
    _planned(served)
    for width in (1280, 375):
        context = browser.new_context(viewport={"width": width, "height": 800}, locale="en-GB")
        tab = context.new_page()
        sign_in(tab, served.url, role)
        for path in PAGES:
            response = tab.goto(f"{served.url}{path}")
            assert response is not None and response.status == 200, path
            assert axe_violations(tab) == [], f"{path} as {role} at {width} px"
            wide = tab.evaluate("document.documentElement.scrollWidth")
            assert wide <= width, f"{path} as {role} is {wide} px wide at {width} px"
        context.close()


def test_the_pages_work_from_the_keyboard(served: Workspace, page: Any) -> None:
    _planned(served)
    sign_in(page, served.url, "author")
    page.goto(f"{served.url}/")
    for name in ("Reports", "Metrics", "Feeds", "Subscribers"):
        for _ in range(40):  # tab to the nav link, then follow it with Enter
            page.keyboard.press("Tab")
            if page.evaluate("document.activeElement.textContent.trim()") == name:
                break
        else:
            pytest.fail(f"the {name} link is not reachable from the keyboard")
        page.keyboard.press("Enter")
        page.wait_for_load_state()
        assert page.locator("h1").inner_text() == name
    page.goto(f"{served.url}/metrics?month=2026-10")
    page.get_by_label("Objective", exact=True).focus()
    page.keyboard.press("ArrowDown")  # choose objective 1 from the keyboard
    page.get_by_label("Value").focus()
    page.keyboard.type("2")
    page.keyboard.press("Enter")  # sends the form
    page.get_by_text("= 2 (figure #").wait_for(timeout=10_000)  # the page after the form was sent


def test_the_previews_the_figure_page_and_their_errors_pass_axe(served: Workspace, page: Any, tmp_path: Path) -> None:
    from tests.conftest import EXAMPLE

    _planned(served)
    sign_in(page, served.url, "admin")
    page.goto(f"{served.url}/metrics")
    page.get_by_label("The export file (CSV)").set_input_files(str(EXAMPLE / "metrics" / "2026-11-by-hand.csv"))
    page.get_by_role("button", name="Preview the import").click()
    page.wait_for_load_state()
    assert page.locator("h1").inner_text() == "Check the import of 2026-11-by-hand.csv"
    assert axe_violations(page) == [], "the metrics import preview"
    page.get_by_role("button", name="Import").click()
    page.wait_for_load_state()
    page.goto(f"{served.url}/metrics?month=2026-11")
    page.locator("table a", has_text="#").first.click()
    page.get_by_label("New value").fill("minus four")
    page.get_by_role("button", name="Save the new value").click()
    page.wait_for_load_state()
    assert page.locator(".error-summary").is_visible()
    assert axe_violations(page) == [], "a figure's page with its error"
    page.goto(f"{served.url}/subscribers")
    page.get_by_label("The subscribers CSV").set_input_files(str(EXAMPLE / "subscribers.csv"))
    page.get_by_role("button", name="Preview the import").click()
    page.wait_for_load_state()
    assert page.locator("h1").inner_text() == "Check the import of subscribers.csv"
    assert axe_violations(page) == [], "the subscribers import preview"
    page.goto(f"{served.url}/subscribers?email=head@gable-hall.example.org")
    page.get_by_role("button", name="Erase head@gable-hall.example.org").click()
    page.wait_for_load_state()
    assert page.locator(".error-summary").is_visible(), "erasing asks for the confirmation"
    assert axe_violations(page) == [], "a person's record with the erase error"
