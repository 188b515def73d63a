"""The queue's tasks: each a thin call of a job function (`pipeline.jobs.tasks`, `Dispatcher`) with the
context the worker built once at start-up (`bind`), as the clock's jobs do. Arguments are ids only.

Jobs are sized for work: collect one feed; compose one occurrence; plan one item's batches; send one
batch of 500 recipients (in a stable order, so a retried batch resumes from its unsent rows); report
one month. A job acts as of the moment it starts; whether there is anything to do is the ledger's say,
so a job run twice, late or after a crash does no work twice.

A job's outcome goes to the job-run log (`comms status`) as in the clock, with procrastinate's job id
(each task is registered wrapped, taking procrastinate's context), so the job's page shows why each
attempt failed; called directly (as tests do) a task records no job id. A crash (an exception that is
no `CommsError`) is recorded there and raised again, so procrastinate marks the job failed, retries it
where the task says so, and `comms jobs` lists it.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import replace
from datetime import UTC, date, datetime
from typing import Any

import procrastinate

from pipeline.context import AppContext
from pipeline.errors import CommsError
from pipeline.jobs import notify, tasks
from pipeline.jobs.batch_jobs import BatchPlan, plan_batches, send_batch
from pipeline.jobs.dispatch import Dispatcher
from pipeline.jobs.prepared import Personalisers
from pipeline.queue.app import COLLECT, COMPOSE, PRIORITY, REPORT, SEND, Enqueuer, JobSpec
from pipeline.records import Outcome
from pipeline.storage.ledger import LedgerStore

# A crashed job (a database blip, say) is tried again after 10 s, 20 s, 40 s...; the ledger makes it safe.
RETRY = procrastinate.RetryStrategy(max_attempts=5, exponential_wait=10)


# the procrastinate job this thread runs (set by the registered wrapper for the task's call)
_QUEUE_JOB: ContextVar[int | None] = ContextVar("queue_job", default=None)


class JobCrashed(Exception):
    """A job ended in an unexpected exception (recorded in the job-run log with its traceback)."""


class _Bound:
    context: AppContext | None = None
    app: object | None = None  # the deferring App (`pipeline.queue.app.deferring_app`)
    personalisers = Personalisers()  # an item's personaliser, kept for its next batches in this process


def bind(ctx: AppContext | None, app: object | None = None) -> None:
    """Give the tasks this process's context, and the App that defers follow-up jobs (None: unbind)."""
    _Bound.context, _Bound.app, _Bound.personalisers = ctx, app, Personalisers()


def context() -> AppContext:
    if _Bound.context is None:
        raise CommsError("the queue's tasks run only inside `comms worker`, which binds its context first")
    return _Bound.context


def _run(name: str, now: datetime, job: Callable[[], Outcome]) -> str:
    crashed: list[BaseException] = []

    def guarded() -> Outcome:
        try:
            return job()
        except CommsError:
            raise
        except Exception as exc:
            crashed.append(exc)
            raise

    outcome = tasks.run_job(context(), name, now, guarded, queue_job_id=_QUEUE_JOB.get())
    if crashed:
        raise JobCrashed(f"{name}: {type(crashed[0]).__name__}: {crashed[0]}") from crashed[0]
    return outcome.summary()


def _now() -> datetime:
    return datetime.now(UTC)


def job_dispatcher(ctx: AppContext) -> Dispatcher:
    """A dispatcher for one job, with a ledger of its own on the shared engine: its sending threads'
    connections are closed when the job ends without touching another job's (several run at once in a
    worker). It claims as this process, so a claim it gives back is this process's to give."""
    process = ctx.repos.ledger
    ledger = LedgerStore(ctx.repos.engine, owner=process.owner, lease=process.lease, clock=process.clock)
    repos = replace(ctx.repos, ledger=ledger)
    return Dispatcher(repos, ctx.settings, ctx.adapter_for, personalisers=_Bound.personalisers)


def collect_feed(feed_id: int) -> str:
    ctx, now = context(), _now()
    return _run("collect", now, lambda: tasks.collect_feed(ctx, feed_id, now))


def compose_occurrence(entry: str, day: str) -> str:
    ctx, now = context(), _now()
    return _run("compose", now, lambda: tasks.compose_occurrence(ctx, entry, date.fromisoformat(day), now))


def dispatch_item(item_id: int) -> str:
    """Plan one item: carry out its decision, or defer a job for each batch with recipients still to
    send (all in one transaction; a batch already waiting is not deferred twice)."""
    ctx, now = context(), _now()

    def plan() -> Outcome:
        outcome, plans = plan_batches(job_dispatcher(ctx), item_id, now)
        specs = [batch_job(item_id, plan) for plan in plans]
        deferred = Enqueuer(ctx.repos.engine, _Bound.app).defer(specs) if specs else 0
        return Outcome({**outcome.counts, "batches": deferred}, outcome.failures)

    return _run("dispatch", now, plan)


def batch_job(item_id: int, plan: BatchPlan) -> JobSpec:
    """A batch's job, carrying the ids of its first and last delivery row (the job reads only those):
    one waiting at a time (queueing lock), and one running at a time (lock), so two workers never hold
    the same batch."""
    key = f"send:{item_id}:{plan.number}"
    args = {"item_id": item_id, "batch": plan.number, "first_id": plan.first_id, "last_id": plan.last_id}
    return JobSpec("dispatch_batch", args, queueing_lock=key, lock=key)


def dispatch_batch(item_id: int, batch: int, first_id: int | None = None, last_id: int | None = None) -> str:
    """Send one batch; a job deferred without its row ids (before they were carried) reads the item's
    whole list to find its slice."""
    ctx, now = context(), _now()
    ids = (first_id, last_id) if first_id is not None and last_id is not None else None
    return _run("dispatch", now, lambda: send_batch(job_dispatcher(ctx), item_id, batch, now, ids))


def notify_staff() -> str:
    ctx, now = context(), _now()
    return _run("notify", now, lambda: notify.notify_staff(ctx, now))


def report_month(month: str) -> str:
    ctx, now = context(), _now()
    return _run("report", now, lambda: tasks.report_month(ctx, month, now))


def measure(day: str) -> str:
    """The day's pull of every channel's own figures in one job (once per day, by the ledger): the
    clock defers `measure_channel` jobs now; this stays for jobs deferred before."""
    ctx, now = context(), _now()
    return _run("measure", now, lambda: tasks.measure_day(ctx, now))


def measure_channel(day: str, channel: str) -> str:
    """The day's pull of one channel's own figures (once per day and channel, by the ledger)."""
    ctx, now = context(), _now()
    return _run("measure", now, lambda: tasks.measure_channel_day(ctx, now, channel, day))


# name: (function, queue, priority)
TASKS: dict[str, tuple[Callable[..., str], str, int]] = {
    "collect_feed": (collect_feed, COLLECT, PRIORITY[COLLECT]),
    "compose_occurrence": (compose_occurrence, COMPOSE, PRIORITY[COMPOSE]),
    "dispatch_item": (dispatch_item, SEND, PRIORITY[SEND]),
    "dispatch_batch": (dispatch_batch, SEND, PRIORITY[SEND]),
    "notify_staff": (notify_staff, SEND, PRIORITY[SEND] - 10),
    "report_month": (report_month, REPORT, PRIORITY[REPORT]),
    "measure": (measure, REPORT, PRIORITY[REPORT] - 10),  # behind everything else: it can wait
    "measure_channel": (measure_channel, REPORT, PRIORITY[REPORT] - 10),
}


def with_job_id(function: Callable[..., str]) -> Callable[..., str]:
    """`function` as a task given procrastinate's job context: its job id goes to the job-run log."""

    @functools.wraps(function)
    def task(job_context: Any, *args: Any, **kwargs: Any) -> str:
        token = _QUEUE_JOB.set(job_context.job.id)
        try:
            return function(*args, **kwargs)
        finally:
            _QUEUE_JOB.reset(token)

    return task


def register(app: Any) -> None:
    """Register every task on `app`, named `comms:NAME`, each passed procrastinate's job context."""
    for name, (function, queue, priority) in TASKS.items():
        task = with_job_id(function)
        app.task(name=f"comms:{name}", queue=queue, priority=priority, retry=RETRY, pass_context=True)(task)
