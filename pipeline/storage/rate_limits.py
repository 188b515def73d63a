"""Rate limits per provider credential, held in PostgreSQL and shared by every worker.

Each limit (so many sends per period) counts sends in buckets of a sixtieth of its period, per
credential, in `rate_buckets`. A send may go when the last 62 buckets (a little more than the period,
so that no period-long stretch of time, wherever it starts, holds more than the limit, whatever the
bucket edges and a second of network jitter) hold fewer than the limit; it is counted in the current
bucket in the same transaction. The transaction first takes an advisory lock on the credential, so
the check and the count are one step for every process; the time is the database's, the same for every
host. A process that finds the limit reached waits until the oldest counted bucket leaves the window.

On SQLite (one process) the adapters' own in-process limiters are what hold.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.engine import Connection, Engine

log = logging.getLogger(__name__)
WINDOW_BUCKETS = 62
_LOCK = text("SELECT pg_advisory_xact_lock(hashtext('rate:' || :c))")
_NOW = text("SELECT extract(epoch FROM clock_timestamp())")
_USED = text(
    "SELECT bucket, count FROM rate_buckets WHERE credential = :c AND period = :p AND bucket > :since ORDER BY bucket"
)
_COUNT = text(
    "INSERT INTO rate_buckets (credential, period, bucket, count) VALUES (:c, :p, :b, 1) "
    "ON CONFLICT (credential, period, bucket) DO UPDATE SET count = rate_buckets.count + 1 RETURNING count"
)
_FORGET = text("DELETE FROM rate_buckets WHERE credential = :c AND period = :p AND bucket <= :since")


@dataclass(frozen=True)
class Limit:
    count: int  # sends at most
    period: int  # per this many seconds (60 or more)

    @property
    def bucket_seconds(self) -> float:
        return self.period / 60


class SharedRateLimiter:
    """Waits, if need be, until one more send under `credential` keeps within every limit."""

    def __init__(
        self,
        engine: Engine,
        credential: str,
        limits: Sequence[Limit],
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.engine, self.credential, self.sleep = engine, credential[:100], sleep
        self.limits = [limit for limit in limits if limit.count > 0]

    def acquire(self) -> float:
        """Count one send, waiting for room first; returns the seconds waited."""
        waited = 0.0
        while self.limits:
            pause = self._try()
            if pause <= 0:
                break
            log.info("rate limit reached; waiting", extra={"credential": self.credential, "seconds": round(pause, 2)})
            self.sleep(pause)
            waited += pause
        return waited

    def _try(self) -> float:
        """Count the send and return 0, or return how long to wait (nothing counted)."""
        with self.engine.begin() as conn:
            conn.execute(_LOCK, {"c": self.credential})
            now = float(conn.execute(_NOW).scalar_one())
            pause = max((self._room(conn, limit, now) for limit in self.limits), default=0.0)
            if pause > 0:
                return pause
            for limit in self.limits:
                bucket = int(now // limit.bucket_seconds)
                conn.execute(_COUNT, {"c": self.credential, "p": limit.period, "b": bucket})
                conn.execute(_FORGET, {"c": self.credential, "p": limit.period, "since": bucket - WINDOW_BUCKETS})
        return 0.0

    def _room(self, conn: Connection, limit: Limit, now: float) -> float:
        """0 if one more send keeps within `limit`, else the seconds until the oldest bucket leaves."""
        current = int(now // limit.bucket_seconds)
        rows = conn.execute(_USED, {"c": self.credential, "p": limit.period, "since": current - WINDOW_BUCKETS}).all()
        if sum(count for _bucket, count in rows) < limit.count:
            return 0.0
        oldest = min(bucket for bucket, count in rows if count > 0)
        return max((oldest + WINDOW_BUCKETS) * limit.bucket_seconds - now, 0.01)
