"""Queue mode: the clock's daily measure trigger defers one low-priority `comms:measure_channel` job for
each channel that can be measured (one waiting at a time each, however often it fires), and each task
pulls its channel once per day by the ledger."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from pipeline.app import make_pipeline
from pipeline.queue import tasks as queue_tasks
from pipeline.queue.app import PRIORITY, REPORT, deferring_app, ensure_queue_schema
from pipeline.queue.enqueue import enqueue_measure
from pipeline.settings import load_settings
from tests.integration.test_concurrency import environment
from tests.integration.test_queue_workers import queue_db  # noqa: F401  (the fixture)

PULL = datetime(2026, 11, 20, 6, 30, tzinfo=UTC)


@pytest.fixture
def queued(queue_db: str, tmp_path: Path) -> Iterator[object]:  # noqa: F811
    env = {**environment(queue_db, tmp_path), "COMMS_QUEUE": "procrastinate"}
    p = make_pipeline(load_settings(environ=env, env_file=None))
    p.import_plan(now=datetime(2026, 11, 1, tzinfo=UTC))
    ensure_queue_schema(p)
    yield p
    p.repos.engine.dispose()


def test_the_measure_trigger_defers_a_low_priority_job_for_each_measured_channel(queued, queue_db: str) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    from channels import registry
    from pipeline.jobs.measure import measurable

    app = deferring_app(queued.settings)
    for minutes in (0, 5, 10):  # the trigger fired again (a restart, two clocks)
        enqueue_measure(queued, PULL + timedelta(minutes=minutes), app)
    engine = create_engine(queue_db)
    with engine.connect() as conn:
        jobs = conn.execute(
            text(
                "select queue_name, priority, args->>'day', args->>'channel' from procrastinate_jobs "
                "where task_name = 'comms:measure_channel' order by args->>'channel'"
            )
        ).all()
    engine.dispose()
    strategy = queued.repos.calendar.strategy()
    api = sorted(c.code for c in strategy.channels if registry.measures(c.kind) != registry.IMPORT_ONLY)
    assert api and sorted(measurable(queued)) == api
    assert jobs == [(REPORT, PRIORITY[REPORT] - 10, "2026-11-20", code) for code in api], "one each, once"
    assert PRIORITY[REPORT] - 10 < min(PRIORITY.values()), "behind every other job"


def test_each_channels_task_pulls_once_a_day_and_the_trigger_skips_a_done_channel(queued) -> None:  # type: ignore[no-untyped-def]
    from pipeline.jobs import tasks as job_tasks
    from pipeline.jobs.measure import measurable

    now = datetime.now(UTC)
    today = now.astimezone(queued.settings.tz).date().isoformat()
    queue_tasks.bind(queued)
    try:
        first = queue_tasks.measure_channel(today, "facebook")
        again = queue_tasks.measure_channel(today, "facebook")
    finally:
        queue_tasks.bind(None)
    assert first == "channels=0 posts=0 figures=0 gone=0"  # a pull's summary: nothing published yet
    assert queued.repos.ledger.state(job_tasks.measure_key(queued, now, "facebook")) == "done"
    assert again == "nothing to do"
    deferred = enqueue_measure(queued, now, deferring_app(queued.settings))
    assert deferred.counts["enqueued"] == len(measurable(queued)) - 1, "facebook's pull is done for today"


def test_a_job_deferred_before_pulls_every_channel_once_a_day(queued) -> None:  # type: ignore[no-untyped-def]
    queue_tasks.bind(queued)
    try:
        first = queue_tasks.measure("2026-11-20")
        again = queue_tasks.measure("2026-11-20")
    finally:
        queue_tasks.bind(None)
    assert first == "channels=0 posts=0 figures=0 gone=0"  # a pull's summary: nothing published yet
    today = datetime.now(UTC).astimezone(queued.settings.tz).date().isoformat()
    assert queued.repos.ledger.state(f"measure:{today}") == "done"
    assert again == "nothing to do"


def test_a_job_run_after_midnight_pulls_for_its_own_day_and_none_after_the_whole_days_pull(queued) -> None:  # type: ignore[no-untyped-def]
    """A channel's job keys its pull by the day it was deferred for, so one that waited past midnight
    leaves the next day's pull to the next day; nothing is deferred or pulled again for a day whose pull
    of every channel at once (a job deferred before, or the embedded clock) is done."""
    from pipeline.jobs import tasks as job_tasks

    queue_tasks.bind(queued)
    try:
        queue_tasks.measure_channel("2026-11-19", "facebook")
        now = datetime.now(UTC)
        assert queued.repos.ledger.state(job_tasks.measure_key(queued, now, "facebook", "2026-11-19")) == "done"
        assert queued.repos.ledger.state(job_tasks.measure_key(queued, now, "facebook")) is None
        queue_tasks.measure(now.astimezone(queued.settings.tz).date().isoformat())  # every channel at once
        assert enqueue_measure(queued, now, deferring_app(queued.settings)).counts["enqueued"] == 0
        today = now.astimezone(queued.settings.tz).date().isoformat()
        assert queue_tasks.measure_channel(today, "x") == "nothing to do"
    finally:
        queue_tasks.bind(None)
