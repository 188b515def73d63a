"""web-pages: the approval queue and an item page under load, on the production server.

10,000 outbox items (a year of a busy team: mostly sent, 400 awaiting approval) and 100,000 subscribers;
gunicorn serves the workspace in each of `SERVERS` (the Procfile's first); `wrk` (Debian's package)
holds 10 connections, each signed in as a different person, for 20 s per page, in two `MODES`: people
opening a page about once a second, and connections asking again the moment each answer arrives (the
server's ceiling). Server time per request is gunicorn's own (%(D)s in its access log: from reading the
request to the end of the response). Beside it, the same use cases the pages call run bare in-process
(no HTTP, no templates, no session), p95 over as many runs.

Target (issue: the team's web workspace): p95 server time under 200 ms at 10 concurrent signed-in users,
judged on the `users` mode. `python -m benchmarks --only web` runs it; `--quick` uses 1,000 items and
10,000 subscribers for 3 s.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import requests

from benchmarks import fixtures
from benchmarks.runner import Result
from pipeline.localservers import free_port

ITEMS, SUBSCRIBERS, USERS, SECONDS = 10_000, 100_000, 10, 20
PASSWORD = "benchmark password one"
NOW = datetime(2026, 11, 4, 9, 0, tzinfo=UTC)


def _p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20)[18] if len(values) >= 20 else max(values)


def _env(tmp: Path) -> dict[str, str]:
    return {
        **os.environ,
        "COMMS_DATABASE_URL": f"sqlite:///{tmp / 'comms.db'}",
        "COMMS_WORKSPACE": str(fixtures.EXAMPLE),
        "COMMS_SECRET_KEY": "benchmark-secret",
        "COMMS_OUTBOX_DIR": str(tmp / "outbox"),
        "COMMS_FILE_CHANNELS": "*",
        "COMMS_LOG_LEVEL": "WARNING",
    }


def seed(tmp: Path, items: int, subscribers: int) -> int:
    """The database: the example plan, `subscribers` residents and headteachers, `items` outbox items in a
    realistic mix, USERS approvers. Returns the id of a composed bulletin awaiting approval."""
    from sqlalchemy import insert

    from pipeline.app import make_pipeline
    from pipeline.services.actor import Actor
    from pipeline.services.users import UserService
    from pipeline.settings import load_settings
    from pipeline.storage.outbox_store import content_hash
    from pipeline.storage.tables import ItemVersionRow, OutboxRow, SubscriberRow, table

    env = _env(tmp)
    settings = load_settings(environ={k: v for k, v in env.items() if k.startswith("COMMS_")}, env_file=None)
    p = make_pipeline(settings)
    p.import_plan(now=NOW - timedelta(days=3))
    audiences = ["residents", "headteachers", "parents-carers", "partners"]
    with p.repos.engine.begin() as conn:
        conn.execute(
            insert(table(SubscriberRow)),
            [
                {"email": f"reader{i}@example.org", "name": f"Reader {i}", "organisation": "", "status": "active",
                 "audiences": [audiences[i % len(audiences)]], "consent_source": "benchmark",
                 "consent_date": date(2025, 9, 1)}
                for i in range(subscribers)
            ],
        )  # fmt: skip
        # A year of a busy team's outbox: mostly sent history; 4 in 100 awaiting approval (400 at full
        # size, far more than any team would leave waiting), 3 approved, 3 failed or missed.
        statuses = ["sent"] * 85 + ["cancelled"] * 5 + ["failed"] * 2 + ["missed"] + ["awaiting_approval"] * 4
        statuses += ["approved"] * 3
        rows = []
        for i in range(items):
            status, body = statuses[i % len(statuses)], f"Post {i}: Prevent is about safeguarding. #{i}"
            due = NOW + timedelta(hours=(i % 240) - 120)
            rows.append({"occurrence_key": f"bench-{i}@{due.date()}", "entry_id": f"bench-{i % 50}",
                         "channel": "facebook", "kind": "post", "title": f"Benchmark post {i}", "subject": "",
                         "body": body, "html": "", "link": "https://www.thurrock.gov.uk/prevent",
                         "audiences": ["residents"], "objectives": ["1"], "due_at": due, "missed_after_hours": 24,
                         "status": status, "approval": "required", "approvals_required": 1,
                         "content_hash": content_hash("", body, ""), "created_by": "clock",
                         "created_at": NOW, "updated_at": NOW})  # fmt: skip
        conn.execute(insert(table(OutboxRow)), rows)
        ids = conn.execute(table(OutboxRow).select().with_only_columns(table(OutboxRow).c.id)).scalars().all()
        conn.execute(
            insert(table(ItemVersionRow)),
            [{"outbox_id": i, "content_hash": r["content_hash"], "subject": "", "body": r["body"], "html": "",
              "by": "clock", "at": NOW} for i, r in zip(ids, rows, strict=True)],
        )  # fmt: skip
    p.compose(datetime(2026, 11, 3, 9, 0, tzinfo=UTC), entry="headteacher-bulletin")
    bulletin = next(i for i in p.repos.outbox.items(status="awaiting_approval") if i.entry_id == "headteacher-bulletin")
    users = UserService.of(p)
    for n in range(USERS):
        users.add(Actor.cli("benchmark"), f"approver{n}@thurrock.gov.uk", "approver", NOW, password=PASSWORD)
    p.close()
    return bulletin.id


def bare(tmp: Path, item_id: int, runs: int) -> dict[str, float]:
    """p95 seconds of each page's work without HTTP or HTML: the same use cases the views call, in-process."""
    from pipeline.context import open_context
    from pipeline.services.actor import Actor, Role
    from pipeline.services.outbox import OutboxService
    from pipeline.services.preview import ItemPreviewService
    from pipeline.services.queue import QueueService
    from pipeline.settings import load_settings

    env = _env(tmp)
    ctx = open_context(load_settings(environ={k: v for k, v in env.items() if k.startswith("COMMS_")}, env_file=None))
    who = Actor.person("approver0@thurrock.gov.uk", Role.APPROVER)
    outbox, items, queue = OutboxService.of(ctx), ItemPreviewService.of(ctx), QueueService.of(ctx)

    def shared() -> None:  # what every page's layout reads: the navigation's counts and the freeze
        ctx.repos.outbox.status_counts()
        ctx.repos.control.freeze()

    def item_page() -> None:
        outbox.show(who, item_id)
        outbox.history(who, item_id)
        items.preview(who, item_id)
        items.recipients_by_audience(who, item_id)
        items.checks(who, item_id)
        items.provenance(who, item_id)
        shared()

    def queue_page() -> None:
        queue.queue(who, NOW)
        shared()

    pages = {"queue": queue_page, "item": item_page}
    out = {}
    for name, fn in pages.items():
        times = []
        for _ in range(runs):
            started = time.perf_counter()
            fn()
            times.append(time.perf_counter() - started)
        out[name] = _p95(times)
    ctx.close()
    return out


def signed_in(base: str, email: str, password: str = PASSWORD) -> requests.Session:
    """A person signed in through the real sign-in form."""
    s = requests.Session()
    page = s.get(f"{base}/signin", timeout=30).text
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page)
    assert token, "no CSRF token on the sign-in page"
    form = {"csrf_token": token.group(1), "email": email, "password": password}
    done = s.post(f"{base}/signin", data=form, timeout=30, allow_redirects=False)
    assert done.status_code == 302, f"sign-in failed: {done.status_code}"
    return s


def cookie(s: requests.Session) -> str:
    return "; ".join(f"{c.name}={c.value}" for c in s.cookies)


def _cookies(base: str) -> list[str]:
    """Each person signed in through the real form: their session cookie."""
    return [cookie(signed_in(base, f"approver{n}@thurrock.gov.uk")) for n in range(USERS)]


@contextmanager
def gunicorn(server: list[str], env: dict[str, str], log: Path, timeout: int = 30) -> Iterator[str]:
    """The workspace served by gunicorn with these worker options, each request's path, status and server
    time (microseconds) in `log`: its address once /healthz answers; stopped with SIGTERM."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", *server, "--timeout", str(timeout), "--bind", f"127.0.0.1:{port}",
         "--access-logfile", str(log), "--access-logformat", "%(U)s %(s)s %(D)s", "pipeline.web.wsgi:app"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            try:
                if requests.get(f"{base}/healthz", timeout=5).ok:
                    break
            except requests.RequestException:
                time.sleep(0.2)
        yield base
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(30)


LUA = """
local cookies = {%s}
local think = %d
local n = 0
setup = function(thread) n = n + 1; thread:set("who", n) end
init = function(args) who = tonumber(who) or 1 end
delay = function()
  if think == 0 then return 0 end
  return math.random(math.floor(think / 2), math.floor(think * 3 / 2))
end
request = function()
  return wrk.format("GET", nil, {["Cookie"] = cookies[((who - 1) %% #cookies) + 1]})
end
"""


def load(tmp: Path, base: str, path: str, cookies: list[str], seconds: int, think_ms: int) -> dict[str, Any]:
    """wrk with one connection per person; each waits `think_ms` after a page before the next (0: as fast
    as the server answers, which saturates it)."""
    script = tmp / "cookies.lua"
    script.write_text(LUA % (", ".join(json.dumps(c) for c in cookies), think_ms))
    done = subprocess.run(
        ["wrk", "-t", str(USERS), "-c", str(USERS), "-d", f"{seconds}s", "--latency", "-s", str(script), base + path],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    requests_done = re.search(r"(\d+) requests in", done.stdout)
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", done.stdout)
    p99 = re.search(r"99%\s+(\S+)", done.stdout)
    return {"requests": int(requests_done.group(1)) if requests_done else 0,
            "non_2xx": int(non_2xx.group(1)) if non_2xx else 0, "wrk_p99": p99.group(1) if p99 else "?"}  # fmt: skip


def server_times(log: Path, path: str, statuses: tuple[str, ...] = ("200",)) -> list[float]:
    """The server time (seconds) of each request for `path` answered with one of `statuses`."""
    times = []
    for line in log.read_text().splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[0] == path and parts[1] in statuses:
            times.append(int(parts[2]) / 1_000_000)
    return times


MODES = {
    # Ten people each opening a page about once a second (0.5 to 1.5 s apart, at random, so they do not
    # all click at once): brisker than anyone reads a queue or an item.
    "users": 1000,
    # Ten connections asking again the moment each answer arrives: the server's ceiling, not a day's use.
    "saturated": 0,
}
SERVERS = {
    # The Procfile's web: line and `comms web`'s default: two processes per core, two threads each.
    "gthread-4x2": ["--worker-class", "gthread", "--workers", "4", "--threads", "2"],
    # The first default: threads share a process, so a request's server time includes waiting for the
    # interpreter while its neighbours run.
    "gthread-2x4": ["--worker-class", "gthread", "--workers", "2", "--threads", "4"],
    # One request per process at a time: 2 x cores + 1 processes, gunicorn's advice for CPU-bound work.
    "sync-5": ["--worker-class", "sync", "--workers", "5"],
}


def serve_and_load(tmp: Path, name: str, item_id: int, seconds: int) -> dict[str, Any]:
    log = tmp / f"access-{name}.log"
    with gunicorn(SERVERS[name], {**_env(tmp), "COMMS_WEB_WATCHDOG": "false"}, log) as base:
        cookies = _cookies(base)
        out: dict[str, Any] = {}
        for mode, think_ms in MODES.items():
            for page, path in (("queue", "/queue"), ("item", f"/items/{item_id}")):
                log.write_text("")
                done = load(tmp, base, path, cookies, seconds, think_ms)
                times = server_times(log, path)
                done.update(p95=_p95(times), p50=statistics.median(times), served=len(times))
                out[f"{page}-{mode}"] = done
        return out


def run(quick: bool) -> dict[str, Any]:
    if shutil.which("wrk") is None:
        return {"skipped": "wrk is not installed (Debian: apt-get install wrk)"}
    items, subscribers, seconds = (1_000, 10_000, 3) if quick else (ITEMS, SUBSCRIBERS, SECONDS)
    tmp = Path(tempfile.mkdtemp(prefix="comms-web-"))
    try:
        item_id = seed(tmp, items, subscribers)
        figures: dict[str, Any] = {"items": items, "subscribers": subscribers, "seconds": seconds}
        figures["servers"] = {name: serve_and_load(tmp, name, item_id, seconds) for name in SERVERS}
        figures["bare"] = bare(tmp, item_id, 50 if quick else 200)
        return figures
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def results(quick: bool) -> list[Result]:
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks.web"] + (["--quick"] if quick else []),
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    figures = json.loads(done.stdout.strip().splitlines()[-1])
    if "skipped" in figures:
        return [Result("web-pages", 0, "request", 0.0, None, 0.0, figures["skipped"], None, [])]
    out = []
    for server, runs in figures["servers"].items():
        for name, f in runs.items():
            page, mode = name.split("-")
            note = (
                f"{server}, {mode} ({MODES[mode]} ms between a person's pages): {figures['items']:,} items, "
                f"{figures['subscribers']:,} subscribers, {USERS} signed-in people for {figures['seconds']} s: "
                f"{f['served']} served ({f['served'] / figures['seconds']:.0f}/s), p50 {f['p50'] * 1000:.0f} ms, "
                f"p95 {f['p95'] * 1000:.0f} ms server time; wrk p99 {f['wrk_p99']}; the page's work bare p95 "
                f"{figures['bare'][page] * 1000:.1f} ms; non-2xx {f['non_2xx']}"
            )
            judged = mode == "users" and not quick  # a 3 s smoke run's p95 is its slowest few requests
            target = "p95 server time < 200 ms at 10 signed-in users" if judged else "report only"
            met = f["p95"] < 0.2 if judged else None
            label = f"web-{page}-{mode}-{server}"
            out.append(Result(label, f["served"], "request", f["p95"], figures["bare"][page], 0.0, target, met, [note]))
    return out


if __name__ == "__main__":
    print(json.dumps(run("--quick" in sys.argv)))
