"""The queue's overhead: one email to N recipients sent by the in-process dispatcher (the embedded clock's
path) and by 1 and 2 `comms worker` processes (procrastinate, batches of 500), in the same run, on the
local PostgreSQL (a fresh schema each run) against a counting SMTP sink in two processes of its own.

    python -m benchmarks.queue_bench [--emails 10000] [--repeat 2]

Each run: a fresh schema with the plan, N headteachers and one approved email due a minute ago. The
in-process run times `Dispatcher.run` in this process; a queue run starts its workers first (their start
is not timed), then times from deferring the item's job to the item settling as sent. The modes are
interleaved run by run; the median of each is printed, with the ratio to the in-process median and the
database's commit rate over the run (`pg_stat_database`, the whole database: other users add to it), and
the sender's CPU time per email (this process's for in-process; the workers' own, read when they exit,
for the queue: what one email costs a core, whatever else shares the machine).
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import resource
import statistics
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import create_engine, text

from benchmarks.workloads import SINK_PROCESSES, _smtp_sink
from pipeline.app import Pipeline, make_pipeline
from pipeline.localservers import free_port
from pipeline.queue.app import Enqueuer, JobSpec, deferring_app
from pipeline.settings import load_settings
from pipeline.storage.schema import upgrade
from tests.conftest import EXAMPLE, PG_URL, headteachers

ROOT = Path(__file__).resolve().parent.parent


def environment(url: str, port: int, tmp: Path) -> dict[str, str]:
    return {
        "COMMS_DATABASE_URL": url,
        "COMMS_QUEUE": "procrastinate",
        "COMMS_WORKSPACE": str(EXAMPLE),
        "COMMS_SMTP_HOST": "127.0.0.1",
        "COMMS_SMTP_PORT": str(port),
        "COMMS_SMTP_POOL_SIZE": "2",
        "COMMS_SECRET_KEY": "bench",
        "COMMS_FILE_CHANNELS": "*",
        "COMMS_OUTBOX_DIR": str(tmp / "outbox"),
        "COMMS_REPORTS_DIR": str(tmp / "reports"),
        "COMMS_LOG_LEVEL": "WARNING",
        "COMMS_WORKER_HEARTBEAT_SECONDS": "2",
    }


def prepare(env: dict[str, str], emails: int) -> tuple[Pipeline, int]:
    settings = load_settings(environ=env, env_file=None)
    upgrade(settings)
    p = make_pipeline(settings)
    p.import_plan(now=datetime(2026, 11, 1, tzinfo=UTC))
    p.repos.subscribers.upsert(headteachers(emails))
    due = datetime.now(UTC) - timedelta(minutes=1)
    item = p.repos.outbox.add_item(
        due,
        occurrence_key=f"bench@{due.date().isoformat()}",
        entry_id="bench",
        channel="headteacher-bulletin",
        kind="email",
        title="Prevent update for schools",
        subject="Prevent update for schools",
        body="Dear colleague, the Prevent duty guidance has been updated.",
        html="<p>Dear colleague, the Prevent duty guidance has been updated.</p>",
        audiences=["headteachers"],
        objectives=["6"],
        due_at=due,
        approval="auto",
        status="approved",
        approved_by="auto",
    )
    return p, item.id


def status(p: Pipeline, item_id: int) -> str:
    found = p.repos.outbox.item(item_id)
    return found.status if found else "?"


def commits() -> int:
    engine = create_engine(PG_URL)
    with engine.connect() as conn:
        value = conn.execute(text("select xact_commit from pg_stat_database where datname = current_database()"))
        found = int(value.scalar_one())
    engine.dispose()
    return found


def run_in_process(p: Pipeline, item_id: int) -> tuple[float, float]:
    """(wall seconds, CPU seconds of this process)."""
    started, cpu = time.perf_counter(), time.process_time()
    p.dispatcher().run(datetime.now(UTC), only_item=item_id)
    assert status(p, item_id) == "sent", status(p, item_id)
    return time.perf_counter() - started, time.process_time() - cpu


def children_cpu() -> float:
    used = resource.getrusage(resource.RUSAGE_CHILDREN)
    return used.ru_utime + used.ru_stime


def run_queue(p: Pipeline, item_id: int, env: dict[str, str], workers: int) -> tuple[float, float]:
    """(wall seconds, CPU seconds of the workers, start-up included)."""
    cpu = children_cpu()
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "pipeline.cli", "worker", "--concurrency", "1", "--queue", "send"],
            env={**os.environ, **env},
            cwd=ROOT,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(workers)
    ]
    try:
        deadline = time.monotonic() + 60
        while _registered(p) < workers:
            assert time.monotonic() < deadline, "the workers did not start"
            time.sleep(0.1)
        started = time.perf_counter()
        Enqueuer(p.repos.engine, deferring_app(p.settings)).defer([JobSpec("dispatch_item", {"item_id": item_id})])
        while status(p, item_id) != "sent":
            time.sleep(0.05)
        seconds = time.perf_counter() - started
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            _out, err = proc.communicate(timeout=60)
            assert "Traceback" not in err, err
    return seconds, children_cpu() - cpu


def _registered(p: Pipeline) -> int:
    with p.repos.engine.connect() as conn:
        return int(conn.execute(text("select count(*) from procrastinate_workers")).scalar_one())


def one_run(mode: str, emails: int, port: int, tmp: Path) -> tuple[float, float, float]:
    """(seconds, commits per second, CPU seconds of the sender) for one run of `mode` on a fresh schema."""
    schema = f"bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(PG_URL)
    with admin.begin() as conn:
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    try:
        env = environment(f"{PG_URL}?options=-csearch_path%3D{schema}", port, tmp)
        p, item_id = prepare(env, emails)
        before = commits()
        if mode == "in-process":
            seconds, cpu = run_in_process(p, item_id)
        else:
            seconds, cpu = run_queue(p, item_id, env, int(mode.split()[0]))
        rate = (commits() - before) / seconds
        p.close()
        return seconds, rate, cpu
    finally:
        with admin.begin() as conn:
            conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--emails", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=2)
    args = parser.parse_args()
    port = free_port()
    sinks = []
    for _ in range(SINK_PROCESSES):
        ready = multiprocessing.Event()
        sink = multiprocessing.Process(target=_smtp_sink, args=(port, ready), daemon=True)
        sink.start()
        ready.wait(10)
        sinks.append(sink)
    modes = ["in-process", "1 worker", "2 workers"]
    results: dict[str, list[tuple[float, float, float]]] = {m: [] for m in modes}
    tmp = Path("/tmp") / f"queue-bench-{os.getpid()}"
    try:
        for n in range(args.repeat):
            for mode in modes if n % 2 == 0 else list(reversed(modes)):
                results[mode].append(one_run(mode, args.emails, port, tmp))
                print(f"run {n + 1} {mode}: {results[mode][-1][0]:.2f} s", flush=True)
    finally:
        for sink in sinks:
            sink.terminate()
    base = statistics.median(s for s, _r, _c in results["in-process"])
    head = f"{args.emails:,} emails, median of {args.repeat}"
    print(f"\n| mode | {head} | emails/s | ratio to in-process | commits/s | sender CPU ms/email |")
    print("|---|---|---|---|---|---|")
    for mode in modes:
        seconds = statistics.median(s for s, _r, _c in results[mode])
        rate = statistics.median(r for _s, r, _c in results[mode])
        cpu = statistics.median(c for _s, _r, c in results[mode]) * 1000 / args.emails
        cells = f"{seconds:.2f} s | {args.emails / seconds:,.0f} | {seconds / base:.2f} | {rate:,.0f} | {cpu:.2f}"
        print(f"| {mode} | {cells} |")


if __name__ == "__main__":
    main()
