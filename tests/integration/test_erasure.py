"""Erasure leaves no copy of an address in any table, and a suppression list keeps it out of imports.

A real month's send to a real SMTP server puts the address in deliveries, ledger keys and a job's
failure text; after `erase` every text cell of the database is searched for it."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from pipeline.app import Pipeline
from pipeline.errors import NotFound
from pipeline.services.actor import Actor
from pipeline.services.outbox import OutboxService
from pipeline.services.subscribers import SubscriberService
from tests.conftest import EXAMPLE

COMPOSE_AT = datetime(2026, 11, 3, 9, 0, tzinfo=UTC)
BULLETIN_DUE = datetime(2026, 11, 5, 8, 0, tzinfo=UTC)
ADDRESS = "head@gable-hall.example.org"
TERMINAL = Actor.cli("ops")


def _cells_holding(database: Path, needle: str) -> list[str]:
    found = []
    with sqlite3.connect(database) as db:
        for (table,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'").fetchall():
            cursor = db.execute(f'SELECT * FROM "{table}"')  # names from sqlite_master
            names = [d[0] for d in cursor.description]
            for row in cursor:
                for name, value in zip(names, row, strict=True):
                    text = value.decode(errors="replace") if isinstance(value, bytes) else str(value)
                    if needle.lower() in text.lower():
                        found.append(f"{table}.{name}")
    return found


@pytest.fixture
def sent(pipeline: Pipeline) -> Pipeline:
    pipeline.import_plan(now=COMPOSE_AT)
    pipeline.import_subscribers()
    pipeline.compose(COMPOSE_AT, entry="headteacher-bulletin")
    item = next(i for i in pipeline.repos.outbox.items() if i.entry_id == "headteacher-bulletin")
    pipeline.repos.outbox.transition(item.id, "approved", COMPOSE_AT, by="Prevent Coordinator")
    assert pipeline.dispatch(BULLETIN_DUE + timedelta(minutes=1)).counts["sent"] == 14
    run = pipeline.repos.control.start_job("dispatch", BULLETIN_DUE)
    pipeline.repos.control.finish_job(run, BULLETIN_DUE, "partial", f"item 1: {ADDRESS}: SMTP 452 mailbox full")
    return pipeline


def test_erasure_leaves_no_copy_of_the_address(sent: Pipeline, capsys: pytest.CaptureFixture[str]) -> None:
    database = Path(sent.settings.database_url.removeprefix("sqlite:///"))
    assert {"subscribers.email", "deliveries.recipient", "ledger.key", "job_runs.detail"} <= set(
        _cells_holding(database, ADDRESS)
    ), "the copies the erasure must reach"
    SubscriberService.of(sent).erase(TERMINAL, ADDRESS.upper())
    assert _cells_holding(database, ADDRESS) == []
    item = next(i for i in sent.repos.outbox.items() if i.entry_id == "headteacher-bulletin")
    view = OutboxService.of(sent).show(TERMINAL, item.id)
    assert len(view.deliveries) == 14 and sum(d.recipient.startswith("erased:") for d in view.deliveries) == 1
    assert sent.dispatch(BULLETIN_DUE + timedelta(minutes=10)).counts["sent"] == 0, "nothing sent again"
    figures = sent.repos.metrics.between(BULLETIN_DUE.date(), BULLETIN_DUE.date())
    assert sum(p.value for p in figures if p.metric == "sent") == 28, "aggregate figures stay true (2 objectives)"


def test_an_import_leaves_an_erased_address_out_until_allowed_back(sent: Pipeline) -> None:
    subscribers = SubscriberService.of(sent)
    subscribers.erase(TERMINAL, ADDRESS)
    again = subscribers.import_file(TERMINAL, EXAMPLE / "subscribers.csv")
    assert again.suppressed == 1 and ADDRESS not in {s.email for s in sent.repos.subscribers.all()}
    database = Path(sent.settings.database_url.removeprefix("sqlite:///"))
    assert _cells_holding(database, ADDRESS) == [], "the suppression list holds a keyed digest, not the address"
    with pytest.raises(NotFound):
        subscribers.allow(TERMINAL, "someone.else@example.org")
    subscribers.allow(TERMINAL, ADDRESS)
    back = subscribers.import_file(TERMINAL, EXAMPLE / "subscribers.csv")
    assert back.suppressed == 0 and ADDRESS in {s.email for s in sent.repos.subscribers.all()}
    assert [e.action for e in sent.repos.audit.entries(action="subscriber.")[0]] == [
        "subscriber.allowed",
        "subscriber.erased",
    ]
