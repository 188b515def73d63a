"""What `comms jobs` and `comms status` show of the queue, and what they do: the jobs queued, running,
failed and stalled, the workers' heartbeats, and retrying or cancelling a job.

Read from procrastinate's tables with our engine (one query each); a retry or a cancel goes through
procrastinate's own job manager, so its rules (a job can be retried only when failed or stalled, and
cancelled only while waiting) hold.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import Engine

from pipeline.context import AppContext
from pipeline.errors import CommsError, NotFound
from pipeline.queue.app import STALLED_BEATS, deferring_app
from pipeline.settings import Settings
from pipeline.storage.queue_schema import queue_schema_present

STATUSES = ("todo", "doing", "failed", "succeeded", "cancelled", "aborted", "stalled")
_JOBS = text(
    """
    SELECT j.id, j.queue_name, j.task_name, j.status::text AS status, j.attempts, j.args, j.scheduled_at,
           j.worker_id, w.last_heartbeat,
           (SELECT max(e.at) FROM procrastinate_events e WHERE e.job_id = j.id) AS changed_at
      FROM procrastinate_jobs j LEFT JOIN procrastinate_workers w ON w.id = j.worker_id
     WHERE (CAST(:status AS text) IS NULL OR j.status::text = :status)
       AND (CAST(:queue AS text) IS NULL OR j.queue_name = :queue)
       AND (CAST(:id AS bigint) IS NULL OR j.id = :id)
     ORDER BY j.id DESC
     LIMIT :limit
    """
)
_COUNTS = text("SELECT queue_name, status::text, count(*) FROM procrastinate_jobs GROUP BY 1, 2")
_WORKERS = text(
    """
    SELECT w.id, w.last_heartbeat, now() AS now,
           (SELECT count(*) FROM procrastinate_jobs j WHERE j.worker_id = w.id AND j.status = 'doing') AS running
      FROM procrastinate_workers w ORDER BY w.id
    """
)


@dataclass(frozen=True)
class QueuedJob:
    id: int
    queue: str
    task: str
    status: str  # todo, doing, failed, succeeded, cancelled, aborted; `stalled` for a job whose worker is silent
    attempts: int
    args: dict[str, Any]
    scheduled_at: datetime | None
    changed_at: datetime | None
    worker_id: int | None


@dataclass(frozen=True)
class WorkerBeat:
    id: int
    last_heartbeat: datetime
    running: int
    silent: timedelta
    stalled: bool


class JobsView:
    """The queue as the command line sees it."""

    def __init__(self, settings: Settings, engine: Engine) -> None:
        self.settings, self.engine = settings, engine
        self.stalled_after = timedelta(seconds=settings.worker_heartbeat_seconds * STALLED_BEATS)

    @classmethod
    def of(cls, ctx: AppContext) -> JobsView:
        if ctx.settings.queue != "procrastinate":
            raise CommsError(
                "there is no job queue: COMMS_QUEUE=embedded runs the jobs in the clock (`comms status` shows "
                "their last runs); set COMMS_QUEUE=procrastinate with PostgreSQL to run workers"
            )
        view = cls(ctx.settings, ctx.repos.engine)
        if not queue_schema_present(ctx.repos.engine):
            raise CommsError("the queue's tables are not in this database yet: run `comms db upgrade`")
        return view

    def counts(self) -> dict[str, dict[str, int]]:
        """{queue: {status: jobs}}."""
        out: dict[str, dict[str, int]] = {}
        with self.engine.connect() as conn:
            for queue, status, count in conn.execute(_COUNTS):
                out.setdefault(str(queue), {})[str(status)] = int(count)
        return out

    def jobs(
        self, status: str | None = None, queue: str | None = None, limit: int = 50, job_id: int | None = None
    ) -> list[QueuedJob]:
        """The newest jobs first; `stalled` picks the running jobs whose worker has gone silent."""
        if status is not None and status not in STATUSES:
            raise CommsError(f"no such job status: {status} (one of {', '.join(STATUSES)})")
        wanted = "doing" if status == "stalled" else status
        with self.engine.connect() as conn:
            values = {"status": wanted, "queue": queue, "id": job_id, "limit": limit}
            rows = conn.execute(_JOBS, values).mappings().all()
            now = conn.execute(text("SELECT now()")).scalar_one()
        found = [self._job(row, now) for row in rows]
        return [j for j in found if j.status == "stalled"] if status == "stalled" else found

    def _job(self, row: Any, now: datetime) -> QueuedJob:
        status = row["status"]
        beat = row["last_heartbeat"]
        if status == "doing" and (beat is None or now - beat > self.stalled_after):
            status = "stalled"
        task = str(row["task_name"]).removeprefix("comms:")
        return QueuedJob(
            row["id"], row["queue_name"], task, status, row["attempts"], dict(row["args"] or {}),
            row["scheduled_at"], row["changed_at"], row["worker_id"],
        )  # fmt: skip

    def workers(self) -> list[WorkerBeat]:
        with self.engine.connect() as conn:
            rows = conn.execute(_WORKERS).all()
        return [
            WorkerBeat(int(i), beat, int(running), now - beat, now - beat > self.stalled_after)
            for i, beat, now, running in rows
        ]

    def retry(self, job_id: int) -> None:
        """Put a failed or stalled job back in the queue, to run now."""
        from procrastinate import exceptions, utils

        job = self._one(job_id)
        if job.status not in ("failed", "stalled"):
            raise CommsError(f"job {job_id} is {job.status}: only a failed or stalled job can be retried")
        app = deferring_app(self.settings)
        with app.open():
            try:
                app.job_manager.retry_job_by_id(job_id, retry_at=utils.utcnow())
            except exceptions.UniqueViolation:
                raise CommsError(f"job {job_id}: the same job is already waiting in the queue") from None
            except exceptions.ConnectorException:
                raise CommsError(f"job {job_id} changed meanwhile; look again with `comms jobs`") from None

    def cancel(self, job_id: int) -> bool:
        """Cancel a waiting job (True); a running one is asked to stop, which a job finishing its batch
        may not heed (False: it is said so)."""
        job = self._one(job_id)
        if job.status not in ("todo", "doing", "stalled"):
            raise CommsError(f"job {job_id} is {job.status}: only a waiting or running job can be cancelled")
        app = deferring_app(self.settings)
        with self.engine.begin() as conn:
            raw = conn.connection.dbapi_connection
            app.job_manager.cancel_job_by_id(job_id, abort=job.status != "todo", connection=raw)
        return job.status == "todo"

    def _one(self, job_id: int) -> QueuedJob:
        found = self.jobs(job_id=job_id, limit=1)
        if not found:
            raise NotFound(f"no job {job_id}")
        return found[0]
