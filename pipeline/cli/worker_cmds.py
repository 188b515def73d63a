"""comms worker | jobs [list | retry ID | cancel ID]"""

from __future__ import annotations

import argparse

from pipeline.cli import common
from pipeline.queue.admin import STATUSES, JobsView
from pipeline.queue.app import QUEUES

# procrastinate (the `postgres` extra) is imported only by `comms worker` itself: every other command, and
# the embedded default installed with a plain `pip install .`, runs without it.

_COUNTED = ("todo", "doing", "stalled", "failed", "succeeded")  # the columns of `comms jobs`' counts


def add(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    worker = commands.add_parser(
        "worker", help="run the queue's jobs (COMMS_QUEUE=procrastinate; Procfile: worker: comms worker)"
    )
    worker.add_argument("--concurrency", type=int, default=2, help="jobs at once in this process (default: 2)")
    worker.add_argument(
        "--queue", action="append", choices=QUEUES, help="take only this queue (repeat for more; default: all)"
    )
    worker.set_defaults(func=cmd_worker)
    jobs = commands.add_parser("jobs", help="the job queue: queued, running, failed and stalled jobs; retry, cancel")
    sub = jobs.add_subparsers(dest="action", metavar="ACTION")
    listing = sub.add_parser("list", help="the newest jobs (the default)")
    for parser in (jobs, listing):
        parser.add_argument("--status", choices=STATUSES, help="only jobs in this state")
        parser.add_argument("--queue", choices=QUEUES, help="only this queue's jobs")
        parser.add_argument("--limit", type=int, default=30)
    retry = sub.add_parser("retry", help="run a failed or stalled job again")
    cancel = sub.add_parser("cancel", help="cancel a waiting job (a running one is asked to stop)")
    for parser in (retry, cancel):
        parser.add_argument("job_id", type=int)
        parser.add_argument("--by", default=None, help="who is acting, for the audit log (default: your login name)")
    jobs.set_defaults(func=cmd_jobs)


def cmd_worker(args: argparse.Namespace) -> int:
    from pipeline.queue.worker import open_worker, run_worker

    settings = common.settings(args)
    p = args._context = open_worker(settings, args.concurrency)  # closed by main when the worker stops
    run_worker(p, args.concurrency, args.queue)
    return 0


def cmd_jobs(args: argparse.Namespace) -> int:
    view = JobsView.of(common.pipeline(args))
    who = common.actor(args)
    if args.action == "retry":
        view.retry(who, args.job_id, common.now())
        print(f"job {args.job_id} is back in the queue")
        return 0
    if args.action == "cancel":
        cancelled = view.cancel(who, args.job_id, common.now())
        print(f"job {args.job_id} cancelled" if cancelled else f"job {args.job_id}: asked to stop")
        return 0
    shown = view.overview(who, status=args.status, queue=args.queue, limit=args.limit)
    print("Queues:")
    for queue in shown.queues:
        found = shown.counts.get(queue, {})
        print(f"  {queue:8} " + "  ".join(f"{s}={found.get(s, 0)}" for s in _COUNTED))
    tz = common.settings(args).tz
    more = f", more with --limit {args.limit * 2}" if shown.more else ""
    print(f"\nJobs ({len(shown.jobs)} shown, newest first{more}):" if shown.jobs else "\nJobs: none")
    for j in shown.jobs:
        what = ", ".join(f"{k}={v}" for k, v in j.shown)
        when = common.local(j.changed_at, tz)
        print(f"  #{j.id:<6} {j.status:9} {j.queue:8} {j.task}({what})  tries={j.attempts}  {when}  {j.what}")
        last = view.attempts(j.id)[:1] if j.status == "failed" else ()
        if last and last[0].reason:
            print(f"          why: {last[0].reason}")
    return 0


def worker_lines(args: argparse.Namespace) -> list[str]:
    """The workers' heartbeats, for `comms status` (queue mode only)."""
    view = JobsView.of(common.pipeline(args))
    tz = common.settings(args).tz
    lines = [
        f"worker {w.id}: last heartbeat {common.local(w.last_heartbeat, tz)} ({int(w.silent.total_seconds())} s ago)"
        + (", STALLED" if w.stalled else "")
        + f", {w.running} job(s) running"
        for w in view.workers()
    ]
    counts = view.counts()
    waiting, failed, stalled = (sum(c.get(s, 0) for c in counts.values()) for s in ("todo", "failed", "stalled"))
    return (
        (lines or ["no worker is running: start `comms worker`"])
        + [f"jobs: {waiting} waiting, {failed} failed, {stalled} stalled (`comms jobs`)"]
        + [f"warning: {note}" for note in view.upkeep()]
    )
