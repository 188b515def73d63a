"""Dispatch against a real SMTP server: approval, personalisation, headers, exactly once, freeze, missed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from channels.base import ChannelError, Post, Receipt
from channels.memory import MemoryAdapter
from pipeline.app import Pipeline
from pipeline.localservers import Mailbox
from pipeline.tokens import verify

BULLETIN_DUE = datetime(2026, 11, 5, 8, 0, tzinfo=UTC)  # Thursday 5 November 2026, 08:00 GMT
COMPOSE_AT = datetime(2026, 11, 3, 9, 0, tzinfo=UTC)
HEADS = 12  # headteachers in the example subscribers; governors make 14


@pytest.fixture
def ready(pipeline: Pipeline) -> Pipeline:
    pipeline.import_plan(now=COMPOSE_AT)
    pipeline.import_subscribers()
    pipeline.compose(COMPOSE_AT, entry="headteacher-bulletin")
    return pipeline


def bulletin(p: Pipeline):  # type: ignore[no-untyped-def]
    return next(i for i in p.repos.outbox.items() if i.entry_id == "headteacher-bulletin")


def test_nothing_goes_out_without_approval(ready: Pipeline, mailbox: tuple[Mailbox, Any]) -> None:
    box, _ = mailbox
    assert bulletin(ready).status == "awaiting_approval"
    ready.dispatch(BULLETIN_DUE + timedelta(minutes=5))
    assert box.received == []


def test_approved_bulletin_goes_to_each_recipient_once_with_the_right_headers(
    ready: Pipeline, mailbox: tuple[Mailbox, Any]
) -> None:
    box, _ = mailbox
    item = bulletin(ready)
    ready.repos.outbox.transition(item.id, "approved", COMPOSE_AT, by="Prevent Coordinator")
    ready.dispatch(BULLETIN_DUE - timedelta(minutes=1))
    assert box.received == [], "not before its time"
    outcome = ready.dispatch(BULLETIN_DUE + timedelta(minutes=1))
    assert outcome.counts["sent"] == 14 and len(box.unique()) == 14
    rcpt, msg = next((r, m) for r, m in box.received if r == "head@gable-hall.example.org")
    assert msg.get_content_type() == "multipart/alternative"
    text = msg.get_body(("plain",)).get_content()
    html = msg.get_body(("html",)).get_content()
    assert "Dear Mrs A. Patel," in text and "Dear Mrs A. Patel," in html
    assert msg["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    token = msg["List-Unsubscribe"].strip("<>").split("token=")[1]
    assert verify(token, "test-secret") == rcpt
    assert msg["Message-ID"].endswith("@example.org>")
    assert ready.repos.outbox.item(item.id).status == "sent"
    ready.dispatch(BULLETIN_DUE + timedelta(minutes=10))
    assert len(box.received) == 14, "a second wake-up sends nothing"
    sent = [p for p in ready.repos.metrics.between(BULLETIN_DUE.date(), BULLETIN_DUE.date()) if p.metric == "sent"]
    assert {(p.audience, p.objective, p.value) for p in sent} == {
        ("headteachers", "6", 12),
        ("headteachers", "3", 12),
        ("governors", "6", 2),
        ("governors", "3", 2),
    }


class CrashAfterSend:
    """Sends for real, then dies before the pipeline can record it (as a SIGKILL would)."""

    def __init__(self, inner: Any, crash_on: int) -> None:
        self.inner, self.crash_on, self.count = inner, crash_on, 0
        self.kind = inner.kind

    def validate(self, post: Post) -> list[str]:
        return self.inner.validate(post)

    def send(self, post: Post, key: str) -> Receipt:
        receipt = self.inner.send(post, key)
        self.count += 1
        if self.count == self.crash_on:
            raise SystemExit("killed between the send and the record")
        return receipt

    def close(self) -> None:
        self.inner.close()


@pytest.mark.parametrize("crash_on", [1, 7, 14])
def test_exactly_once_across_a_crash_between_send_and_record(
    ready: Pipeline, mailbox: tuple[Mailbox, Any], crash_on: int
) -> None:
    box, _ = mailbox
    ready.repos.outbox.transition(bulletin(ready).id, "approved", COMPOSE_AT, by="Prevent Coordinator")
    live = ready.adapter_for
    ready.adapter_for = lambda code, kind: CrashAfterSend(live(code, kind), crash_on)
    ready.settings = type(ready.settings)(**{**ready.settings.__dict__, "smtp_pool_size": 1})
    with pytest.raises(SystemExit):
        ready.dispatch(BULLETIN_DUE)
    ready.adapter_for = live  # the restarted process
    ready.dispatch(BULLETIN_DUE + timedelta(minutes=5))
    recipients = {r for r, _ in box.received}
    assert len(recipients) == 14
    assert len(box.unique()) == 14, "every resend carries the Message-ID of the first attempt"
    assert len(box.received) == 15, "only the one in-flight message was sent a second time"


def test_freeze_holds_everything_until_resume(ready: Pipeline, mailbox: tuple[Mailbox, Any]) -> None:
    box, _ = mailbox
    ready.repos.outbox.transition(bulletin(ready).id, "approved", COMPOSE_AT, by="Prevent Coordinator")
    ready.repos.control.set_freeze(True, "duty officer", "critical incident", COMPOSE_AT)
    assert ready.dispatch(BULLETIN_DUE).counts["held"] == 1 and box.received == []
    ready.repos.control.set_freeze(False, "duty officer", "", BULLETIN_DUE + timedelta(hours=1))
    ready.dispatch(BULLETIN_DUE + timedelta(hours=1))
    assert len(box.unique()) == 14


def test_past_its_window_an_item_is_missed_not_sent_late(ready: Pipeline, mailbox: tuple[Mailbox, Any]) -> None:
    box, _ = mailbox
    item = bulletin(ready)
    ready.repos.outbox.transition(item.id, "approved", COMPOSE_AT, by="Prevent Coordinator")
    outcome = ready.dispatch(BULLETIN_DUE + timedelta(days=3))
    assert outcome.counts["missed"] == 1 and box.received == []
    assert ready.repos.outbox.item(item.id).status == "missed"


def test_transient_failures_back_off_then_send(ready: Pipeline) -> None:
    memory = MemoryAdapter(
        "headteacher-bulletin", failures=[ChannelError("x", "HTTP 429", transient=True, retry_after=600)]
    )
    memory.kind = "email"
    ready.adapter_for = lambda code, kind: memory
    ready.repos.outbox.transition(bulletin(ready).id, "approved", COMPOSE_AT, by="Prevent Coordinator")
    ready.settings = type(ready.settings)(**{**ready.settings.__dict__, "smtp_pool_size": 1})
    ready.dispatch(BULLETIN_DUE)
    assert len(memory.sent) == 13
    waiting = ready.repos.outbox.deliveries(bulletin(ready).id, status="pending")
    assert len(waiting) == 1 and waiting[0].next_attempt_at >= BULLETIN_DUE + timedelta(seconds=600)
    ready.dispatch(BULLETIN_DUE + timedelta(minutes=5))
    assert len(memory.sent) == 13, "not before Retry-After"
    ready.dispatch(BULLETIN_DUE + timedelta(minutes=11))
    assert len(memory.sent) == 14 and bulletin(ready).status == "sent"


def test_a_bounce_marks_the_subscriber_and_the_others_still_go(ready: Pipeline) -> None:
    memory = MemoryAdapter("headteacher-bulletin")
    memory.kind = "email"
    original = memory.send

    def send(post: Post, key: str) -> Receipt:
        if post.recipient == "head@aveley-primary.example.org":
            raise ChannelError("email", "SMTP 550 mailbox unavailable", transient=False, recipient_rejected=True)
        return original(post, key)

    memory.send = send  # type: ignore[method-assign]
    ready.adapter_for = lambda code, kind: memory
    ready.repos.outbox.transition(bulletin(ready).id, "approved", COMPOSE_AT, by="Prevent Coordinator")
    outcome = ready.dispatch(BULLETIN_DUE)
    assert outcome.counts["sent"] == 13 and outcome.counts["failed"] == 1
    bounced = [s.email for s in ready.repos.subscribers.all(status="bounced")]
    assert bounced == ["head@aveley-primary.example.org"]
    assert "1 of 14 not delivered" in (bulletin(ready).reason or "")


def test_a_failed_item_retried_by_a_person_goes_once_more(ready: Pipeline) -> None:
    from pipeline.services.actor import Actor, Role
    from pipeline.services.outbox import OutboxService

    refused = ChannelError("email", "SMTP 554 relay refused", transient=False)
    bounced = ChannelError("email", "SMTP 550 no such mailbox", transient=False, recipient_rejected=True)
    memory = MemoryAdapter("headteacher-bulletin", failures=[bounced] + [refused] * 13)
    memory.kind = "email"
    ready.adapter_for = lambda code, kind: memory
    item = bulletin(ready)
    ready.repos.outbox.transition(item.id, "approved", COMPOSE_AT, by="Prevent Coordinator")
    first = ready.dispatch(BULLETIN_DUE)
    assert first.counts["sent"] == 0 and first.counts["failed"] == 14
    assert bulletin(ready).status == "failed"
    outbox = OutboxService.of(ready)
    assert outbox.retry(Actor.cli("Sam", Role.AUTHOR), item.id, BULLETIN_DUE).deliveries_reset == 14
    outbox.approve(Actor.cli("Alex", Role.APPROVER), item.id, BULLETIN_DUE)
    again = ready.dispatch(BULLETIN_DUE + timedelta(minutes=5))
    assert again.counts["sent"] == 13 and len(memory.sent) == 13, "each failed send went once more"
    gone = [d for d in ready.repos.outbox.deliveries(item.id) if d.status != "sent"]
    assert [(d.status, d.last_error) for d in gone] == [("skipped", "no longer subscribed")], "the bounced one"
    assert bulletin(ready).status == "sent", "settled: nothing left pending"


def test_the_report_can_be_sent_to_the_board(ready: Pipeline, mailbox: tuple[Mailbox, Any]) -> None:
    box, _ = mailbox
    item_id = ready.queue_report("2026-11", "elected-members", "member-briefing", BULLETIN_DUE)
    assert ready.repos.outbox.item(item_id).status == "awaiting_approval"
    ready.repos.outbox.transition(item_id, "approved", BULLETIN_DUE, by="Democratic Services")
    ready.dispatch(BULLETIN_DUE + timedelta(minutes=1))
    subject = "Prevent communications: reach report for 1 to 5 November 2026 (to date)"
    got = [m for r, m in box.received if m["Subject"] == subject]
    assert len(got) == 4  # the four elected members in the example
    assert "Objective 1 (" in got[0].get_body(("plain",)).get_content()
    html = got[0].get_body(("html",)).get_content()
    assert 'class="chart"' in html and "5 November 2026" in html and "<script" not in html


def test_someone_who_unsubscribes_after_queueing_is_not_sent_to(ready: Pipeline, mailbox: tuple[Mailbox, Any]) -> None:
    box, _ = mailbox
    item = bulletin(ready)
    ready.repos.outbox.transition(item.id, "approved", COMPOSE_AT, by="Prevent Coordinator")
    ready.repos.outbox.ensure_deliveries(item.id, [("head@gable-hall.example.org", "headteachers")])
    ready.repos.subscribers.set_status("head@gable-hall.example.org", "unsubscribed", COMPOSE_AT, "one-click")
    ready.dispatch(BULLETIN_DUE)
    assert "head@gable-hall.example.org" not in {r for r, _ in box.received}
    assert len(box.unique()) == 13
    (gone,) = [d for d in ready.repos.outbox.deliveries(item.id) if d.recipient == "head@gable-hall.example.org"]
    assert gone.status == "skipped" and gone.last_error == "no longer subscribed"


def _relay_failing(ready: Pipeline, failures: int) -> tuple[MemoryAdapter, int]:
    """Pool of one: the next `failures` sends, whoever they are to, meet a relay that is down."""
    outage = ChannelError("email", "SMTP 421 service not available", transient=True)
    memory = MemoryAdapter("headteacher-bulletin", failures=[outage] * failures)
    memory.kind = "email"
    ready.adapter_for = lambda code, kind: memory
    ready.settings = ready.settings.model_copy(update={"smtp_pool_size": 1})
    item = bulletin(ready)
    ready.repos.outbox.transition(item.id, "approved", COMPOSE_AT, by="Prevent Coordinator")
    return memory, item.id


def _retry_until_settled(ready: Pipeline, item_id: int, rounds: int) -> int:
    """Dispatch at each deferred send's next attempt, as the clock would; returns the dispatches run."""
    ready.dispatch(BULLETIN_DUE)
    for n in range(rounds):
        waiting = ready.repos.outbox.deliveries(item_id, status="pending")
        if not waiting:
            return n + 1
        next_attempt = waiting[0].next_attempt_at
        assert next_attempt is not None
        ready.dispatch(next_attempt)
    raise AssertionError("still pending")


def test_a_relay_outage_is_retried_within_the_send_window(ready: Pipeline) -> None:
    memory, item_id = _relay_failing(ready, failures=8)  # more than the old limit of five
    _retry_until_settled(ready, item_id, rounds=20)
    assert len(memory.sent) == 14, "everyone got it once the relay was back"
    assert ready.repos.outbox.item(item_id).status == "sent"  # type: ignore[union-attr]


def test_an_outage_past_the_send_window_fails_once_saying_why(ready: Pipeline) -> None:
    memory, item_id = _relay_failing(ready, failures=100_000)  # the relay never comes back
    _retry_until_settled(ready, item_id, rounds=400)
    deliveries = ready.repos.outbox.deliveries(item_id)
    assert {d.status for d in deliveries} == {"failed"} and not memory.sent
    assert all(d.attempts > 5 for d in deliveries), "retried for the whole window, not five times"
    assert all("the send window closed at" in (d.last_error or "") for d in deliveries)
    assert all("SMTP 421" in (d.last_error or "") for d in deliveries), "the last error is kept"
    assert ready.repos.outbox.item(item_id).status == "failed"  # type: ignore[union-attr]


def test_a_pause_holds_mid_batch(ready: Pipeline) -> None:
    """A person pauses sending while a batch is under way: nothing more goes out; resume sends the rest once."""
    memory = MemoryAdapter("headteacher-bulletin")
    memory.kind = "email"
    original = memory.send

    def send(post: Post, key: str) -> Receipt:
        receipt = original(post, key)
        if len(memory.sent) == 3:
            ready.repos.control.set_freeze(True, "duty officer", "critical incident", BULLETIN_DUE)
        return receipt

    memory.send = send  # type: ignore[method-assign]
    ready.adapter_for = lambda code, kind: memory
    ready.settings = ready.settings.model_copy(update={"smtp_pool_size": 1})
    ready.repos.outbox.transition(bulletin(ready).id, "approved", COMPOSE_AT, by="Prevent Coordinator")
    dispatcher = ready.dispatcher()
    dispatcher.recheck_seconds = 0  # look at the freeze before every message (2 s in production)
    ready.dispatch(BULLETIN_DUE, dispatcher)
    assert len(memory.sent) == 3, "nothing after the pause"
    ready.repos.control.set_freeze(False, "duty officer", "", BULLETIN_DUE)
    ready.dispatch(BULLETIN_DUE + timedelta(minutes=5))
    assert len(memory.sent) == 14 and bulletin(ready).status == "sent"


def test_an_item_half_sent_when_its_window_closes_settles_on_what_went(ready: Pipeline) -> None:
    """The clock was down while one send waited on a retry: past the window the item is not 'missed'
    (13 people had it); the waiting send fails saying why, and the figures count the 13."""
    memory, item_id = _relay_failing(ready, failures=1)
    ready.dispatch(BULLETIN_DUE)
    assert len(memory.sent) == 13 and len(ready.repos.outbox.deliveries(item_id, status="pending")) == 1
    hours = bulletin(ready).missed_after_hours
    outcome = ready.dispatch(BULLETIN_DUE + timedelta(hours=hours, minutes=30))
    assert outcome.counts["missed"] == 0 and len(memory.sent) == 13, "nothing sent late"
    item = ready.repos.outbox.item(item_id)
    assert item is not None and item.status == "sent" and "1 of 14 not delivered" in (item.reason or "")
    failed = [d for d in ready.repos.outbox.deliveries(item_id) if d.status == "failed"]
    assert len(failed) == 1 and (failed[0].last_error or "").startswith("not sent: not sent within")
    day = BULLETIN_DUE.date()
    sent = sum(p.value for p in ready.repos.metrics.between(day, day) if p.metric == "sent")
    assert sent == 13 * len(item.objectives or ("",))
