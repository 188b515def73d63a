"""The pipeline refuses, in words, a SQLite too old for the ledger's claims (UPSERT … RETURNING, 3.35)."""

from __future__ import annotations

import sqlite3

import pytest

from pipeline.errors import CommsError
from pipeline.storage.db import SQLITE_NEEDED, require_sqlite


def test_an_old_sqlite_is_refused_with_what_to_do() -> None:
    with pytest.raises(CommsError, match=r"SQLite is 3\.34\.1; the pipeline needs SQLite 3\.35 or newer"):
        require_sqlite((3, 34, 1))
    require_sqlite((3, 35, 0))


def test_this_pythons_sqlite_is_new_enough() -> None:
    assert sqlite3.sqlite_version_info[:2] >= SQLITE_NEEDED
