"""The calendar in a real browser, as a person uses it: upload a calendar with an error and see it by line,
fix it, see the difference and apply it; move one occurrence from the keyboard and find it at its new time
in the ICS download. Every calendar page passes axe-core and fits a 375 px screen."""

from __future__ import annotations

import shutil
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from icalendar import Calendar
from playwright.sync_api import expect

from content_calendar.rules import is_working_day
from pipeline.services.actor import Actor
from pipeline.services.plan import PlanService
from pipeline.settings import Settings, load_settings
from tests.browser.conftest import Workspace, axe_violations, sign_in
from tests.conftest import EXAMPLE

pytestmark = pytest.mark.browser
LONDON = ZoneInfo("Europe/London")


@pytest.fixture
def web_settings(tmp_path: Path, mailbox: Any) -> Settings:
    """As tests/browser/conftest.py, on a copy of the example workspace: applying an upload replaces
    the workspace's calendar files."""
    shutil.copytree(EXAMPLE, tmp_path / "ws")
    _box, (host, port) = mailbox
    return load_settings(
        environ={},
        env_file=None,
        database_url=f"sqlite:///{tmp_path / 'comms.db'}",
        workspace=tmp_path / "ws",
        outbox_dir=tmp_path / "outbox",
        smtp_host=host,
        smtp_port=port,
        secret_key="browser-test-secret",
        file_channels=("*",),
        public_base_url="http://127.0.0.1:8000",
    )


def _a_clear_wednesday() -> date:
    """A Wednesday two weeks or more ahead whose Thursday is a working day too (dates relative to today,
    so the test does not age with the example calendar)."""
    day = datetime.now(LONDON).date() + timedelta(days=14)
    while day.weekday() != 2 or not (is_working_day(day) and is_working_day(day + timedelta(days=1))):
        day += timedelta(days=1)
    return day


def _calendar_file(base: bytes, folder: Path, day: date, objective: str) -> tuple[Path, int]:
    """The downloaded calendar with one new entry at its end, and the line it is on."""
    row = f"staff-briefing,Staff Prevent briefing,intranet,team-thurrock,{objective},intranet,,,{day},10:00,,,,,,,"
    text = base.decode("utf-8-sig").rstrip("\r\n") + "\r\n" + row + "\r\n"
    path = folder / "2026-27.csv"
    path.write_bytes(b"\xef\xbb\xbf" + text.encode())
    return path, text.count("\r\n")


def _fits(page: Any, width: int = 375) -> bool:
    return bool(page.evaluate(f"document.documentElement.scrollWidth <= {width}"))


def test_upload_fix_apply_then_move_one_and_find_it_in_the_ics(served: Workspace, page: Any, tmp_path: Path) -> None:
    PlanService.of(served.ctx).import_plan(Actor.system(), datetime.now(UTC))
    sign_in(page, served.url, "author")
    page.get_by_role("link", name="Calendar", exact=True).click()
    assert page.get_by_role("heading", level=1).inner_text() == datetime.now(LONDON).strftime("%B %Y")
    with page.expect_download() as got:
        page.get_by_role("link", name="Download the whole calendar for Excel (CSV)").click()
    current = Path(got.value.path()).read_bytes()
    day = _a_clear_wednesday()

    # 1. upload with an error: seen by file, line and field
    page.get_by_role("link", name="Upload a new calendar").click()
    bad, line = _calendar_file(current, tmp_path, day, "9")
    page.get_by_label("Calendar file").set_input_files(str(bad))
    page.get_by_role("button", name="Check the file").click()
    expect(page.locator(".error-summary")).to_be_visible()
    expect(page.get_by_text(f"2026-27.csv:{line}: objectives: unknown objective '9'")).to_be_visible()
    assert axe_violations(page) == [], "the upload page with its problems"

    # 2. fixed: the difference, then applied
    fixed, _ = _calendar_file(current, tmp_path, day, "2")
    page.get_by_label("Calendar file").set_input_files(str(fixed))
    page.get_by_role("button", name="Check the file").click()
    expect(page.get_by_text("1 added, 0 removed, 0 changed")).to_be_visible()
    row = page.get_by_role("row").filter(has_text="Staff Prevent briefing").first
    assert "new" in row.inner_text() and day.strftime("%-d %b %Y") in row.inner_text()
    assert axe_violations(page) == [], "the difference"
    page.get_by_role("button", name="Apply this calendar").click()
    expect(page.get_by_text("(1 added, 0 removed, 0 changed)")).to_be_visible()

    # 3. move the new occurrence to Thursday 15:00, from the keyboard
    page.goto(f"{served.url}/calendar?month={day:%Y-%m}&view=list")
    page.get_by_role("link", name="10:00 Staff Prevent briefing").click()
    page.get_by_label("New date").focus()
    page.keyboard.type(f"{day + timedelta(days=1):%d/%m/%Y}")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "move-at"
    page.keyboard.type("01:30")
    page.keyboard.press("Tab")
    page.keyboard.type("after the all-staff call")
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")
    expect(page.locator(".error-summary").get_by_text("01:00 to 02:00 is refused")).to_be_visible()
    assert axe_violations(page) == [], "the occurrence page with its refusal"
    page.get_by_label("New time (UK time)").fill("15:00")
    page.get_by_label("Why move it?").fill("after the all-staff call")
    page.get_by_role("button", name="Move this one").press("Enter")
    moved_to = datetime.combine(day + timedelta(days=1), datetime.min.time().replace(hour=15), tzinfo=LONDON)
    expect(page.get_by_text(f"Moved to {moved_to:%A %-d %B %Y} at 15:00.")).to_be_visible()

    # 4. the ICS of that month has it at its new local time, with its reason
    page.goto(f"{served.url}/calendar?month={moved_to:%Y-%m}")
    with page.expect_download() as got:
        page.get_by_role("link", name=f"Download {moved_to:%B %Y} for Outlook or Google (ICS)").click()
    events = {str(e["uid"]): e for e in Calendar.from_ical(Path(got.value.path()).read_bytes()).walk("VEVENT")}
    event = events[f"staff-briefing@{day.isoformat()}@comms-pipeline"]
    assert event["dtstart"].dt == moved_to and event["dtstart"].params["TZID"] == "Europe/London"
    assert "by author@thurrock.gov.uk: after the all-staff call" in str(event["description"])


def test_the_calendar_pages_pass_axe_from_the_keyboard_and_at_375px(served: Workspace, page: Any) -> None:
    PlanService.of(served.ctx).import_plan(Actor.system(), datetime.now(UTC))
    sign_in(page, served.url, "author")
    month = "2026-12"
    paths = [
        f"/calendar?month={month}",
        f"/calendar?month={month}&view=list",
        f"/calendar?month={month}&channel=x",
        "/calendar/x-fortnightly/2026-12-08",
        "/calendar/upload",
    ]
    for width in (1280, 375):
        page.set_viewport_size({"width": width, "height": 900})
        for path in paths:
            response = page.goto(f"{served.url}{path}")
            assert response is not None and response.status == 200, path
            assert axe_violations(page) == [], f"{path} at {width}px"
            assert _fits(page, width), f"{path} is wider than {width}px"
    # from the keyboard: the skip link, then the nav reaches the calendar, and the grid scrolls by keys
    page.goto(f"{served.url}/calendar?month={month}")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Skip to main content"
    names = []
    for _ in range(12):
        page.keyboard.press("Tab")
        names.append(page.evaluate("document.activeElement.textContent.trim()"))
    assert "Calendar" in names and any(n.startswith("Previous month") for n in names)
    grid = page.locator(".table-scroll")
    grid.focus()
    assert page.evaluate("document.activeElement.classList.contains('table-scroll')")
    page.keyboard.press("ArrowRight")
    # at 375px the grid scrolls from the keyboard (the browser may scroll smoothly: wait for it)
    for _ in range(50):
        if grid.evaluate("e => e.scrollLeft") > 0:
            break
        page.wait_for_timeout(100)
    assert grid.evaluate("e => e.scrollLeft") > 0, "at 375px the grid scrolls from the keyboard"
