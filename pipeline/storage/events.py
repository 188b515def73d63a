"""What one concern's change means for another, in one visible place.

The dispatcher's effects reach beyond the outbox: a finished send settles its ledger claim, a refused
recipient is marked bounced on the subscriber list, a settled item adds its delivery figures to the
metrics and marks the national messages it carried as used. The outbox publishes these events on
its own transaction; the repository that owns each table handles them (wired in
`pipeline.storage.store.Repositories`), so every effect commits or none does. The events themselves
are records (`pipeline.records`), since the outbox port names them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from sqlalchemy.engine import Connection

from pipeline.records import (
    Audited,
    EffectReleased,
    EffectSettled,
    EffectsReopened,
    Event,
    ItemSettled,
    RecipientRefused,
    SubscriberErased,
)

__all__ = [
    "Audited",
    "EffectReleased",
    "EffectSettled",
    "EffectsReopened",
    "Event",
    "EventBus",
    "Handler",
    "ItemSettled",
    "RecipientRefused",
    "SubscriberErased",
]


Handler = Callable[[Connection, Any], None]


class EventBus:
    def __init__(self) -> None:
        self._handlers: dict[type, list[Handler]] = {}

    def subscribe(self, kind: type, handler: Handler) -> None:
        self._handlers.setdefault(kind, []).append(handler)

    def publish(self, conn: Connection, events: Iterable[Event]) -> None:
        """Run every handler of every event on `conn`, inside the caller's transaction."""
        for event in events:
            for handler in self._handlers.get(type(event), ()):
                handler(conn, event)
