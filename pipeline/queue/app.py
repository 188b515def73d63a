"""The procrastinate App on our database, and deferring jobs on a transaction of ours.

Why jobs are deferred this way (the issue asked for a choice): the ledger and the outbox are what say
what is due and what is done, so they already hold the intent; a job is only a nudge to act on it.
Each job is deferred idempotently with a queueing lock (at most one waiting job per feed, occurrence,
item or batch), inside one transaction of our own engine through procrastinate's `connection=` option,
so a set of jobs (an item's batches) is written whole or not at all. A job lost to a crash between
deciding and deferring is deferred again at the clock's next wake-up (every five minutes), which reads
what is due afresh; a job that finds its work done, or no longer due, does nothing (every job asks the
ledger first). So no work is lost and none is invented or done twice. Writing a ledger row beside each
job would add a second record of the same intent, which could drift from the first.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.engine import Engine, make_url

from pipeline.context import AppContext
from pipeline.errors import SettingsError
from pipeline.settings import Settings
from pipeline.storage.queue_schema import apply_queue_schema

log = logging.getLogger(__name__)

# Queues, and the priority of their jobs: sends first, then composing, collecting, and the report.
SEND, COMPOSE, COLLECT, REPORT = "send", "compose", "collect", "report"
QUEUES = (SEND, COMPOSE, COLLECT, REPORT)
STALLED_BEATS = 3  # a worker silent this many heartbeats is stalled
PRIORITY = {SEND: 100, COMPOSE: 50, COLLECT: 20, REPORT: 0}


def conninfo(database_url: str) -> str:
    """The libpq address of a SQLAlchemy URL: the same database, user and options (`search_path`)."""
    url = make_url(database_url)
    if not url.drivername.startswith("postgresql"):
        raise SettingsError("COMMS_QUEUE=procrastinate needs COMMS_DATABASE_URL=postgresql+psycopg://...")
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


def ensure_queue_schema(ctx: AppContext) -> None:
    """procrastinate's schema, applied at a queue process's start if `comms db upgrade` has not yet."""
    apply_queue_schema(ctx.repos.engine)


def make_app(settings: Settings, *, pool_size: int = 4) -> Any:
    """The App the worker runs (asynchronous, its own small pool), with every task of
    `pipeline.queue.tasks` registered."""
    import procrastinate

    from pipeline.queue.tasks import register

    connector = procrastinate.PsycopgConnector(conninfo=conninfo(settings.database_url), min_size=1, max_size=pool_size)
    app = procrastinate.App(connector=connector)
    register(app)
    return app


def deferring_app(settings: Settings) -> Any:
    """An App that only defers, on connections we hand it (never opened, so it holds no pool)."""
    import procrastinate

    connector = procrastinate.SyncPsycopgConnector(conninfo=conninfo(settings.database_url))
    return make_app(settings).with_connector(connector)


@dataclass(frozen=True)
class JobSpec:
    """One job to defer: the task (without its namespace), its arguments and its queueing lock."""

    task: str
    kwargs: dict[str, Any] = field(default_factory=dict)
    queueing_lock: str | None = None
    lock: str | None = None


class Enqueuer:
    """Defers jobs in one transaction of our engine; a job whose queueing lock is taken (the same job
    already waiting) is skipped, in a savepoint, so the others still go."""

    def __init__(self, engine: Engine, app: Any) -> None:
        self.engine, self.app = engine, app

    def defer(self, specs: Iterable[JobSpec]) -> int:
        """Defer these jobs, all or none; returns how many were new (not already waiting)."""
        from procrastinate import exceptions

        deferred = 0
        with self.engine.begin() as conn:
            raw = conn.connection.dbapi_connection
            for spec in specs:
                task = self.app.tasks[f"comms:{spec.task}"]
                options: dict[str, Any] = {"connection": raw}
                if spec.queueing_lock:
                    options["queueing_lock"] = spec.queueing_lock
                if spec.lock:
                    options["lock"] = spec.lock
                savepoint = conn.begin_nested()
                try:
                    task.configure(**options).defer(**spec.kwargs)
                except exceptions.AlreadyEnqueued:
                    savepoint.rollback()
                    continue
                savepoint.commit()
                deferred += 1
        return deferred
