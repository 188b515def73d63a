"""The Store's shared base: one engine, short transactions."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy.engine import Connection, Engine
from sqlmodel import Session


class StoreBase:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    @contextmanager
    def session(self, conn: Connection | None = None) -> Iterator[Session]:
        """A transaction: committed when the block ends, rolled back on any error. On `conn`, it joins
        the transaction already open there (an event handler's), which its owner commits."""
        with Session(conn or self.engine, expire_on_commit=False) as session:
            try:
                yield session
                session.commit()
            except BaseException:
                session.rollback()
                raise

    @property
    def is_postgres(self) -> bool:
        return self.engine.dialect.name == "postgresql"
