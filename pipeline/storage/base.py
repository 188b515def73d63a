"""The Store's shared base: one engine, short transactions."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Column, Table, func, update
from sqlalchemy.engine import Connection, Engine
from sqlmodel import Session


def scrub(conn: Connection, table: Table, column: Column[str] | Column[str | None], text: str, alias: str) -> None:
    """Replace `text` with `alias` wherever a text column holds it (an erased address in an error text)."""
    conn.execute(
        update(table)
        .where(column.contains(text, autoescape=True))
        .values({column.name: func.replace(column, text, alias)})
    )


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
