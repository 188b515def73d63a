"""The clock: APScheduler 3 only wakes the pipeline up; the database decides what is due and done.

- A BlockingScheduler in Europe/London with a persistent SQLAlchemy job store, `coalesce=True`,
  `max_instances=1`, a misfire grace of minutes, fixed job ids with `replace_existing=True`, and
  text references to the job functions in `pipeline.jobs.tasks`.
- No job is scheduled between 01:00 and 02:00 local time, the hour the clock changes skip or repeat.
- Exactly one clock: a lock in the database (an advisory lock on PostgreSQL, a lock row with a
  heartbeat on SQLite). A second clock exits with a clear message, or waits with `--wait`.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import time
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import Connection

from content_calendar.rules import is_working_day
from pipeline.errors import CommsError
from pipeline.settings import Settings

log = logging.getLogger(__name__)
LOCK = "clock"
STALE_AFTER = timedelta(minutes=2)
HEARTBEAT_SECONDS = 30
PG_LOCK_ID = 7_220_485_301  # any fixed 64-bit number, the same for every clock of this database
WAKE_HOURS = "0,2-23"  # never 01:00-01:59 local


class ClockBusy(CommsError):
    def __init__(self, holder: str) -> None:
        super().__init__(
            f"another clock is already running ({holder}); only one `comms run` may run per database. "
            "Stop it first, or start this one with --wait to take over when it stops."
        )


def first_working_day(year: int, month: int) -> date:
    day = date(year, month, 1)
    while not is_working_day(day):
        day += timedelta(days=1)
    return day


class ClockLock:
    """The single-clock guard. On PostgreSQL a session advisory lock held on its own connection; on
    SQLite a lock row whose heartbeat a live clock refreshes (a dead clock's row goes stale)."""

    def __init__(self, pipeline: Any) -> None:
        self.pipeline = pipeline
        self.holder = f"{socket.gethostname()}:{os.getpid()}"
        self._conn: Connection | None = None

    def acquire(self, now: datetime) -> None:
        store = self.pipeline.repos
        if store.is_postgres:
            conn = store.engine.connect()
            if not conn.execute(text("SELECT pg_try_advisory_lock(:id)"), {"id": PG_LOCK_ID}).scalar():
                conn.close()
                raise ClockBusy("another process holds the PostgreSQL advisory lock")
            self._conn = conn
            return
        holder = store.control.acquire_lock(LOCK, self.holder, now, STALE_AFTER)
        if holder is not None:
            raise ClockBusy(holder)

    def heartbeat(self) -> None:
        if self._conn is None:
            holder = self.pipeline.repos.control.acquire_lock(LOCK, self.holder, datetime.now(UTC), STALE_AFTER)
            if holder is not None:
                log.error("clock lock lost", extra={"holder": holder})

    def release(self) -> None:
        if self._conn is not None:
            self._conn.execute(text("SELECT pg_advisory_unlock(:id)"), {"id": PG_LOCK_ID})
            self._conn.close()
            self._conn = None
        else:
            self.pipeline.repos.control.release_lock(LOCK, self.holder)


def acquire_or_wait(lock: ClockLock, wait: bool) -> None:
    while True:
        try:
            lock.acquire(datetime.now(UTC))
            return
        except ClockBusy:
            if not wait:
                raise
            log.info("waiting for the other clock to stop")
            time.sleep(10)


def build_scheduler(settings: Settings) -> Any:
    from apscheduler.executors.pool import ThreadPoolExecutor
    from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
    from apscheduler.schedulers.blocking import BlockingScheduler

    url = settings.database_url
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    scheduler = BlockingScheduler(
        jobstores={"default": SQLAlchemyJobStore(url=url, tablename="apscheduler_jobs")},
        executors={"default": ThreadPoolExecutor(1)},
        job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": settings.misfire_grace_seconds},
        timezone=settings.tz,
    )
    common = {"replace_existing": True}
    scheduler.add_job("pipeline.jobs.tasks:wake", "cron", id="wake", minute="*/5", hour=WAKE_HOURS, **common)
    scheduler.add_job(
        "pipeline.jobs.tasks:monthly_report",
        "cron",
        id="monthly-report",
        day="1-7",
        day_of_week="mon-fri",
        hour=8,
        minute=0,
        **common,
    )
    return scheduler


def run_clock(pipeline: Any, wait: bool = False) -> None:
    """`comms run`: take the clock lock, then wake the pipeline on schedule until SIGTERM or SIGINT.
    On SIGTERM the current item finishes and nothing new starts; nothing is left half-sent."""
    from apscheduler.schedulers.background import BackgroundScheduler

    from pipeline.jobs import tasks as jobs

    lock = ClockLock(pipeline)
    acquire_or_wait(lock, wait)
    scheduler = build_scheduler(pipeline.settings)
    heart = BackgroundScheduler(timezone=pipeline.settings.tz)
    heart.add_job(lock.heartbeat, "interval", seconds=HEARTBEAT_SECONDS, id="heartbeat")

    def stop(signum: int, _frame: Any) -> None:
        log.info("stopping", extra={"signal": signal.Signals(signum).name})
        jobs.STOP.set()
        scheduler.shutdown(wait=False)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    heart.start()
    log.info("clock started", extra={"holder": lock.holder, "timezone": pipeline.settings.timezone})
    try:
        scheduler.start()
    finally:
        heart.shutdown(wait=False)
        lock.release()
        log.info("clock stopped")


def next_wakeups(settings: Settings, now: datetime, count: int = 10) -> list[tuple[str, datetime]]:
    """The next `count` wake-ups of every job, computed from the triggers alone (no scheduler runs)."""
    from apscheduler.triggers.cron import CronTrigger

    triggers = {
        "wake": CronTrigger(minute="*/5", hour=WAKE_HOURS, timezone=settings.tz),
        "monthly-report": CronTrigger(day="1-7", day_of_week="mon-fri", hour=8, minute=0, timezone=settings.tz),
    }
    out: list[tuple[str, datetime]] = []
    for name, trigger in triggers.items():
        previous, moment = None, now.astimezone(settings.tz)
        for _ in range(count):
            fire = trigger.get_next_fire_time(previous, moment)
            if fire is None:
                break
            out.append((name, fire))
            previous, moment = fire, fire + timedelta(seconds=1)
    return sorted(out, key=lambda pair: pair[1])[:count]
