"""The Store: the only code that touches rows. Each concern lives in its own module; this joins them."""

from __future__ import annotations

from pipeline.storage.calendar_store import CalendarStore
from pipeline.storage.control_store import ControlStore
from pipeline.storage.db import make_engine, migrate
from pipeline.storage.feeds_store import FeedStore
from pipeline.storage.ledger import LedgerStore
from pipeline.storage.metrics_store import MetricsStore
from pipeline.storage.outbox_store import OutboxStore
from pipeline.storage.subscribers_store import SubscriberStore


class Store(CalendarStore, ControlStore, FeedStore, LedgerStore, MetricsStore, OutboxStore, SubscriberStore):
    """Implements the `ports.Store` protocol on SQLite and PostgreSQL."""


def open_store(database_url: str) -> Store:
    """Open (and migrate) the database."""
    engine = make_engine(database_url)
    migrate(engine)
    return Store(engine)
