"""Shared fixtures: real SQLite (and PostgreSQL where it runs), a real SMTP server, local HTTP servers."""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from content_calendar.strategy import load_strategy
from pipeline.app import Pipeline, make_pipeline
from pipeline.localservers import Mailbox, smtp_server
from pipeline.records import Subscriber
from pipeline.settings import Settings, load_settings
from pipeline.storage.store import Repositories, open_repositories
from tests.browserkit import browser  # noqa: F401 - the one browser of a run, for every test that needs one

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "thurrock"
SINCE = date(2025, 9, 1)
PG_URL = os.environ.get("COMMS_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


def _postgres_reason() -> str | None:
    try:
        import psycopg  # noqa: F401
    except ImportError:
        return "psycopg is not installed (pip install 'comms-pipeline[postgres]')"
    try:
        with socket.create_connection(("127.0.0.1", 5432), timeout=1):
            pass
    except OSError:
        return "no PostgreSQL on 127.0.0.1:5432 (set COMMS_TEST_POSTGRES_URL to use another)"
    try:
        with create_engine(PG_URL).connect() as conn:
            conn.execute(text("select 1"))
    except Exception as exc:
        return f"PostgreSQL at {PG_URL} refused the connection: {type(exc).__name__}"
    return None


@contextmanager
def fresh_schema(prefix: str) -> Iterator[str]:
    """A database URL on a new schema of the local PostgreSQL (its `search_path`), dropped afterwards;
    inside a test or fixture, a clean skip when PostgreSQL is not there."""
    reason = _postgres_reason()
    if reason:
        pytest.skip(reason)
    schema = f"{prefix}_{uuid.uuid4().hex[:10]}"
    engine = create_engine(PG_URL)
    with engine.begin() as conn:
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    try:
        yield f"{PG_URL}?options=-csearch_path%3D{schema}"
    finally:
        with engine.begin() as conn:
            conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
        engine.dispose()


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A fresh schema-isolated database URL on the local PostgreSQL, or a clean skip."""
    with fresh_schema("t") as url:
        yield url


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Repositories]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'comms.db'}"
    else:
        url = request.getfixturevalue("postgres_url")
        _reset_postgres(url)
    s = open_repositories(url)
    yield s
    s.engine.dispose()


def _reset_postgres(url: str) -> None:
    engine = create_engine(url)
    with engine.begin() as conn:
        tables = [
            r[0] for r in conn.execute(text("select tablename from pg_tables where schemaname = current_schema()"))
        ]
        for table in tables:
            conn.execute(text(f'DROP TABLE IF EXISTS "{table}" CASCADE'))
    engine.dispose()


def headteachers(count: int) -> list[Subscriber]:
    """`count` made-up headteachers, head0@school0.example.org onwards, for sends at scale."""
    return [
        Subscriber(f"head{i}@school{i}.example.org", f"Head {i}", f"School {i}", ("headteachers",), "test", SINCE)
        for i in range(count)
    ]


@pytest.fixture
def cli_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The command line in a fresh folder, on its own SQLite database and the example workspace."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("COMMS_DATABASE_URL", f"sqlite:///{tmp_path / 'comms.db'}")
    monkeypatch.setenv("COMMS_WORKSPACE", str(EXAMPLE))
    monkeypatch.setenv("COMMS_SECRET_KEY", "cli-test")
    return tmp_path


@pytest.fixture
def strategy():  # type: ignore[no-untyped-def]
    return load_strategy(EXAMPLE / "strategy.yaml")


@pytest.fixture
def mailbox() -> Iterator[tuple[Mailbox, tuple[str, int]]]:
    box = Mailbox()
    with smtp_server(box) as address:
        yield box, address


@pytest.fixture
def settings(tmp_path: Path, mailbox: tuple[Mailbox, tuple[str, int]]) -> Settings:
    _box, (host, port) = mailbox
    return load_settings(
        environ={},
        env_file=None,
        database_url=f"sqlite:///{tmp_path / 'comms.db'}",
        workspace=EXAMPLE,
        outbox_dir=tmp_path / "outbox",
        reports_dir=tmp_path / "reports",
        smtp_host=host,
        smtp_port=port,
        secret_key="test-secret",
        file_channels=("*",),
    )


@pytest.fixture
def pipeline(settings: Settings) -> Iterator[Pipeline]:
    p = make_pipeline(settings)
    yield p
    p.repos.engine.dispose()
