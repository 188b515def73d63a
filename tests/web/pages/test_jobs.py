"""The jobs page, for admins: counts by queue and status, the newest jobs filtered by status and queue, each
job's page, the workers' heartbeats, retry and cancel (audited, with who), refusals in words; and with no
queue (SQLite, COMMS_QUEUE=embedded), a page that says the jobs run in the clock.

Queue mode runs against the local PostgreSQL with procrastinate's schema (skipping, saying why, where
PostgreSQL is not running): jobs deferred as the clock defers them, moved by procrastinate's own functions
as a worker moves them."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from pipeline.context import AppContext, open_context
from pipeline.records import FeedSpec
from pipeline.services.actor import Actor
from pipeline.services.users import UserService
from pipeline.web.app import create_app
from tests.queuekit import (
    Board,
    board_of,
    defer,
    queue_settings,
    queue_url,  # noqa: F401  (the fixture)
    status_of,
    with_queue,
)
from tests.web.items.conftest import csrf_token
from tests.web.pages.conftest import FEED_URL, PASSWORD, ROLES, SignIn
from tests.web.people import sign_in

NOW = datetime(2026, 11, 3, 8, 0, tzinfo=UTC)
As = Callable[[str], FlaskClient]


@pytest.fixture
def queued(queue_url: str, tmp_path: Path) -> Iterator[AppContext]:  # noqa: F811
    ctx = with_queue(open_context(queue_settings(queue_url, tmp_path)))
    ctx.repos.feeds.upsert([FeedSpec(FEED_URL, "GOV.UK news", objectives=("6",))])
    users = UserService.of(ctx)
    for role, email in ROLES.items():
        users.add(Actor.cli("test"), email, role, NOW, password=PASSWORD)
    yield ctx
    ctx.close()


@pytest.fixture
def board(queued: AppContext) -> Board:
    (feed,) = queued.repos.feeds.all()
    return board_of(queued, feed.id)


@pytest.fixture
def as_role(queued: AppContext) -> As:
    app = create_app(queued)

    def client(role: str) -> FlaskClient:
        browser = app.test_client()
        assert sign_in(browser, ROLES[role]).status_code == 302
        return browser

    return client


def _post(client: FlaskClient, page: str, action: str, **data: str) -> TestResponse:
    return client.post(action, data={"csrf_token": csrf_token(client.get(page).text), **data})


def _audit(ctx: AppContext) -> list[tuple[str, str, str, str]]:
    entries, _ = ctx.repos.audit.entries(action="job.", limit=20)
    return [(e.action, e.actor, e.actor_kind, e.target) for e in reversed(entries)]


@pytest.mark.postgres
@pytest.mark.parametrize("role", ["viewer", "author", "approver"])
def test_only_admins_see_or_touch_the_jobs(queued: AppContext, board: Board, as_role: As, role: str) -> None:
    client = as_role(role)
    assert client.get("/jobs").status_code == 403
    assert client.get(f"/jobs/{board.failed}").status_code == 403
    token = csrf_token(client.get("/account").text)
    assert client.post(f"/jobs/{board.failed}/retry", data={"csrf_token": token}).status_code == 403
    assert client.post(f"/jobs/{board.waiting}/cancel", data={"csrf_token": token}).status_code == 403
    assert status_of(queued.repos.engine, board.failed) == "failed", "nothing changed"
    assert status_of(queued.repos.engine, board.waiting) == "todo"
    assert _audit(queued) == []
    home = client.get("/")
    assert 'href="/jobs"' not in home.text, "no Jobs in the navigation"
    assert "Job queue" not in home.text, "no notice of jobs on the home page"


@pytest.mark.postgres
def test_an_admin_sees_counts_jobs_in_plain_words_and_workers(queued: AppContext, board: Board, as_role: As) -> None:
    admin = as_role("admin")
    page = admin.get("/jobs")
    assert page.status_code == 200
    text = page.text
    assert '<a href="/jobs" aria-current="page">Jobs</a>' in text, "in the admin's navigation"
    assert "Email the staff: the approvers&#39; digest, reminders and alerts" in text
    assert "Collect national messages from the feed “GOV.UK news”" in text
    assert "Compose headteacher-bulletin for 5 November 2026" in text
    assert "Send item #12 to its recipients, batch 3" in text
    assert "Write the monthly report for October 2026" in text
    assert text.index(f"Job {board.done}<") < text.index(f"Job {board.waiting}<"), "newest first"
    # counts by queue and status: the send queue holds two waiting jobs, compose one stalled
    assert 'href="/jobs?queue=send&amp;status=todo">2<span class="visually-hidden"> waiting in the send' in text
    assert 'href="/jobs?queue=compose&amp;status=stalled">1<' in text
    # the workers, the silent one flagged
    assert f"Worker {board.alive}</th>" in text and f"Worker {board.gone}</th>" in text
    workers = text[text.index('id="workers-heading"') : text.index('id="list-heading"')]
    assert workers.count("tag--job-stalled") == 1 and workers.count(">working<") == 1
    # retry offered for the failed and the stalled job, cancel for the waiting ones, nothing for the done one
    assert f'action="/jobs/{board.failed}/retry"' in text and f'action="/jobs/{board.stalled}/retry"' in text
    assert f'action="/jobs/{board.waiting}/cancel"' in text and f'action="/jobs/{board.batch}/cancel"' in text
    assert f"/jobs/{board.done}/retry" not in text and f"/jobs/{board.done}/cancel" not in text


@pytest.mark.postgres
def test_the_list_filters_by_status_and_queue_and_says_when_there_are_more(board: Board, as_role: As) -> None:
    admin = as_role("admin")
    failed = admin.get("/jobs?status=failed").text
    assert f"Job {board.failed}<" in failed and f"Job {board.waiting}<" not in failed
    assert "1 job, failed, newest first" in failed
    stalled = admin.get("/jobs?status=stalled").text
    assert f"Job {board.stalled}<" in stalled and f"Job {board.failed}<" not in stalled
    running = admin.get("/jobs?status=doing").text
    assert f"Job {board.stalled}<" not in running, "a stalled job is not counted as running"
    send = admin.get("/jobs?queue=send").text
    assert f"Job {board.waiting}<" in send and f"Job {board.batch}<" in send and f"Job {board.failed}<" not in send
    one = admin.get("/jobs?limit=1").text
    assert f"Job {board.done}<" in one and f"Job {board.stalled}<" not in one
    assert "(there are more)" in one and "Only the newest 1 are shown" in one and 'href="/jobs?limit=4"' in one
    wrong = admin.get("/jobs?status=exploded&limit=9999")
    assert wrong.status_code == 400 and "There is a problem" in wrong.text and "Between 1 and 500" in wrong.text
    assert "Traceback" not in wrong.text


@pytest.mark.postgres
def test_a_jobs_page_shows_what_it_was_given_and_what_happened(queued: AppContext, board: Board, as_role: As) -> None:
    admin = as_role("admin")
    page = admin.get(f"/jobs/{board.batch}").text
    assert f"Job {board.batch}: Send item #12 to its recipients, batch 3" in page
    assert 'href="/items/12"' in page
    assert "<code>first_id</code></th><td>1001" in page and "<code>item_id</code></th><td>12" in page
    failed = admin.get(f"/jobs/{board.failed}").text
    assert "Queued" in failed and "Started on a worker" in failed and "Failed" in failed
    assert "Retry this job" in failed
    # a job holding something that is no id (deferred by another version, say) shows none of it
    odd = defer(queued, "compose_occurrence", entry="head@school.example.org", day="2026-11-05", token="s3cret")
    shown = admin.get(f"/jobs/{odd}").text
    assert "head@school.example.org" not in shown and "s3cret" not in shown and "(not shown)" in shown
    assert admin.get("/jobs/999999").status_code == 404


@pytest.mark.postgres
def test_retrying_a_failed_job_queues_it_again_and_audits_who(queued: AppContext, board: Board, as_role: As) -> None:
    admin = as_role("admin")
    done = _post(admin, "/jobs?status=failed", f"/jobs/{board.failed}/retry", back="/jobs?status=failed")
    assert done.status_code == 302 and done.headers["Location"] == "/jobs?status=failed"
    assert status_of(queued.repos.engine, board.failed) == "todo"
    after = admin.get("/jobs?status=failed").text
    assert f"Job {board.failed} (Collect national messages from the feed “GOV.UK news”) is back in the queue" in after
    assert _audit(queued) == [("job.retried", ROLES["admin"], "person", f"job:{board.failed}")]
    (entry,) = queued.repos.audit.entries(action="job.retried", limit=1)[0]
    feed = "Collect national messages from the feed “GOV.UK news”"
    assert entry.detail == f"{feed} (was failed, collect queue, 1 attempt(s))"
    history = admin.get(f"/jobs/{board.failed}").text
    assert "Put back in the queue by hand" in history


@pytest.mark.postgres
def test_retrying_a_stalled_job_and_cancelling_a_waiting_one(queued: AppContext, board: Board, as_role: As) -> None:
    admin = as_role("admin")
    retried = _post(admin, f"/jobs/{board.stalled}", f"/jobs/{board.stalled}/retry", back="https://evil.example/")
    assert retried.headers["Location"] == f"/jobs/{board.stalled}", "back only to a jobs page"
    assert status_of(queued.repos.engine, board.stalled) == "todo"
    cancelled = _post(admin, "/jobs", f"/jobs/{board.waiting}/cancel", back="/jobs")
    assert cancelled.status_code == 302
    assert status_of(queued.repos.engine, board.waiting) == "cancelled"
    assert f"Job {board.waiting} is cancelled: no worker will run it." in admin.get("/jobs").text
    assert [a for a, *_ in _audit(queued)] == ["job.retried", "job.cancelled"]


@pytest.mark.postgres
def test_refusals_are_said_in_words_and_change_nothing(queued: AppContext, board: Board, as_role: As) -> None:
    admin = as_role("admin")
    for job, action, said in [
        (board.done, "retry", f"Job {board.done} is done: only a failed or stalled job can be retried"),
        (board.waiting, "retry", f"Job {board.waiting} is waiting: only a failed or stalled job can be retried"),
        (board.failed, "cancel", f"Job {board.failed} is failed: only a waiting or running job can be cancelled"),
    ]:
        refused = _post(admin, f"/jobs/{job}", f"/jobs/{job}/{action}")
        assert refused.status_code == 409, action
        assert said in refused.text and "There is a problem" in refused.text
        assert "Traceback" not in refused.text
    assert [status_of(queued.repos.engine, j) for j in (board.done, board.waiting, board.failed)] == [
        "succeeded",
        "todo",
        "failed",
    ]
    assert _audit(queued) == []
    assert _post(admin, "/jobs", "/jobs/999999/retry").status_code == 404


@pytest.mark.postgres
def test_the_home_page_tells_an_admin_of_failed_and_stalled_jobs(board: Board, as_role: As) -> None:
    home = as_role("admin").get("/").text
    assert "1 job failed in the last week, and 1 job is stalled on a silent worker." in home
    assert 'href="/jobs?status=failed">See the failed jobs</a>' in home
    assert "Job queue" not in as_role("approver").get("/").text


# --- no queue: SQLite, COMMS_QUEUE=embedded --------------------------------------------------------------
def test_without_a_queue_the_page_says_the_clock_runs_the_jobs(signed_in: SignIn) -> None:
    admin = signed_in("admin")
    for path in ("/jobs", "/jobs/5"):
        page = admin.get(path)
        assert page.status_code == 200, path
        assert "Jobs run inside the clock process" in page.text and "Traceback" not in page.text
        assert "There is a problem" not in page.text
    token = csrf_token(admin.get("/account").text)
    acted = admin.post("/jobs/5/retry", data={"csrf_token": token})
    assert acted.status_code == 409 and "Jobs run inside the clock process" in acted.text
    home = admin.get("/").text
    assert 'href="/jobs"' in home, "the admin's navigation has Jobs"
    assert "Job queue" not in home, "no notice without a queue"
    assert signed_in("approver").get("/jobs").status_code == 403


@pytest.mark.postgres
def test_the_page_and_status_warn_when_the_server_runs_without_autovacuum(queued: AppContext, as_role: As) -> None:
    """What the server says decides: this project's test machine runs PostgreSQL with autovacuum off,
    under which claims slowed 50-fold as the ledger grew; a server with it on gets no warning."""
    from sqlalchemy import text as sql

    from pipeline.queue.admin import JobsView

    with queued.repos.engine.connect() as conn:
        off = conn.execute(sql("SHOW autovacuum")).scalar_one() == "off"
    page = as_role("admin").get("/jobs").text
    assert ("autovacuum is off" in page) is off
    assert bool(JobsView.of(queued).upkeep()) is off


@pytest.mark.postgres
def test_a_failed_attempt_shows_why_on_the_jobs_page(queued: AppContext, as_role: As) -> None:
    """A job run by procrastinate's own worker crashes (a day that is no date); its page lists the attempt
    from the job-run log, with what it said, and `comms jobs`' words come from the same place."""
    from pipeline.queue.app import deferring_app, make_app
    from pipeline.queue.tasks import bind

    crashing = defer(queued, "compose_occurrence", entry="headteacher-bulletin", day="2026-13-05")
    app = make_app(queued.settings)
    bind(queued, deferring_app(queued.settings))
    # in a thread of its own: procrastinate's worker starts an event loop, and the browser tests' session
    # (Playwright's sync API) may hold one running in this thread when the whole suite runs
    worker = threading.Thread(
        target=lambda: app.run_worker(queues=["compose"], wait=False, install_signal_handlers=False)
    )
    try:
        worker.start()
        worker.join(timeout=60)
    finally:
        bind(None)
    assert not worker.is_alive(), "the worker ran the one job and stopped"
    assert status_of(queued.repos.engine, crashing) == "todo"  # failed, to be tried again in 10 s
    page = as_role("admin").get(f"/jobs/{crashing}").text
    attempts = page[page.index('id="attempts-heading"') :]
    assert "<caption" in attempts and '<th scope="col">Outcome</th>' in attempts
    assert "Failed</td>" in attempts and "ValueError: month must be in 1..12" in attempts
    assert "Failed, to be tried again" in page
    # a job waiting for its first worker says so
    waiting = defer(queued, "notify_staff")
    assert "No attempt is recorded: no worker has run it yet." in as_role("admin").get(f"/jobs/{waiting}").text


@pytest.mark.postgres
def test_an_attempts_detail_shows_no_secret_and_no_address(queued: AppContext, as_role: As) -> None:
    """A run's detail is redacted when written, but a row may predate a secret or carry an address: the
    page withholds both, shows the first lines only, and the newest attempt first."""
    job = defer(queued, "dispatch_batch", item_id=12, batch=0, first_id=1, last_id=500)
    control = queued.repos.control
    first = control.start_job("dispatch", NOW, queue_job_id=job)
    control.finish_job(first, NOW, "failed", "failures=1\nfirst attempt: connection reset")
    later = NOW.replace(hour=9)
    second = control.start_job("dispatch", later, queue_job_id=job)
    secret = queued.settings.secret_key
    lines = [f"item 12: head@school.example.org: SMTP 452 ({secret})", "two", "three", "four", "five"]
    control.finish_job(second, later, "partial", "sent=3 failures=5\n" + "\n".join(lines))
    control.finish_job(control.start_job("dispatch", later), later, "failed", "other@school.example.org")
    page = as_role("admin").get(f"/jobs/{job}").text
    attempts = page[page.index('id="attempts-heading"') :]
    assert "head@school.example.org" not in page and secret not in page and "other@" not in page
    assert "item 12: (an address): SMTP 452 (***)" in attempts and "four" not in attempts
    assert attempts.index("Done in part") < attempts.index("first attempt: connection reset")
