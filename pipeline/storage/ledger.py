"""The effects ledger: one row per effect key. It decides what is due and what is done, so a missed,
doubled or replayed wake-up never loses work and never repeats it."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.exc import IntegrityError
from sqlmodel import select

from pipeline.storage.base import StoreBase
from pipeline.storage.tables import LedgerRow


class LedgerStore(StoreBase):
    def ledger_state(self, key: str) -> str | None:
        with self.session() as s:
            row = s.get(LedgerRow, key)
            return row.state if row else None

    def ledger_states(self, prefix: str) -> dict[str, str]:
        with self.session() as s:
            rows = s.exec(select(LedgerRow).where(LedgerRow.key.startswith(prefix)))  # type: ignore[attr-defined]
            return {r.key: r.state for r in rows}

    def claim(self, key: str, kind: str, now: datetime) -> str:
        """Record that an effect is starting. Returns `new` when this call created the row, otherwise
        the state found (`started` means an earlier attempt may or may not have taken effect)."""
        try:
            with self.session() as s:
                s.add(LedgerRow(key=key, kind=kind, state="started", started_at=now))
            return "new"
        except IntegrityError:
            state = self.ledger_state(key)
            return state or "started"

    def finish(self, key: str, now: datetime, *, ok: bool = True, detail: str = "") -> None:
        with self.session() as s:
            row = s.get(LedgerRow, key)
            if row is None:
                raise KeyError(key)
            row.state, row.finished_at, row.detail = ("done" if ok else "failed"), now, detail[:2000]
            s.add(row)

    def release(self, key: str) -> None:
        """Forget a started effect that provably did not happen, so a later wake-up may try again."""
        with self.session() as s:
            row = s.get(LedgerRow, key)
            if row is not None and row.state != "done":
                s.delete(row)
