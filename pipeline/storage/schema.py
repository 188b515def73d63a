"""The database's schema: what revision it is at, and bringing it up to date (`comms db upgrade`).

The command line reaches these through the composition root, `pipeline.context`."""

from __future__ import annotations

from dataclasses import dataclass

from pipeline.settings import Settings
from pipeline.storage.db import current_revision, head_revision, make_engine, migrate, reachable


@dataclass(frozen=True)
class SchemaState:
    database: str  # the URL without its password
    revision: str | None  # None: an empty database
    head: str | None
    applied: bool = False

    @property
    def up_to_date(self) -> bool:
        return self.revision == self.head


def _state(settings: Settings, applied: bool = False) -> SchemaState:
    engine = make_engine(settings.database_url)
    try:
        reachable(engine)
        with engine.connect() as conn:
            revision = current_revision(conn)
        return SchemaState(engine.url.render_as_string(hide_password=True), revision, head_revision(engine), applied)
    finally:
        engine.dispose()


def schema_state(settings: Settings) -> SchemaState:
    return _state(settings)


def upgrade(settings: Settings) -> SchemaState:
    """Apply every migration the database lacks, once, whoever else starts at the same moment."""
    engine = make_engine(settings.database_url)
    try:
        applied = migrate(engine)
    finally:
        engine.dispose()
    return _state(settings, applied)
