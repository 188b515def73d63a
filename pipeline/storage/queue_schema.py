"""procrastinate's tables and functions, in the same database and schema as ours.

`comms db upgrade` applies them with our migrations when `COMMS_QUEUE=procrastinate` (and a worker or
queue clock does at start-up): once, under the same advisory lock as our migrations, in the schema the
connection's `search_path` names (a URL's `?options=-csearch_path%3D...` included), since
procrastinate's SQL names no schema. Applying it again is a no-op: its jobs table is looked for first.
"""

from __future__ import annotations

import logging

from sqlalchemy import text
from sqlalchemy.engine import Engine

from pipeline.errors import DatabaseError
from pipeline.storage.db import PG_MIGRATE_LOCK

log = logging.getLogger(__name__)


def queue_schema_present(engine: Engine) -> bool:
    with engine.connect() as conn:
        return conn.execute(text("SELECT to_regclass('procrastinate_jobs') IS NOT NULL")).scalar() is True


def apply_queue_schema(engine: Engine) -> bool:
    """Create procrastinate's schema unless it is there; returns whether it was applied."""
    if engine.dialect.name != "postgresql":
        raise DatabaseError("the procrastinate queue needs PostgreSQL (COMMS_DATABASE_URL=postgresql+psycopg://...)")
    try:
        from procrastinate.schema import SchemaManager
    except ImportError:
        raise DatabaseError("procrastinate is not installed: pip install 'comms-pipeline[postgres]'") from None
    if queue_schema_present(engine):
        return False
    with engine.begin() as conn:
        conn.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": PG_MIGRATE_LOCK})
        if conn.execute(text("SELECT to_regclass('procrastinate_jobs') IS NOT NULL")).scalar():
            return False
        raw = conn.connection.dbapi_connection
        assert raw is not None
        cursor = raw.cursor()
        try:
            cursor.execute(SchemaManager.get_schema())  # no parameters: its `%` signs are left alone
        finally:
            cursor.close()
    log.info("queue schema applied")
    return True
