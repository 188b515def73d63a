"""The reports from stored data, on SQLite and PostgreSQL, and from the command line: a report is as of
the moment it is produced (`--at`), a quarter counts no month not started, and the evidence line about
monthly reports counts the reports the clock actually wrote."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from content_calendar.calendar import load_calendar
from pipeline.errors import Invalid
from pipeline.rendering.render import Renderer
from pipeline.services.actor import Actor
from pipeline.services.reports import ReportService
from pipeline.storage.store import Repositories
from tests.conftest import EXAMPLE

LONDON = ZoneInfo("Europe/London")
NOV_22 = datetime(2026, 11, 22, 12, 0, tzinfo=LONDON)


@pytest.fixture
def reports(store: Repositories, strategy) -> ReportService:  # type: ignore[no-untyped-def]
    entries = load_calendar(sorted((EXAMPLE / "calendar").glob("*")), strategy)
    store.calendar.import_plan(strategy, entries, datetime(2026, 9, 1, tzinfo=UTC))
    return ReportService(LONDON, Renderer(), store.calendar, store.outbox, store.metrics, store.ledger)


def test_a_quarter_produced_part_way_through_counts_only_what_was_due(
    store: Repositories, reports: ReportService
) -> None:
    q = reports.quarterly(Actor.clock(), "2026Q4", NOV_22)
    s = q["summary"]
    assert (s["due"], s["sent"], s["to_come"]) == (8 + 11, 0, 1 + 9), "December: to come, not missed"
    assert s["not_delivered_in_full"] == 19
    assert {o["status"] for o in q["objectives"]} == {"nodata"}, "no figures recorded: no objective is red"
    assert q["evidence"]["10.2"][0] == (
        "2026Q4: a formal plan of 29 activities against 6 objectives; 0 of the 19 due by 22 November 2026 were sent "
        "(0%); 10 more are planned by 31 December 2026."
    )
    assert "written by the pipeline for 0 of the 1 month ended (none)" in q["evidence"]["10.2"][1]
    store.ledger.claim("report:2026-10", "report", datetime(2026, 11, 2, 8, tzinfo=UTC))
    store.ledger.finish("report:2026-10", datetime(2026, 11, 2, 8, 1, tzinfo=UTC))
    q = reports.quarterly(Actor.clock(), "2026Q4", NOV_22)
    assert "written by the pipeline for 1 of the 1 month ended (October 2026)" in q["evidence"]["10.2"][1]
    html = reports.quarterly_file(Actor.clock(), "2026Q4", "html", NOV_22)
    assert "1 October to 22 November 2026 (to date)" in html and "tag-notstarted" in html


def test_nothing_is_reported_for_a_period_not_started(reports: ReportService) -> None:
    with pytest.raises(Invalid, match="December 2026 has not started on 22 November 2026"):
        reports.monthly(Actor.clock(), "2026-12", NOV_22)
    with pytest.raises(Invalid, match="2027Q1 has not started on 22 November 2026"):
        reports.quarterly(Actor.clock(), "2027Q1", NOV_22)


def test_the_command_line_reports_as_of_a_moment(cli_env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from pipeline.cli import main

    assert main(["calendar", "import"]) == 0
    capsys.readouterr()
    assert main(["report", "--month", "2026-11", "--format", "json", "--at", "2026-11-22T12:00"]) == 0
    during = json.loads(capsys.readouterr().out)
    assert during["period"]["label"] == "1 to 22 November 2026 (to date)" and during["summary"]["due"] == 11
    assert main(["report", "--month", "2026-11", "--format", "json", "--at", "2026-12-01T09:00"]) == 0
    after = json.loads(capsys.readouterr().out)
    assert after["period"]["label"] == "1 to 30 November 2026" and after["summary"]["due"] == 12
    assert main(["report", "--month", "2026-12", "--at", "2026-11-22T12:00"]) == 2
    assert "December 2026 has not started" in capsys.readouterr().err
    assert main(["report", "--quarter", "2026Q4", "--format", "json", "--at", "2026-11-22T12:00"]) == 0
    quarter = json.loads(capsys.readouterr().out)
    assert quarter["summary"]["to_come"] == 10 and [m["state"] for m in quarter["month_rows"]] == [
        "ended",
        "to date",
        "not started",
    ]


def test_without_at_the_report_is_as_of_the_clock(cli_env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import time_machine

    from pipeline.cli import main

    assert main(["calendar", "import"]) == 0
    capsys.readouterr()
    with time_machine.travel(datetime(2026, 11, 22, 12, 0, tzinfo=LONDON), tick=False):
        assert main(["report", "--month", "2026-11", "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out)["period"]["label"] == "1 to 22 November 2026 (to date)"
    with time_machine.travel(datetime(2026, 12, 1, 0, 0, tzinfo=LONDON), tick=False):
        assert main(["report", "--month", "2026-11", "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out)["period"]["label"] == "1 to 30 November 2026"
