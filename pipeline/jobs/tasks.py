"""The jobs, callable by id: plain functions of ids, `now` and the process's context.

The clock, the command line and a queue worker run these same functions with a context they built
once at start-up (`pipeline.context.open_context`), so the settings the process was started with
(`--env-file`) reach every job, and nothing is rebuilt or migrated per job. Work is decided by the
ledger, not by the trigger, so a missed, doubled or replayed call neither loses nor repeats anything.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import date, datetime
from pathlib import Path

from content_calendar.rules import first_working_day
from pipeline.clock.triggers import WAKE
from pipeline.context import AppContext
from pipeline.errors import CommsError
from pipeline.jobs import notify
from pipeline.jobs.collect import Collector, HttpFeedFetcher
from pipeline.jobs.compose import Composer
from pipeline.jobs.dispatch import Dispatcher
from pipeline.records import Outcome
from pipeline.redact import redactor
from pipeline.reporting.files import write_report_html
from pipeline.reporting.report import report_csv, report_json
from pipeline.services.actor import Actor
from pipeline.services.reports import ReportService

log = logging.getLogger(__name__)
REPORT_HOUR = 8


def run_job(
    ctx: AppContext, name: str, now: datetime, job: Callable[[], Outcome], *, queue_job_id: int | None = None
) -> Outcome:
    """Run one job, recorded in the job-run log (shown by `comms status`; with the queue's job id when a
    worker runs it, for the job's page); a crash is recorded as a failure, logged with its traceback,
    and never stops the caller."""
    redact = redactor(ctx.settings)
    run_id = ctx.repos.control.start_job(name, now, queue_job_id)
    started = time.monotonic()
    try:
        outcome = job()
    except CommsError as exc:  # a known condition (no plan yet, a bad template): said plainly
        log.warning("job failed", extra={"job": name, "error": redact(str(exc))})
        outcome = Outcome(failures=(str(exc),))
    except Exception as exc:
        log.exception("job crashed", extra={"job": name})
        outcome = Outcome(failures=(f"{type(exc).__name__}: {exc}",))
    seconds = time.monotonic() - started
    outcome = replace(outcome, failures=tuple(redact(failure) for failure in outcome.failures))
    ctx.repos.control.finish_job(run_id, now, outcome.status, outcome.summary() + "\n" + "\n".join(outcome.failures))
    log.info(
        "job run",
        extra={"job": name, "seconds": round(seconds, 3), "outcome": outcome.status, "summary": outcome.summary()},
    )
    return outcome


# collect --------------------------------------------------------------------------------------
def collect(ctx: AppContext, now: datetime, *, force: bool = False, feed_id: int | None = None) -> Outcome:
    """Poll the feeds that are due (every live feed with `force`; only `feed_id` if given)."""
    settings = ctx.settings
    fetcher = HttpFeedFetcher(
        timeout=settings.feed_timeout_seconds, max_bytes=settings.feed_max_bytes, rewrites=ctx.feed_rewrites
    )
    try:
        collector = Collector(ctx.repos.feeds, fetcher, settings.feed_workers, ctx.progress)
        return collector.run(now, force=force, only=feed_id)
    finally:
        fetcher.close()


def collect_feed(ctx: AppContext, feed_id: int, now: datetime) -> Outcome:
    return collect(ctx, now, force=True, feed_id=feed_id)


# compose --------------------------------------------------------------------------------------
def composer(ctx: AppContext) -> Composer:
    return Composer(ctx.repos, ctx.workspace, ctx.renderer, ctx.progress)


def compose(ctx: AppContext, now: datetime, entry: str | None = None) -> Outcome:
    """Compose everything due at `now` (or one entry's due occurrences)."""
    return composer(ctx).run(now, only_entry=entry)


def compose_occurrence(ctx: AppContext, entry: str, day: date, now: datetime) -> Outcome:
    """Compose the entry's occurrence planned on `day`, if it is due at `now` and not yet composed."""
    return composer(ctx).run(now, only_entry=entry, only_day=day)


# dispatch -------------------------------------------------------------------------------------
def dispatcher(ctx: AppContext, stop: threading.Event | None = None) -> Dispatcher:
    found = Dispatcher(ctx.repos, ctx.settings, ctx.adapter_for)
    found.progress = ctx.progress
    if stop is not None:
        found.stop = stop
    return found


def dispatch(ctx: AppContext, now: datetime, stop: threading.Event | None = None) -> Outcome:
    """Send every approved item whose time has come."""
    return dispatcher(ctx, stop).run(now)


def dispatch_item(ctx: AppContext, item_id: int, now: datetime, stop: threading.Event | None = None) -> Outcome:
    """Send one item to its recipients still pending, if it is approved and due."""
    return dispatcher(ctx, stop).run(now, only_item=item_id)


# report ---------------------------------------------------------------------------------------
def previous_month(day: date) -> str:
    year, month = (day.year - 1, 12) if day.month == 1 else (day.year, day.month - 1)
    return f"{year:04d}-{month:02d}"


def report_due(ctx: AppContext, now: datetime) -> str | None:
    """The month whose report is due at `now`: last month's, from 08:00 on the first working day."""
    local = now.astimezone(ctx.settings.tz)
    due = first_working_day(local.year, local.month)
    if local.date() < due or (local.date() == due and local.hour < REPORT_HOUR):
        return None
    return previous_month(local.date())


def report_month(ctx: AppContext, month: str, now: datetime) -> Outcome:
    """Write the month's report files once (ledger key `report:MONTH`)."""
    key = f"report:{month}"
    if not ctx.repos.ledger.claim(key, "report", now, retry_failed=True).go:
        return Outcome()
    try:
        paths = write_report_files(ctx, month, ctx.settings.reports_dir, now.astimezone(ctx.settings.tz))
    except BaseException:
        ctx.repos.ledger.release([key])
        raise
    ctx.repos.ledger.finish(key, now, detail=", ".join(str(p) for p in paths))
    return Outcome({"reports": 1})


def monthly_report(ctx: AppContext, now: datetime) -> Outcome:
    """The clock's report job: last month's report, once it is due and not yet written."""
    month = report_due(ctx, now)
    if month is None or ctx.repos.ledger.state(f"report:{month}") == "done":
        return Outcome()
    return run_job(ctx, "report", now, lambda: report_month(ctx, month, now))


def write_report_files(ctx: AppContext, month: str, folder: Path, produced: datetime) -> list[Path]:
    report = ReportService.of(ctx).monthly(Actor.clock(), month, produced)
    folder.mkdir(parents=True, exist_ok=True)
    html = write_report_html(ctx.renderer, report, folder / f"report-{month}.html", produced)
    (folder / f"report-{month}.json").write_text(report_json(report), encoding="utf-8")
    (folder / f"report-{month}.csv").write_text(report_csv(report), encoding="utf-8")
    return [html, folder / f"report-{month}.json", folder / f"report-{month}.csv"]


# measure --------------------------------------------------------------------------------------
def measure_day(ctx: AppContext, now: datetime) -> Outcome:
    """Each channel's own figures, once per local day (ledger key `measure:DAY`); a pull that raised
    is tried again by the next trigger of the same day."""
    return _pull_once(ctx, now, measure_key(ctx, now))


def _pull_once(ctx: AppContext, now: datetime, key: str, only: str | None = None) -> Outcome:
    """The pull (of `only` that channel, or of every one) under the ledger key `key`: nothing when it is
    done or another process holds it; a pull that raised gives the key back, to be tried again."""
    from pipeline.jobs.measure import measure

    if not ctx.repos.ledger.claim(key, "measure", now, retry_failed=True).go:
        return Outcome()
    try:
        outcome = measure(ctx, now, only=only)
    except BaseException:
        ctx.repos.ledger.release([key])
        raise
    ctx.repos.ledger.finish(key, now, detail=outcome.summary())
    return outcome


def measure_key(ctx: AppContext, now: datetime, channel: str | None = None, day: str | None = None) -> str:
    """`measure:DAY` for the pull of every channel at once (the embedded clock), `measure:DAY:CHANNEL`
    for one channel's (a queue job); DAY is the local day of `now` unless given."""
    day = day or now.astimezone(ctx.settings.tz).date().isoformat()
    return f"measure:{day}:{channel}" if channel else f"measure:{day}"


def measure_channel_day(ctx: AppContext, now: datetime, channel: str, day: str | None = None) -> Outcome:
    """One channel's own figures, once per local day (ledger key `measure:DAY:CHANNEL`, DAY the day the
    job was deferred for, so one that runs after midnight does not take the next day's pull): the
    queue's job size, so one account's rate limit or outage never holds up another's pull. Nothing to
    do when that day's pull of every channel at once is done."""
    if ctx.repos.ledger.state(measure_key(ctx, now, day=day)) == "done":
        return Outcome()
    return _pull_once(ctx, now, measure_key(ctx, now, channel, day), channel)


def daily_measure(ctx: AppContext, now: datetime) -> Outcome:
    """The clock's measure job: today's pull, unless it is done."""
    if ctx.repos.ledger.state(measure_key(ctx, now)) == "done":
        return Outcome()
    return run_job(ctx, "measure", now, lambda: measure_day(ctx, now))


# a wake-up ------------------------------------------------------------------------------------
def wake(
    ctx: AppContext, now: datetime, stop: threading.Event | None = None, *, report: bool = True
) -> dict[str, Outcome]:
    """One wake-up: collect, compose and send what is due, tell the staff what awaits them or failed
    (`pipeline.jobs.notify`), then the monthly report if due (and `report`). Each job is recorded; one
    failing job does not stop the next. The wake-up is recorded too, as job `wake`: its start is what
    the clock watchdog reads. Once `stop` is set (SIGTERM) nothing new starts."""
    run_id = ctx.repos.control.start_job(WAKE, now)
    results = {
        "collect": run_job(ctx, "collect", now, lambda: collect(ctx, now)),
        "compose": run_job(ctx, "compose", now, lambda: compose(ctx, now)),
        "dispatch": run_job(ctx, "dispatch", now, lambda: dispatch(ctx, now, stop)),
    }
    if stop is None or not stop.is_set():
        results["notify"] = run_job(ctx, "notify", now, lambda: notify.notify_staff(ctx, now))
    if report:
        results["report"] = monthly_report(ctx, now)
    statuses = {name: outcome.status for name, outcome in results.items()}
    overall = "ok" if set(statuses.values()) == {"ok"} else "failed" if "ok" not in statuses.values() else "partial"
    ctx.repos.control.finish_job(run_id, now, overall, " ".join(f"{k}={v}" for k, v in statuses.items()))
    return results
