"""The clock watchdog in the web process: the clock cannot report its own death, so the web workspace
checks every five minutes that it still wakes, and the admins are alerted when it has not for 30
minutes (`pipeline.jobs.notify.check_clock`; once per silence, however many processes check).

`start_watchdog(ctx)` starts a daemon thread; call it once per process that serves requests (with
gunicorn, in each worker: the app factory runs there unless `--preload`). `Watchdog.stop()` ends it.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import UTC, datetime

from pipeline.context import AppContext
from pipeline.jobs.notify import check_clock

log = logging.getLogger(__name__)
INTERVAL_SECONDS = 300.0


def _utcnow() -> datetime:
    return datetime.now(UTC)


class Watchdog:
    """A thread that runs `check_clock` every `interval` seconds until `stop` is set. A check that fails
    (the database away for a moment) is logged, and the next one runs as usual."""

    def __init__(
        self,
        ctx: AppContext,
        interval: float = INTERVAL_SECONDS,
        stop: threading.Event | None = None,
        clock: Callable[[], datetime] = _utcnow,
    ) -> None:
        self.ctx, self.interval, self.clock = ctx, interval, clock
        self.stop_event = stop or threading.Event()
        self.checks = 0  # how many checks have run (for `comms status`-like views and the tests)
        self.thread = threading.Thread(target=self._loop, name="clock-watchdog", daemon=True)

    def _loop(self) -> None:
        while not self.stop_event.wait(self.interval):
            self.check()

    def check(self) -> None:
        try:
            outcome = check_clock(self.ctx, self.clock())
        except Exception:
            log.exception("clock watchdog check failed")
        else:
            if outcome.counts:
                log.warning("clock watchdog: the clock is silent; admins alerted", extra=dict(outcome.counts))
        self.checks += 1

    def start(self) -> Watchdog:
        self.thread.start()
        return self

    def stop(self, timeout: float | None = 10.0) -> None:
        self.stop_event.set()
        if self.thread.is_alive():
            self.thread.join(timeout)


def start_watchdog(
    ctx: AppContext,
    *,
    interval: float = INTERVAL_SECONDS,
    stop: threading.Event | None = None,
    clock: Callable[[], datetime] = _utcnow,
) -> Watchdog:
    """Start the clock watchdog for this process; the first check runs after `interval` seconds."""
    return Watchdog(ctx, interval, stop, clock).start()
