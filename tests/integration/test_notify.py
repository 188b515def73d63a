"""Staff notifications on a real SMTP server (aiosmtpd) and a real database (SQLite, and PostgreSQL where
it runs): the approvers' digest, the lapse reminder, the admins' failure and clock alerts, the freeze,
a refusing server, the wake-up, the web watchdog, `comms notify`, and several processes at once."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from content_calendar.models import Strategy
from pipeline.app import Pipeline
from pipeline.cli import main
from pipeline.context import AppContext, open_context
from pipeline.jobs import tasks
from pipeline.jobs.notify import StaffNotifier, check_clock, decide, notify_staff
from pipeline.localservers import Mailbox, free_port, smtp_server
from pipeline.records import OutboxItem
from pipeline.services.actor import Actor, Role
from pipeline.services.outbox import OutboxService
from pipeline.services.plan import PlanService
from pipeline.services.users import UserService
from pipeline.settings import Settings, load_settings
from pipeline.storage.store import Repositories, open_repositories
from pipeline.web.watchdog import start_watchdog
from tests.conftest import EXAMPLE

LONDON = ZoneInfo("Europe/London")
NOW = datetime(2026, 7, 6, 9, 0, tzinfo=UTC)  # Monday 6 July 2026, 10:00 in London (BST)
DUE = datetime(2026, 7, 8, 8, 0, tzinfo=UTC)  # Wednesday 8 July, 09:00 in London
BASE = "https://comms.example.gov.uk"
SENDER = "Comms pipeline <comms-staff@council.example.gov.uk>"
ADMIN, APPROVER, SECOND, AUTHOR = (
    "adam.admin@council.example.gov.uk",
    "amy.approver@council.example.gov.uk",
    "bob.approver@council.example.gov.uk",
    "alex.author@council.example.gov.uk",
)
TEAM = {ADMIN: "admin", APPROVER: "approver", SECOND: "approver", AUTHOR: "author"}


@dataclass
class Relay(Mailbox):
    """The aiosmtpd mailbox, which can be told to refuse every message for a while (`busy`, a 451) or
    one address for good (`refused`, a 550 at RCPT)."""

    busy: bool = False
    refused: frozenset[str] = frozenset()

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, options: Any) -> str:
        if address in self.refused:
            return "550 5.1.1 no such mailbox"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.busy:
            return "451 4.3.0 try again later"
        return await super().handle_DATA(server, session, envelope)


@pytest.fixture
def relay() -> Iterator[tuple[Relay, tuple[str, int]]]:
    box = Relay()
    with smtp_server(box) as address:
        yield box, address


def staff_settings(address: tuple[str, int], tmp_path: Path, **more: Any) -> Settings:
    return load_settings(
        environ={},
        env_file=None,
        database_url=f"sqlite:///{tmp_path / 'comms.db'}",
        workspace=EXAMPLE,
        outbox_dir=tmp_path / "outbox",
        smtp_host=address[0],
        smtp_port=address[1],
        staff_mail_from=SENDER,
        public_base_url=BASE,
        secret_key="test-secret",
        **more,
    )


@pytest.fixture
def ctx(store: Repositories, relay: tuple[Relay, tuple[str, int]], tmp_path: Path, strategy: Strategy) -> AppContext:
    store.calendar.import_plan(strategy, [], NOW)  # the channels' names, for the mails
    users = UserService(store.users, store.audit)
    for email, role in TEAM.items():
        users.add(Actor.cli("setup"), email, role, NOW)
    return open_context(staff_settings(relay[1], tmp_path), repos=store)


def queue(store: Repositories, key: str, title: str, *, due: datetime = DUE, by: str | None = None, **more: Any):  # type: ignore[no-untyped-def]
    values: dict[str, Any] = {
        "occurrence_key": key,
        "entry_id": key.split("@")[0],
        "channel": "facebook",
        "kind": "post",
        "title": title,
        "body": f"{title}: the text",
        "audiences": ["residents"],
        "objectives": ["1"],
        "due_at": due,
        "approval": "required",
        "status": "awaiting_approval",
        "created_by": by,
        "missed_after_hours": 24,
        **more,
    }
    return store.outbox.add_item(NOW - timedelta(days=1), **values)


def received(box: Mailbox, to: str | None = None, topic: str = "") -> list[EmailMessage]:
    with box.lock:
        return [m for rcpt, m in box.received if (to is None or rcpt == to) and topic in str(m["Subject"])]


def text_of(message: EmailMessage) -> str:
    part = message.get_body(("plain",))
    assert part is not None
    return str(part.get_content())  # type: ignore[attr-defined]


def html_of(message: EmailMessage) -> str:
    part = message.get_body(("html",))
    assert part is not None
    return str(part.get_content())  # type: ignore[attr-defined]


# the digest ---------------------------------------------------------------------------------------


def test_one_digest_per_approver_with_every_item_they_may_approve(ctx: AppContext, relay: Any) -> None:
    box, _ = relay
    store = ctx.repos
    by_amy = queue(store, "a@2026-07-08", "Amy's post", by=APPROVER)
    by_clock = queue(store, "b@2026-07-08", "Half-term safety post", by="clock")
    edited = queue(store, "c@2026-07-08", "Bob's edit", by="clock")
    OutboxService(store.outbox).edit(Actor.cli(SECOND, Role.APPROVER), edited.id, NOW, body="Bob changed it")
    queue(store, "d@2026-07-08", "Still a draft", status="draft")

    outcome = notify_staff(ctx, NOW)

    assert outcome.counts == {"digests": 3} and not outcome.failures
    assert {rcpt for rcpt, _ in box.received} == {ADMIN, APPROVER, SECOND}, "never the author, one mail each"
    expected = {ADMIN: [by_amy, by_clock, edited], APPROVER: [by_clock, edited], SECOND: [by_amy, by_clock]}
    for who, items in expected.items():
        (mail,) = received(box, who)
        text, html = text_of(mail), html_of(mail)
        assert mail["Subject"] == f"{len(items)} items await approval"
        assert f"{len(items)} items await approval" in text
        assert mail["From"] == SENDER and mail["Auto-Submitted"] == "auto-generated"
        assert mail["List-Unsubscribe"] is None, "staff mail is no public mailing"
        for item in items:
            assert item.title in text and f"{BASE}/items/{item.id}" in text
            assert f'href="{BASE}/items/{item.id}"' in html
        assert "Thurrock Council Facebook page" in text, "the channel by its name"
        assert "Wed 8 Jul 2026, 09:00" in text, "the due time in London (BST), not UTC"
        assert "Still a draft" not in text
    assert "Amy's post" not in text_of(received(box, APPROVER)[0]), "not told of an item she created"
    assert "Bob's edit" not in text_of(received(box, SECOND)[0]), "not told of an item he last edited"

    assert notify_staff(ctx, NOW + timedelta(minutes=5)).counts == {}
    assert len(box.received) == 3, "the next run tells nobody again"
    entries, total = store.audit.entries(action="notify.digest")
    assert total == 3 and {e.target for e in entries} == {f"user:{w}" for w in expected}
    assert {e.detail for e in entries} == {"3 item(s)", "2 item(s)"}, "the count, not the text"


def test_an_approver_with_nothing_to_approve_gets_no_mail(ctx: AppContext, relay: Any) -> None:
    box, _ = relay
    queue(ctx.repos, "a@2026-07-08", "Amy's only post", by=APPROVER)
    notify_staff(ctx, NOW)
    assert {rcpt for rcpt, _ in box.received} == {ADMIN, SECOND}


def test_a_new_version_is_digested_again(ctx: AppContext, relay: Any) -> None:
    box, _ = relay
    item = queue(ctx.repos, "a@2026-07-08", "Summer safety post", by="clock")
    other = queue(ctx.repos, "b@2026-07-08", "Unchanged post", by="clock")
    notify_staff(ctx, NOW)
    assert len(box.received) == 3
    OutboxService(ctx.repos.outbox).edit(Actor.cli(SECOND, Role.APPROVER), item.id, NOW, body="A better text")
    assert notify_staff(ctx, NOW + timedelta(minutes=5)).counts == {"digests": 2}
    again = [(rcpt, m) for rcpt, m in box.received[3:]]
    assert sorted(rcpt for rcpt, _ in again) == [ADMIN, APPROVER], "the editor is not told of his own version"
    for _rcpt, mail in again:
        assert mail["Subject"] == "1 item awaits approval"
        assert "Summer safety post" in text_of(mail) and other.title not in text_of(mail)


def test_someone_who_approved_a_version_already_is_not_asked_again(ctx: AppContext, relay: Any) -> None:
    box, _ = relay
    item = queue(ctx.repos, "a@2026-07-08", "Needs two approvals", by="clock", approvals_required=2)
    approved = OutboxService(ctx.repos.outbox).approve(Actor.cli(APPROVER, Role.APPROVER), item.id, NOW)
    assert not approved.complete
    notify_staff(ctx, NOW)
    assert {rcpt for rcpt, _ in box.received} == {ADMIN, SECOND}


# the lapse reminder -------------------------------------------------------------------------------


def test_a_reminder_once_before_an_item_would_lapse(ctx: AppContext, relay: Any) -> None:
    box, _ = relay
    noon = queue(ctx.repos, "a@2026-07-06", "Due at noon", due=datetime(2026, 7, 6, 11, 0, tzinfo=UTC), by="clock")
    short = queue(
        ctx.repos, "x@2026-07-06", "Short window", due=datetime(2026, 7, 6, 11, 15, tzinfo=UTC), missed_after_hours=3
    )
    queue(ctx.repos, "b@2026-07-06", "Due this evening", due=datetime(2026, 7, 6, 17, 0, tzinfo=UTC))

    assert notify_staff(ctx, datetime(2026, 7, 6, 8, 30, tzinfo=UTC)).counts == {"digests": 3}  # 09:30 London
    assert received(box, topic="unless approved") == [], "more than two hours before: no reminder yet"
    outcome = notify_staff(ctx, datetime(2026, 7, 6, 9, 30, tzinfo=UTC))  # 10:30 London: noon is 90 minutes off
    assert outcome.counts == {"reminders": 3}
    (mail,) = received(box, APPROVER, "unless approved")
    assert mail["Subject"] == "2 items will be missed unless approved"
    text = text_of(mail)
    assert "Due this evening" not in text
    assert "Due at noon (Thurrock Council Facebook page), due Mon 6 Jul 2026, 12:00" in text
    assert "Due to go out at 12:00; approved after that it goes out late." in text
    assert "It will be missed at Tue 7 Jul 2026, 12:00 unless approved." in text, "24 hours after its time"
    assert "It will be missed at 15:15 unless approved." in text, "a 3-hour window: 12:15 + 3 h, today"
    assert f"{BASE}/items/{noon.id}" in text and f"{BASE}/items/{short.id}" in text

    notify_staff(ctx, datetime(2026, 7, 6, 10, 30, tzinfo=UTC))
    notify_staff(ctx, datetime(2026, 7, 6, 12, 30, tzinfo=UTC))  # past its time, not yet missed
    assert len(received(box, APPROVER, "unless approved")) == 1, "one reminder per item"
    entries, total = ctx.repos.audit.entries(action="notify.reminder")
    assert total == 3 and {e.detail for e in entries} == {"2 item(s)"}


def test_a_reminder_names_the_item_and_when_it_lapses(ctx: AppContext, relay: Any) -> None:
    box, _ = relay
    queue(ctx.repos, "a@2026-07-06", "Knife crime week", due=datetime(2026, 7, 6, 10, 0, tzinfo=UTC), by="clock")
    notify_staff(ctx, NOW)  # 10:00 London; it is due at 11:00
    (mail,) = received(box, SECOND, "unless approved")
    assert mail["Subject"] == "“Knife crime week” will be missed at Tue 7 Jul 2026, 11:00 unless approved"
    late = queue(ctx.repos, "b@2026-07-05", "Past its time", due=datetime(2026, 7, 5, 10, 0, tzinfo=UTC), by="clock")
    notify_staff(ctx, NOW + timedelta(minutes=5))  # due yesterday at 11:00: it lapses at 11:00 today
    later = received(box, SECOND, "unless approved")[1]
    assert later["Subject"] == "“Past its time” will be missed at 11:00 unless approved"
    assert "Its send time has passed: approved now it goes out late. It will be missed at 11:00" in text_of(later)
    assert f"{BASE}/items/{late.id}" in text_of(later)


# the failure alert --------------------------------------------------------------------------------


def failed_item(store: Repositories, key: str, title: str, status: str, reason: str, due: datetime) -> OutboxItem:
    item = queue(store, key, title, due=due, by="clock")
    store.outbox.transition(item.id, "approved", due - timedelta(hours=1), by=APPROVER)
    assert store.outbox.settle(item.id, status, due + timedelta(minutes=5), reason=reason)
    return item


def test_failures_alert_the_admins_once(ctx: AppContext, relay: Any) -> None:
    box, _ = relay
    store = ctx.repos
    due = datetime(2026, 7, 6, 7, 0, tzinfo=UTC)
    failed = failed_item(store, "f@1", "Bulletin", "failed", "no recipients: resident@example.org and more", due)
    missed = failed_item(store, "m@1", "Missed post", "missed", "not sent within 24 h of its time", due)
    failed_item(store, "old@1", "Last month's", "failed", "old news", due - timedelta(days=10))
    lapsed = queue(store, "l@1", "Never approved", due=due - timedelta(days=2), by="clock")
    UserService(store.users, store.audit).add(Actor.cli("setup"), "second.admin@council.example.gov.uk", "admin", NOW)

    assert notify_staff(ctx, NOW).counts == {"alerts": 2}
    alerts = received(box, topic="not sent")
    assert sorted(r for r, m in box.received if "not sent" in str(m["Subject"])) == sorted(
        [ADMIN, "second.admin@council.example.gov.uk"]
    ), "admins only"
    text = text_of(alerts[0])
    assert alerts[0]["Subject"] == "3 items were not sent"
    assert f"{BASE}/items/{failed.id}" in text and f"{BASE}/items/{missed.id}" in text
    assert "failed: no recipients: [an address] and more" in text, "the reason, without any address"
    assert "resident@example.org" not in text and "resident@example.org" not in html_of(alerts[0])
    assert "missed: not sent within 24 h of its time" in text
    assert f"{lapsed.title} (Thurrock Council Facebook page)" in text
    assert "missed: nobody approved it by Sun 5 Jul 2026, 08:00" in text
    assert "Last month's" not in text, "an item due more than a week ago is not news"

    notify_staff(ctx, NOW + timedelta(minutes=5))
    assert len(received(box, topic="not sent")) == 2, "each failure once"
    assert ctx.repos.audit.entries(action="notify.alert")[1] == 2


# the clock alert ----------------------------------------------------------------------------------


def test_the_admins_are_alerted_once_when_the_clock_is_silent_for_30_minutes(ctx: AppContext, relay: Any) -> None:
    box, _ = relay
    woke = datetime(2026, 7, 6, 14, 0, tzinfo=UTC)
    ctx.repos.control.start_job("wake", woke)  # a wake-up that never finished (the clock was killed)
    assert check_clock(ctx, woke + timedelta(minutes=29)).counts == {}
    assert check_clock(ctx, woke + timedelta(minutes=31)).counts == {"alerts": 1}
    (alert,) = received(box, topic="clock")
    assert [r for r, m in box.received] == [ADMIN], "admins only"
    assert alert["Subject"] == "The clock has not woken since Mon 6 Jul 2026, 15:00"
    assert "it has not finished" in text_of(alert) and "31 minutes without a wake-up" in text_of(alert)
    assert check_clock(ctx, woke + timedelta(minutes=40)).counts == {}, "one alert per silence"
    assert notify_staff(ctx, woke + timedelta(hours=3)).counts == {}

    again = woke + timedelta(hours=4)  # the clock came back, then stopped again: a new silence
    run = ctx.repos.control.start_job("wake", again)
    ctx.repos.control.finish_job(run, again + timedelta(seconds=3), "ok", "")
    assert check_clock(ctx, again + timedelta(minutes=20)).counts == {}
    assert check_clock(ctx, again + timedelta(minutes=35)).counts == {"alerts": 1}
    assert "it finished at Mon 6 Jul 2026, 19:00" in text_of(received(box, topic="clock")[1])


def test_no_clock_alert_before_the_clock_ever_woke(ctx: AppContext, relay: Any) -> None:
    assert check_clock(ctx, NOW).counts == {}
    assert relay[0].received == []


def test_the_quiet_hour_in_a_real_check(ctx: AppContext, relay: Any) -> None:
    box, _ = relay
    ctx.repos.control.start_job("wake", datetime(2026, 7, 7, 0, 55, tzinfo=LONDON))
    assert check_clock(ctx, datetime(2026, 7, 7, 2, 5, tzinfo=LONDON)).counts == {}, "no false alarm at 02:05"
    assert check_clock(ctx, datetime(2026, 7, 7, 2, 26, tzinfo=LONDON)).counts == {"alerts": 1}
    assert "not counting 01:00-02:00" in text_of(received(box, topic="clock")[0])


def test_the_web_watchdog_alerts_and_stops(ctx: AppContext, relay: Any) -> None:
    box, _ = relay
    ctx.repos.control.start_job("wake", NOW)
    stop = threading.Event()
    watchdog = start_watchdog(ctx, interval=0.05, stop=stop, clock=lambda: NOW + timedelta(hours=1))
    deadline = time.monotonic() + 20
    while not received(box, topic="clock") and time.monotonic() < deadline:
        time.sleep(0.05)
    checks = watchdog.checks
    while watchdog.checks < checks + 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    stop.set()
    watchdog.thread.join(5)
    assert not watchdog.thread.is_alive(), "the stop event ends the thread"
    assert len(received(box, topic="clock")) == 1, "checked again and again, alerted once"


# the freeze, a refusing server, the wake-up -------------------------------------------------------


def test_staff_mail_goes_while_public_sending_is_paused(ctx: AppContext, relay: Any) -> None:
    box, _ = relay
    ctx.repos.control.set_freeze(True, ADMIN, "critical incident", NOW)
    queue(ctx.repos, "a@2026-07-08", "Held post", by="clock")
    assert notify_staff(ctx, NOW).counts == {"digests": 3}
    assert len(box.received) == 3
    assert ctx.repos.outbox.deliveries(ctx.repos.outbox.items()[0].id) == [], "no delivery is recorded"


def test_a_refusing_server_is_logged_and_the_mail_sent_at_the_next_run(
    ctx: AppContext, relay: Any, caplog: pytest.LogCaptureFixture
) -> None:
    box, _ = relay
    item = queue(ctx.repos, "a@2026-07-08", "Refused once", by="clock")
    box.busy = True
    with caplog.at_level(logging.ERROR, logger="pipeline.jobs.notify"):
        outcome = notify_staff(ctx, NOW)
    assert outcome.counts == {} and len(outcome.failures) == 3 and outcome.status == "failed"
    assert "451" in outcome.failures[0] and "tried again at the next run" in outcome.failures[0]
    assert [r.getMessage() for r in caplog.records] == ["staff mail failed"] * 3
    key = f"notify:awaiting:{item.id}:{item.content_hash[:12]}:{APPROVER}"
    assert ctx.repos.ledger.state(key) == "started", "the claim is released, not finished"
    assert ctx.repos.audit.entries(action="notify.")[1] == 0, "nothing sent, nothing audited"

    box.busy = False
    with another_process(ctx) as other:  # the next run may be another process's: the claims are free for it
        assert notify_staff(other, NOW + timedelta(minutes=5)).counts == {"digests": 3}
    assert sorted(r for r, _ in box.received) == sorted([ADMIN, APPROVER, SECOND])
    assert ctx.repos.ledger.state(key) == "done"


@contextmanager
def another_process(ctx: AppContext) -> Iterator[AppContext]:
    """A second context on the same database, with its own name on its claims, as another process has."""
    repos = open_repositories(ctx.repos.engine.url.render_as_string(hide_password=False))
    assert repos.ledger.owner != ctx.repos.ledger.owner
    try:
        yield open_context(ctx.settings, repos=repos)
    finally:
        repos.close()


def test_an_address_refused_for_good_is_not_tried_again(ctx: AppContext, relay: Any) -> None:
    box, _ = relay
    queue(ctx.repos, "a@2026-07-08", "A post", by="clock")
    box.refused = frozenset({SECOND})
    outcome = notify_staff(ctx, NOW)
    assert outcome.counts == {"digests": 2} and len(outcome.failures) == 1 and "550" in outcome.failures[0]
    assert notify_staff(ctx, NOW + timedelta(minutes=5)).failures == (), "a bounce is not retried every wake-up"
    assert sorted(r for r, _ in box.received) == [ADMIN, APPROVER]


def test_the_wake_up_tells_the_approvers_after_dispatch_and_is_recorded(
    pipeline: Pipeline, mailbox: tuple[Mailbox, Any]
) -> None:
    compose_at = datetime(2026, 11, 3, 9, 0, tzinfo=UTC)
    pipeline.import_plan(now=compose_at)
    pipeline.import_subscribers()
    UserService.of(pipeline).add(Actor.cli("setup"), APPROVER, "approver", compose_at)
    results = pipeline.wake(compose_at)
    assert list(results) == ["collect", "compose", "dispatch", "notify"]
    assert results["notify"].counts["digests"] == 1
    (digest,) = received(mailbox[0], APPROVER, "await approval")
    assert "Headteacher bulletin" in text_of(digest)
    runs = {r.job: r for r in pipeline.repos.control.last_runs()}
    assert runs["wake"].started_at == compose_at and runs["wake"].finished_at is not None
    assert runs["notify"].outcome == "ok"
    bulletin = next(i for i in pipeline.repos.outbox.items() if i.entry_id == "headteacher-bulletin")
    assert bulletin.status == "awaiting_approval"


def test_a_failing_staff_mail_never_breaks_the_wake_up(tmp_path: Path) -> None:
    nobody_listens = ("127.0.0.1", free_port())
    ctx = open_context(staff_settings(nobody_listens, tmp_path, file_channels=("*",)))
    try:
        compose_at = datetime(2026, 11, 3, 9, 0, tzinfo=UTC)
        PlanService.of(ctx).import_plan(Actor.system(), compose_at)
        UserService.of(ctx).add(Actor.cli("setup"), APPROVER, "approver", compose_at)
        results = tasks.wake(ctx, compose_at, report=False)
        assert list(results) == ["collect", "compose", "dispatch", "notify"] and results["notify"].status == "failed"
        assert "tried again at the next run" in results["notify"].failures[0]
        assert results["compose"].counts, "the jobs before it ran"
        wake = next(r for r in ctx.repos.control.last_runs() if r.job == "wake")
        assert wake.outcome == "partial" and "notify=failed" in wake.detail
    finally:
        ctx.close()


# the command line and several processes at once ---------------------------------------------------


def test_comms_notify_prints_what_was_sent(
    ctx: AppContext, relay: Any, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    if ctx.repos.is_postgres:
        pytest.skip("the command line reads its database from the environment: SQLite here")
    queue(ctx.repos, "a@2026-07-08", "A post", by="clock")
    _env(monkeypatch, relay[1], tmp_path)
    assert main(["notify", "--at", "2026-07-06T10:00"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert sorted(out) == sorted(f"digest to {who}: 1 item" for who in (ADMIN, APPROVER, SECOND))
    assert main(["notify", "--at", "2026-07-06T10:05"]) == 0
    assert capsys.readouterr().out == "notify: nothing new to tell anyone\n"
    relay[0].busy = True
    queue(ctx.repos, "b@2026-07-08", "Another post", by="clock")
    assert main(["notify", "--at", "2026-07-06T10:10"]) == 1
    assert capsys.readouterr().out.count("failed: staff awaiting mail to") == 3


def _env(monkeypatch: pytest.MonkeyPatch, address: tuple[str, int], tmp_path: Path) -> dict[str, str]:
    env = {
        "COMMS_DATABASE_URL": f"sqlite:///{tmp_path / 'comms.db'}",
        "COMMS_WORKSPACE": str(EXAMPLE),
        "COMMS_SMTP_HOST": address[0],
        "COMMS_SMTP_PORT": str(address[1]),
        "COMMS_STAFF_MAIL_FROM": SENDER,
        "COMMS_PUBLIC_BASE_URL": BASE,
        "COMMS_SECRET_KEY": "k",
    }
    monkeypatch.chdir(tmp_path)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return env


@pytest.mark.slow
def test_processes_at_once_send_each_approver_one_digest(
    tmp_path: Path, relay: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    box, address = relay
    env = _env(monkeypatch, address, tmp_path)
    repos = open_repositories(env["COMMS_DATABASE_URL"])
    try:
        users = UserService(repos.users, repos.audit)
        for email, role in TEAM.items():
            users.add(Actor.cli("setup"), email, role, NOW)
        for n in range(5):
            queue(repos, f"p{n}@2026-07-08", f"Post {n}", by="clock")
    finally:
        repos.close()
    command = [sys.executable, "-m", "pipeline.cli", "notify", "--at", "2026-07-06T10:00"]
    procs = [
        subprocess.Popen(command, env={**os.environ, **env}, cwd=tmp_path, stdout=subprocess.PIPE, text=True)
        for _ in range(3)
    ]
    outputs = [p.communicate(timeout=120)[0] for p in procs]
    assert [p.returncode for p in procs] == [0, 0, 0], outputs
    told = [line for out in outputs for line in out.splitlines() if line.startswith("digest to")]
    assert sorted(told) == sorted(f"digest to {who}: 5 items" for who in (ADMIN, APPROVER, SECOND)), outputs
    assert sorted(r for r, _ in box.received) == sorted([ADMIN, APPROVER, SECOND]), "one digest each"
    assert all(text_of(m).count(f"{BASE}/items/") == 5 for _, m in box.received)


def test_staff_notifier_claims_nothing_already_told(ctx: AppContext, relay: Any) -> None:
    queue(ctx.repos, "a@2026-07-08", "A post", by="clock")
    notifier = StaffNotifier(ctx)
    notices = decide(notifier.facts(NOW), NOW)
    assert len(notices) == 3 and notifier.claim(notices, NOW) == notices
    assert notifier.claim(notices, NOW) == notices, "this process's own live claims are still its to send"
    ctx.repos.ledger.release(n.key for n in notices)
    assert notifier.run(NOW).outcome().counts == {"digests": 3}
    assert notifier.claim(notices, NOW) == []
