"""The web tests' shared fixtures: a database with one account per role, made once per run, and a fresh
app on a copy of it for each test."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask

from tests.web.people import app_with_team, close, team_database


@pytest.fixture(scope="session")
def team(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return team_database(tmp_path_factory.mktemp("team"))


@pytest.fixture
def app(team: Path, tmp_path: Path) -> Iterator[Flask]:
    built = app_with_team(team, tmp_path)
    yield built
    close(built)
