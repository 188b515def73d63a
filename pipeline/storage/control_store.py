"""Pause and resume (the incident freeze), job runs, and the single-clock lock."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlmodel import col, select

from pipeline.records import Freeze, JobRun, SubscriberErased
from pipeline.storage.base import StoreBase, scrub
from pipeline.storage.tables import ControlEventRow, JobRunRow, LockRow, table


class ControlStore(StoreBase):
    def on_subscriber_erased(self, conn: Connection, event: SubscriberErased) -> None:
        """A job run's detail (a failure text) never keeps an erased address."""
        runs = table(JobRunRow)
        scrub(conn, runs, runs.c.detail, event.address, event.alias)

    def set_freeze(self, paused: bool, by: str, reason: str, now: datetime) -> None:
        with self.session() as s:
            s.add(ControlEventRow(action="pause" if paused else "resume", by=by, at=now, reason=reason))

    def freeze(self) -> Freeze:
        with self.session() as s:
            row = s.exec(select(ControlEventRow).order_by(col(ControlEventRow.id).desc())).first()
            if row is None or row.action != "pause":
                return Freeze(paused=False, by=row.by if row else "", at=row.at if row else None)
            return Freeze(paused=True, by=row.by, at=row.at, reason=row.reason)

    def start_job(self, job: str, now: datetime, queue_job_id: int | None = None) -> int:
        with self.session() as s:
            row = JobRunRow(job=job, started_at=now, queue_job_id=queue_job_id)
            s.add(row)
            s.flush()
            assert row.id is not None
            return row.id

    def finish_job(self, run_id: int, now: datetime, outcome: str, detail: str) -> None:
        with self.session() as s:
            row = s.get(JobRunRow, run_id)
            if row is not None:
                row.finished_at, row.outcome, row.detail = now, outcome, detail
                s.add(row)

    def last_runs(self) -> list[JobRun]:
        """The most recent run of each job."""
        with self.session() as s:
            rows = s.exec(select(JobRunRow).order_by(col(JobRunRow.id).desc()).limit(500)).all()
        latest: dict[str, JobRunRow] = {}
        for r in rows:
            latest.setdefault(r.job, r)
        return [JobRun(r.job, r.started_at, r.finished_at, r.outcome, r.detail) for r in latest.values()]

    def queue_job_runs(self, queue_job_id: int, limit: int = 20) -> list[JobRun]:
        """The runs of one queued job (one per attempt), newest first."""
        query = select(JobRunRow).where(col(JobRunRow.queue_job_id) == queue_job_id)
        with self.session() as s:
            rows = s.exec(query.order_by(col(JobRunRow.id).desc()).limit(limit)).all()
        return [JobRun(r.job, r.started_at, r.finished_at, r.outcome, r.detail) for r in rows]

    def acquire_lock(
        self, name: str, holder: str, now: datetime, stale_after: timedelta, *, take: bool = True
    ) -> str | None:
        """Take (or, as `holder`, refresh) the named lock; None on success, else the current holder. A
        lock whose heartbeat is older than `stale_after` belonged to a process that died or stalled,
        and is taken over; with `take=False` a holder only refreshes a lock that is still its own."""
        try:
            with self.session() as s:
                row = s.get(LockRow, name)
                if row is None:
                    s.add(LockRow(name=name, holder=holder, heartbeat_at=now))
                    return None
                if row.holder != holder and (not take or now - row.heartbeat_at < stale_after):
                    return row.holder
                row.holder, row.heartbeat_at = holder, now
                s.add(row)
                return None
        except IntegrityError:  # another process took it first
            return "another clock"
        except OperationalError:  # the database stayed busy past its timeout
            if not take:
                return None  # a busy database is not a lost lock: the holder beats again next time
            return "another clock (the database was busy)"

    def release_lock(self, name: str, holder: str) -> None:
        with self.session() as s:
            row = s.get(LockRow, name)
            if row is not None and row.holder == holder:
                s.delete(row)
