"""`comms worker`: a process that runs the queue's jobs (PostgreSQL, `COMMS_QUEUE=procrastinate`).

- It builds its context once (as the clock does) and binds it for the tasks (`pipeline.queue.tasks`).
- Two lanes in one process: the main one takes sends, composing and collecting, highest priority first,
  `concurrency` at a time; a lane of its own takes the report queue, so a report never waits behind a
  county newsletter. With `--queue`, the process takes only the queues named, in one lane.
- Each lane beats its heartbeat in procrastinate's worker table every `COMMS_WORKER_HEARTBEAT_SECONDS`;
  a worker silent for three beats is stalled (killed, or its machine gone). Every worker looks for the
  jobs of stalled workers at each beat and puts them back in the queue: the batch is retried, claims
  its recipients again (a dead process's claims at once on this host, another host's when their lease
  ends) and the channel's idempotency resolves the message that was in flight.
- SIGTERM or SIGINT: the jobs under way finish, nothing new starts, the process exits 0.
"""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any

from pipeline.app import Pipeline, make_pipeline
from pipeline.errors import CommsError, SettingsError
from pipeline.queue.app import (
    COLLECT,
    COMPOSE,
    QUEUES,
    REPORT,
    SEND,
    STALLED_BEATS,
    deferring_app,
    ensure_queue_schema,
    make_app,
)
from pipeline.queue.tasks import bind
from pipeline.settings import Settings
from pipeline.storage.store import open_repositories

log = logging.getLogger(__name__)


def open_worker(settings: Settings, concurrency: int) -> Pipeline:
    """The worker's context: a connection pool sized for `concurrency` jobs each sending over the SMTP
    pool's threads (each thread keeps a connection while its batch runs)."""
    if settings.queue != "procrastinate":
        raise SettingsError(
            "comms worker runs the queue's jobs: set COMMS_QUEUE=procrastinate (with PostgreSQL); "
            "with COMMS_QUEUE=embedded the clock (`comms run`) runs the jobs itself"
        )
    if concurrency < 1:
        raise CommsError("--concurrency must be at least 1")
    repos = open_repositories(
        settings.database_url,
        lease=timedelta(seconds=settings.claim_lease_seconds),
        pool_size=concurrency * (settings.smtp_pool_size + 1) + 5,
    )
    return make_pipeline(settings, repos=repos)


def lanes(queues: Sequence[str] | None, concurrency: int) -> list[tuple[list[str], int, str]]:
    """(queues, concurrency, name) for each lane of the process."""
    if queues:
        unknown = sorted(set(queues) - set(QUEUES))
        if unknown:
            raise CommsError(f"no such queue: {', '.join(unknown)} (the queues are {', '.join(QUEUES)})")
        return [(list(queues), concurrency, "worker")]
    return [([SEND, COMPOSE, COLLECT], concurrency, "worker"), ([REPORT], 1, "reports")]


def run_worker(ctx: Pipeline, concurrency: int = 1, queues: Sequence[str] | None = None) -> None:
    """Run the jobs until SIGTERM or SIGINT."""
    ensure_queue_schema(ctx)
    plan = lanes(queues, concurrency)
    app = make_app(ctx.settings, pool_size=len(plan) * 2 + 2)
    bind(ctx, deferring_app(ctx.settings))
    try:
        asyncio.run(_serve(app, ctx.settings, plan))
    finally:
        bind(None)


async def _serve(app: Any, settings: Settings, plan: list[tuple[list[str], int, str]]) -> None:
    from procrastinate.worker import Worker

    loop = asyncio.get_running_loop()
    # sync tasks run in these threads: one per job that may run at once, and one for the recovery
    loop.set_default_executor(ThreadPoolExecutor(max_workers=sum(c for _q, c, _n in plan) + 2))
    beat = float(settings.worker_heartbeat_seconds)
    async with app.open_async():
        workers = [
            Worker(
                app,
                queues=queues,
                concurrency=concurrency,
                name=name,
                install_signal_handlers=False,
                update_heartbeat_interval=beat,
                stalled_worker_timeout=beat * STALLED_BEATS,
                fetch_job_polling_interval=min(beat, 5.0),
            )
            for queues, concurrency, name in plan
        ]

        def stop(signum: int) -> None:
            log.info("worker stopping", extra={"signal": signal.Signals(signum).name})
            for worker in workers:
                worker.stop()

        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, stop, signum)
        log.info("worker started", extra={"lanes": [f"{n}: {','.join(q)} x{c}" for q, c, n in plan]})
        recovery = asyncio.create_task(recover_stalled_forever(app, beat))
        try:
            await asyncio.gather(*(worker.run() for worker in workers))
        finally:
            recovery.cancel()
    log.info("worker stopped")


async def recover_stalled_forever(app: Any, beat: float) -> None:
    while True:
        await asyncio.sleep(beat)
        try:
            await recover_stalled(app, beat * STALLED_BEATS)
        except Exception:  # the database away for a moment: the next beat tries again
            log.warning("stalled-job recovery failed; trying again at the next beat", exc_info=True)


async def recover_stalled(app: Any, stalled_after: float) -> int:
    """Put the jobs of stalled workers back in the queue, and forget those workers; returns how many
    jobs. Two workers doing it at once is harmless: a job no longer running is left as it is."""
    from procrastinate import exceptions

    manager = app.job_manager
    retried = 0
    for job in await manager.get_stalled_jobs(seconds_since_heartbeat=stalled_after):
        try:
            await manager.retry_job(job)
        except exceptions.ConnectorException:  # another worker put it back first
            continue
        retried += 1
        log.warning("stalled job put back in the queue", extra={"job": job.call_string, "id": job.id})
    await manager.prune_stalled_workers(stalled_after)
    return retried
