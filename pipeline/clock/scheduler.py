"""The clock: APScheduler 3 only wakes the pipeline up; the database decides what is due and done.

- A BlockingScheduler in Europe/London with a persistent SQLAlchemy job store, `coalesce=True`,
  `max_instances=1`, a misfire grace of minutes, fixed job ids with `replace_existing=True`, and
  text references to the functions in `pipeline.clock.jobs`, which run `pipeline.jobs.tasks` with
  the context the clock process built at start-up.
- The triggers are in `pipeline.clock.triggers`; none fires between 01:00 and 02:00 local time, the
  hour the clock changes skip or repeat.
- Exactly one clock (`pipeline.clock.lock`). A second clock exits with a clear message, or waits with
  `--wait`.
"""

from __future__ import annotations

import logging
import signal
import threading
from datetime import UTC, datetime, timedelta
from typing import Any

from pipeline.clock import jobs as clock_jobs
from pipeline.clock.lock import ClockLock, acquire_or_wait
from pipeline.clock.triggers import MEASURE, MONTHLY_REPORT, WAKE, WAKE_HOURS, cron_triggers, next_wakeups
from pipeline.context import AppContext
from pipeline.jobs import tasks
from pipeline.records import Outcome
from pipeline.settings import Settings
from pipeline.storage.db import make_engine

# WAKE_HOURS and next_wakeups are defined in pipeline.clock.triggers, and still importable from here.
__all__ = ["WAKE_HOURS", "build_scheduler", "next_wakeups", "run_clock", "run_once"]

log = logging.getLogger(__name__)


def build_scheduler(settings: Settings, catch_up_at: datetime | None = None, executor: Any = None) -> Any:
    """The scheduler with its two jobs. With `catch_up_at` (the clock's start), the first wake-up
    happens at once rather than at the next five-minute mark, unless that is between 01:00 and 02:00."""
    from apscheduler.executors.pool import ThreadPoolExecutor
    from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
    from apscheduler.schedulers.blocking import BlockingScheduler

    url = settings.database_url
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    scheduler = BlockingScheduler(
        # the job store on an engine of ours: SQLite's busy timeout and BEGIN IMMEDIATE, like every process
        jobstores={"default": SQLAlchemyJobStore(engine=make_engine(url), tablename="apscheduler_jobs")},
        # the daily pull of figures has a thread of its own: waiting out an API's rate limit never
        # holds up the wake-ups that send
        executors={"default": executor or ThreadPoolExecutor(1), MEASURE: ThreadPoolExecutor(1)},
        job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": settings.misfire_grace_seconds},
        timezone=settings.tz,
    )
    triggers = cron_triggers(settings.tz)
    first: dict[str, Any] = {}
    if catch_up_at is not None and catch_up_at.astimezone(settings.tz).hour != 1:
        first["next_run_time"] = catch_up_at.astimezone(settings.tz)
    scheduler.add_job("pipeline.clock.jobs:wake", triggers[WAKE], id=WAKE, replace_existing=True, **first)
    scheduler.add_job(
        "pipeline.clock.jobs:monthly_report", triggers[MONTHLY_REPORT], id=MONTHLY_REPORT, replace_existing=True
    )
    scheduler.add_job(
        "pipeline.clock.jobs:measure", triggers[MEASURE], id=MEASURE, replace_existing=True, executor=MEASURE
    )
    return scheduler


def run_once(
    ctx: AppContext, now: datetime, wait: bool = False, stop: threading.Event | None = None
) -> dict[str, Outcome]:
    """`comms run --once` (for cron and tests): one wake-up as at `now`, holding the clock lock."""
    lock = ClockLock(ctx.repos, timedelta(seconds=ctx.settings.clock_stale_seconds))
    acquire_or_wait(lock, wait)
    try:
        if clock_jobs.queued(ctx):  # queue mode: the wake-up's jobs are deferred for the workers
            from pipeline.queue.enqueue import enqueue_wake

            _ensure_queue_schema(ctx)
            return enqueue_wake(ctx, now, clock_jobs.deferrer(ctx))
        return tasks.wake(ctx, now, stop)
    finally:
        lock.release()


def _ensure_queue_schema(ctx: AppContext) -> None:
    from pipeline.queue.app import ensure_queue_schema

    ensure_queue_schema(ctx)


def run_clock(ctx: AppContext, wait: bool = False) -> None:
    """`comms run`: take the clock lock, bind this process's context for the jobs, then wake the
    pipeline on schedule until SIGTERM or SIGINT, or until another clock has taken the lock. On
    SIGTERM the current send finishes and nothing new starts; nothing is left half-sent."""
    from apscheduler.executors.pool import ThreadPoolExecutor
    from apscheduler.schedulers.background import BackgroundScheduler

    lock = ClockLock(ctx.repos, timedelta(seconds=ctx.settings.clock_stale_seconds))
    acquire_or_wait(lock, wait)
    if clock_jobs.queued(ctx):
        _ensure_queue_schema(ctx)
    executor = ThreadPoolExecutor(1)
    scheduler = build_scheduler(ctx.settings, catch_up_at=datetime.now(UTC), executor=executor)
    heart = BackgroundScheduler(timezone=ctx.settings.tz)

    def stop(reason: str) -> None:
        log.info("stopping", extra={"reason": reason})
        clock_jobs.STOP.set()
        scheduler.shutdown(wait=False)

    def beat() -> None:
        if not lock.heartbeat():
            stop("lock lost")

    heart.add_job(beat, "interval", seconds=max(1, ctx.settings.clock_stale_seconds // 4), id="heartbeat")
    signal.signal(signal.SIGTERM, lambda signum, _frame: stop(signal.Signals(signum).name))
    signal.signal(signal.SIGINT, lambda signum, _frame: stop(signal.Signals(signum).name))
    clock_jobs.bind(ctx)
    heart.start()
    log.info(
        "clock started",
        extra={"holder": lock.holder, "timezone": ctx.settings.timezone, "queue": ctx.settings.queue},
    )
    try:
        scheduler.start()
    finally:
        heart.shutdown(wait=False)
        executor.shutdown(wait=True)  # the wake-up under way finishes its current send before anything closes
        clock_jobs.bind(None)
        lock.release()
        log.info("clock stopped")
