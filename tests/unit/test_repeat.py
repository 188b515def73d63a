"""Every repeat form, expanded across 2026-2028, against dateutil.rrule computed in the same test."""

from __future__ import annotations

from datetime import date, datetime, time
from time import perf_counter

import pytest
from dateutil.rrule import DAILY, FR, MO, MONTHLY, TH, TU, WE, WEEKLY, YEARLY, rrule

from content_calendar.models import DateRange
from content_calendar.repeat import RepeatError, expand, happens, to_rrule

WINDOW = (date(2026, 1, 1), date(2028, 12, 31))
START = date(2026, 1, 6)  # a Tuesday
AT = time(9, 0)
DTSTART = datetime.combine(START, AT)
UNTIL = datetime(2028, 12, 31, 23, 59)
WEEKDAYS = (MO, TU, WE, TH, FR)

CASES = [
    ("monthly on the first Tuesday", rrule(MONTHLY, byweekday=TU(1), dtstart=DTSTART, until=UNTIL)),
    ("monthly on the last Friday", rrule(MONTHLY, byweekday=FR(-1), dtstart=DTSTART, until=UNTIL)),
    ("monthly on day 15", rrule(MONTHLY, bymonthday=15, dtstart=DTSTART, until=UNTIL)),
    ("monthly on day 31", rrule(MONTHLY, bymonthday=31, dtstart=DTSTART, until=UNTIL)),
    ("every 2 weeks on Thursday", rrule(WEEKLY, interval=2, byweekday=TH, dtstart=DTSTART, until=UNTIL)),
    ("weekly on Monday and Wednesday", rrule(WEEKLY, byweekday=(MO, WE), dtstart=DTSTART, until=UNTIL)),
    ("quarterly", rrule(MONTHLY, interval=3, dtstart=DTSTART, until=UNTIL)),
    ("twice a year", rrule(MONTHLY, interval=6, dtstart=DTSTART, until=UNTIL)),
    ("annually", rrule(YEARLY, dtstart=DTSTART, until=UNTIL)),
    ("last weekday of the month", rrule(MONTHLY, byweekday=WEEKDAYS, bysetpos=-1, dtstart=DTSTART, until=UNTIL)),
    ("FREQ=MONTHLY;BYDAY=1TU", rrule(MONTHLY, byweekday=TU(1), dtstart=DTSTART, until=UNTIL)),
    (
        "FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=2",
        rrule(MONTHLY, byweekday=WEEKDAYS, bysetpos=2, dtstart=DTSTART, until=UNTIL),
    ),
]


@pytest.mark.parametrize(("phrase", "expected"), CASES, ids=[c[0] for c in CASES])
def test_expansion_matches_dateutil(phrase: str, expected: rrule) -> None:
    got = expand(phrase, START, AT, WINDOW)
    assert got == list(expected)
    assert len(got) > 2


def test_until_and_window_bound_the_expansion() -> None:
    got = expand("monthly on day 15", START, AT, (date(2026, 3, 1), date(2026, 12, 31)), until=date(2026, 6, 30))
    assert [d.date() for d in got] == [date(2026, m, 15) for m in (3, 4, 5, 6)]


def test_term_phrase_uses_the_term_dates() -> None:
    terms = (DateRange(date(2026, 9, 3), date(2026, 10, 23)), DateRange(date(2026, 11, 2), date(2026, 12, 18)))
    assert [d.date() for d in expand("each school term at the start", START, AT, WINDOW, terms=terms)] == [
        date(2026, 9, 3),
        date(2026, 11, 2),
    ]
    assert [d.date() for d in expand("each term at the end", START, AT, WINDOW, terms=terms)] == [
        date(2026, 10, 23),
        date(2026, 12, 18),
    ]


def test_one_off_entry() -> None:
    assert expand(None, date(2026, 11, 9), AT, WINDOW) == [datetime(2026, 11, 9, 9)]
    assert expand(None, date(2025, 11, 9), AT, WINDOW) == []


@pytest.mark.parametrize(
    "bad",
    [
        "every blue moon",
        "monthly on day 32",
        "FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30",
        "FREQ=SOMETIMES",
        "weekly on Funday",
        "FREQ=DAILY;BYHOUR=9",
    ],
)
def test_impossible_repeats_are_refused(bad: str) -> None:
    with pytest.raises(RepeatError):
        to_rrule(bad)


@pytest.mark.parametrize(
    ("rule", "message"),
    [
        ("FREQ=SECONDLY", "FREQ must be one of DAILY, WEEKLY, MONTHLY, YEARLY"),
        ("FREQ=MINUTELY;BYMONTH=2;BYMONTHDAY=31", "FREQ must be one of"),  # never fires: hung dateutil
        ("FREQ=HOURLY", "FREQ must be one of"),
        ("FREQ=DAILY;BYSECOND=5", "BYSECOND repeats within a day"),
        ("FREQ=WEEKLY;BYMINUTE=30", "BYMINUTE repeats within a day"),
        ("RRULE:FREQ=MONTHLY;BYHOUR=9", "BYHOUR repeats within a day"),
        ("FREQ=DAILY;INTERVAL=0", "INTERVAL must be a whole number from 1 to 100"),
        ("FREQ=DAILY;INTERVAL=99999999999999999999", "INTERVAL must be"),
        ("FREQ=DAILY;COUNT=-1", "COUNT must be a whole number from 1 to 1000"),
        ("FREQ=DAILY;FOO=1", "unknown part"),
        ("FREQ=DAILY;BYMONTH=2;BYMONTHDAY=31", "never happens"),
        ("FREQ=MONTHLY;BYSETPOS=40;BYDAY=MO", "never happens"),
    ],
)
def test_hostile_rrules_are_refused_quickly(rule: str, message: str) -> None:
    started = perf_counter()
    with pytest.raises(RepeatError, match=message):
        to_rrule(rule)
    assert perf_counter() - started < 1


def test_an_old_daily_rule_keeps_its_phase_and_does_not_iterate_every_day_since() -> None:
    expected = rrule(DAILY, interval=3, dtstart=datetime(2000, 1, 1, 9)).between(
        datetime(2026, 11, 1), datetime(2026, 11, 30, 23, 59), inc=True
    )
    got = expand("FREQ=DAILY;INTERVAL=3", date(2000, 1, 1), AT, (date(2026, 11, 1), date(2026, 11, 30)))
    assert got == expected and len(got) == 10


def test_happens_asks_for_the_first_occurrence_only() -> None:
    assert happens("daily", date(2026, 1, 1), AT, date(2099, 12, 31))
    assert not happens("FREQ=MONTHLY;BYMONTHDAY=20", date(2026, 11, 3), AT, date(2026, 11, 19))
    assert not happens("each term at the start", date(2026, 11, 3), AT, None, terms=())
