"""The calendar pages on the real app: the month (grid, list, filters, gaps), one occurrence with its
skip and move forms, the downloads, and an upload shown as problems or as a difference, then applied."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from datetime import UTC, datetime
from io import BytesIO
from pathlib import Path

import pytest
import time_machine
from flask import Flask
from icalendar import Calendar

from pipeline.services.actor import Actor
from pipeline.services.plan import PlanService
from tests.conftest import EXAMPLE
from tests.web.people import app_with_team, client_as, close, context, submit, text, token

NOW = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)


@pytest.fixture
def planned(team: Path, tmp_path: Path) -> Iterator[Flask]:
    shutil.copytree(EXAMPLE, tmp_path / "ws")
    app = app_with_team(team, tmp_path, workspace=tmp_path / "ws", public_base_url="https://comms.example.gov.uk")
    PlanService.of(context(app)).import_plan(Actor.system(), NOW)
    with time_machine.travel(NOW, tick=False):
        yield app
    close(app)


def test_the_month_as_a_grid_a_list_filtered_with_its_gaps(planned: Flask) -> None:
    client = client_as(planned, "viewer")
    page = text(client.get("/calendar?month=2026-12"))
    assert "<h1>December 2026</h1>" in page and 'aria-current="page">Calendar</a>' in page
    assert "9 occurrences in December 2026" in page
    assert page.count("Not composed yet") == 9
    assert 'href="/calendar/x-fortnightly/2026-12-08"' in page
    assert "Coverage gaps" in page and "Objectives with no activity this month" in page
    assert "?month=2026-11" in page and "?month=2027-01" in page
    listed = text(client.get("/calendar?month=2026-12&view=list&channel=x"))
    assert "Tuesday 8 December" in listed and "Tuesday 22 December" in listed
    assert "What is Prevent?" not in listed  # the Facebook series is filtered out
    nothing = text(client.get("/calendar?month=2026-12&audience=elected-members"))
    assert "Nothing is planned in December 2026 for these filters" in nothing
    assert "Upload a new calendar" not in page  # a viewer cannot plan


def test_move_and_skip_from_the_occurrence_page_show_in_the_downloads(planned: Flask) -> None:
    client = client_as(planned, "author")
    at = "/calendar/x-fortnightly/2026-12-08"
    refused = submit(
        client, at, f"{at}/move", {"move-day": "9/12/2026", "move-at": "01:30", "move-reason": "night owls"}
    )
    assert refused.status_code == 400 and "01:00 to 02:00 is refused" in text(refused)
    blank = client.post(f"{at}/skip", data={"skip-csrf_token": token(client.get(at))})
    assert blank.status_code == 400 and "Enter why, so the team knows" in text(blank)
    moved = submit(client, at, f"{at}/move", {"move-day": "9/12/2026", "move-at": "15:00", "move-reason": "launch day"})
    assert moved.status_code == 302
    page = text(client.get(at))
    assert "Moved to Wednesday 9 December 2026 at 15:00." in page
    assert "by author@council.example.gov.uk: launch day" in page
    ics = client.get("/calendar.ics?month=2026-12")
    assert ics.mimetype == "text/calendar"
    events = {str(e["uid"]): e for e in Calendar.from_ical(ics.data).walk("VEVENT")}
    assert events["x-fortnightly@2026-12-08@comms-pipeline"]["dtstart"].dt.isoformat() == "2026-12-09T15:00:00+00:00"
    # and undone
    restore = client.post(f"{at}/restore", data={"restore-csrf_token": token(client.get(at))})
    assert restore.status_code == 302 and "Back where the plan puts it" in text(client.get(at))
    csv = client.get("/calendar.csv")
    assert csv.data.startswith(b"\xef\xbb\xbfid,title,channel") and "attachment" in csv.headers["Content-Disposition"]


def test_upload_shows_problems_by_line_then_the_difference_then_applies(planned: Flask) -> None:
    client = client_as(planned, "author")
    csrf = token(client.get("/calendar/upload"))
    bad = b"id,title,channel,objectives,start_date,time\nx,T,facebook,9,2026-12-03,09:00\n"
    shown = client.post("/calendar/upload", data={"csrf_token": csrf, "file": (BytesIO(bad), "mine.csv")})
    assert shown.status_code == 400
    assert "mine.csv:2: objectives: unknown objective &#39;9&#39;" in text(shown)
    current = client.get("/calendar.csv").data
    edited = current.replace(b"x-fortnightly,ACT Early reminder", b"x-fortnightly,ACT Early: a reminder")
    assert edited != current
    shown = client.post("/calendar/upload", data={"csrf_token": csrf, "file": (BytesIO(edited), "2026-27.csv")})
    page = text(shown)
    assert shown.status_code == 200 and "0 added, 0 removed, 1 changed" in page
    assert "(changed: title)" in page
    apply = client.post(
        "/calendar/apply",
        data={"csrf_token": csrf, "token": _hidden(page, "token"), "base": _hidden(page, "base")},
    )
    assert apply.status_code == 302
    assert "The calendar is now 2026-27.csv: 13 entries (0 added, 0 removed, 1 changed)." in text(
        client.get("/calendar?month=2026-12")
    )
    assert "ACT Early: a reminder" in text(client.get("/calendar?month=2026-12"))


def _hidden(page: str, name: str) -> str:
    marker = f'name="{name}" type="hidden" value="'
    start = page.index(marker) + len(marker)
    return page[start : page.index('"', start)]


@pytest.mark.parametrize(
    ("asked", "message"),
    [
        ("2026-13", "Month must look like 2026-11, not “2026-13”"),
        ("abc", "Month must look like 2026-11, not “abc”"),
        ("2026-1", "Month must look like 2026-11, not “2026-1”"),
        ("1999-11", "Month must be from 2000-01 to 2099-12, not “1999-11”"),
    ],
)
def test_a_bad_month_in_the_address_shows_this_month_with_the_reason(planned: Flask, asked: str, message: str) -> None:
    client = client_as(planned, "viewer")
    shown = client.get(f"/calendar?month={asked}&view=list")
    page = text(shown)
    assert shown.status_code == 400
    assert "<h1>November 2026</h1>" in page, "this month (the clock is at 25 November 2026)"
    assert 'class="error-summary"' in page and message in page and "<title>Error: Calendar" in page
    assert "Traceback" not in page
    ics = client.get(f"/calendar.ics?month={asked}")
    assert ics.status_code == 400 and message in text(ics), "a download of another month would mislead"


def test_no_month_in_the_address_is_this_month(planned: Flask) -> None:
    client = client_as(planned, "viewer")
    shown = client.get("/calendar")
    assert shown.status_code == 200 and "<h1>November 2026</h1>" in text(shown)
    assert 'class="error-summary"' not in text(shown)
    ics = client.get("/calendar.ics")
    assert ics.status_code == 200 and 'filename="calendar-2026-11.ics"' in ics.headers["Content-Disposition"]
