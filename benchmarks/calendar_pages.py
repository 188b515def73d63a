"""calendar-pages: the web calendar's month page under load, and an upload's difference, on a year's
plan of 2,000 entries.

The plan: 2,000 entries over twelve months (85 in 100 happen once, 10 monthly, 5 quarterly: about 350
occurrences a month), in a copy of the example workspace. gunicorn serves the workspace as the Procfile
does (gthread, 4 processes of 2 threads); 10 people, each signed in through the real form, open the
month page (`/calendar?month=2026-12`) about once a second (0.5 to 1.5 s apart, at random) for
`SECONDS`. Server time per request is gunicorn's own (%(D)s in its access log). Then one of them uploads
the same calendar with 20 entries changed, 20 removed and 10 added, and the server time of the upload
page (checked, compared with the stored plan, the difference rendered) is read the same way; the core's
part of it (`PlanUpload.check`) is timed bare in-process as well.

Targets (issue 17): month page p95 server time under 300 ms at 10 concurrent users; an upload of
2,000 entries shows its difference in under 2 s.

    .venv/bin/python -m benchmarks.calendar_pages [--quick]
"""

from __future__ import annotations

import json
import random
import re
import shutil
import statistics
import sys
import tempfile
import threading
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import requests

from benchmarks.fixtures import EXAMPLE
from benchmarks.web import SERVERS, _p95, gunicorn, server_times, signed_in

ENTRIES, USERS, SECONDS, UPLOADS = 2_000, 10, 20, 5
PASSWORD = "benchmark password one"
NOW = datetime(2026, 11, 4, 9, 0, tzinfo=UTC)
MONTH = "2026-12"
CHANNELS = ("facebook", "x", "resident-newsletter", "headteacher-bulletin", "intranet", "website", "member-briefing")
AUDIENCES = ("residents", "parents", "headteachers", "faith-leaders", "elected-members", "team-thurrock")
HEADER = "id,title,channel,audiences,objectives,start_date,time,repeat,until"


def _row(i: int, title: str = "") -> str:
    repeat = "monthly on day 15" if i % 20 in (1, 2) else ("quarterly" if i % 20 == 3 else "")
    day = date(2026, 9, 1) + timedelta(days=(i * 7) % 365)
    at = f"{8 + i % 10:02d}:{(i * 5) % 60:02d}"
    objectives = f"{1 + i % 6};{1 + (i + 2) % 6}" if i % 3 else f"{1 + i % 6}"
    return (
        f"e{i:04d},{title or f'Planned post {i}'},{CHANNELS[i % len(CHANNELS)]},{AUDIENCES[i % len(AUDIENCES)]},"
        f"{objectives},{day},{at},{repeat},{'2027-12-31' if repeat else ''}"
    )


def calendar(n: int, edited: bool = False) -> bytes:
    """A year's calendar; `edited`: 20 titles changed, 20 entries removed and 10 added."""
    rows = []
    for i in range(n):
        if edited and i % 100 == 7:
            continue  # removed
        rows.append(_row(i, f"Planned post {i} (revised)" if edited and i % 100 == 3 else ""))
    if edited:
        rows += [_row(n + i) for i in range(n // 200)]
    return ("\n".join([HEADER, *rows]) + "\n").encode()


def _env(tmp: Path) -> dict[str, str]:
    import os

    return {
        **os.environ,
        "COMMS_DATABASE_URL": f"sqlite:///{tmp / 'comms.db'}",
        "COMMS_WORKSPACE": str(tmp / "ws"),
        "COMMS_SECRET_KEY": "benchmark-secret",
        "COMMS_OUTBOX_DIR": str(tmp / "outbox"),
        "COMMS_FILE_CHANNELS": "*",
        "COMMS_LOG_LEVEL": "WARNING",
        "COMMS_WEB_WATCHDOG": "false",
    }


def seed(tmp: Path, n: int) -> None:
    from pipeline.app import make_pipeline
    from pipeline.services.actor import Actor
    from pipeline.services.users import UserService
    from pipeline.settings import load_settings

    shutil.copytree(EXAMPLE, tmp / "ws")
    for old in (tmp / "ws" / "calendar").glob("*"):
        old.unlink()
    (tmp / "ws" / "calendar" / "year.csv").write_bytes(calendar(n))
    env = {k: v for k, v in _env(tmp).items() if k.startswith("COMMS_")}
    p = make_pipeline(load_settings(environ=env, env_file=None))
    p.import_plan(now=NOW)
    users = UserService.of(p)
    for k in range(USERS):
        users.add(Actor.cli("benchmark"), f"author{k}@thurrock.gov.uk", "author", NOW, password=PASSWORD)
    p.close()


def bare(tmp: Path, n: int, runs: int) -> dict[str, float]:
    """Median seconds of the core's work, no HTTP: an upload's check (parse, check, difference, stage),
    and the month page's read with its planned month kept (warm) and planned afresh (cold)."""
    from pipeline.context import open_context
    from pipeline.services.actor import Actor, Role
    from pipeline.services.calendar_view import CalendarService
    from pipeline.services.month_cache import MonthCache
    from pipeline.services.plan_upload import PlanUpload
    from pipeline.settings import load_settings

    env = {k: v for k, v in _env(tmp).items() if k.startswith("COMMS_")}
    ctx = open_context(load_settings(environ=env, env_file=None))
    who, body = Actor.person("author0@thurrock.gov.uk", Role.AUTHOR), calendar(n, edited=True)

    def median(fn: Any) -> float:
        times = []
        for _ in range(runs):
            started = time.perf_counter()
            fn()
            times.append(time.perf_counter() - started)
        return statistics.median(times)

    warm = CalendarService.of(ctx)
    out = {
        "month_warm": median(lambda: warm.month(who, MONTH)),
        "month_cold": median(
            lambda: CalendarService(ctx.repos.calendar, ctx.repos.outbox, "", MonthCache(1)).month(who, MONTH)
        ),
        "upload": median(lambda: PlanUpload.of(ctx).check(who, "year.csv", body, NOW)),
    }
    ctx.close()
    return out


def _session(base: str, k: int) -> requests.Session:
    return signed_in(base, f"author{k}@thurrock.gov.uk", PASSWORD)


def _person(s: requests.Session, url: str, until: float, failures: list[int]) -> None:
    while time.monotonic() < until:
        got = s.get(url, timeout=30)
        if got.status_code != 200:
            failures.append(got.status_code)
        time.sleep(random.uniform(0.5, 1.5))


def _times(log: Path, path: str) -> list[float]:
    return server_times(log, path, ("200", "400"))  # an upload with problems is answered 400


def serve_and_load(tmp: Path, n: int, seconds: int) -> dict[str, Any]:
    log = tmp / "access.log"
    with gunicorn(SERVERS["gthread-4x2"], _env(tmp), log, timeout=60) as base:
        sessions = [_session(base, k) for k in range(USERS)]
        for s in sessions:  # each process warm (templates compiled, plan read) before the clock starts
            s.get(f"{base}/calendar?month={MONTH}", timeout=60)
        log.write_text("")
        failures: list[int] = []
        until = time.monotonic() + seconds
        people = [
            threading.Thread(target=_person, args=(s, f"{base}/calendar?month={MONTH}", until, failures))
            for s in sessions
        ]
        for t in people:
            t.start()
        for t in people:
            t.join()
        month = _times(log, "/calendar")
        upload = _upload(base, sessions[0], log, n)
        return {"month_p95": _p95(month), "month_p50": statistics.median(month), "served": len(month),
                "failures": len(failures), **upload}  # fmt: skip


def _upload(base: str, s: requests.Session, log: Path, n: int) -> dict[str, Any]:
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', s.get(f"{base}/calendar/upload").text)
    assert token
    body = calendar(n, edited=True)
    log.write_text("")
    shown = ""
    for _ in range(UPLOADS):
        got = s.post(f"{base}/calendar/upload", data={"csrf_token": token.group(1)}, files={"file": ("year.csv", body)})
        assert got.status_code == 200, got.status_code
        shown = got.text
    said = re.search(r"(\d+) added, (\d+) removed, (\d+) changed", shown)
    times = _times(log, "/calendar/upload")
    return {"upload_max": max(times), "upload_median": statistics.median(times), "uploads": len(times),
            "difference": said.group(0) if said else "?"}  # fmt: skip


def run(quick: bool) -> dict[str, Any]:
    n, seconds = (ENTRIES, 3) if quick else (ENTRIES, SECONDS)
    tmp = Path(tempfile.mkdtemp(prefix="comms-calendar-"))
    try:
        seed(tmp, n)
        figures: dict[str, Any] = {"entries": n, "seconds": seconds, "users": USERS}
        figures |= serve_and_load(tmp, n, seconds)
        figures["bare_median"] = bare(tmp, n, 5)
        figures["month_met"] = figures["month_p95"] < 0.3
        figures["upload_met"] = figures["upload_max"] < 2.0
        return figures
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    print(json.dumps(run("--quick" in sys.argv), indent=2))
