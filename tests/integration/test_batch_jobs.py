"""The queue's batch jobs in process, against a real SMTP server: a batch job reads and sends only its
own slice of the item's recipients (by the row ids its plan gave it), personalised from that slice's
subscriber rows; the item settles when its last batch is done, whichever that is; the personaliser a
process keeps for an item is never used for a changed version of it."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from pipeline.app import Pipeline, make_pipeline
from pipeline.jobs.batch_jobs import plan_batches, send_batch
from pipeline.jobs.dispatch import Dispatcher
from pipeline.jobs.prepared import Personalisers
from pipeline.localservers import Mailbox
from pipeline.records import OutboxItem
from pipeline.settings import Settings
from tests.conftest import _reset_postgres

COMPOSE_AT = datetime(2026, 11, 3, 9, 0, tzinfo=UTC)
SEND_AT = datetime(2026, 11, 5, 8, 1, tzinfo=UTC)  # a minute after the bulletin's time


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def on_each_database(request: pytest.FixtureRequest, settings: Settings) -> Iterator[Pipeline]:
    if request.param == "postgres":
        url = request.getfixturevalue("postgres_url")
        _reset_postgres(url)
        settings = settings.model_copy(update={"database_url": url})
    p = make_pipeline(settings)
    yield p
    p.close()


@pytest.fixture
def approved(on_each_database: Pipeline) -> tuple[Pipeline, OutboxItem]:
    pipeline = on_each_database
    pipeline.import_plan(now=COMPOSE_AT)
    pipeline.import_subscribers()
    pipeline.compose(COMPOSE_AT, entry="headteacher-bulletin")
    item = next(i for i in pipeline.repos.outbox.items() if i.entry_id == "headteacher-bulletin")
    pipeline.repos.outbox.transition(item.id, "approved", COMPOSE_AT, by="Prevent Coordinator")
    return pipeline, item


def dispatcher(p: Pipeline, personalisers: Personalisers | None = None) -> Dispatcher:
    d = Dispatcher(p.repos, p.settings, p.adapter_for, personalisers=personalisers)
    d.batch = 5
    return d


def test_a_batch_job_sends_only_its_slice_and_the_last_one_settles(
    approved: tuple[Pipeline, OutboxItem], mailbox: tuple[Mailbox, Any]
) -> None:
    p, item = approved
    box, _ = mailbox
    _outcome, plans = plan_batches(dispatcher(p), item.id, SEND_AT)
    rows = p.repos.outbox.deliveries(item.id)
    assert len(rows) == 14 and [b.number for b in plans] == [0, 1, 2]
    assert [(b.first_id, b.last_id) for b in plans] == [
        (rows[0].id, rows[4].id),
        (rows[5].id, rows[9].id),
        (rows[10].id, rows[13].id),
    ]
    middle = {r.recipient for r in rows[5:10]}
    sent = send_batch(dispatcher(p), item.id, 1, SEND_AT, (plans[1].first_id, plans[1].last_id))
    assert sent.counts["sent"] == 5
    assert {r for r, _m in box.received} == middle and len(box.received) == 5
    after = {r.recipient: r.status for r in p.repos.outbox.deliveries(item.id)}
    assert {r for r, s in after.items() if s == "sent"} == middle, "the batch's own rows are brought up to date"
    assert p.repos.outbox.item(item.id).status == "approved", "not settled while other batches are pending"
    for rcpt, msg in box.received:  # personalised from the slice's own subscriber rows
        sub = next(s for s in p.repos.subscribers.all() if s.email == rcpt)
        assert f"Dear {sub.name}," in msg.get_body(("plain",)).get_content()
    for b in (plans[2], plans[0]):
        send_batch(dispatcher(p), item.id, b.number, SEND_AT, (b.first_id, b.last_id))
    assert sorted(r for r, _m in box.received) == sorted(r.recipient for r in rows), "each once"
    assert p.repos.outbox.item(item.id).status == "sent"


def test_one_who_unsubscribed_or_left_the_list_after_planning_is_skipped_by_their_batch(
    approved: tuple[Pipeline, OutboxItem], mailbox: tuple[Mailbox, Any]
) -> None:
    p, item = approved
    box, _ = mailbox
    _outcome, plans = plan_batches(dispatcher(p), item.id, SEND_AT)
    rows = p.repos.outbox.deliveries(item.id)
    gone, left = rows[6].recipient, rows[11].recipient
    p.repos.subscribers.set_status(gone, "unsubscribed", SEND_AT)
    p.repos.subscribers.leave_list(left, item.channel)  # this list only: still subscribed to others
    for b in plans:
        send_batch(dispatcher(p), item.id, b.number, SEND_AT, (b.first_id, b.last_id))
    received = {r for r, _m in box.received}
    assert gone not in received and left not in received and len(box.received) == 12
    statuses = {r.recipient: r.status for r in p.repos.outbox.deliveries(item.id)}
    assert statuses[gone] == statuses[left] == "skipped"
    assert p.repos.outbox.item(item.id).status == "sent"


def test_a_kept_personaliser_is_not_used_for_a_changed_version(
    approved: tuple[Pipeline, OutboxItem], mailbox: tuple[Mailbox, Any]
) -> None:
    p, item = approved
    box, _ = mailbox
    kept = Personalisers()
    _outcome, plans = plan_batches(dispatcher(p, kept), item.id, SEND_AT)
    send_batch(dispatcher(p, kept), item.id, 0, SEND_AT, (plans[0].first_id, plans[0].last_id))
    current = p.repos.outbox.item(item.id)
    assert current is not None and "PREVENT UPDATE FOR SCHOOLS" in current.body
    edited = p.repos.outbox.edit_item(
        item.id, SEND_AT, {"body": current.body.replace("PREVENT UPDATE", "PREVENT NEWS")}, by="alex@example.gov.uk",
        status="awaiting_approval", allowed_from=("approved",),
    )  # fmt: skip
    p.repos.outbox.approve(
        item.id, edited.content_hash, "sam@example.gov.uk", SEND_AT, allowed_from=("awaiting_approval",)
    )
    send_batch(dispatcher(p, kept), item.id, 1, SEND_AT, (plans[1].first_id, plans[1].last_id))
    texts = [m.get_body(("plain",)).get_content() for _r, m in box.received]
    assert len(texts) == 10
    assert all("PREVENT UPDATE" in t for t in texts[:5]) and all(
        "PREVENT NEWS" in t and "UPDATE" not in t for t in texts[5:]
    )
    assert p.repos.outbox.item(item.id).status == "approved"
