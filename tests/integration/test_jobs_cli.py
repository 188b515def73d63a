"""`comms jobs retry|cancel` name who acted in the audit log, as the workspace does: the account `--by`
names (its role checked: only an admin may), else the login name; on the local PostgreSQL with
procrastinate's schema (skipping, saying why, where PostgreSQL is not running)."""

from __future__ import annotations

import getpass
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from pipeline.cli import main
from pipeline.context import AppContext, open_context
from pipeline.services.actor import Actor
from pipeline.services.users import UserService
from tests.queuekit import (
    defer,
    finish,
    queue_settings,
    queue_url,  # noqa: F401  (the fixture)
    register_worker,
    status_of,
    take,
    with_queue,
)

pytestmark = pytest.mark.postgres
ADMIN, VIEWER = "ada.admin@thurrock.gov.uk", "vic.viewer@thurrock.gov.uk"


@pytest.fixture
def queued(queue_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[AppContext]:  # noqa: F811
    ctx = with_queue(open_context(queue_settings(queue_url, tmp_path)))
    users = UserService.of(ctx)
    for email, role in ((ADMIN, "admin"), (VIEWER, "viewer")):
        users.add(Actor.cli("test"), email, role, datetime.now(UTC), password="correct horse battery staple")
    monkeypatch.chdir(tmp_path)
    for name, value in {
        "COMMS_DATABASE_URL": queue_url,
        "COMMS_QUEUE": "procrastinate",
        "COMMS_WORKSPACE": str(ctx.settings.workspace),
        "COMMS_SECRET_KEY": "cli-test",
        "COMMS_OUTBOX_DIR": str(tmp_path / "outbox"),
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("COMMS_USER", raising=False)
    yield ctx
    ctx.close()


def _failed_job(ctx: AppContext) -> int:
    job = defer(ctx, "report_month", month="2026-10")
    engine = ctx.repos.engine
    assert take(engine, "report", register_worker(engine)) == job
    finish(engine, job, "failed")
    return job


def _audit(ctx: AppContext) -> list[tuple[str, str, str, str]]:
    entries, _ = ctx.repos.audit.entries(action="job.", limit=10)
    return [(e.action, e.actor, e.actor_kind, e.target) for e in reversed(entries)]


def test_retry_and_cancel_record_who_ran_the_command(queued: AppContext, capsys: pytest.CaptureFixture[str]) -> None:
    failed, waiting = _failed_job(queued), defer(queued, "notify_staff")
    assert main(["jobs", "retry", str(failed), "--by", VIEWER]) == 2
    assert "is a viewer and cannot see, retry and cancel the job queue's jobs" in capsys.readouterr().err
    assert status_of(queued.repos.engine, failed) == "failed" and _audit(queued) == []
    assert main(["jobs", "retry", str(failed), "--by", ADMIN]) == 0
    assert f"job {failed} is back in the queue" in capsys.readouterr().out
    assert main(["jobs", "cancel", str(waiting)]) == 0  # no --by: the login name, as `comms pause` does
    assert f"job {waiting} cancelled" in capsys.readouterr().out
    assert [status_of(queued.repos.engine, j) for j in (failed, waiting)] == ["todo", "cancelled"]
    assert _audit(queued) == [
        ("job.retried", ADMIN, "cli", f"job:{failed}"),
        ("job.cancelled", getpass.getuser(), "cli", f"job:{waiting}"),
    ]
    assert main(["jobs", "retry", str(waiting), "--by", ADMIN]) == 2
    assert f"job {waiting} is cancelled: only a failed or stalled job can be retried" in capsys.readouterr().err


def test_the_list_shows_safe_arguments_plain_words_and_when_there_are_more(
    queued: AppContext, capsys: pytest.CaptureFixture[str]
) -> None:
    defer(queued, "compose_occurrence", entry="head@school.example.org", day="2026-11-05")
    defer(queued, "dispatch_batch", item_id=12, batch=0, first_id=1, last_id=500)
    assert main(["jobs", "--limit", "1"]) == 0
    out = capsys.readouterr().out
    assert "stalled=0" in out and "Jobs (1 shown, newest first, more with --limit 2)" in out
    assert "dispatch_batch(batch=0, first_id=1, item_id=12, last_id=500)" in out
    assert "Send item #12 to its recipients, batch 1" in out
    assert main(["jobs", "--status", "todo"]) == 0
    listed = capsys.readouterr().out
    assert "compose_occurrence(day=2026-11-05, entry=(not shown))" in listed
    assert "head@school.example.org" not in listed


def test_a_failed_jobs_line_says_why_its_last_attempt_failed(
    queued: AppContext, capsys: pytest.CaptureFixture[str]
) -> None:
    failed = _failed_job(queued)
    now = datetime.now(UTC)
    run = queued.repos.control.start_job("report", now, queue_job_id=failed)
    queued.repos.control.finish_job(run, now, "failed", "failures=1\nOperationalError: head@school.example.org")
    assert main(["jobs", "--status", "failed"]) == 0
    out = capsys.readouterr().out
    assert f"#{failed:<6} failed" in out and "why: OperationalError: (an address)" in out
    assert "head@school.example.org" not in out
