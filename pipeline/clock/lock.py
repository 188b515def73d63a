"""Exactly one clock per database: an advisory lock on PostgreSQL, a lock row with a heartbeat on SQLite.

Two clocks would not send anything twice (send claims are leased), but they would do every wake-up's
work twice over, so a second `comms run` exits with a clear message, or waits with `--wait`. On
SQLite a clock that stops beating (killed, or stalled) loses the lock after `stale_after`; if it comes
back it finds the lock taken and stops.
"""

from __future__ import annotations

import logging
import os
import socket
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlalchemy.exc import SQLAlchemyError

from pipeline.errors import CommsError
from pipeline.storage.store import Repositories

log = logging.getLogger(__name__)
LOCK = "clock"
PG_LOCK_ID = 7_220_485_301  # any fixed 64-bit number, the same for every clock of this database
# Advisory locks are per database, not per schema: the key adds the schema's hash, so deployments (or
# tests) in different schemas of one database each have their clock, and one schema never has two.
PG_LOCK_KEY = "(CAST(:id AS bigint) + hashtext(current_schema()))"
# the one advisory lock a clock's own session takes: still held by this backend?
HELD = text("SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid() AND granted)")


class ClockBusy(CommsError):
    def __init__(self, holder: str) -> None:
        super().__init__(
            f"another clock is already running ({holder}); only one `comms run` may run per database. "
            "Stop it first, or start this one with --wait to take over when it stops."
        )


def _utcnow() -> datetime:
    return datetime.now(UTC)


class ClockLock:
    def __init__(self, repos: Repositories, stale_after: timedelta, clock: Callable[[], datetime] = _utcnow) -> None:
        self.repos, self.stale_after, self.clock = repos, stale_after, clock
        self.holder = f"{socket.gethostname()}:{os.getpid()}"
        self._conn: Connection | None = None

    def acquire(self) -> None:
        if self.repos.is_postgres:
            conn = self.repos.engine.connect()
            if not conn.execute(text(f"SELECT pg_try_advisory_lock({PG_LOCK_KEY})"), {"id": PG_LOCK_ID}).scalar():
                conn.close()
                raise ClockBusy("another process holds the PostgreSQL advisory lock")
            conn.commit()
            self._conn = conn
            return
        holder = self.repos.control.acquire_lock(LOCK, self.holder, self.clock(), self.stale_after)
        if holder is not None:
            raise ClockBusy(holder)

    def heartbeat(self) -> bool:
        """Refresh the lock; False if another clock has taken it (this one must stop)."""
        if self._conn is not None:  # PostgreSQL: the advisory lock lives as long as its session
            try:
                held = bool(self._conn.execute(HELD).scalar())
                self._conn.commit()
            except SQLAlchemyError:
                held = False
            if not held:  # the session dropped (a reconnected one holds nothing): another clock may run
                log.error("clock lock lost: its PostgreSQL session ended; stopping")
            return held
        holder = self.repos.control.acquire_lock(LOCK, self.holder, self.clock(), self.stale_after, take=False)
        if holder is not None:
            log.error("clock lock lost to another clock; stopping", extra={"holder": holder})
            return False
        return True

    def release(self) -> None:
        if self._conn is not None:
            self._conn.execute(text(f"SELECT pg_advisory_unlock({PG_LOCK_KEY})"), {"id": PG_LOCK_ID})
            self._conn.close()
            self._conn = None
        else:
            self.repos.control.release_lock(LOCK, self.holder)


def acquire_or_wait(lock: ClockLock, wait: bool, pause: float = 10.0) -> None:
    while True:
        try:
            lock.acquire()
            return
        except ClockBusy:
            if not wait:
                raise
            log.info("waiting for the other clock to stop")
            time.sleep(pause)
