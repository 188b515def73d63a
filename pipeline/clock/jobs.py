"""What the clock's triggers call, by text reference ("pipeline.clock.jobs:wake"), with no arguments.

APScheduler keeps only a text reference and ids in its job store, so the clock process binds its
context here once at start-up (`bind`) and every wake-up runs the jobs in `pipeline.jobs.tasks`
with it: the settings `comms --env-file FILE run` was started with reach every job.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from typing import Any

from pipeline.context import AppContext
from pipeline.errors import CommsError
from pipeline.jobs import tasks
from pipeline.records import Outcome

STOP = threading.Event()  # set on SIGTERM: the dispatcher finishes its current send and stops


class _Bound:
    context: AppContext | None = None
    deferrer: Any = None  # with COMMS_QUEUE=procrastinate: the App the wake-ups defer jobs with


def bind(ctx: AppContext | None) -> None:
    """Give the clock's jobs this process's context (None to unbind when the clock stops)."""
    _Bound.context, _Bound.deferrer = ctx, None


def queued(ctx: AppContext) -> bool:
    return ctx.settings.queue == "procrastinate"


def deferrer(ctx: AppContext) -> Any:
    """The App that defers the wake-ups' jobs (queue mode), made once per clock."""
    if _Bound.deferrer is None:
        from pipeline.queue.app import deferring_app

        _Bound.deferrer = deferring_app(ctx.settings)
    return _Bound.deferrer


def context() -> AppContext:
    if _Bound.context is None:
        raise CommsError("the clock's jobs run only inside `comms run`, which binds its context first")
    return _Bound.context


def wake() -> dict[str, Outcome]:
    """The wake-up: the jobs run here (embedded), or are deferred for the workers (queue mode)."""
    ctx, now = context(), datetime.now(UTC)
    if queued(ctx):
        from pipeline.queue.enqueue import enqueue_wake

        return enqueue_wake(ctx, now, deferrer(ctx))
    return tasks.wake(ctx, now, STOP)


def monthly_report() -> Outcome:
    ctx, now = context(), datetime.now(UTC)
    if queued(ctx):
        from pipeline.queue.enqueue import enqueue_report

        return enqueue_report(ctx, now, deferrer(ctx))
    return tasks.monthly_report(ctx, now)


def measure() -> Outcome:
    """The daily pull of each channel's own figures (`pipeline.jobs.measure`), once a day: the ledger
    key `measure:DAY` (local day; `measure:DAY:CHANNEL` for each channel's job in queue mode) keeps a
    doubled or replayed trigger from pulling twice."""
    ctx, now = context(), datetime.now(UTC)
    if queued(ctx):
        from pipeline.queue.enqueue import enqueue_measure

        return enqueue_measure(ctx, now, deferrer(ctx))
    return tasks.daily_measure(ctx, now)
