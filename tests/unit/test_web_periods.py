"""The month and quarter a page's address asks for (`pipeline/web/periods.py`), read one way by every
page: absent is this one in UK time, anything else that is not a month is this one with the reason."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from pipeline.web.periods import Asked, month_of, quarter_of

LONDON = ZoneInfo("Europe/London")
MIDSUMMER_NIGHT = datetime(2026, 6, 30, 23, 30, tzinfo=UTC)  # 00:30 on 1 July in London (BST)


@pytest.mark.parametrize("absent", [None, "", "  "])
def test_no_month_is_this_month_in_uk_time(absent: str | None) -> None:
    assert month_of(absent, MIDSUMMER_NIGHT, LONDON) == Asked("2026-07")
    assert quarter_of(absent, MIDSUMMER_NIGHT, LONDON) == Asked("2026Q3")


@pytest.mark.parametrize("good", ["2026-11", " 2026-01 ", "2000-01", "2099-12"])
def test_a_month_is_shown_as_asked(good: str) -> None:
    assert month_of(good, MIDSUMMER_NIGHT, LONDON) == Asked(good.strip())


@pytest.mark.parametrize(
    ("bad", "error"),
    [
        ("2026-13", "Month must look like 2026-11, not “2026-13”"),
        ("2026-00", "Month must look like 2026-11, not “2026-00”"),
        ("2026-1", "Month must look like 2026-11, not “2026-1”"),
        ("abc", "Month must look like 2026-11, not “abc”"),
        ("2026-11-05", "Month must look like 2026-11, not “2026-11-05”"),
        ("1999-12", "Month must be from 2000-01 to 2099-12, not “1999-12”"),
        ("x" * 500, f"Month must look like 2026-11, not “{'x' * 20}”"),
    ],
)
def test_a_bad_month_is_this_month_with_the_reason(bad: str, error: str) -> None:
    assert month_of(bad, MIDSUMMER_NIGHT, LONDON) == Asked("2026-07", error)


@pytest.mark.parametrize(
    ("asked", "shown"),
    [
        ("2026q4", Asked("2026Q4")),
        ("2026Q5", Asked("2026Q3", "Quarter must look like 2026Q4, not “2026Q5”")),
        ("Q4", Asked("2026Q3", "Quarter must look like 2026Q4, not “Q4”")),
        ("2100Q1", Asked("2026Q3", "Quarter must be from 2000Q1 to 2099Q4, not “2100Q1”")),
    ],
)
def test_a_quarter_is_read_the_same_way(asked: str, shown: Asked) -> None:
    assert quarter_of(asked, MIDSUMMER_NIGHT, LONDON) == shown


def test_the_problems_name_the_pages_field() -> None:
    assert Asked("2026-07").problems("month") == []
    assert Asked("2026-07", "Month must look like 2026-11").problems("filter-month") == [
        ("filter-month", "Month must look like 2026-11")
    ]
