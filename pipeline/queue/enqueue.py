"""The clock's wake-up in queue mode: what is due at `now`, as jobs for the workers; nothing is run here.

The same questions the embedded wake-up asks (which feeds are due, which occurrences are due and not
yet composed, which approved items are due, whether last month's report is due) give one job each,
deferred in one transaction with a queueing lock per thing, so a wake-up repeated, doubled or replayed
adds nothing that is already waiting. The wake-up is recorded as job `wake`, as the embedded one is (the
clock watchdog reads it).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pipeline.clock.triggers import WAKE
from pipeline.context import AppContext
from pipeline.jobs import tasks
from pipeline.queue.app import Enqueuer, JobSpec
from pipeline.records import Outcome


def due_jobs(ctx: AppContext, now: datetime, *, report: bool = True) -> list[JobSpec]:
    """Every job due at `now`: sends first, so they are deferred (and run) before the rest."""
    repos = ctx.repos
    specs = [
        JobSpec("dispatch_item", {"item_id": item.id}, queueing_lock=f"dispatch:{item.id}")
        for item in repos.outbox.items(status="approved")
        if item.due_at <= now
    ]
    specs.append(JobSpec("notify_staff", {}, queueing_lock="notify"))
    strategy = repos.calendar.strategy()
    if strategy is not None:
        due = tasks.composer(ctx).due(strategy, now)
        done = repos.ledger.states_for([f"compose:{d.occurrence.key}" for d in due])
        for d in due:
            key = d.occurrence.key
            if done.get(f"compose:{key}") != "done":
                entry, _, day = key.rpartition("@")
                args = {"entry": entry, "day": day}
                specs.append(JobSpec("compose_occurrence", args, queueing_lock=f"compose:{key}"))
    for feed in repos.feeds.due(now):
        specs.append(JobSpec("collect_feed", {"feed_id": feed.id}, queueing_lock=f"collect:{feed.id}"))
    month = tasks.report_due(ctx, now) if report else None
    if month is not None and repos.ledger.state(f"report:{month}") != "done":
        specs.append(JobSpec("report_month", {"month": month}, queueing_lock=f"report:{month}"))
    return specs


def enqueue_wake(ctx: AppContext, now: datetime, app: Any) -> dict[str, Outcome]:
    """One wake-up of the queue clock: defer what is due, recorded as job `wake`."""
    run_id = ctx.repos.control.start_job(WAKE, now)
    try:
        specs = due_jobs(ctx, now)
        deferred = Enqueuer(ctx.repos.engine, app).defer(specs)
    except Exception as exc:
        ctx.repos.control.finish_job(run_id, now, "failed", f"enqueue: {type(exc).__name__}: {exc}")
        raise
    outcome = Outcome({"due": len(specs), "enqueued": deferred})
    ctx.repos.control.finish_job(run_id, now, "ok", f"enqueue={outcome.summary()}")
    return {"enqueue": outcome}


def enqueue_report(ctx: AppContext, now: datetime, app: Any) -> Outcome:
    """The clock's monthly report trigger in queue mode: the report's job, if it is due and not written."""
    month = tasks.report_due(ctx, now)
    if month is None or ctx.repos.ledger.state(f"report:{month}") == "done":
        return Outcome()
    spec = JobSpec("report_month", {"month": month}, queueing_lock=f"report:{month}")
    return Outcome({"enqueued": Enqueuer(ctx.repos.engine, app).defer([spec])})


def enqueue_measure(ctx: AppContext, now: datetime, app: Any) -> Outcome:
    """The clock's daily measure trigger in queue mode: a low-priority job for each channel that can be
    measured (one waiting at a time each), unless that channel's pull is done for the day."""
    from pipeline.jobs.measure import measurable

    day = now.astimezone(ctx.settings.tz).date().isoformat()
    if ctx.repos.ledger.state(tasks.measure_key(ctx, now)) == "done":  # every channel pulled at once today
        return Outcome({"enqueued": 0})
    channels = measurable(ctx)
    done = ctx.repos.ledger.states_for([tasks.measure_key(ctx, now, c) for c in channels])
    specs = [
        JobSpec("measure_channel", {"day": day, "channel": c}, queueing_lock=f"measure:{day}:{c}")
        for c in channels
        if done.get(tasks.measure_key(ctx, now, c)) != "done"
    ]
    return Outcome({"enqueued": Enqueuer(ctx.repos.engine, app).defer(specs)})
