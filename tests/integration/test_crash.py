"""A real process killed with SIGKILL while sending 1,000 emails, then restarted: every recipient gets
the bulletin exactly once, counted at a real SMTP server by (recipient, Message-ID)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from pipeline.app import make_pipeline
from pipeline.localservers import Mailbox, smtp_server
from pipeline.settings import load_settings
from tests.conftest import EXAMPLE, headteachers

RECIPIENTS = 1000
DUE = "2026-11-05T08:01"


@pytest.mark.slow
@pytest.mark.parametrize("kill_after", [5, 400, 950])
def test_sigkill_mid_dispatch_then_restart(tmp_path: Path, kill_after: int) -> None:
    box = Mailbox()
    with smtp_server(box) as (host, port):
        env = {
            **os.environ,
            "COMMS_DATABASE_URL": f"sqlite:///{tmp_path / 'comms.db'}",
            "COMMS_WORKSPACE": str(EXAMPLE),
            "COMMS_SMTP_HOST": host,
            "COMMS_SMTP_PORT": str(port),
            "COMMS_SECRET_KEY": "k",
            "COMMS_FILE_CHANNELS": "*",
            "COMMS_SMTP_POOL_SIZE": "2",
            "COMMS_LOG_LEVEL": "WARNING",
        }
        p = make_pipeline(load_settings(environ=env, env_file=None))
        p.import_plan(now=datetime(2026, 11, 1, tzinfo=UTC))
        p.repos.subscribers.upsert(headteachers(RECIPIENTS))
        p.compose(datetime(2026, 11, 3, 9, tzinfo=UTC), entry="headteacher-bulletin")
        item = next(i for i in p.repos.outbox.items() if i.entry_id == "headteacher-bulletin")
        p.repos.outbox.transition(item.id, "approved", datetime(2026, 11, 3, 9, tzinfo=UTC), by="test")
        p.repos.engine.dispose()
        command = [sys.executable, "-m", "pipeline.cli", "dispatch", "--at", DUE]
        first = subprocess.Popen(command, env=env, cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 120
        while len(box.received) < kill_after and first.poll() is None and time.monotonic() < deadline:
            time.sleep(0.002)
        first.send_signal(signal.SIGKILL)
        first.wait()
        assert first.returncode == -signal.SIGKILL, "killed in the middle, not finished"
        killed_at = len(box.received)
        assert killed_at < RECIPIENTS
        restart = subprocess.run(command, env=env, cwd=tmp_path, capture_output=True, text=True, timeout=300)
        assert restart.returncode == 0, restart.stderr
    unique = box.unique()
    assert {r for r, _ in unique} == {f"head{i}@school{i}.example.org" for i in range(RECIPIENTS)}
    assert len(unique) == RECIPIENTS, "one Message-ID per recipient: a resend is the same message"
    assert len(box.received) - RECIPIENTS <= 2, "at most the sends in flight (one per connection) went twice"
