"""county-month: a whole month end to end at Kent & Medway scale, in its own process per scale so that
each peak memory figure is its own.

At scale 1: 600 schools get the headteacher bulletin, 12 district newsletters go to 150,000 residents
in all, 40 feeds are collected over HTTP from another process, and 200 social posts are written.
`python -m benchmarks.county SCALE` prints one JSON line: wall seconds and peak RSS.
"""

from __future__ import annotations

import json
import multiprocessing
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import UTC, date, datetime
from pathlib import Path

import yaml
from sqlalchemy import text

from benchmarks import fixtures
from benchmarks.runner import Result
from benchmarks.workloads import _serve, _smtp_sink
from pipeline.demo import wake_times
from pipeline.localservers import free_port
from pipeline.records import FeedSpec, Subscriber

DISTRICTS = 12
SCHOOLS, RESIDENTS, FEEDS, POSTS = 600, 150_000, 40, 200


def _workspace(root: Path) -> None:
    strategy = yaml.safe_load((fixtures.EXAMPLE / "strategy.yaml").read_text())
    strategy["audiences"] += [{"code": f"district-{d}", "name": f"District {d} residents"} for d in range(DISTRICTS)]
    strategy["channels"] += [{"code": f"district-{d}-news", "name": f"District {d} newsletter", "kind": "email",
                              "facing": "residents", "template": "resident_newsletter", "lead_days": 2}
                             for d in range(DISTRICTS)]  # fmt: skip
    (root / "calendar").mkdir(parents=True)
    (root / "strategy.yaml").write_text(yaml.safe_dump(strategy))
    shutil.copy(fixtures.EXAMPLE / "organisation.yaml", root / "organisation.yaml")
    rows = ["id,title,channel,audiences,objectives,start_date,time,repeat,approval"]
    rows.append("bulletin,Prevent update for schools,headteacher-bulletin,headteachers,6,2026-11-05,08:00,,auto")
    rows += [f"district-{d},District {d} news,district-{d}-news,district-{d},1;3,2026-11-{3 + d % 20:02d},10:00,,auto"
             for d in range(DISTRICTS)]  # fmt: skip
    rows += [f"post-{i},Post {i},facebook,residents,3,2026-11-{1 + i % 28:02d},{8 + i % 10}:{(i * 5) % 60:02d},,auto"
             for i in range(POSTS)]  # fmt: skip
    (root / "calendar" / "month.csv").write_text("\n".join(rows) + "\n")


def run(scale: float) -> dict[str, float]:
    from pipeline.app import make_pipeline
    from pipeline.settings import load_settings

    tmp = Path(tempfile.mkdtemp(prefix="comms-county-"))
    _workspace(tmp / "ws")
    feeds_process, urls = _serve(max(1, int(FEEDS * scale)))
    port, ready = free_port(), multiprocessing.Event()
    sink = multiprocessing.Process(target=_smtp_sink, args=(port, ready), daemon=True)
    sink.start()
    ready.wait(10)
    try:
        started = time.perf_counter()
        settings = load_settings(
            environ={}, env_file=None, database_url=f"sqlite:///{tmp / 'comms.db'}", workspace=tmp / "ws",
            outbox_dir=tmp / "outbox", smtp_host="127.0.0.1", smtp_port=port, secret_key="bench",
            file_channels=("facebook",), smtp_pool_size=4,
        )  # fmt: skip
        p = make_pipeline(settings)
        p.import_plan(now=datetime(2026, 10, 25, tzinfo=UTC))
        p.repos.feeds.upsert(
            FeedSpec(u, f"Feed {i}", 60, ("3", "6"), ("residents", "headteachers"), internal=True)
            for i, u in enumerate(urls)
        )
        schools = fixtures.subscribers(int(SCHOOLS * scale))
        per_district = int(RESIDENTS * scale) // DISTRICTS
        residents = [
            Subscriber(f"r{d}-{i}@residents.example.org", f"Resident {i}", "", (f"district-{d}",), "benchmark",
                       date(2026, 1, 1))
            for d in range(DISTRICTS) for i in range(per_district)
        ]  # fmt: skip
        p.repos.subscribers.upsert(schools + residents)
        p.collect(datetime(2026, 10, 31, 6, tzinfo=UTC), force=True)
        for moment in wake_times(p, "2026-11", settings.tz):  # every moment something is due, as the clock would
            p.compose(moment)
            p.dispatch(moment)
        sent = sum(1 for i in p.repos.outbox.items() if i.status == "sent")
        with p.repos.engine.connect() as conn:
            emails = conn.execute(
                text("SELECT count(*) FROM deliveries WHERE status = 'sent' AND recipient <> '-'")
            ).scalar_one()
        due = len(schools) + len(residents)
        # a figure for a month that sent less than its emails would be a figure for nothing
        assert emails == due, f"{emails:,} emails sent of {due:,}: items left {p.repos.outbox.status_counts()}"
        return {"scale": scale, "seconds": round(time.perf_counter() - started, 2), "items_sent": sent,
                "emails": len(schools) + len(residents),
                "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)}  # fmt: skip
    finally:
        sink.terminate()
        feeds_process.terminate()
        shutil.rmtree(tmp, ignore_errors=True)


def results(quick: bool) -> list[Result]:
    """Each scale in its own process; the growth from the smallest scale is noted."""
    scales = (0.005,) if quick else (0.25, 0.5, 1.0)
    runs = []
    for scale in scales:
        done = subprocess.run(
            [sys.executable, "-m", "benchmarks.county", str(scale)], capture_output=True, text=True, check=True
        )
        runs.append(json.loads(done.stdout.strip().splitlines()[-1]))
    out = []
    for run_ in runs:
        growth = run_["seconds"] / runs[0]["seconds"]
        note = (
            f"scale {run_['scale']:g}: {run_['emails']:,} emails, {run_['items_sent']} items sent; time x{growth:.2f} "
            f"and peak RSS x{run_['peak_rss_mb'] / runs[0]['peak_rss_mb']:.2f} of scale {runs[0]['scale']:g}"
        )
        out.append(
            Result(
                f"county-month@{run_['scale']:g}",
                run_["emails"],
                "mail",
                run_["seconds"],
                None,
                run_["peak_rss_mb"],
                "report only: wall time and peak memory by scale",
                None,
                [note],
            )
        )
    return out


if __name__ == "__main__":
    print(json.dumps(run(float(sys.argv[1]))))
