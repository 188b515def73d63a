"""An item ready to send (`Prepared`: its adapter, recipients, renderer and delivery rows in their
stable order, which batch numbers count in), and the personalisers a process keeps per item."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from pipeline.ports import ChannelAdapter
from pipeline.records import Delivery, OutboxItem, Subscriber
from pipeline.rendering.personalise import ItemPersonaliser

# an item's personaliser, and its per-audience forms with counted links (None when links are not counted)
Kept = tuple[ItemPersonaliser, Callable[[str], ItemPersonaliser] | None]


class Personalisers:
    """An item's personaliser (its HTML and text split once), kept per process by item, edition and
    content hash, so a worker sending the item's next batch does not split it, or read its edition,
    again. An edit changes the hash, so a changed item is never personalised from the old parts."""

    def __init__(self, size: int = 32) -> None:
        self.size = size
        self._kept: dict[tuple[int, int | None, str], Kept] = {}
        self._lock = threading.Lock()

    def get(self, key: tuple[int, int | None, str], make: Callable[[], Kept]) -> Kept:
        with self._lock:
            found = self._kept.get(key)
        if found is None:
            found = make()
            with self._lock:
                if len(self._kept) >= self.size:
                    self._kept.pop(next(iter(self._kept)))  # the oldest first
                self._kept[key] = found
        return found


@dataclass(frozen=True)
class Prepared:
    """An item ready to send: its adapter, the active recipients, the renderer, and every delivery row in
    a stable order (by id), which is what batch numbers count in."""

    item: OutboxItem
    adapter: ChannelAdapter
    active: dict[str, Subscriber | None]
    render: Callable[[str, str], tuple[str, str]]
    prefix: str
    deliveries: list[Delivery]

    def pending_in(self, number: int, size: int, now: datetime) -> list[Delivery]:
        """Batch `number`'s deliveries still to send at `now` (pending, and not waiting for a retry)."""
        return [
            d
            for d in self.deliveries[number * size : (number + 1) * size]
            if d.status == "pending" and (d.next_attempt_at is None or d.next_attempt_at <= now)
        ]

    def batches(self, size: int, now: datetime) -> list[int]:
        """The numbers of the batches with something to send at `now`."""
        return [n for n in range((len(self.deliveries) + size - 1) // size) if self.pending_in(n, size, now)]
