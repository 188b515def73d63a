"""Storage on real SQLite, and on PostgreSQL where it runs: migrations, ledger, outbox, metrics."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlmodel import SQLModel

from content_calendar.calendar import load_calendar
from pipeline.errors import Conflict, NotFound
from pipeline.records import FeedSpec, ItemStatus, MetricPoint, NationalMessage, Subscriber
from pipeline.storage.store import Repositories
from tests.conftest import EXAMPLE

NOW = datetime(2026, 11, 5, 8, 0, tzinfo=UTC)


def test_migrations_make_exactly_the_models(store: Repositories) -> None:
    with store.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), SQLModel.metadata)
    assert diff == []


def test_plan_round_trips_and_replaces(store: Repositories, strategy) -> None:  # type: ignore[no-untyped-def]
    entries = load_calendar(sorted((EXAMPLE / "calendar").glob("*")), strategy)
    store.calendar.import_plan(strategy, entries, NOW)
    assert store.calendar.strategy() == strategy
    assert store.calendar.entries() == sorted(entries, key=lambda e: e.id)
    store.calendar.import_plan(strategy, entries[:2], NOW)
    assert len(store.calendar.entries()) == 2


def test_ledger_claims_once(store: Repositories) -> None:
    assert store.ledger.claim("send:x:1:a@example.org", "send", NOW) == "new"
    assert store.ledger.claim("send:x:1:a@example.org", "send", NOW) == "started"
    store.ledger.finish("send:x:1:a@example.org", NOW)
    assert store.ledger.claim("send:x:1:a@example.org", "send", NOW) == "done"


def _item(store: Repositories, key: str = "e@2026-11-05", approval: str = "required", **more):  # type: ignore[no-untyped-def]
    values = {"status": "awaiting_approval", **more}
    return store.outbox.add_item(
        NOW,
        occurrence_key=key,
        entry_id="e",
        channel="facebook",
        kind="post",
        title="T",
        body="Hello",
        audiences=["residents"],
        objectives=["1"],
        due_at=NOW,
        approval=approval,
        **values,
    )


def test_outbox_writes(store: Repositories) -> None:
    """The repository's data operations; the rules that drive them are in tests/integration/test_services_outbox.py."""
    item = _item(store)
    assert _item(store).id == item.id, "one item per occurrence"
    approved = store.outbox.transition(item.id, "approved", NOW, by="Sam (comms)", allowed_from=("awaiting_approval",))
    assert approved.approved_by == "Sam (comms)" and approved.approved_at == NOW
    edited = store.outbox.edit_item(
        item.id, NOW, {"body": "Hello again"}, by="Alex", status=ItemStatus.AWAITING_APPROVAL, allowed_from=["approved"]
    )
    assert edited.body == "Hello again" and edited.edited_by == "Alex"
    assert edited.status == "awaiting_approval" and edited.approved_by is None, "an item not left approved loses it"
    with pytest.raises(Conflict):  # the write is conditional on the status the caller read
        store.outbox.transition(item.id, "approved", NOW, by="x", allowed_from=("draft",))
    with pytest.raises(NotFound):
        store.outbox.transition(10_000, "approved", NOW, by="x")
    assert store.outbox.item(item.id) == edited
    auto = _item(store, "auto@2026-11-05", approval="auto", status="approved", approved_by="auto")
    assert auto.status == "approved" and auto.approved_by == "auto" and auto.approved_at == NOW


def test_deliveries_are_unique_per_recipient(store: Repositories) -> None:
    item = _item(store)
    store.outbox.ensure_deliveries(item.id, [("a@example.org", "residents"), ("a@example.org", "parents")])
    store.outbox.ensure_deliveries(item.id, [("a@example.org", "residents"), ("b@example.org", "residents")])
    assert [d.recipient for d in store.outbox.deliveries(item.id)] == ["a@example.org", "b@example.org"]


def test_metric_imports_are_idempotent(store: Repositories) -> None:
    points = [
        MetricPoint(date(2026, 11, 3), "impressions", 120, "import:x.csv", import_key="k1"),
        MetricPoint(date(2026, 11, 4), "impressions", 80, "import:x.csv", import_key="k2"),
    ]
    assert store.metrics.add(points) == 2
    assert store.metrics.add(points) == 0
    assert sum(p.value for p in store.metrics.between(date(2026, 11, 1), date(2026, 11, 30))) == 200


def test_messages_dedupe_within_and_across_feeds(store: Repositories) -> None:
    store.feeds.upsert([FeedSpec("https://a.example/feed", "A"), FeedSpec("https://b.example/feed", "B")])
    a, b = (f.id for f in sorted(store.feeds.all(), key=lambda f: f.spec.url))
    msg = NationalMessage("g1", "https://x.example/1", "Title", "<p>s</p>", None, "h1", ("1",), ("residents",))
    assert store.feeds.save_messages(a, [("g1", msg)], NOW) == (1, 0)
    assert store.feeds.save_messages(a, [("g1", msg)], NOW) == (0, 0)
    assert store.feeds.save_messages(b, [("other-guid", msg)], NOW) == (0, 0), "same link from a second feed"
    edited = NationalMessage("g1", msg.link, "Title (updated)", "<p>t</p>", None, "h2")
    store.feeds.mark_messages_used([m.id for m in store.feeds.messages()])  # type: ignore[misc]
    assert store.feeds.save_messages(a, [("g1", edited)], NOW + timedelta(hours=1)) == (0, 1)
    (stored,) = store.feeds.messages()
    assert stored.title == "Title (updated)" and stored.changed_after_sent


def test_subscribers_and_erasure(store: Repositories) -> None:
    sub = Subscriber("Head@School.example.org", "Mrs A", "School", ("headteachers",), "form", date(2025, 9, 1))
    assert store.subscribers.upsert([sub]) == (1, 0)
    assert store.subscribers.recipients({"headteachers"})[0][0] == "head@school.example.org"
    store.subscribers.set_status("head@school.example.org", "unsubscribed", NOW)
    assert store.subscribers.recipients({"headteachers"}) == []
    assert store.subscribers.erase("head@school.example.org", "d" * 64, NOW)
    assert store.subscribers.suppressed(["d" * 64, "e" * 64]) == {"d" * 64}
    assert store.subscribers.all() == []


def test_freeze_and_lock(store: Repositories) -> None:
    assert not store.control.freeze().paused
    store.control.set_freeze(True, "duty officer", "critical incident in Grays", NOW)
    assert store.control.freeze().paused and store.control.freeze().reason == "critical incident in Grays"
    store.control.set_freeze(False, "duty officer", "", NOW)
    assert not store.control.freeze().paused
    assert store.control.acquire_lock("clock", "one", NOW, timedelta(minutes=2)) is None
    assert store.control.acquire_lock("clock", "two", NOW, timedelta(minutes=2)) == "one"
    assert store.control.acquire_lock("clock", "two", NOW + timedelta(minutes=3), timedelta(minutes=2)) is None


def test_job_runs_carry_the_queue_job_and_the_migration_goes_down_and_up(store: Repositories) -> None:
    from alembic import command
    from sqlalchemy import inspect

    from pipeline.storage.db import alembic_config, current_revision

    plain = store.control.start_job("wake", NOW)
    store.control.finish_job(plain, NOW, "ok", "collect=ok")
    for attempt in (1, 2):
        run = store.control.start_job("collect", NOW + timedelta(minutes=attempt), queue_job_id=41)
        store.control.finish_job(run, NOW + timedelta(minutes=attempt), "failed", f"failures=1\nattempt {attempt}")
    assert [r.detail for r in store.control.queue_job_runs(41)] == ["failures=1\nattempt 2", "failures=1\nattempt 1"]
    assert store.control.queue_job_runs(42) == []
    cfg = alembic_config(store.engine)
    with store.engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0015")
        assert current_revision(conn) == "0015"
        assert "queue_job_id" not in {c["name"] for c in inspect(conn).get_columns("job_runs")}
        command.upgrade(cfg, "head")
        assert "ix_job_runs_queue_job_id" in {i["name"] for i in inspect(conn).get_indexes("job_runs")}
    assert [r.job for r in store.control.last_runs()] == ["collect", "wake"]
    assert store.control.queue_job_runs(41) == []  # the ids went with the column
