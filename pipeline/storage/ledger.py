"""The effects ledger: one row per effect key. It decides what is due and what is done, so a missed,
doubled or replayed wake-up never loses work and never repeats it.

A claim is held by its owner (one process) under a lease, a wall-clock time after which it counts as
abandoned. While a lease is alive nobody else acts on the key: two dispatchers, or a dispatcher beside
the clock, never send the same thing. A claim whose lease expired (its process died) or was released
(the attempt failed and will be retried) is recovered by the next claimant, who is told the earlier
attempt may have landed, so the channel's own idempotency decides.
"""

from __future__ import annotations

import os
import secrets
import socket
import threading
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import Text, and_, any_, bindparam, func, literal, literal_column, or_, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Engine
from sqlmodel import select

from pipeline.records import Claim
from pipeline.storage.base import StoreBase, scrub
from pipeline.storage.events import EffectReleased, EffectSettled, EffectsReopened, SubscriberErased
from pipeline.storage.tables import LedgerRow, table

_LEDGER = table(LedgerRow)
_FINISH = (
    update(_LEDGER)
    .where(_LEDGER.c.key == bindparam("k"))
    .values(state="done", finished_at=bindparam("at"), detail=bindparam("detail"), owner=None, lease_until=None)
)
DEFAULT_LEASE = timedelta(minutes=10)
CHUNK = 500


class LedgerState(StrEnum):
    STARTED = "started"
    DONE = "done"
    FAILED = "failed"


def process_owner() -> str:
    """A name for this process's claims, unique even if a pid is reused: host:pid:random."""
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"


def owner_is_dead(owner: str) -> bool:
    """True only when the owner is a process of this host that no longer exists: its claims need not
    wait for their lease to run out. An owner on another host is trusted until its lease expires."""
    host, _, rest = owner.partition(":")
    pid_text = rest.split(":", 1)[0]
    if host != socket.gethostname() or not pid_text.isdigit():
        return False
    try:
        os.kill(int(pid_text), 0)
    except ProcessLookupError:
        return True
    except PermissionError:  # alive, someone else's
        return False
    return False


def _utcnow() -> datetime:
    return datetime.now(UTC)


class LedgerStore(StoreBase):
    """Implements `ports.LedgerRepository`, and handles the outbox's claim events."""

    def __init__(
        self,
        engine: Engine,
        *,
        owner: str | None = None,
        lease: timedelta = DEFAULT_LEASE,
        clock: Callable[[], datetime] = _utcnow,
    ) -> None:
        super().__init__(engine)
        self.owner = owner or process_owner()
        self.lease = lease
        self.clock = clock  # wall clock for leases, apart from the `now` a job acts as of (`--at`)
        self._local = threading.local()
        self._opened: list[Connection] = []
        self._opened_lock = threading.Lock()
        self._finish_sql_cache: tuple[str, tuple[str, ...] | None, Any, dict[str, Any]] | None = None

    def state(self, key: str) -> str | None:
        with self.engine.connect() as conn:
            return conn.execute(select(_LEDGER.c.state).where(_LEDGER.c.key == key)).scalar()

    def states_for(self, keys: list[str]) -> dict[str, str]:
        """The states of these keys (absent keys are left out), in one query per 500 keys."""
        out: dict[str, str] = {}
        with self.engine.connect() as conn:
            for i in range(0, len(keys), CHUNK):
                rows = conn.execute(select(_LEDGER.c.key, _LEDGER.c.state).where(self._among(keys[i : i + CHUNK])))
                out.update({str(k): str(v) for k, v in rows})
        return out

    def claim(self, key: str, kind: str, now: datetime, *, retry_failed: bool = False) -> Claim:
        """Claim one effect for this process (see `claim_many`)."""
        return self.claim_many([key], kind, now, retry_failed=retry_failed)[key]

    def claim_many(self, keys: list[str], kind: str, now: datetime, *, retry_failed: bool = False) -> dict[str, Claim]:
        """Claim effects for this process under a lease, 500 keys a transaction: rows are made for new
        keys, expired or released claims are taken over (failed ones too with `retry_failed`), and
        each key says what was found."""
        states: dict[str, Claim] = {}
        for i in range(0, len(keys), CHUNK):
            with self.engine.begin() as conn:
                states.update(self._claim_chunk(conn, keys[i : i + CHUNK], kind, now, retry_failed))
        return states

    def _claim_chunk(
        self, conn: Connection, keys: list[str], kind: str, now: datetime, retry_failed: bool
    ) -> dict[str, Claim]:
        """Two statements: what the keys hold now, then one upsert of the keys that were absent or
        claimable (released, expired, this process's own, a dead process's; failed ones with
        `retry_failed`), returning what it claimed. The others are answered from the read, so the
        upsert locks no row it will not take (a done row, or one another process holds): it never
        crosses that process's renewals or releases, which lock the same rows in another order, and
        PostgreSQL never has a deadlock to break. A third statement reads again only the keys another
        process touched between the read and the upsert (PostgreSQL reads committed rows; SQLite's
        BEGIN IMMEDIATE has already shut everyone else out)."""
        keys = list(dict.fromkeys(keys))  # one row may be upserted once a statement
        wall = self.clock()
        until = wall + self.lease
        before = {str(k): (str(s), o, lease) for k, s, o, lease in conn.execute(self._read(keys))}
        dead = sorted({o for s, o, _lease in before.values() if s == "started" and o and owner_is_dead(o)})

        def claimable(state: str, owner: str | None, lease: datetime | None) -> bool:
            if state == "failed":
                return retry_failed
            return state == "started" and (lease is None or lease < wall or owner == self.owner or owner in dead)

        out: dict[str, Claim] = {}
        todo: list[str] = []
        for key in keys:
            if key in before and not claimable(*before[key]):
                state = before[key][0]
                out[key] = Claim.BUSY if state == "started" else Claim(state)
            else:
                todo.append(key)
        if not todo:
            return out
        upsert = self._upsert(todo, kind, now, until, wall, dead, retry_failed)
        claimed = {str(k): bool(new) for k, new in conn.execute(upsert)}
        unsure: list[str] = []
        for key in todo:
            if key in claimed:
                # PostgreSQL: xmax is 0 on a row this statement inserted, and our lock's id on one it
                # took over (an implementation detail, relied on widely; tests/integration/test_ledger.py)
                inserted = claimed[key] if self.is_postgres else key not in before
                out[key] = Claim.NEW if inserted else Claim.RECOVERED
            else:
                unsure.append(key)  # made, taken or settled by another process a moment ago
        if unsure:
            for key, state, _owner, _lease in conn.execute(self._read(unsure)):
                out[str(key)] = Claim(state) if state != "started" else Claim.BUSY
        return out

    def _among(self, keys: list[str]) -> Any:
        """`ledger.key` is one of these keys. On PostgreSQL as `key = ANY(one array)`: a list of 500
        bound values, once the server kept a generic plan for it on a table it had no statistics
        for, became a sequential scan comparing every row with every value, and claims slowed from
        15,000 to 300 keys a second on a ledger of 80,000 rows (`benchmarks/pg_write_rate.py`). An
        array is one statement whatever the number of keys, hashed when the table is scanned and
        looked up in the primary key's index otherwise."""
        if self.is_postgres:
            return _LEDGER.c.key == any_(literal(keys, postgresql.ARRAY(Text)))
        return _LEDGER.c.key.in_(keys)

    def _read(self, keys: list[str]) -> Any:
        row = _LEDGER.c
        return select(row.key, row.state, row.owner, row.lease_until).where(self._among(keys))

    def _upsert(
        self,
        keys: list[str],
        kind: str,
        now: datetime,
        until: datetime,
        wall: datetime,
        dead: list[str],
        retry_failed: bool,
    ) -> Any:
        """INSERT the keys as started by this process; ON CONFLICT take over a row whose claim is
        released, expired, this process's own or a dead process's (a failed one too with
        `retry_failed`). RETURNING the keys claimed, and on PostgreSQL whether each row is new."""
        fields = {
            "kind": kind,
            "state": "started",
            "started_at": now,
            "owner": self.owner,
            "lease_until": until,
            "detail": "",
        }
        stmt: postgresql.Insert | sqlite.Insert
        if self.is_postgres:  # one statement whatever the number of keys: they travel as one array
            given = func.unnest(literal(keys, postgresql.ARRAY(Text))).column_valued("key")
            values = [literal(v, _LEDGER.c[name].type) for name, v in fields.items()]
            source = select(given, *values).order_by(given)  # rows locked in the primary key's order
            stmt = postgresql.insert(_LEDGER).from_select(["key", *fields], source)
            dead_owner = _LEDGER.c.owner == any_(literal(dead, postgresql.ARRAY(Text)))
        else:
            stmt = sqlite.insert(_LEDGER).values([{"key": k, **fields} for k in keys])
            dead_owner = _LEDGER.c.owner.in_(dead)
        row = _LEDGER.c
        takeover = and_(
            row.state == "started",
            or_(row.lease_until.is_(None), row.lease_until < wall, row.owner == self.owner, dead_owner),
        )
        stmt = stmt.on_conflict_do_update(
            index_elements=["key"],
            set_={"state": "started", "owner": self.owner, "lease_until": until, "finished_at": None},
            where=or_(takeover, row.state == "failed") if retry_failed else takeover,
        )
        inserted = literal_column("(xmax = 0)") if self.is_postgres else literal(True)
        return stmt.returning(row.key, inserted)

    def release(self, keys: Iterable[str]) -> None:
        """Give up this process's live claims on these keys (not attempted, or to be retried later by
        anyone): the next claimant recovers them at once."""
        keys = list(keys)
        for i in range(0, len(keys), CHUNK):
            with self.engine.begin() as conn:
                conn.execute(
                    update(_LEDGER)
                    .where(
                        self._among(keys[i : i + CHUNK]),
                        _LEDGER.c.state == "started",
                        _LEDGER.c.owner == self.owner,
                    )
                    .values(owner=None, lease_until=None)
                )

    def renew(self, keys: Iterable[str]) -> set[str]:
        """Extend this process's leases on these keys; returns the keys it still holds (a key another
        process took over after this one's lease ran out is no longer among them)."""
        keys = list(keys)
        held: set[str] = set()
        until = self.clock() + self.lease
        for i in range(0, len(keys), CHUNK):
            chunk = keys[i : i + CHUNK]
            mine = and_(self._among(chunk), _LEDGER.c.state == "started", _LEDGER.c.owner == self.owner)
            with self.engine.begin() as conn:
                conn.execute(update(_LEDGER).where(mine).values(lease_until=until))
                held |= {str(k) for k in conn.execute(select(_LEDGER.c.key).where(mine)).scalars()}
        return held

    def finish_fast(self, key: str, now: datetime, detail: str = "") -> None:
        """Mark one effect done and commit, on a connection this thread keeps: the per-recipient hot
        path. The statement is compiled once and run on the driver's own cursor, since SQLAlchemy's
        per-execute work cost more than the UPDATE and its commit together."""
        conn = self._thread_connection()
        sql, order, to_db, fixed = self._finish_sql()
        values = {**fixed, "k": key, "at": to_db(now) if to_db else now, "detail": detail[:2000]}
        raw = conn.connection.dbapi_connection
        assert raw is not None
        cursor = raw.cursor()
        try:
            cursor.execute(sql, tuple(values[name] for name in order) if order else values)
        finally:
            cursor.close()
        raw.commit()

    def _finish_sql(self) -> tuple[str, tuple[str, ...] | None, Any, dict[str, Any]]:
        if self._finish_sql_cache is None:
            compiled = _FINISH.compile(dialect=self.engine.dialect)
            order = tuple(compiled.positiontup) if compiled.positiontup else None
            to_db = _LEDGER.c.finished_at.type.bind_processor(self.engine.dialect)
            fixed = {name: value for name, value in compiled.params.items() if name not in ("k", "at", "detail")}
            self._finish_sql_cache = (str(compiled), order, to_db, fixed)
        return self._finish_sql_cache

    def _thread_connection(self) -> Connection:
        conn: Connection | None = getattr(self._local, "conn", None)
        if conn is None or conn.closed:
            conn = self._local.conn = self.engine.connect()
            with self._opened_lock:
                self._opened.append(conn)
        return conn

    def close(self) -> None:
        """Close the connections the hot path kept per thread (the pool's own go with the engine)."""
        with self._opened_lock:
            opened, self._opened = self._opened, []
        for conn in opened:
            conn.close()

    def on_subscriber_erased(self, conn: Connection, event: SubscriberErased) -> None:
        """Send keys end with the address (`send:CHANNEL:ITEM:ADDRESS`): they end with the alias instead,
        and no detail text keeps the address."""
        ledger = table(LedgerRow)
        suffix = ":" + event.address
        keys = conn.execute(
            ledger.select().with_only_columns(ledger.c.key).where(ledger.c.key.endswith(suffix, autoescape=True))
        ).scalars()
        for key in list(keys):
            renamed = key[: -len(event.address)] + event.alias
            conn.execute(update(ledger).where(ledger.c.key == key).values(key=renamed))
        scrub(conn, ledger, ledger.c.detail, event.address, event.alias)

    def on_effect_settled(self, conn: Connection, event: EffectSettled) -> None:
        settle(conn, event.key, LedgerState(event.state), event.at, event.detail)

    def on_effect_released(self, conn: Connection, event: EffectReleased) -> None:
        """Only this process's own claim is released: one another process took over stays its."""
        conn.execute(
            update(_LEDGER)
            .where(_LEDGER.c.key == event.key, _LEDGER.c.owner == self.owner)
            .values(owner=None, lease_until=None)
        )

    def on_effects_reopened(self, conn: Connection, event: EffectsReopened) -> None:
        keys = list(event.keys)
        for i in range(0, len(keys), CHUNK):
            conn.execute(
                update(_LEDGER)
                .where(self._among(keys[i : i + CHUNK]), _LEDGER.c.state == "failed")
                .values(state="started", owner=None, lease_until=None, finished_at=None)
            )

    def finish(self, key: str, now: datetime, *, ok: bool = True, detail: str = "") -> None:
        with self.engine.begin() as conn:
            settle(conn, key, LedgerState.DONE if ok else LedgerState.FAILED, now, detail)


def settle(conn: Connection, key: str, state: LedgerState, now: datetime, detail: str = "") -> None:
    """The ledger's side of a finished attempt, on the caller's transaction: done or failed, lease gone."""
    found = conn.execute(
        update(_LEDGER)
        .where(_LEDGER.c.key == key)
        .values(state=str(state), finished_at=now, detail=detail[:2000], owner=None, lease_until=None)
    ).rowcount
    if not found:
        raise KeyError(key)
