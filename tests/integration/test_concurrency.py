"""Several processes on one database, as a council runs them: two dispatchers at once, a dispatcher
beside the clock, a clock whose lock went stale, two composes at once, and several first starts on an
empty database. Real processes, on SQLite and PostgreSQL, against a real SMTP server that counts what
each recipient received: every recipient exactly once, and no traceback anywhere."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import create_engine, text

from pipeline.app import make_pipeline
from pipeline.localservers import Mailbox, smtp_server
from pipeline.settings import load_settings
from tests.conftest import EXAMPLE, _reset_postgres, headteachers

RECIPIENTS = 1000


def clock_wakes_at_start() -> None:
    """The clock's first wake-up is at start, except between 01:00 and 02:00 London time."""
    if datetime.now(ZoneInfo("Europe/London")).hour == 1:
        pytest.skip("between 01:00 and 02:00 London time the clock does not wake at start (the clock-change hour)")


pytestmark = pytest.mark.slow


class SlowMailbox(Mailbox):
    """An SMTP server that takes a few milliseconds a message, as a real relay does, so that the
    processes below overlap for seconds rather than milliseconds."""

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        await asyncio.sleep(0.003)
        return await super().handle_DATA(server, session, envelope)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'comms.db'}"
    url: str = request.getfixturevalue("postgres_url")
    _reset_postgres(url)
    return url


@pytest.fixture
def smtp() -> Iterator[tuple[Mailbox, str, int]]:
    box = SlowMailbox()
    with smtp_server(box) as (host, port):
        yield box, host, port


def environment(database: str, tmp_path: Path, smtp_host: str = "127.0.0.1", smtp_port: int = 25) -> dict[str, str]:
    return {
        **os.environ,
        "COMMS_DATABASE_URL": database,
        "COMMS_WORKSPACE": str(EXAMPLE),
        "COMMS_SMTP_HOST": smtp_host,
        "COMMS_SMTP_PORT": str(smtp_port),
        "COMMS_SECRET_KEY": "k",
        "COMMS_FILE_CHANNELS": "*",
        "COMMS_OUTBOX_DIR": str(tmp_path / "outbox"),
        "COMMS_REPORTS_DIR": str(tmp_path / "reports"),
        "COMMS_SMTP_POOL_SIZE": "2",
        "COMMS_LOG_LEVEL": "WARNING",
    }


def queue_bulletin(env: dict[str, str], due: datetime) -> int:
    """The plan, 1,000 headteachers, and one approved email to them all, due at `due`."""
    p = make_pipeline(load_settings(environ=env, env_file=None))
    p.import_plan(now=datetime(2026, 11, 1, tzinfo=UTC))
    p.repos.subscribers.upsert(headteachers(RECIPIENTS))
    item = p.repos.outbox.add_item(
        due,
        occurrence_key=f"concurrency@{due.date().isoformat()}",
        entry_id="concurrency",
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
    p.repos.engine.dispose()
    return item.id


def comms(env: dict[str, str], cwd: Path, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "pipeline.cli", *args],
        env=env,
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def finish(proc: subprocess.Popen[str], timeout: float = 240) -> tuple[int, str]:
    _out, err = proc.communicate(timeout=timeout)
    assert "Traceback" not in err, err
    return proc.returncode, err


def assert_each_once(box: Mailbox) -> None:
    counts = Counter(rcpt for rcpt, _message in box.received)
    expected = {f"head{i}@school{i}.example.org" for i in range(RECIPIENTS)}
    assert set(counts) == expected
    twice = {rcpt: n for rcpt, n in counts.items() if n > 1}
    assert not twice, f"{len(twice)} recipients received it more than once"


def wait_for(condition: Any, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.01)


def item_status(database: str, item_id: int) -> str:
    engine = create_engine(database)
    try:
        with engine.connect() as conn:
            return str(conn.execute(text("select status from outbox where id = :i"), {"i": item_id}).scalar())
    finally:
        engine.dispose()


def test_two_dispatchers_at_once_send_each_recipient_once(
    database: str, tmp_path: Path, smtp: tuple[Mailbox, str, int]
) -> None:
    box, host, port = smtp
    env = environment(database, tmp_path, host, port)
    item = queue_bulletin(env, datetime(2026, 11, 5, 8, tzinfo=UTC))
    procs = [comms(env, tmp_path, "dispatch", "--at", "2026-11-05T08:01") for _ in range(2)]
    codes = [finish(p)[0] for p in procs]
    assert codes == [0, 0]
    assert_each_once(box)
    assert item_status(database, item) == "sent"


def test_a_dispatcher_beside_the_running_clock_sends_each_recipient_once(
    database: str, tmp_path: Path, smtp: tuple[Mailbox, str, int]
) -> None:
    clock_wakes_at_start()
    box, host, port = smtp
    env = environment(database, tmp_path, host, port)
    item = queue_bulletin(env, datetime.now(UTC) - timedelta(minutes=1))
    clock = comms(env, tmp_path, "run")  # its first wake-up is at start: it begins sending at once
    try:
        wait_for(lambda: len(box.received) >= 50 or clock.poll() is not None, 120, "the clock to start sending")
        code, _err = finish(comms(env, tmp_path, "dispatch"))
        assert code == 0
        wait_for(lambda: item_status(database, item) == "sent", 120, "the item to be sent")
    finally:
        clock.send_signal(signal.SIGTERM)
        code, _err = finish(clock, 60)
    assert code == 0
    assert_each_once(box)


def test_a_clock_whose_lock_went_stale_and_its_successor_send_each_recipient_once(
    tmp_path: Path, smtp: tuple[Mailbox, str, int]
) -> None:
    """The first clock is alive but its heartbeat is old (a stalled machine): a second clock takes
    the lock and sends beside it. Nobody gets the bulletin twice, and the first clock, finding the lock
    taken, stops by itself. (PostgreSQL's advisory lock cannot go stale while its process lives.)"""
    clock_wakes_at_start()
    box, host, port = smtp
    database = f"sqlite:///{tmp_path / 'comms.db'}"
    env = environment(database, tmp_path, host, port)
    item = queue_bulletin(env, datetime.now(UTC) - timedelta(minutes=1))
    # The first clock beats every 10 s (a quarter of its 40 s); the second counts a lock stale after 2 s.
    first = comms({**env, "COMMS_CLOCK_STALE_SECONDS": "40"}, tmp_path, "run")
    second = None
    try:
        wait_for(lambda: len(box.received) >= 50 or first.poll() is not None, 120, "the first clock to send")
        engine = create_engine(database)
        with engine.begin() as conn:  # the first clock's heartbeat, as if it had stalled for an hour
            conn.execute(text("update locks set heartbeat_at = :t"), {"t": datetime(2026, 1, 1)})
        engine.dispose()
        second = comms({**env, "COMMS_CLOCK_STALE_SECONDS": "2"}, tmp_path, "run")
        code, err = finish(first, 60)  # the first clock noticed at its next heartbeat and stopped
        assert code == 0 and "lock lost" in err
        if item_status(database, item) != "sent":  # what the first clock gave back waits for the next
            assert finish(comms(env, tmp_path, "dispatch"))[0] in (0, 1)  # wake-up; a person need not wait
        wait_for(lambda: item_status(database, item) == "sent", 120, "the item to be sent")
    finally:
        for proc in (first, second):
            if proc is not None and proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                finish(proc, 60)
    assert_each_once(box)


def test_two_composes_at_once_compose_each_occurrence_once(database: str, tmp_path: Path) -> None:
    env = environment(database, tmp_path)
    p = make_pipeline(load_settings(environ=env, env_file=None))
    p.import_plan(now=datetime(2026, 11, 1, tzinfo=UTC))
    p.repos.engine.dispose()
    procs = [comms(env, tmp_path, "compose", "--at", "2026-11-03T09:00") for _ in range(2)]
    codes = [finish(proc)[0] for proc in procs]
    assert codes == [0, 0]
    p = make_pipeline(load_settings(environ=env, env_file=None))
    items = p.repos.outbox.items()
    p.repos.engine.dispose()
    keys = [i.occurrence_key for i in items]
    assert keys and len(keys) == len(set(keys))
    assert "headteacher-bulletin@2026-11-05" in keys


def test_several_first_starts_on_an_empty_database(database: str, tmp_path: Path) -> None:
    env = environment(database, tmp_path)
    procs = [comms(env, tmp_path, "status") for _ in range(4)]
    results = [finish(proc) for proc in procs]
    assert [code for code, _err in results] == [0, 0, 0, 0], results
