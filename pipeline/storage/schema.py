"""The database's schema: what revision it is at, and bringing it up to date (`comms db upgrade`).

The command line reaches these through the composition root, `pipeline.context`."""

from __future__ import annotations

from dataclasses import dataclass

from pipeline.settings import Settings
from pipeline.storage.db import current_revision, head_revision, make_engine, migrate, reachable
from pipeline.storage.queue_schema import apply_queue_schema, queue_schema_present


@dataclass(frozen=True)
class SchemaState:
    database: str  # the URL without its password
    revision: str | None  # None: an empty database
    head: str | None
    applied: bool = False
    queue: str = ""  # procrastinate's schema with COMMS_QUEUE=procrastinate: present, applied or missing

    @property
    def up_to_date(self) -> bool:
        return self.revision == self.head and self.queue != "missing"


def _state(settings: Settings, applied: bool = False, queue_applied: bool = False) -> SchemaState:
    engine = make_engine(settings.database_url)
    try:
        reachable(engine)
        with engine.connect() as conn:
            revision = current_revision(conn)
        queue = ""
        if settings.queue == "procrastinate":
            queue = "applied" if queue_applied else "present" if queue_schema_present(engine) else "missing"
        where = engine.url.render_as_string(hide_password=True)
        return SchemaState(where, revision, head_revision(engine), applied, queue)
    finally:
        engine.dispose()


def schema_state(settings: Settings) -> SchemaState:
    return _state(settings)


def upgrade(settings: Settings) -> SchemaState:
    """Apply every migration the database lacks, once, whoever else starts at the same moment; with
    `COMMS_QUEUE=procrastinate`, procrastinate's schema too (`pipeline.storage.queue_schema`)."""
    engine = make_engine(settings.database_url)
    try:
        applied = migrate(engine)
        queue_applied = settings.queue == "procrastinate" and apply_queue_schema(engine)
    finally:
        engine.dispose()
    return _state(settings, applied, queue_applied)
