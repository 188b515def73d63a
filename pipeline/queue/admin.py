"""What `comms jobs`, `comms status` and the workspace's jobs page show of the queue, and what they do:
the jobs queued, running, failed and stalled, the workers' heartbeats, and retrying or cancelling a job.

Read from procrastinate's tables with our engine (one query each); a retry or a cancel goes through
procrastinate's own job manager, so its rules (a job can be retried only when failed or stalled, and
cancelled only while waiting or running) hold. Seeing the jobs and acting on them needs
`Permission.JOBS` (admins; the command line without `--by`), and each retry or cancel is written to the
audit log with who did it (`job.retried`, `job.cancelled`, `job.stop_requested`).

Procrastinate keeps no reason for a failure; our job-run log does, one row per attempt carrying the
queue's job id (`pipeline.queue.tasks`), so a job's detail lists its attempts with the first lines of
what each said (redacted again and without addresses: `job_words.shown_detail`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import Connection, Engine

from pipeline.context import AppContext
from pipeline.errors import CommsError, Conflict, NotFound
from pipeline.ports import AuditRepository, ControlRepository, FeedRepository
from pipeline.queue.app import QUEUES, STALLED_BEATS, deferring_app
from pipeline.queue.job_words import (
    describe,
    duration_words,
    event_words,
    shown_args,
    shown_detail,
    status_words,
)
from pipeline.redact import redactor
from pipeline.services.actor import Actor
from pipeline.services.audit import audited
from pipeline.services.permissions import Permission, require
from pipeline.settings import Settings
from pipeline.storage.queue_schema import queue_schema_present

STATUSES = ("todo", "doing", "failed", "succeeded", "cancelled", "aborted", "stalled")
RECENT_FAILURES = timedelta(days=7)  # what the home page warns of: jobs that failed this last week
# A running job whose worker is silent (or gone: procrastinate deletes a stalled worker's row) is stalled:
#   j.status = 'doing' AND (w.last_heartbeat IS NULL OR w.last_heartbeat < now() - :after seconds)
# written out in each query below (the queries are plain strings, never built).
_JOBS = text(
    """
    SELECT j.id, j.queue_name, j.task_name, j.status::text AS status, j.attempts, j.args, j.scheduled_at,
           j.worker_id,
           (j.status = 'doing' AND (w.last_heartbeat IS NULL
            OR w.last_heartbeat < now() - make_interval(secs => CAST(:after AS double precision)))) AS stalled,
           (SELECT max(e.at) FROM procrastinate_events e
             WHERE e.job_id = j.id AND e.type <> 'scheduled') AS changed_at
      FROM procrastinate_jobs j LEFT JOIN procrastinate_workers w ON w.id = j.worker_id
     WHERE (CAST(:status AS text) IS NULL OR j.status::text = :status)
       AND (CAST(:stalled AS boolean) IS NULL
            OR (j.status = 'doing' AND (w.last_heartbeat IS NULL
                OR w.last_heartbeat < now() - make_interval(secs => CAST(:after AS double precision))))
               = CAST(:stalled AS boolean))
       AND (CAST(:queue AS text) IS NULL OR j.queue_name = :queue)
       AND (CAST(:id AS bigint) IS NULL OR j.id = :id)
     ORDER BY j.id DESC
     LIMIT :limit
    """
)
_COUNTS = text(
    """
    SELECT j.queue_name,
           CASE WHEN j.status = 'doing' AND (w.last_heartbeat IS NULL
                     OR w.last_heartbeat < now() - make_interval(secs => CAST(:after AS double precision)))
                THEN 'stalled' ELSE j.status::text END,
           count(*)
      FROM procrastinate_jobs j LEFT JOIN procrastinate_workers w ON w.id = j.worker_id
     GROUP BY 1, 2
    """
)
_ATTENTION = text(
    """
    SELECT count(*) FILTER (WHERE j.status = 'failed' AND EXISTS (
               SELECT 1 FROM procrastinate_events e
                WHERE e.job_id = j.id AND e.type = 'failed'
                  AND e.at > now() - make_interval(days => CAST(:days AS integer)))),
           count(*) FILTER (WHERE j.status = 'doing' AND (w.last_heartbeat IS NULL
                OR w.last_heartbeat < now() - make_interval(secs => CAST(:after AS double precision))))
      FROM procrastinate_jobs j LEFT JOIN procrastinate_workers w ON w.id = j.worker_id
     WHERE j.status IN ('failed', 'doing')
    """
)
_EVENTS = text("SELECT type::text, at FROM procrastinate_events WHERE job_id = :id ORDER BY at, id")
_WORKERS = text(
    """
    SELECT w.id, w.last_heartbeat, now() AS now,
           (SELECT count(*) FROM procrastinate_jobs j WHERE j.worker_id = w.id AND j.status = 'doing') AS running
      FROM procrastinate_workers w ORDER BY w.id
    """
)


class NoQueue(CommsError):
    """There is no job queue to show: the jobs run in the clock, or the queue's tables are missing."""

    def __init__(self, message: str, *, embedded: bool) -> None:
        super().__init__(message)
        self.embedded = embedded


@dataclass(frozen=True)
class QueuedJob:
    id: int
    queue: str
    task: str
    status: str  # todo, doing, failed, succeeded, cancelled, aborted; `stalled` for a job whose worker is silent
    attempts: int
    args: dict[str, Any]  # as the job holds them: only for the code; pages and lines show `shown`
    scheduled_at: datetime | None
    changed_at: datetime | None
    worker_id: int | None
    what: str = ""  # the task in plain words
    shown: tuple[tuple[str, str], ...] = ()  # the arguments safe to show (`job_words.shown_args`)

    @property
    def words(self) -> str:
        return status_words(self.status)

    @property
    def can_retry(self) -> bool:
        return self.status in ("failed", "stalled")

    @property
    def can_cancel(self) -> bool:
        return self.status == "todo"


@dataclass(frozen=True)
class WorkerBeat:
    id: int
    last_heartbeat: datetime
    running: int
    silent: timedelta
    stalled: bool

    @property
    def silent_words(self) -> str:
        return duration_words(self.silent)


@dataclass(frozen=True)
class JobEvent:
    kind: str
    at: datetime | None

    @property
    def words(self) -> str:
        return event_words(self.kind)


@dataclass(frozen=True)
class JobsOverview:
    """The jobs page: counts by queue and status, the newest jobs that match, whether there are more, and
    the workers."""

    counts: Mapping[str, Mapping[str, int]]
    queues: tuple[str, ...]  # ours, then any other queue that holds jobs
    jobs: tuple[QueuedJob, ...]
    more: bool
    workers: tuple[WorkerBeat, ...]
    stalled_after: timedelta
    upkeep: tuple[str, ...] = ()  # what the database server's settings put at risk (`JobsView.upkeep`)


@dataclass(frozen=True)
class JobAttempt:
    """One run of a job by a worker, from the job-run log."""

    started_at: datetime
    finished_at: datetime | None  # None: still running, or its worker died
    outcome: str  # ok | partial | failed; "" while unfinished
    detail: tuple[str, ...]  # its first lines, safe to show

    @property
    def words(self) -> str:
        return ATTEMPT_WORDS.get(self.outcome, self.outcome) if self.finished_at else "did not finish"

    @property
    def reason(self) -> str:
        """Its first failure (the detail's first line is the counts), or ""."""
        return self.detail[1] if self.outcome != "ok" and len(self.detail) > 1 else ""


ATTEMPT_WORDS = {"ok": "done", "partial": "done in part", "failed": "failed"}


@dataclass(frozen=True)
class JobDetail:
    job: QueuedJob
    events: tuple[JobEvent, ...]
    attempts: tuple[JobAttempt, ...] = ()  # newest first


@dataclass(frozen=True)
class Attention:
    """What the home page tells an admin: jobs failed in the last week (not retried since), jobs stalled."""

    failed: int
    stalled: int

    def __bool__(self) -> bool:
        return bool(self.failed or self.stalled)


class JobsView:
    """The queue as the command line and the workspace see it."""

    def __init__(
        self,
        settings: Settings,
        engine: Engine,
        audit: AuditRepository | None = None,
        feeds: FeedRepository | None = None,
        control: ControlRepository | None = None,
    ) -> None:
        self.settings, self.engine, self.audit, self.feeds = settings, engine, audit, feeds
        self.control = control
        self.stalled_after = timedelta(seconds=settings.worker_heartbeat_seconds * STALLED_BEATS)
        self._hide = redactor(settings)

    @classmethod
    def of(cls, ctx: AppContext) -> JobsView:
        if ctx.settings.queue != "procrastinate":
            raise NoQueue(
                "there is no job queue: COMMS_QUEUE=embedded runs the jobs in the clock (`comms status` shows "
                "their last runs); set COMMS_QUEUE=procrastinate with PostgreSQL to run workers",
                embedded=True,
            )
        if not queue_schema_present(ctx.repos.engine):
            raise NoQueue("the queue's tables are not in this database yet: run `comms db upgrade`", embedded=False)
        return cls(ctx.settings, ctx.repos.engine, ctx.repos.audit, ctx.repos.feeds, ctx.repos.control)

    # reading ---------------------------------------------------------------------------------------
    def overview(
        self, actor: Actor, *, status: str | None = None, queue: str | None = None, limit: int = 50
    ) -> JobsOverview:
        require(actor, Permission.JOBS)
        limit = max(1, min(limit, 500))
        found = self.jobs(status, queue, limit + 1)
        counts = self.counts()
        queues = QUEUES + tuple(sorted(set(counts) - set(QUEUES)))
        workers = tuple(self.workers())
        more = len(found) > limit
        return JobsOverview(counts, queues, tuple(found[:limit]), more, workers, self.stalled_after, self.upkeep())

    def upkeep(self) -> tuple[str, ...]:
        """Warnings about the database server that the workers' speed depends on. Without autovacuum,
        the ledger and the queue's tables keep every dead row and the server never learns their size:
        on this project's test machine that made claiming 50 times slower as the ledger grew."""
        with self.engine.connect() as conn:
            autovacuum = conn.execute(text("SHOW autovacuum")).scalar_one()
        if str(autovacuum).lower() in ("on", "true", "1"):
            return ()
        return (
            "PostgreSQL's autovacuum is off: the ledger and the queue's tables keep their dead rows and the "
            "server plans without their statistics, so sending slows as they grow. Turn it on "
            "(autovacuum = on) or run VACUUM ANALYZE after each large send.",
        )

    def job(self, actor: Actor, job_id: int) -> JobDetail:
        require(actor, Permission.JOBS)
        job = self._one(job_id)
        with self.engine.connect() as conn:
            events = tuple(JobEvent(str(kind), at) for kind, at in conn.execute(_EVENTS, {"id": job_id}))
        return JobDetail(job, events, self.attempts(job_id))

    def attempts(self, job_id: int) -> tuple[JobAttempt, ...]:
        """The job's runs in the job-run log, newest first."""
        if self.control is None:
            return ()
        return tuple(
            JobAttempt(run.started_at, run.finished_at, run.outcome, shown_detail(run.detail, self._hide))
            for run in self.control.queue_job_runs(job_id)
        )

    def attention(self, actor: Actor) -> Attention:
        require(actor, Permission.JOBS)
        values = {"after": self.stalled_after.total_seconds(), "days": RECENT_FAILURES.days}
        with self.engine.connect() as conn:
            failed, stalled = conn.execute(_ATTENTION, values).one()
        return Attention(int(failed), int(stalled))

    def counts(self) -> dict[str, dict[str, int]]:
        """{queue: {status: jobs}}, a running job whose worker is silent counted as `stalled`."""
        out: dict[str, dict[str, int]] = {}
        with self.engine.connect() as conn:
            for queue, status, count in conn.execute(_COUNTS, {"after": self.stalled_after.total_seconds()}):
                out.setdefault(str(queue), {})[str(status)] = int(count)
        return out

    def jobs(
        self, status: str | None = None, queue: str | None = None, limit: int = 50, job_id: int | None = None
    ) -> list[QueuedJob]:
        """The newest jobs first; `stalled` picks the running jobs whose worker has gone silent, `doing` the
        others."""
        if status is not None and status not in STATUSES:
            raise CommsError(f"no such job status: {status} (one of {', '.join(STATUSES)})")
        wanted = "doing" if status == "stalled" else status
        stalled = {"stalled": True, "doing": False}.get(status or "")
        values = {
            "status": wanted,
            "stalled": stalled,
            "queue": queue,
            "id": job_id,
            "limit": limit,
            "after": self.stalled_after.total_seconds(),
        }
        with self.engine.connect() as conn:
            rows = conn.execute(_JOBS, values).mappings().all()
            names = self._feed_names(rows)
        return [self._job(row, names) for row in rows]

    def _feed_names(self, rows: Any) -> dict[int, str]:
        if self.feeds is None or not any(row["task_name"] == "comms:collect_feed" for row in rows):
            return {}
        return {f.id: f.spec.name for f in self.feeds.all()}

    def _job(self, row: Any, feed_names: Mapping[int, str]) -> QueuedJob:
        status = "stalled" if row["stalled"] else row["status"]
        task = str(row["task_name"]).removeprefix("comms:")
        args = dict(row["args"] or {})
        shown = tuple((name, self._hide(value)) for name, value in shown_args(args))
        return QueuedJob(
            row["id"], row["queue_name"], task, status, row["attempts"], args,
            row["scheduled_at"], row["changed_at"], row["worker_id"], describe(task, args, feed_names), shown,
        )  # fmt: skip

    def workers(self) -> list[WorkerBeat]:
        with self.engine.connect() as conn:
            rows = conn.execute(_WORKERS).all()
        return [
            WorkerBeat(int(i), beat, int(running), now - beat, now - beat > self.stalled_after)
            for i, beat, now, running in rows
        ]

    # acting ----------------------------------------------------------------------------------------
    def retry(self, actor: Actor, job_id: int, now: datetime) -> QueuedJob:
        """Put a failed or stalled job back in the queue, to run now; returns the job as it was."""
        from procrastinate import exceptions, utils

        require(actor, Permission.JOBS)
        job = self._one(job_id)
        if not job.can_retry:
            raise Conflict(f"job {job_id} is {job.words}: only a failed or stalled job can be retried")
        app = deferring_app(self.settings)
        with app.open():
            try:
                app.job_manager.retry_job_by_id(job_id, retry_at=utils.utcnow())
            except exceptions.UniqueViolation:
                raise Conflict(f"job {job_id}: the same job is already waiting in the queue") from None
            except exceptions.ConnectorException:
                raise Conflict(f"job {job_id} changed meanwhile: look at it again") from None
        self._audit(actor, "job.retried", now, job)
        return job

    def cancel(self, actor: Actor, job_id: int, now: datetime) -> bool:
        """Cancel a waiting job (True); a running one is asked to stop, which a job finishing its batch
        may not heed (False: it is said so)."""
        require(actor, Permission.JOBS)
        job = self._one(job_id)
        if job.status not in ("todo", "doing", "stalled"):
            raise Conflict(f"job {job_id} is {job.words}: only a waiting or running job can be cancelled")
        app = deferring_app(self.settings)
        with self.engine.begin() as conn:
            if not self._cancel(app, conn, job):
                raise Conflict(f"job {job_id} changed meanwhile: look at it again")
        waiting = job.status == "todo"
        self._audit(actor, "job.cancelled" if waiting else "job.stop_requested", now, job)
        return waiting

    @staticmethod
    def _cancel(app: Any, conn: Connection, job: QueuedJob) -> bool:
        raw = conn.connection.dbapi_connection
        done: bool = app.job_manager.cancel_job_by_id(job.id, abort=job.status != "todo", connection=raw)
        return done

    def _audit(self, actor: Actor, action: str, now: datetime, job: QueuedJob) -> None:
        if self.audit is not None:
            detail = f"{job.what} (was {job.words}, {job.queue} queue, {job.attempts} attempt(s))"
            self.audit.record(audited(actor, action, now, f"job:{job.id}", detail))

    def _one(self, job_id: int) -> QueuedJob:
        found = self.jobs(job_id=job_id, limit=1)
        if not found:
            raise NotFound(f"no job {job_id}")
        return found[0]
