"""Engines and migrations. The schema is made only by Alembic revisions, so upgrades keep a team's data."""

from __future__ import annotations

import logging
import sqlite3
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import event, text
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import create_engine

from channels.redact import redact
from pipeline.errors import CommsError, DatabaseError

MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"
PG_MIGRATE_LOCK = 7_220_485_302  # a fixed advisory-lock id: one migrating process at a time
log = logging.getLogger(__name__)


SQLITE_NEEDED = (3, 35)  # UPSERT … RETURNING, which the ledger's claims use


def require_sqlite(found: tuple[int, ...]) -> None:
    """Refuse, in words, a SQLite library older than the claims' `INSERT … ON CONFLICT … RETURNING`."""
    if tuple(found[:2]) < SQLITE_NEEDED:
        have, need = ".".join(map(str, found)), ".".join(map(str, SQLITE_NEEDED))
        raise CommsError(
            f"this Python's SQLite is {have}; the pipeline needs SQLite {need} or newer. Use a newer Python "
            "build, or PostgreSQL (COMMS_DATABASE_URL=postgresql+psycopg://...)"
        )


def make_engine(url: str, pool_size: int = 5) -> Engine:
    """An engine for SQLite (WAL, foreign keys, a busy timeout for the clock and CLI side by side)
    or PostgreSQL (psycopg 3).

    On SQLite every transaction starts with BEGIN IMMEDIATE, taking the write lock at once (waiting
    up to the busy timeout for another process to finish). A transaction that read first and wrote
    later would otherwise fail at once with "database is locked" when another process had written
    in between; with the lock taken up front, processes queue for it instead.
    """
    if url.startswith("sqlite:///"):
        require_sqlite(sqlite3.sqlite_version_info)
        path = Path(url.removeprefix("sqlite:///"))
        if str(path) not in ("", ":memory:"):
            path.parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            url,
            connect_args={"timeout": 30, "check_same_thread": False},
            pool_size=pool_size,
            max_overflow=10,
            hide_parameters=True,  # a failed statement's error never carries its values (recipients' addresses)
        )

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_conn, _record):  # type: ignore[no-untyped-def]
            dbapi_conn.isolation_level = None  # the driver begins nothing itself; SQLAlchemy's begin does
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.close()

        @event.listens_for(engine, "begin")
        def _begin(conn: Connection) -> None:
            conn.exec_driver_sql("BEGIN IMMEDIATE")

        return engine
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    return create_engine(url, pool_pre_ping=True, pool_size=pool_size, max_overflow=10, hide_parameters=True)


def alembic_config(engine: Engine) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", engine.url.render_as_string(hide_password=False).replace("%", "%%"))
    return cfg


def head_revision(engine: Engine) -> str | None:
    return ScriptDirectory.from_config(alembic_config(engine)).get_current_head()


def current_revision(conn: Connection) -> str | None:
    return MigrationContext.configure(conn).get_current_revision()


def reachable(engine: Engine) -> None:
    """Connect once, turning a refusal into a DatabaseError that names the database (never its
    password) and the server's own reason, instead of a driver traceback."""
    try:
        with engine.connect():
            pass
    except SQLAlchemyError as exc:
        reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
        reason = redact(reason, [engine.url.password] if isinstance(engine.url.password, str) else [])
        where = engine.url.render_as_string(hide_password=True)
        raise DatabaseError(f"cannot open the database {where}: {reason}") from None


def migrate(engine: Engine) -> bool:
    """Bring the database to the newest revision; returns whether anything was applied. Called once
    when a process starts (or by `comms db upgrade`), never per job. Several processes starting at once
    on an empty database take turns: a PostgreSQL advisory lock, or SQLite's write lock, is held for
    the whole upgrade, and whoever comes second finds the schema up to date."""
    reachable(engine)
    head = head_revision(engine)
    with engine.connect() as conn:
        if current_revision(conn) == head:
            return False
    cfg = alembic_config(engine)
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": PG_MIGRATE_LOCK})
        if current_revision(conn) == head:
            return False
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")
    log.info("database upgraded", extra={"revision": head})
    return True
