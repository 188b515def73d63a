"""The reports page: the monthly report and the committee summary in the page, the downloads, and the
report queued as an email for approval."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
import time_machine

from pipeline.app import Pipeline
from pipeline.records import ItemStatus
from pipeline.services.actor import Actor, Role
from pipeline.services.metrics import MetricsService
from tests.web.items.conftest import csrf_token
from tests.web.pages.conftest import ROLES, SignIn

AUTHOR = Actor.person(ROLES["author"], Role.AUTHOR)


def _outcome(page: str, metric: str) -> str:
    start = page.index(f'data-metric="{metric}"')
    return page[page.index(">", start) + 1 : page.index("</span>", start)]


def test_the_report_in_the_page_follows_a_figure(team: Pipeline, signed_in: SignIn) -> None:
    client = signed_in("viewer")
    before = client.get("/reports?month=2026-10&quarter=2026Q4")
    assert before.status_code == 200
    assert "Monthly report: 1 to 31 October 2026" in before.text
    assert _outcome(before.text, "referrals") == "referrals: No data yet (target 2)"
    MetricsService.of(team).add(
        AUTHOR, objective="6", metric="referrals", value=4, month="2026-10", now=datetime.now(UTC)
    )
    after = client.get("/reports?month=2026-10&quarter=2026Q4").text
    assert _outcome(after, "referrals") == "referrals: 4 (target 2)"
    assert "Committee summary: 2026Q4" in after


def test_the_downloads(team: Pipeline, signed_in: SignIn) -> None:
    client = signed_in("viewer")
    csv = client.get("/reports/monthly/2026-10.csv")
    assert csv.mimetype == "text/csv" and 'filename="report-2026-10.csv"' in csv.headers["Content-Disposition"]
    assert "2026-10" in csv.text
    data = json.loads(client.get("/reports/monthly/2026-10.json").text)
    assert data["month"] == "2026-10"
    html = client.get("/reports/monthly/2026-10.html")
    assert "attachment" in html.headers["Content-Disposition"] and "<html" in html.text
    framed = client.get("/reports/monthly/2026-10.html?view=frame")
    assert "Content-Disposition" not in framed.headers and framed.headers["X-Frame-Options"] == "SAMEORIGIN"
    quarter = json.loads(client.get("/reports/quarterly/2026Q4.json").text)
    assert quarter["quarter"] == "2026Q4"
    assert client.get("/reports/monthly/2026-13.csv").status_code == 404
    assert client.get("/reports?month=November").status_code == 400


def test_an_author_queues_the_report_and_a_viewer_cannot(team: Pipeline, signed_in: SignIn) -> None:
    viewer = signed_in("viewer")
    page = viewer.get("/reports?month=2026-10").text
    assert "Queue the report for approval" not in page
    refused = viewer.post(
        "/reports/monthly/2026-10/queue",
        data={"csrf_token": csrf_token(page), "audience": "elected-members", "channel": "member-briefing"},
    )
    assert refused.status_code == 403
    author = signed_in("author")
    page = author.get("/reports?month=2026-10").text
    assert "Queue the report for approval" in page
    strategy = team.repos.calendar.strategy()
    assert strategy is not None
    channel = next(c.code for c in strategy.channels if c.kind == "email")
    done = author.post(
        "/reports/monthly/2026-10/queue",
        data={"csrf_token": csrf_token(page), "audience": "elected-members", "channel": channel},
    )
    assert done.status_code == 302
    (item,) = [i for i in team.repos.outbox.items() if i.entry_id == "report"]
    assert done.headers["Location"] == f"/items/{item.id}"
    assert item.status == ItemStatus.AWAITING_APPROVAL and item.created_by == ROLES["author"]
    assert item.occurrence_key == "report:2026-10:elected-members"


@pytest.mark.parametrize(
    ("query", "field", "message"),
    [
        ("month=2026-13", "month", "Month must look like 2026-11, not “2026-13”"),
        ("month=abc", "month", "Month must look like 2026-11, not “abc”"),
        ("month=2026-1&quarter=2026Q3", "month", "Month must look like 2026-11, not “2026-1”"),
        ("month=2026-10&quarter=2026Q5", "quarter", "Quarter must look like 2026Q4, not “2026Q5”"),
    ],
)
def test_a_bad_month_or_quarter_in_the_address_shows_this_one_with_the_reason(
    team: Pipeline, signed_in: SignIn, query: str, field: str, message: str
) -> None:
    with time_machine.travel(datetime(2026, 11, 20, 12, 0, tzinfo=UTC), tick=False):
        shown = signed_in("viewer").get(f"/reports?{query}")
    page = shown.text
    assert shown.status_code == 400 and "<title>Error: Reports" in page
    assert f'<li><a href="#{field}">{message}</a></li>' in page, "in the error summary, linked to its field"
    assert f'id="{field}-error"><span class="visually-hidden">Error:</span> {message}</span>' in page
    if field == "month":
        assert 'name="month" value="2026-11"' in page and "Monthly report: 1 to 20 November 2026" in page
    else:
        assert 'name="quarter" value="2026Q4"' in page and "Monthly report: 1 to 31 October 2026" in page


def test_no_month_in_the_address_is_this_month_and_quarter(team: Pipeline, signed_in: SignIn) -> None:
    with time_machine.travel(datetime(2026, 6, 30, 23, 30, tzinfo=UTC), tick=False):  # 00:30 on 1 July in London
        shown = signed_in("viewer").get("/reports?month=")
        lower = signed_in("viewer").get("/reports?month=2026-05&quarter=%202026q2%20")
    assert shown.status_code == 200 and 'class="error-summary"' not in shown.text
    assert 'name="month" value="2026-07"' in shown.text and 'name="quarter" value="2026Q3"' in shown.text
    assert lower.status_code == 200 and 'name="quarter" value="2026Q2"' in lower.text
