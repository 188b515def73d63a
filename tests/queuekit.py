"""Jobs in a real procrastinate queue on the local PostgreSQL, put in the states a page or a command must
show: deferred as the clock defers them (`Enqueuer`), then moved by procrastinate's own SQL functions,
as a worker moves them (taken, finished failed or done), and a worker that has gone silent."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine

from pipeline.context import AppContext
from pipeline.queue.app import Enqueuer, JobSpec, deferring_app, ensure_queue_schema
from pipeline.settings import Settings, load_settings
from tests.conftest import EXAMPLE, fresh_schema


@dataclass(frozen=True)
class Board:
    """One job in each state a person acts on, and two workers (one alive, one silent)."""

    waiting: int  # notify_staff, send queue
    batch: int  # dispatch_batch of item 12, send queue, waiting
    failed: int  # collect_feed, collect queue
    stalled: int  # compose_occurrence, running on the silent worker
    done: int  # report_month, succeeded
    alive: int
    gone: int


def board_of(ctx: AppContext, feed_id: int) -> Board:
    """Defer one job of each kind, then move them as workers would: one failed, one done, one running on a
    worker silent for an hour (stalled), two waiting."""
    engine = ctx.repos.engine
    waiting = defer(ctx, "notify_staff")
    batch = defer(ctx, "dispatch_batch", item_id=12, batch=2, first_id=1001, last_id=1500)
    failed = defer(ctx, "collect_feed", feed_id=feed_id)
    stalled = defer(ctx, "compose_occurrence", entry="headteacher-bulletin", day="2026-11-05")
    done = defer(ctx, "report_month", month="2026-10")
    alive, gone = register_worker(engine), register_worker(engine)
    assert take(engine, "collect", alive) == failed
    finish(engine, failed, "failed")
    assert take(engine, "report", alive) == done
    finish(engine, done, "succeeded")
    assert take(engine, "compose", gone) == stalled
    silence(engine, gone, 3600)
    return Board(waiting, batch, failed, stalled, done, alive, gone)


def queue_settings(database: str, tmp_path: Path, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "database_url": database,
        "workspace": EXAMPLE,
        "outbox_dir": tmp_path / "outbox",
        "reports_dir": tmp_path / "reports",
        "secret_key": "queue-test-secret",
        "file_channels": ("*",),
        "queue": "procrastinate",
        "worker_heartbeat_seconds": 5,  # stalled after 15 s of silence
    }
    return load_settings(environ={}, env_file=None, **(values | overrides))


def with_queue(ctx: AppContext) -> AppContext:
    ensure_queue_schema(ctx)
    return ctx


def defer(ctx: AppContext, task: str, **kwargs: Any) -> int:
    """Defer one job as the clock does; its id."""
    assert Enqueuer(ctx.repos.engine, deferring_app(ctx.settings)).defer([JobSpec(task, kwargs)]) == 1
    with ctx.repos.engine.connect() as conn:
        return int(conn.execute(text("SELECT max(id) FROM procrastinate_jobs")).scalar_one())


def register_worker(engine: Engine) -> int:
    with engine.begin() as conn:
        return int(conn.execute(text("SELECT worker_id FROM procrastinate_register_worker_v1()")).scalar_one())


def take(engine: Engine, queue: str, worker: int) -> int:
    """A worker takes the next job of `queue` (todo -> doing), as procrastinate's worker does."""
    with engine.begin() as conn:
        found = conn.execute(
            text("SELECT id FROM procrastinate_fetch_job_v2(ARRAY[CAST(:queue AS varchar)], :worker)"),
            {"queue": queue, "worker": worker},
        ).scalar_one()
    assert found is not None, f"nothing to take in the {queue} queue"
    return int(found)


def finish(engine: Engine, job_id: int, status: str) -> None:
    """The job ends (doing -> failed or succeeded), as the worker records it."""
    with engine.begin() as conn:
        conn.execute(
            text("SELECT procrastinate_finish_job_v1(:id, CAST(:status AS procrastinate_job_status), false)"),
            {"id": job_id, "status": status},
        )


def silence(engine: Engine, worker: int, seconds: int) -> None:
    """The worker's last heartbeat was `seconds` ago (killed, or its machine gone)."""
    with engine.begin() as conn:
        conn.execute(
            text("UPDATE procrastinate_workers SET last_heartbeat = now() - make_interval(secs => :s) WHERE id = :id"),
            {"s": seconds, "id": worker},
        )


def status_of(engine: Engine, job_id: int) -> str:
    with engine.connect() as conn:
        return str(
            conn.execute(text("SELECT status::text FROM procrastinate_jobs WHERE id = :id"), {"id": job_id}).scalar()
        )


@pytest.fixture
def queue_url() -> Iterator[str]:
    """A database URL on a fresh schema of the local PostgreSQL (dropped afterwards), or a clean skip."""
    with fresh_schema("j") as url:
        yield url
