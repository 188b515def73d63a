"""The county month's sends on PostgreSQL: 2 `comms worker` processes beside one process, same data.

    python -m benchmarks.county_queue SCALE [--workers 2] [--repeat 1]

Each run, on a fresh PostgreSQL schema: the county month of `benchmarks.county` (600 schools, 12
district newsletters to 150,000 residents, 40 feeds, 200 posts at scale 1) is imported, collected and
composed at every moment of November 2026 in this process, as in `benchmarks.county` (timed apart:
"compose"). Then every approved item is made due a minute ago (a worker acts as of the wall clock, so
the month's sends cannot be replayed at their November times through the queue), and the sends are
timed: **one process** runs `Dispatcher.run` here (the embedded clock's path); **queue** defers one
`dispatch_item` job per item and waits until none is left approved, with the workers (`--concurrency
1 --queue send`) started beforehand. Modes alternate run by run; both send over 4 SMTP connections a
process to one counting sink process, as `benchmarks.county` does. Prints a Markdown table.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, text

from benchmarks import fixtures
from benchmarks.county import DISTRICTS, FEEDS, RESIDENTS, SCHOOLS, _workspace
from benchmarks.queue_bench import ROOT, _registered, commits, environment
from benchmarks.workloads import _serve, _smtp_sink
from pipeline.app import Pipeline, make_pipeline
from pipeline.demo import wake_times
from pipeline.localservers import free_port
from pipeline.queue.app import Enqueuer, JobSpec, deferring_app
from pipeline.records import FeedSpec, Subscriber
from pipeline.settings import load_settings
from pipeline.storage.schema import upgrade
from tests.conftest import PG_URL


def prepare(env: dict[str, str], scale: float, urls: list[str]) -> tuple[Pipeline, float, int]:
    """The month imported, collected and composed; (pipeline, compose seconds, emails due)."""
    settings = load_settings(environ=env, env_file=None)
    upgrade(settings)
    p = make_pipeline(settings)
    p.import_plan(now=datetime(2026, 10, 25, tzinfo=UTC))
    p.repos.feeds.upsert(
        FeedSpec(u, f"Feed {i}", 60, ("3", "6"), ("residents", "headteachers"), internal=True)
        for i, u in enumerate(urls)
    )
    per_district = int(RESIDENTS * scale) // DISTRICTS
    residents = [
        Subscriber(f"r{d}-{i}@residents.example.org", f"Resident {i}", "", (f"district-{d}",), "benchmark",
                   date(2026, 1, 1))
        for d in range(DISTRICTS) for i in range(per_district)
    ]  # fmt: skip
    schools = fixtures.subscribers(int(SCHOOLS * scale))
    p.repos.subscribers.upsert(schools + residents)
    p.collect(datetime(2026, 10, 31, 6, tzinfo=UTC), force=True)
    started = time.perf_counter()
    for moment in wake_times(p, "2026-11", settings.tz):
        p.compose(moment)
    composed = time.perf_counter() - started
    with p.repos.engine.begin() as conn:  # due a minute ago, by the wall clock the workers act on
        due = datetime.now(UTC) - timedelta(minutes=1)
        conn.execute(text("UPDATE outbox SET due_at = :due WHERE status = 'approved'"), {"due": due})
    return p, composed, len(schools) + len(residents)


def approved(p: Pipeline) -> list[int]:
    return [i.id for i in p.repos.outbox.items(status="approved")]


def send_in_process(p: Pipeline, _env: dict[str, str], _workers: int) -> float:
    started = time.perf_counter()
    p.dispatcher().run(datetime.now(UTC))
    return time.perf_counter() - started


def send_queue(p: Pipeline, env: dict[str, str], workers: int) -> float:
    command = [sys.executable, "-m", "pipeline.cli", "worker", "--concurrency", "1", "--queue", "send"]
    procs = [
        subprocess.Popen(command, env={**os.environ, **env}, cwd=ROOT, stderr=subprocess.PIPE, text=True)
        for _ in range(workers)
    ]
    try:
        deadline = time.monotonic() + 60
        while _registered(p) < workers:
            assert time.monotonic() < deadline, "the workers did not start"
            time.sleep(0.1)
        items = approved(p)
        started = time.perf_counter()
        specs = [JobSpec("dispatch_item", {"item_id": i}, queueing_lock=f"dispatch:{i}") for i in items]
        Enqueuer(p.repos.engine, deferring_app(p.settings)).defer(specs)
        while approved(p):
            time.sleep(0.2)
        return time.perf_counter() - started
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            _out, err = proc.communicate(timeout=120)
            assert "Traceback" not in err, err[-3000:]


def one_run(mode: str, scale: float, workers: int, port: int, urls: list[str]) -> dict[str, Any]:
    schema = f"county_{uuid.uuid4().hex[:8]}"
    admin = create_engine(PG_URL)
    with admin.begin() as conn:
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    tmp = Path(tempfile.mkdtemp(prefix="comms-county-queue-"))
    try:
        _workspace(tmp / "ws")
        env = environment(f"{PG_URL}?options=-csearch_path%3D{schema}", port, tmp)
        env |= {"COMMS_WORKSPACE": str(tmp / "ws"), "COMMS_FILE_CHANNELS": "facebook", "COMMS_SMTP_POOL_SIZE": "4"}
        p, composed, emails = prepare(env, scale, urls)
        before = commits()
        seconds = (send_in_process if mode == "one process" else send_queue)(p, env, workers)
        rate = (commits() - before) / seconds
        statuses = p.repos.outbox.status_counts()
        with p.repos.engine.connect() as conn:
            sent = conn.execute(
                text("SELECT count(*) FROM deliveries WHERE status = 'sent' AND recipient <> '-'")
            ).scalar_one()
        p.close()
        assert sent == emails, f"{sent:,} emails sent of {emails:,}: items left {statuses}"
        return {"seconds": seconds, "compose": composed, "emails": emails, "sent": int(sent),
                "items": statuses, "commits": rate}  # fmt: skip
    finally:
        with admin.begin() as conn:
            conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()
        shutil.rmtree(tmp, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("scale", type=float)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=1)
    args = parser.parse_args()
    feeds_process, urls = _serve(max(1, int(FEEDS * args.scale)))
    port, ready = free_port(), multiprocessing.Event()
    sink = multiprocessing.Process(target=_smtp_sink, args=(port, ready), daemon=True)
    sink.start()
    ready.wait(10)
    modes = ["one process", f"{args.workers} workers"]
    runs: dict[str, list[dict[str, Any]]] = {m: [] for m in modes}
    try:
        for n in range(args.repeat):
            for mode in modes if n % 2 == 0 else modes[::-1]:
                run = one_run(mode, args.scale, args.workers, port, urls)
                runs[mode].append(run)
                print(f"run {n + 1} {mode}: {run}", flush=True)
    finally:
        sink.terminate()
        feeds_process.terminate()
    base = statistics.median(r["seconds"] for r in runs["one process"])
    head = f"sends, median of {args.repeat}"
    print(f"\n| scale {args.scale:g} | emails sent | {head} | emails/s | ratio | compose | commits/s |")
    print("|---|---|---|---|---|---|---|")
    for mode in modes:
        secs = statistics.median(r["seconds"] for r in runs[mode])
        sent = runs[mode][0]["sent"]
        compose = statistics.median(r["compose"] for r in runs[mode])
        rate = statistics.median(r["commits"] for r in runs[mode])
        cells = f"{sent:,} | {secs:.1f} s | {sent / secs:,.0f} | {secs / base:.2f} | {compose:.1f} s | {rate:,.0f}"
        print(f"| {mode} | {cells} |")


if __name__ == "__main__":
    main()
