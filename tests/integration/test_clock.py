"""The clock: wake-ups across the clock changes (time-machine), downtime, freeze, and two clocks at once."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import time_machine

from content_calendar.rules import first_working_day
from pipeline.clock import jobs
from pipeline.clock.scheduler import build_scheduler
from pipeline.clock.triggers import WAKE_HOURS, cron_triggers, next_wakeups
from pipeline.context import open_context
from pipeline.settings import load_settings
from tests.conftest import EXAMPLE

LONDON = ZoneInfo("Europe/London")
CALENDAR = """id,title,channel,audiences,objectives,start_date,time,repeat,approval,on_bank_holiday,missed_after_hours
daily,Daily reminder,x,residents,3,2026-03-01,09:00,daily,auto,keep,{hours}
weekly,Sunday post,facebook,residents,1,2026-03-01,09:30,weekly on Sunday,auto,keep,{hours}
monthly,Last Sunday post,intranet,team-thurrock,2,2026-03-01,10:00,monthly on the last Sunday,auto,keep,{hours}
"""


@pytest.fixture
def workspace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A workspace and database, with a context bound for the clock's jobs as `comms run` binds it."""
    ws = tmp_path / "ws"
    (ws / "calendar").mkdir(parents=True)
    shutil.copy(EXAMPLE / "strategy.yaml", ws / "strategy.yaml")
    shutil.copy(EXAMPLE / "organisation.yaml", ws / "organisation.yaml")
    (ws / "calendar" / "cal.csv").write_text(CALENDAR.format(hours=24))
    env = {
        "COMMS_DATABASE_URL": f"sqlite:///{tmp_path / 'comms.db'}",
        "COMMS_WORKSPACE": str(ws),
        "COMMS_FILE_CHANNELS": "*",
        "COMMS_OUTBOX_DIR": str(tmp_path / "outbox"),
        "COMMS_SECRET_KEY": "k",
        "COMMS_REPORTS_DIR": str(tmp_path / "reports"),
    }
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    from pipeline.app import make_pipeline

    p = make_pipeline(load_settings(env_file=None))
    p.import_plan(now=datetime(2026, 2, 1, tzinfo=UTC))
    p.repos.engine.dispose()
    ctx = open_context(load_settings(env_file=None))
    jobs.bind(ctx)
    yield tmp_path
    jobs.bind(None)
    ctx.close()


def posts(tmp_path: Path) -> list[tuple[str, datetime]]:
    out = []
    for path in sorted((tmp_path / "outbox").rglob("*.json")):
        record = json.loads(path.read_text())
        out.append((path.parent.name, datetime.fromisoformat(record["due_at"]).astimezone(LONDON)))
    return out


def wake_at(moment: datetime) -> None:
    with time_machine.travel(moment, tick=False):
        jobs.wake()


@pytest.mark.parametrize("change", [date(2026, 3, 29), date(2026, 10, 25)], ids=["spring-forward", "fall-back"])
def test_each_entry_fires_once_at_local_time_across_the_change(workspace: Path, change: date) -> None:
    days = [change - timedelta(days=1), change, change + timedelta(days=1)]
    for day in days:
        for minutes in range(8 * 60, 11 * 60, 15):  # every 15 minutes, 08:00-10:45 local
            wake_at(datetime.combine(day, time(minutes // 60, minutes % 60), tzinfo=LONDON))
    # the repeated hour on the fall-back night, both times, changes nothing
    wake_at(datetime(change.year, change.month, change.day, 1, 30, tzinfo=LONDON))
    wake_at(datetime(change.year, change.month, change.day, 1, 30, fold=1, tzinfo=LONDON))
    got = posts(workspace)
    daily = [t for ch, t in got if ch == "x" and t.date() in days]
    assert [(t.date(), t.hour, t.minute) for t in daily] == [(d, 9, 0) for d in days]
    assert [(t.hour, t.minute) for ch, t in got if ch == "facebook" and t.date() == change] == [(9, 30)]
    assert [(t.hour, t.minute) for ch, t in got if ch == "intranet" and t.date() == change] == [(10, 0)]
    assert len(got) == len(set(got)), "nothing happened twice"


def test_the_clock_never_wakes_between_one_and_two() -> None:
    settings = load_settings(environ={}, env_file=None)
    for start in (datetime(2026, 3, 28, 23, tzinfo=UTC), datetime(2026, 10, 24, 23, tzinfo=UTC)):
        fires = [m for name, m in next_wakeups(settings, start, count=40) if name == "wake"]
        assert fires and all(m.astimezone(LONDON).hour != 1 for m in fires)
        assert len(fires) == len(set(fires))
    assert WAKE_HOURS == "0,2-23"


def test_the_clock_schedules_the_triggers_that_status_shows(tmp_path: Path) -> None:
    settings = load_settings(environ={"COMMS_DATABASE_URL": f"sqlite:///{tmp_path / 'clock.db'}"}, env_file=None)
    jobs = {job.id: job for job in build_scheduler(settings).get_jobs()}  # pending: the scheduler never starts
    triggers = cron_triggers(settings.tz)
    assert set(jobs) == set(triggers) == {"wake", "monthly-report", "measure"}
    assert jobs["measure"].executor == "measure", "a pull waiting out a rate limit never holds up a wake-up"
    assert {name: str(job.trigger) for name, job in jobs.items()} == {name: str(t) for name, t in triggers.items()}


def test_downtime_catches_up_once_and_marks_late_items_missed(workspace: Path) -> None:
    ws = workspace / "ws"
    (ws / "calendar" / "cal.csv").write_text(CALENDAR.format(hours=96))
    lines = (ws / "calendar" / "cal.csv").read_text().splitlines()
    lines[1] = lines[1].rsplit(",", 1)[0] + ",24"  # the daily reminder may be at most a day late
    (ws / "calendar" / "cal.csv").write_text("\n".join(lines) + "\n")
    from pipeline.app import make_pipeline

    p = make_pipeline(load_settings(env_file=None))
    p.import_plan(now=datetime(2026, 11, 1, tzinfo=UTC))
    wake_at(datetime(2026, 11, 20, 12, 0, tzinfo=LONDON))  # up and running
    before = set(posts(workspace))
    wake_at(datetime(2026, 11, 23, 12, 0, tzinfo=LONDON))  # back after three days down
    wake_at(datetime(2026, 11, 23, 12, 5, tzinfo=LONDON))  # and the next wake-up does nothing more
    new = set(posts(workspace)) - before
    assert sorted((ch, t.date()) for ch, t in new) == [("facebook", date(2026, 11, 22)), ("x", date(2026, 11, 23))]
    missed = {i.occurrence_key for i in p.repos.outbox.items(status="missed")}
    assert {"daily@2026-11-21", "daily@2026-11-22"} <= missed
    assert "weekly@2026-11-22" not in missed and "daily@2026-11-23" not in missed


def test_freeze_holds_then_resume_sends(workspace: Path) -> None:
    from pipeline.app import make_pipeline

    p = make_pipeline(load_settings(env_file=None))
    p.repos.control.set_freeze(True, "duty officer", "critical incident", datetime(2026, 11, 2, tzinfo=UTC))
    wake_at(datetime(2026, 11, 2, 9, 5, tzinfo=LONDON))
    assert posts(workspace) == []
    p.repos.control.set_freeze(False, "duty officer", "", datetime(2026, 11, 2, 10, tzinfo=UTC))
    wake_at(datetime(2026, 11, 2, 10, 5, tzinfo=LONDON))
    assert [(ch, t.date()) for ch, t in posts(workspace)] == [("x", date(2026, 11, 2))]


def test_monthly_report_on_the_first_working_day_once(workspace: Path) -> None:
    assert first_working_day(2027, 1) == date(2027, 1, 4)  # 1 Jan bank holiday, then a weekend
    wake_at(datetime(2026, 12, 1, 7, 55, tzinfo=LONDON))
    assert not (workspace / "reports").exists()
    wake_at(datetime(2026, 12, 1, 8, 5, tzinfo=LONDON))
    wake_at(datetime(2026, 12, 1, 8, 10, tzinfo=LONDON))
    reports = sorted(p.name for p in (workspace / "reports").iterdir())
    assert reports == ["report-2026-11.csv", "report-2026-11.html", "report-2026-11.json"]


def test_two_clocks_started_together_send_nothing_twice(workspace: Path) -> None:
    env = {**os.environ}
    command = [sys.executable, "-m", "pipeline.cli", "run", "--once", "--at", "2026-11-02T09:05"]
    procs = [
        subprocess.Popen(command, env=env, cwd=workspace, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for _ in range(2)
    ]
    results = [(p.wait(timeout=120), p.stderr.read()) for p in procs]
    codes = sorted(code for code, _ in results)
    assert codes in ([0, 0], [0, 3]), results
    if codes == [0, 3]:
        assert "another clock is already running" in next(err for code, err in results if code == 3)
    got = [(ch, t.date()) for ch, t in posts(workspace)]
    assert sorted(got) == [("facebook", date(2026, 11, 1)), ("x", date(2026, 11, 2))], "each once"


def test_the_clock_process_starts_guards_and_stops_on_sigterm(workspace: Path) -> None:
    import signal
    import sqlite3

    env = {**os.environ, "COMMS_LOG_LEVEL": "INFO"}
    clock = subprocess.Popen(
        [sys.executable, "-m", "pipeline.cli", "run"],
        env=env,
        cwd=workspace,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = datetime.now(UTC) + timedelta(seconds=60)
        db = workspace / "comms.db"
        jobs_found: list[str] = []
        while datetime.now(UTC) < deadline and len(jobs_found) < 3:
            with sqlite3.connect(db) as conn:
                try:
                    jobs_found = [r[0] for r in conn.execute("select id from apscheduler_jobs order by id")]
                except sqlite3.OperationalError:
                    jobs_found = []
        assert jobs_found == ["measure", "monthly-report", "wake"], "fixed job ids in the persistent job store"
        second = subprocess.run(
            [sys.executable, "-m", "pipeline.cli", "run"],
            env=env,
            cwd=workspace,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert second.returncode == 3 and "another clock is already running" in second.stderr
        clock.send_signal(signal.SIGTERM)
        assert clock.wait(timeout=30) == 0
        assert "clock stopped" in clock.stderr.read()
        with sqlite3.connect(db) as conn:
            assert list(conn.execute("select * from locks")) == [], "the lock is released on a clean stop"
    finally:
        if clock.poll() is None:
            clock.kill()


def test_env_file_reaches_the_jobs_the_clock_runs(tmp_path: Path) -> None:
    """`comms --env-file FILE run`: the scheduled jobs use FILE's settings, not a `.env` in the folder."""
    import signal
    import sqlite3
    import time as clock_time
    from contextlib import closing

    if datetime.now(LONDON).hour == 1:
        pytest.skip("between 01:00 and 02:00 London time the clock does not wake at start (the clock-change hour)")

    folder = tmp_path / "run"
    folder.mkdir()
    (folder / ".env").write_text(f"COMMS_DATABASE_URL=sqlite:///{tmp_path / 'decoy.db'}\n")
    chosen = tmp_path / "chosen.db"
    settings = {
        "COMMS_DATABASE_URL": f"sqlite:///{chosen}",
        "COMMS_WORKSPACE": str(EXAMPLE),
        "COMMS_FILE_CHANNELS": "*",
        "COMMS_OUTBOX_DIR": str(tmp_path / "outbox"),
        "COMMS_REPORTS_DIR": str(tmp_path / "reports"),
        "COMMS_SECRET_KEY": "k",
    }
    (tmp_path / "team.env").write_text("".join(f"{k}={v}\n" for k, v in settings.items()))
    env = {k: v for k, v in os.environ.items() if not k.startswith("COMMS_")}
    clock = subprocess.Popen(
        [sys.executable, "-m", "pipeline.cli", "--env-file", str(tmp_path / "team.env"), "run"],
        env=env,
        cwd=folder,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = datetime.now(UTC) + timedelta(seconds=60)
        ran: set[str] = set()
        while datetime.now(UTC) < deadline and not {"collect", "compose", "dispatch"} <= ran:
            clock_time.sleep(0.2)
            if chosen.exists():
                with closing(sqlite3.connect(chosen)) as conn:
                    try:
                        ran = {r[0] for r in conn.execute("select job from job_runs where finished_at is not null")}
                    except sqlite3.OperationalError:
                        ran = set()
    finally:
        clock.send_signal(signal.SIGTERM)
        _out, err = clock.communicate(timeout=30)
    assert {"collect", "compose", "dispatch"} <= ran, err
    assert not (tmp_path / "decoy.db").exists(), "nothing read the folder's .env"
    assert "Traceback" not in err
