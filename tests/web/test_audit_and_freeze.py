"""The audit log page (filters on UK days, pages of 50, the CSV) and the freeze page, on a real database
with what the services record."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, datetime, timedelta

from flask import Flask

from pipeline.records import ItemStatus
from pipeline.services.actor import Actor, Role
from pipeline.services.audit import AuditService
from pipeline.services.control import ControlService
from pipeline.services.outbox import OutboxService
from pipeline.services.plan import PlanService
from tests.web.people import client_as, context, email_of, submit, text

NOW = datetime(2026, 11, 5, 8, 0, tzinfo=UTC)
ROW = re.compile(r"<tr>\s*<td><time", re.S)


def _record(app: Flask, action: str, at: datetime, detail: str = "", target: str = "") -> None:
    AuditService.of(context(app)).record(Actor.system("test"), action, at, target, detail)


def _post_item(app: Flask, n: int) -> int:
    item = context(app).repos.outbox.add_item(
        NOW,
        occurrence_key=f"e@2026-11-05-{n}",
        entry_id="e",
        channel="facebook",
        kind="post",
        title="Prevent awareness",
        body="Worried about someone? Talk to us.",
        audiences=["residents"],
        objectives=["1"],
        due_at=NOW + timedelta(hours=3),
        approval="required",
        approvals_required=1,
        created_by="clock",
        status=ItemStatus.AWAITING_APPROVAL,
    )
    return item.id


# the audit log ----------------------------------------------------------------------------------------
def test_the_log_shows_what_people_and_the_pipeline_did(app: Flask) -> None:
    author = Actor.person(email_of("author"), Role.AUTHOR)
    approver = Actor.person(email_of("approver"), Role.APPROVER)
    outbox, first, second = OutboxService.of(context(app)), _post_item(app, 1), _post_item(app, 2)
    outbox.edit(author, first, NOW, body="Worried about someone? Call 0800 789 321.")
    outbox.approve(approver, first, NOW)
    outbox.reject(approver, second, "wrong date", NOW)
    PlanService.of(context(app)).import_plan(Actor.cli(email_of("admin"), Role.ADMIN), NOW)
    admin = client_as(app, "admin")
    submit(admin, "/freeze", "/freeze/pause", {"reason": "critical incident in Grays"})
    submit(admin, "/freeze", "/freeze/resume", {"note": "all clear"})
    submit(admin, "/users/new", "/users/new", {"email": "new@council.example.gov.uk", "role": "viewer"})
    page = text(client_as(app, "approver").get("/audit"))
    actions = re.findall(r"<code>([^<]+)</code>", page)
    for action in (
        "signin",
        "item.edited",
        "item.approved",
        "item.rejected",
        "plan.imported",
        "freeze.paused",
        "freeze.resumed",
        "user.added",
    ):
        assert action in actions, action
    assert "critical incident in Grays" in page and "wrong date" in page
    assert f'>{email_of("approver")}</a><span class="hint">web workspace</span>' in page


def test_days_are_uk_days(app: Flask) -> None:
    """1 July in the UK (summer time) runs from 23:00 UTC on 30 June to 23:00 UTC on 1 July."""
    for at in ("2026-06-30T22:59", "2026-06-30T23:00", "2026-07-01T22:59", "2026-07-01T23:00"):
        _record(app, "test.day", datetime.fromisoformat(at).replace(tzinfo=UTC), detail=f"at {at}")
    page = text(client_as(app, "admin").get("/audit?action=test.&since=1/7/2026&until=2026-07-01"))
    assert "at 2026-06-30T23:00" in page and "at 2026-07-01T22:59" in page
    assert "at 2026-06-30T22:59" not in page and "at 2026-07-01T23:00" not in page
    assert "Wed 1 Jul 2026, 23:59" in page and "Wed 1 Jul 2026, 00:00" in page  # shown in UK time


def test_a_bad_date_is_named_and_what_was_typed_is_kept(app: Flask) -> None:
    client = client_as(app, "approver")
    bad = client.get("/audit?since=31/2/2026&who=sam")
    page = text(bad)
    assert bad.status_code == 400 and "<title>Error: Audit log" in page
    assert '<a href="#since">From date must be a real date, like 5/11/2026</a>' in page
    assert 'id="since" maxlength' not in page and 'value="31/2/2026"' in page and 'value="sam"' in page
    backwards = text(client.get("/audit?since=2/11/2026&until=1/11/2026"))
    assert '<a href="#until">To date must be the same as or after the from date</a>' in backwards
    assert client.get("/audit.csv?until=yesterday").status_code == 400


def test_fifty_a_page_with_the_filters_kept(app: Flask) -> None:
    for n in range(120):
        _record(app, "test.bulk", NOW + timedelta(seconds=n), detail=f"number {n}")
    client = client_as(app, "approver")
    first = text(client.get("/audit?action=test.bulk"))
    assert len(ROW.findall(first)) == 50 and "Page 1 of 3" in first and "number 119" in first
    assert 'href="/audit?page=2&amp;action=test.bulk" rel="next"' in first
    last = text(client.get("/audit?action=test.bulk&page=3"))
    assert len(ROW.findall(last)) == 20 and "Page 3 of 3" in last and "number 0<" in last and 'rel="next"' not in last
    assert "There are no more entries" in text(client.get("/audit?action=test.bulk&page=9"))


def test_the_csv_has_the_same_filters_and_no_formulas(app: Flask) -> None:
    _record(app, "test.csv", NOW, detail='=HYPERLINK("http://evil.example","click")', target="item:1")
    _record(app, "test.csv", NOW, detail="plain", target="item:2")
    _record(app, "other.thing", NOW)
    client = client_as(app, "approver")
    response = client.get("/audit.csv?action=test.csv")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert re.fullmatch(
        r'attachment; filename="audit-\d{4}-\d\d-\d\d-\d{4}\.csv"', response.headers["Content-Disposition"]
    )
    rows = list(csv.DictReader(io.StringIO(text(response))))
    assert [r["target"] for r in rows] == ["item:2", "item:1"]
    assert rows[1]["detail"].startswith("'=HYPERLINK")
    exported = AuditService.of(context(app)).search(Actor.cli(), action="audit.exported").entries
    assert exported[0].actor == email_of("approver") and exported[0].detail == "action=test.csv"


# the freeze -------------------------------------------------------------------------------------------
def test_everyone_sees_the_state_but_only_an_admin_may_pull_it(app: Flask) -> None:
    page = text(client_as(app, "viewer").get("/freeze"))
    assert "Sending is on" in page and "Pause all sending" not in page
    assert "Only an admin can pause or resume sending" in page and email_of("admin") in page
    assert "Pause all sending" in text(client_as(app, "admin").get("/freeze"))


def test_a_pause_needs_a_reason_and_shows_on_every_page_until_resumed(app: Flask) -> None:
    admin, viewer = client_as(app, "admin"), client_as(app, "viewer")
    empty = submit(admin, "/freeze", "/freeze/pause", {"reason": "  "})
    assert empty.status_code == 400 and '<a href="#reason">Enter a reason</a>' in text(empty)
    assert not ControlService.of(context(app)).freeze().paused
    done = submit(admin, "/freeze", "/freeze/pause", {"reason": "critical incident in Grays"})
    assert done.status_code == 302 and done.headers["Location"] == "/freeze"
    state = ControlService.of(context(app)).freeze()
    assert state.paused and state.by == email_of("admin") and state.reason == "critical incident in Grays"
    seen = text(viewer.get("/queue"))
    assert "Sending is paused." in seen and "critical incident in Grays" in seen
    freeze_page = text(viewer.get("/freeze"))
    assert "Paused by</dt><dd>" + email_of("admin") in freeze_page and "Resume sending" not in freeze_page
    resumed = submit(admin, "/freeze", "/freeze/resume", {"note": "all clear"})
    assert resumed.status_code == 302 and not ControlService.of(context(app)).freeze().paused
    assert "Sending is paused." not in text(viewer.get("/queue"))
    assert "Sending is resumed" in text(admin.get("/freeze"))
