"""Job functions the clock (or a queue worker) runs, referenced by text as "pipeline.jobs.tasks:NAME".

Each reads `now` once and passes it down; each takes only ids or nothing, so the clock process and
a queue worker can run the same function. Work is decided by the ledger, not by the trigger, so a
missed, doubled or replayed wake-up neither loses nor repeats anything.
"""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime
from pathlib import Path

from pipeline.app import Pipeline, make_pipeline
from pipeline.clock.scheduler import first_working_day
from pipeline.records import Outcome
from pipeline.reporting.files import write_report_html
from pipeline.reporting.report import report_csv, report_json
from pipeline.settings import load_settings

STOP = threading.Event()  # set on SIGTERM: the dispatcher finishes its current send and stops


def _pipeline() -> Pipeline:
    return make_pipeline(load_settings())


def wake(at: str | None = None) -> dict[str, Outcome]:
    pipeline = _pipeline()
    now = datetime.fromisoformat(at) if at else datetime.now(UTC)
    dispatcher = pipeline.dispatcher()
    dispatcher.stop = STOP
    results = pipeline.wake(now, dispatcher)
    results["report"] = monthly_report_for(pipeline, now)
    return results


def monthly_report(at: str | None = None) -> Outcome:
    pipeline = _pipeline()
    return monthly_report_for(pipeline, datetime.fromisoformat(at) if at else datetime.now(UTC))


def _previous_month(day: date) -> str:
    year, month = (day.year - 1, 12) if day.month == 1 else (day.year, day.month - 1)
    return f"{year:04d}-{month:02d}"


def monthly_report_for(pipeline: Pipeline, now: datetime) -> Outcome:
    """On or after 08:00 of the first working day, write last month's report once (ledger key)."""
    local = now.astimezone(pipeline.settings.tz)
    due = first_working_day(local.year, local.month)
    if local.date() < due or (local.date() == due and local.hour < 8):
        return Outcome()
    month = _previous_month(local.date())
    key = f"report:{month}"
    if pipeline.repos.ledger.state(key) == "done":
        return Outcome()

    def write() -> Outcome:
        pipeline.repos.ledger.claim(key, "report", now)
        paths = write_report_files(pipeline, month, pipeline.settings.reports_dir, local)
        pipeline.repos.ledger.finish(key, now, detail=", ".join(str(p) for p in paths))
        return Outcome({"reports": 1})

    return pipeline.run_job("report", now, write)


def write_report_files(pipeline: Pipeline, month: str, folder: Path, produced: datetime) -> list[Path]:
    report = pipeline.report(month)
    folder.mkdir(parents=True, exist_ok=True)
    html = write_report_html(pipeline.renderer, report, folder / f"report-{month}.html", produced)
    (folder / f"report-{month}.json").write_text(report_json(report), encoding="utf-8")
    (folder / f"report-{month}.csv").write_text(report_csv(report), encoding="utf-8")
    return [html, folder / f"report-{month}.json", folder / f"report-{month}.csv"]
