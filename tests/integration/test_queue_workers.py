"""Queue mode with real processes: the clock enqueues, `comms worker` processes run the jobs, on the local
PostgreSQL (a schema of its own per test, through the URL's search_path) against a real SMTP server that
counts what each recipient received. Every recipient exactly once, whatever is killed or restarted."""

from __future__ import annotations

import asyncio
import bisect
import shutil
import signal
import subprocess
import threading
import time
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text

from pipeline.app import make_pipeline
from pipeline.clock.lock import PG_LOCK_ID, PG_LOCK_KEY
from pipeline.localservers import Mailbox, smtp_server
from pipeline.settings import load_settings
from tests.conftest import EXAMPLE, PG_URL, fresh_schema, headteachers
from tests.fakes import FakeNotify
from tests.httpserver import Request, Response, Server, http_server
from tests.integration.test_concurrency import clock_wakes_at_start, comms, environment, finish, wait_for

pytestmark = [pytest.mark.postgres, pytest.mark.slow]


class RelayMailbox(Mailbox):
    """An SMTP server that takes `delay` seconds a message, as a real relay does."""

    def __init__(self, delay: float) -> None:
        super().__init__()
        self.delay = delay

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        await asyncio.sleep(self.delay)
        return await super().handle_DATA(server, session, envelope)


@pytest.fixture
def queue_db() -> Iterator[str]:
    """A database URL on a fresh schema of the local PostgreSQL, dropped afterwards."""
    with fresh_schema("q") as url:
        yield url


def queue_environment(database: str, tmp_path: Path, port: int, **extra: str) -> dict[str, str]:
    env = environment(database, tmp_path, "127.0.0.1", port)
    env.update({"COMMS_QUEUE": "procrastinate", "COMMS_WORKER_HEARTBEAT_SECONDS": "2", **extra})
    return env


def queue_items(
    env: dict[str, str], recipients: int, dues: list[datetime], channel: str = "headteacher-bulletin"
) -> list[int]:
    """The plan, `recipients` headteachers, and one approved email to them all per due time."""
    p = make_pipeline(load_settings(environ=env, env_file=None))
    p.import_plan(now=datetime(2026, 11, 1, tzinfo=UTC))
    p.repos.subscribers.upsert(headteachers(recipients))
    ids = []
    for n, due in enumerate(dues):
        item = p.repos.outbox.add_item(
            due,
            occurrence_key=f"edition-{n}@{due.date().isoformat()}",
            entry_id=f"edition-{n}",
            channel=channel,
            kind="email",
            title=f"Prevent update {n}",
            subject=f"Prevent update {n}",
            body="Dear colleague, the Prevent duty guidance has been updated.",
            html="<p>Dear colleague, the Prevent duty guidance has been updated.</p>",
            audiences=["headteachers"],
            objectives=["6"],
            due_at=due,
            approval="auto",
            status="approved",
            approved_by="auto",
        )
        ids.append(item.id)
    p.close()
    return ids


def statuses(database: str, ids: list[int]) -> list[str]:
    engine = create_engine(database)
    try:
        with engine.connect() as conn:
            rows = conn.execute(text("select id, status from outbox where id = any(:ids)"), {"ids": ids}).all()
        return [status for _id, status in sorted(rows)]
    finally:
        engine.dispose()


def clock_lock_held(database: str) -> bool:
    """Whether a clock holds this schema's clock lock: tried, and given back at once if it was free."""
    engine = create_engine(database)
    try:
        with engine.connect() as conn:
            free = conn.execute(text(f"select pg_try_advisory_lock({PG_LOCK_KEY})"), {"id": PG_LOCK_ID}).scalar()
            if free:
                conn.execute(text(f"select pg_advisory_unlock({PG_LOCK_KEY})"), {"id": PG_LOCK_ID})
        return not free
    finally:
        engine.dispose()


def job_states(database: str) -> Counter[str]:
    engine = create_engine(database)
    try:
        with engine.connect() as conn:
            return Counter(str(s) for (s,) in conn.execute(text("select status::text from procrastinate_jobs")))
    finally:
        engine.dispose()


def assert_each_once(box: Mailbox, recipients: int, editions: int, in_flight: int = 0) -> None:
    """Each recipient received each edition (one Message-ID) once; at most `in_flight` messages came twice,
    each with the same Message-ID (SMTP's one physical exception: a process killed after the relay took a
    message and before it was recorded), and each such repeat is the same message, found by its key."""
    per_message = Counter((rcpt, str(msg["Message-ID"])) for rcpt, msg in box.received)
    distinct = Counter(rcpt for rcpt, _mid in per_message)
    expected = {f"head{i}@school{i}.example.org" for i in range(recipients)}
    assert set(distinct) == expected, f"{len(expected - set(distinct))} recipients received nothing"
    assert set(distinct.values()) == {editions}, "a recipient received a different message for the same edition"
    repeated = sum(n - 1 for n in per_message.values())
    assert repeated <= in_flight, f"{repeated} messages repeated (at most {in_flight} were in flight)"


def stop(*procs: subprocess.Popen[str]) -> None:
    """SIGTERM each process, wait for them all, then say which did not stop cleanly."""
    for proc in procs:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
    results = []
    for proc in procs:
        try:
            results.append(finish(proc, 120))
        except subprocess.TimeoutExpired:
            proc.kill()
            results.append((-9, "did not stop within 120 s"))
    bad = [(code, err[-2000:]) for code, err in results if code != 0]
    assert not bad, bad


def test_upgrade_applies_the_queue_schema_once_in_the_urls_schema(queue_db: str, tmp_path: Path) -> None:
    env = queue_environment(queue_db, tmp_path, 25)
    first = comms(env, tmp_path, "db", "upgrade")
    out, err = first.communicate(timeout=120)
    assert first.returncode == 0, err
    assert "queue schema (procrastinate): applied" in out
    again = comms(env, tmp_path, "db", "upgrade")
    out, err = again.communicate(timeout=120)
    assert again.returncode == 0 and "queue schema (procrastinate): present" in out and "already up to date" in out
    schema = queue_db.rpartition("%3D")[2]
    engine = create_engine(PG_URL)
    with engine.connect() as conn:
        where = conn.execute(text("select schemaname from pg_tables where tablename = 'procrastinate_jobs'")).scalars()
        assert schema in set(where)
    engine.dispose()


def test_a_worker_refuses_without_the_queue_setting(tmp_path: Path) -> None:
    env = environment(f"sqlite:///{tmp_path / 'comms.db'}", tmp_path)
    proc = comms(env, tmp_path, "worker")
    code, err = finish(proc, 60)
    assert code == 2 and "COMMS_QUEUE=procrastinate" in err
    proc = comms({**env, "COMMS_QUEUE": "procrastinate"}, tmp_path, "worker")
    code, err = finish(proc, 60)
    assert code == 2 and "needs PostgreSQL" in err


def test_three_workers_and_the_clock_send_a_months_editions_once_across_clock_restarts(
    queue_db: str, tmp_path: Path
) -> None:
    """Three editions to 1,000 headteachers; three workers and the clock. Midway the clock is stopped and
    started again, and a second clock started by mistake refuses to start. Each edition reaches each
    headteacher exactly once."""
    clock_wakes_at_start()
    box = RelayMailbox(0.003)
    with smtp_server(box) as (_host, port):
        env = queue_environment(queue_db, tmp_path, port)
        now = datetime.now(UTC)
        ids = queue_items(env, 1000, [now - timedelta(minutes=m) for m in (1, 2, 3)])
        assert finish(comms(env, tmp_path, "db", "upgrade"))[0] == 0
        workers = [comms(env, tmp_path, "worker", "--concurrency", "2") for _ in range(3)]
        clock = comms(env, tmp_path, "run")
        try:
            wait_for(lambda: len(box.received) >= 300 or clock.poll() is not None, 120, "the workers to send")
            stop(clock)
            clock = comms(env, tmp_path, "run", "--wait")  # restarted: its first wake-up enqueues again
            wait_for(lambda: clock_lock_held(queue_db) or clock.poll() is not None, 60, "the clock to restart")
            code, err = finish(comms(env, tmp_path, "run"), 60)  # a second clock, started by mistake
            assert code == 3 and "another clock is already running" in err
            wait_for(lambda: statuses(queue_db, ids) == ["sent"] * 3, 180, "every edition to be sent")
        finally:
            stop(clock, *workers)
    assert_each_once(box, 1000, 3)
    assert job_states(queue_db)["failed"] == 0


def test_a_worker_killed_mid_batch_then_restarted_leaves_nothing_unsent_and_nothing_twice(
    queue_db: str, tmp_path: Path
) -> None:
    box = RelayMailbox(0.01)
    with smtp_server(box) as (_host, port):
        env = queue_environment(queue_db, tmp_path, port)
        ids = queue_items(env, 1500, [datetime.now(UTC) - timedelta(minutes=1)])  # three batches of 500
        assert finish(comms(env, tmp_path, "db", "upgrade"))[0] == 0
        workers = [comms(env, tmp_path, "worker", "--concurrency", "1") for _ in range(3)]
        try:
            assert finish(comms(env, tmp_path, "run", "--once"))[0] == 0  # one wake-up of the queue clock
            wait_for(lambda: len(box.received) >= 150, 120, "the three batches to be under way")
            workers[0].send_signal(signal.SIGKILL)  # mid-batch: its claims and its job are left behind
            workers[0].wait(30)
            received_at_kill = len(box.received)
            assert received_at_kill < 1500
            time.sleep(1)
            workers[0] = comms(env, tmp_path, "worker", "--concurrency", "1")  # restarted
            wait_for(lambda: statuses(queue_db, ids) == ["sent"], 180, "the item to be sent")
        finally:
            stop(*workers)
    assert_each_once(box, 1500, 1, in_flight=int(env["COMMS_SMTP_POOL_SIZE"]))
    assert job_states(queue_db)["failed"] == 0


def test_the_clock_enqueues_each_thing_once_however_often_it_wakes(queue_db: str, tmp_path: Path) -> None:
    """Three wake-ups with no worker: one job per due thing, not three (the queueing locks)."""
    env = queue_environment(queue_db, tmp_path, 25)
    queue_items(env, 10, [datetime.now(UTC) - timedelta(minutes=1)])
    for _ in range(3):
        assert finish(comms(env, tmp_path, "run", "--once"))[0] == 0
    engine = create_engine(queue_db)
    with engine.connect() as conn:
        jobs = Counter(conn.execute(text("select task_name || args::text from procrastinate_jobs")).scalars())
    engine.dispose()
    assert sum(1 for job in jobs if job.startswith("comms:dispatch_item")) == 1
    assert set(jobs.values()) == {1}, [job for job, n in jobs.items() if n > 1]


class TimedNotify(FakeNotify):
    """A GOV.UK Notify stand-in that notes when each email was accepted."""

    def __init__(self, server: Server) -> None:
        super().__init__(server)
        self.accepted: list[float] = []
        self.lock = threading.Lock()

    def create(self, request: Request) -> Response:
        response = super().create(request)
        if response.status == 201:
            with self.lock:
                self.accepted.append(time.time())
        return response


def notify_workspace(tmp_path: Path) -> Path:
    """The example workspace with a Notify channel for schools."""
    workspace = tmp_path / "workspace"
    shutil.copytree(EXAMPLE, workspace)
    strategy = workspace / "strategy.yaml"
    strategy.write_text(
        strategy.read_text().replace(
            "  - {code: headteacher-bulletin,",
            "  - {code: school-notify, name: Schools by Notify, kind: notify, facing: schools, lead_days: 2}\n"
            "  - {code: headteacher-bulletin,",
        )
    )
    return workspace


def most_in_any_minute(times: list[float]) -> int:
    times = sorted(times)
    return max((bisect.bisect_left(times, t + 60) - i for i, t in enumerate(times)), default=0)


def test_three_workers_sharing_a_notify_limit_never_exceed_it_in_any_minute(queue_db: str, tmp_path: Path) -> None:
    """30 a minute (a test setting; Notify's own is 3,000), 60 emails in three batches on three workers:
    no 60 seconds ever hold more than 30, and every email goes once."""
    with http_server() as server:
        notify = TimedNotify(server)
        env = queue_environment(
            queue_db,
            tmp_path,
            25,
            COMMS_WORKSPACE=str(notify_workspace(tmp_path)),
            COMMS_FILE_CHANNELS="x",
            COMMS_NOTIFY_API_KEY=notify.API_KEY,
            COMMS_NOTIFY_TEMPLATE_ID=notify.TEMPLATE,
            COMMS_NOTIFY_API_URL=server.url,
            COMMS_NOTIFY_RATE_PER_MINUTE="30",
        )
        ids = queue_items(env, 20, [datetime.now(UTC) - timedelta(minutes=m) for m in (1, 2, 3)], "school-notify")
        assert finish(comms(env, tmp_path, "db", "upgrade"))[0] == 0
        workers = [comms(env, tmp_path, "worker", "--concurrency", "1") for _ in range(3)]
        try:
            assert finish(comms(env, tmp_path, "run", "--once"))[0] == 0
            wait_for(lambda: statuses(queue_db, ids) == ["sent"] * 3, 240, "every email to be sent")
        finally:
            stop(*workers)
    references = Counter(n["reference"] for n in notify.sent)
    assert len(references) == 60 and set(references.values()) == {1}
    assert most_in_any_minute(notify.accepted) <= 30
    assert max(notify.accepted) - min(notify.accepted) >= 55  # the limit did hold the second half back


def run_cli(env: dict[str, str], cwd: Path, *args: str) -> tuple[int, str, str]:
    proc = comms(env, cwd, *args)
    out, err = proc.communicate(timeout=120)
    assert "Traceback" not in err, err
    return proc.returncode, out, err


def test_comms_jobs_lists_cancels_and_retries_and_status_shows_the_workers_heartbeat(
    queue_db: str, tmp_path: Path
) -> None:
    env = queue_environment(queue_db, tmp_path, 25)
    queue_items(env, 5, [datetime.now(UTC) + timedelta(days=1)])  # due tomorrow: nothing to send yet
    assert run_cli(env, tmp_path, "run", "--once")[0] == 0
    code, out, _err = run_cli(env, tmp_path, "jobs", "--status", "todo")
    assert code == 0 and "notify_staff()" in out and "todo" in out
    job_id = next(line.split()[0].lstrip("#") for line in out.splitlines() if "notify_staff()" in line)
    code, _out, err = run_cli(env, tmp_path, "jobs", "retry", job_id)
    assert code == 2 and "only a failed or stalled job can be retried" in err
    code, out, _err = run_cli(env, tmp_path, "jobs", "cancel", job_id)
    assert code == 0 and f"job {job_id} cancelled" in out
    assert f"#{job_id:<6} cancelled" in run_cli(env, tmp_path, "jobs")[1]
    code, _out, err = run_cli(env, tmp_path, "jobs", "cancel", "999999")
    assert code == 2 and "no job 999999" in err
    code, out, _err = run_cli(env, tmp_path, "status")
    assert code == 0 and "no worker is running" in out
    worker = comms(env, tmp_path, "worker")
    try:
        wait_for(lambda: "last heartbeat" in run_cli(env, tmp_path, "status")[1], 60, "the worker's heartbeat")
    finally:
        stop(worker)
    sqlite = environment(f"sqlite:///{tmp_path / 'comms.db'}", tmp_path)
    code, _out, err = run_cli(sqlite, tmp_path, "jobs")
    assert code == 2 and "there is no job queue" in err
