"""The effects ledger: one row per effect key. It decides what is due and what is done, so a missed,
doubled or replayed wake-up never loses work and never repeats it."""

from __future__ import annotations

import threading
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, insert, update
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError
from sqlmodel import select

from pipeline.storage.base import StoreBase
from pipeline.storage.tables import LedgerRow, table

_LEDGER = table(LedgerRow)
_FINISH = (
    update(_LEDGER)
    .where(_LEDGER.c.key == bindparam("k"))
    .values(state="done", finished_at=bindparam("at"), detail=bindparam("detail"))
)


class LedgerStore(StoreBase):
    def state(self, key: str) -> str | None:
        with self.session() as s:
            row = s.get(LedgerRow, key)
            return row.state if row else None

    def states_for(self, keys: list[str]) -> dict[str, str]:
        """The states of these keys (absent keys are left out), in one query per 500 keys."""
        out: dict[str, str] = {}
        with self.engine.connect() as conn:
            for i in range(0, len(keys), 500):
                rows = conn.execute(select(_LEDGER.c.key, _LEDGER.c.state).where(_LEDGER.c.key.in_(keys[i : i + 500])))
                out.update({str(k): str(v) for k, v in rows})
        return out

    def claim(self, key: str, kind: str, now: datetime) -> str:
        """Record that an effect is starting. Returns `new` when this call created the row, otherwise
        the state found (`started` means an earlier attempt may or may not have taken effect)."""
        try:
            with self.engine.begin() as conn:
                conn.execute(insert(_LEDGER).values(key=key, kind=kind, state="started", started_at=now))
            return "new"
        except IntegrityError:
            with self.engine.connect() as conn:
                state = conn.execute(select(_LEDGER.c.state).where(_LEDGER.c.key == key)).scalar()
            return state or "started"

    def claim_many(self, keys: list[str], kind: str, now: datetime) -> dict[str, str]:
        """`claim` for many keys in one transaction (claiming ahead of a send is harmless: a key left
        `started` is simply sent on the next wake-up). Falls back to one by one on a race."""
        states: dict[str, str] = {}
        try:
            with self.engine.begin() as conn:
                for i in range(0, len(keys), 500):
                    chunk = keys[i : i + 500]
                    found = conn.execute(select(_LEDGER.c.key, _LEDGER.c.state).where(_LEDGER.c.key.in_(chunk)))
                    states.update({str(k): str(s) for k, s in found})
                    new: list[dict[str, Any]] = [
                        {"key": k, "kind": kind, "state": "started", "started_at": now}
                        for k in chunk
                        if k not in states
                    ]
                    if new:
                        conn.execute(insert(_LEDGER), new)
                        states.update({str(row["key"]): "new" for row in new})
        except IntegrityError:
            return {key: self.claim(key, kind, now) for key in keys}
        return states

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
        cached = self.__dict__.get("_finish_sql_cache")
        if cached is None:
            compiled = _FINISH.compile(dialect=self.engine.dialect)
            order = tuple(compiled.positiontup) if compiled.positiontup else None
            to_db = _LEDGER.c.finished_at.type.bind_processor(self.engine.dialect)
            fixed = {name: value for name, value in compiled.params.items() if value is not None}  # state='done'
            cached = self.__dict__["_finish_sql_cache"] = (str(compiled), order, to_db, fixed)
        return cached  # type: ignore[no-any-return]

    def _thread_connection(self) -> Connection:
        local = self.__dict__.setdefault("_local", threading.local())
        conn = getattr(local, "conn", None)
        if conn is None or conn.closed:
            conn = local.conn = self.engine.connect()
        return conn

    def finish(self, key: str, now: datetime, *, ok: bool = True, detail: str = "") -> None:
        with self.session() as s:
            row = s.get(LedgerRow, key)
            if row is None:
                raise KeyError(key)
            row.state, row.finished_at, row.detail = ("done" if ok else "failed"), now, detail[:2000]
            s.add(row)
