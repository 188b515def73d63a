"""What the clock's triggers call, by text reference ("pipeline.clock.jobs:wake"), with no arguments.

APScheduler keeps only a text reference and ids in its job store, so the clock process binds its
context here once at start-up (`bind`) and every wake-up runs the jobs in `pipeline.jobs.tasks`
with it: the settings `comms --env-file FILE run` was started with reach every job.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime

from pipeline.context import AppContext
from pipeline.errors import CommsError
from pipeline.jobs import tasks
from pipeline.records import Outcome

STOP = threading.Event()  # set on SIGTERM: the dispatcher finishes its current send and stops


class _Bound:
    context: AppContext | None = None


def bind(ctx: AppContext | None) -> None:
    """Give the clock's jobs this process's context (None to unbind when the clock stops)."""
    _Bound.context = ctx


def context() -> AppContext:
    if _Bound.context is None:
        raise CommsError("the clock's jobs run only inside `comms run`, which binds its context first")
    return _Bound.context


def wake() -> dict[str, Outcome]:
    return tasks.wake(context(), datetime.now(UTC), STOP)


def monthly_report() -> Outcome:
    return tasks.monthly_report(context(), datetime.now(UTC))
