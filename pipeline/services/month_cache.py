"""A process's planned months, kept while the stored plan and the team's overrides stay the same.

The web calendar plans a month (and the three months its gaps read) on every page; with a large plan
that is most of the page's time, and the answer only changes when the plan is imported or an override
is made. The key holds the plan's version and every override, so either change is a miss.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

T = TypeVar("T")


class MonthCache(Generic[T]):
    def __init__(self, size: int = 36) -> None:
        self.size = size
        self._lock = threading.Lock()
        self._kept: OrderedDict[Hashable, T] = OrderedDict()

    def get(self, key: Hashable, make: Callable[[], T]) -> T:
        with self._lock:
            if key in self._kept:
                self._kept.move_to_end(key)
                return self._kept[key]
        made = make()  # outside the lock: two threads may both plan a new month once
        with self._lock:
            self._kept[key] = made
            while len(self._kept) > self.size:
                self._kept.popitem(last=False)
        return made
