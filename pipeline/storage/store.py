"""The repositories, one per concern, each owning its tables, opened together on one engine.

Nothing outside `pipeline/storage/` touches rows: the jobs and the use cases call these, and see each
only as its port (`pipeline.ports`): the fields below are typed as the Protocols, so building them in
`Repositories.on` is where mypy checks every store against its port.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy.engine import Engine

from pipeline.ports import (
    AuditRepository,
    CalendarRepository,
    ControlRepository,
    FeedRepository,
    LedgerRepository,
    MeasureRepository,
    MetricsRepository,
    OutboxRepository,
    SubscriberRepository,
    UserRepository,
)
from pipeline.storage.audit_store import AuditStore
from pipeline.storage.calendar_store import CalendarStore
from pipeline.storage.control_store import ControlStore
from pipeline.storage.db import make_engine, migrate
from pipeline.storage.events import (
    Audited,
    EffectReleased,
    EffectSettled,
    EffectsReopened,
    EventBus,
    ItemSettled,
    RecipientRefused,
    SubscriberErased,
)
from pipeline.storage.feeds_store import FeedStore
from pipeline.storage.ledger import DEFAULT_LEASE, LedgerStore
from pipeline.storage.measure_store import MeasureStore
from pipeline.storage.metrics_store import MetricsStore
from pipeline.storage.outbox_store import OutboxStore
from pipeline.storage.subscribers_store import SubscriberStore
from pipeline.storage.users_store import UserStore


@dataclass(frozen=True)
class Repositories:
    """The repositories of one database. Each is handed only to the code that needs its concern."""

    engine: Engine
    audit: AuditRepository
    calendar: CalendarRepository
    control: ControlRepository
    feeds: FeedRepository
    ledger: LedgerRepository
    metrics: MetricsRepository
    outbox: OutboxRepository
    subscribers: SubscriberRepository
    users: UserRepository
    measures: MeasureRepository

    @classmethod
    def on(cls, engine: Engine, *, lease: timedelta = DEFAULT_LEASE) -> Repositories:
        """The repositories on one engine, with the outbox's events wired to the concerns they touch."""
        events = EventBus()
        feeds, ledger, metrics = FeedStore(engine), LedgerStore(engine, lease=lease), MetricsStore(engine, events)
        subscribers, audit, control = SubscriberStore(engine, events), AuditStore(engine), ControlStore(engine)
        outbox = OutboxStore(engine, events)
        events.subscribe(Audited, audit.on_audited)
        events.subscribe(SubscriberErased, outbox.on_subscriber_erased)
        events.subscribe(SubscriberErased, ledger.on_subscriber_erased)
        events.subscribe(SubscriberErased, control.on_subscriber_erased)
        events.subscribe(EffectSettled, ledger.on_effect_settled)
        events.subscribe(EffectReleased, ledger.on_effect_released)
        events.subscribe(EffectsReopened, ledger.on_effects_reopened)
        events.subscribe(RecipientRefused, subscribers.on_recipient_refused)
        events.subscribe(ItemSettled, metrics.on_item_settled)
        events.subscribe(ItemSettled, feeds.on_item_settled)
        return cls(
            engine=engine,
            audit=audit,
            calendar=CalendarStore(engine, events),
            control=control,
            feeds=feeds,
            ledger=ledger,
            metrics=metrics,
            outbox=outbox,
            subscribers=subscribers,
            users=UserStore(engine),
            measures=MeasureStore(engine),
        )

    @property
    def is_postgres(self) -> bool:
        return self.engine.dialect.name == "postgresql"

    def close(self) -> None:
        self.ledger.close()
        self.engine.dispose()


def open_repositories(
    database_url: str, *, upgrade: bool = True, lease: timedelta = DEFAULT_LEASE, pool_size: int = 5
) -> Repositories:
    """Open the database, bringing its schema up to date first (once per process, under a lock).
    `pool_size` connections are kept: each sending thread holds one while a dispatch runs."""
    engine = make_engine(database_url, pool_size=pool_size)
    if upgrade:
        migrate(engine)
    return Repositories.on(engine, lease=lease)
