"""The repeat column: plain phrases a comms officer would write, and RFC 5545 RRULEs.

Every phrase becomes an RRULE, so our expansion and our iCalendar export agree by construction.
The one exception is "each school term at the start|end", which depends on the strategy's term
dates and is exported as explicit dates (RDATE).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import date, datetime, time

from dateutil.rrule import rrulestr

from content_calendar.models import DateRange

DAYS = {
    "monday": "MO",
    "tuesday": "TU",
    "wednesday": "WE",
    "thursday": "TH",
    "friday": "FR",
    "saturday": "SA",
    "sunday": "SU",
}
ORDINALS = {"first": 1, "second": 2, "third": 3, "fourth": 4, "last": -1, "1st": 1, "2nd": 2, "3rd": 3, "4th": 4}
WEEKDAYS = "MO,TU,WE,TH,FR"
TERM_PHRASE = re.compile(r"^each (?:school )?term at the (start|end)$")

_FIXED = {
    "daily": "FREQ=DAILY",
    "every day": "FREQ=DAILY",
    "every weekday": f"FREQ=WEEKLY;BYDAY={WEEKDAYS}",
    "weekly": "FREQ=WEEKLY",
    "fortnightly": "FREQ=WEEKLY;INTERVAL=2",
    "monthly": "FREQ=MONTHLY",
    "quarterly": "FREQ=MONTHLY;INTERVAL=3",
    "twice a year": "FREQ=MONTHLY;INTERVAL=6",
    "every six months": "FREQ=MONTHLY;INTERVAL=6",
    "annually": "FREQ=YEARLY",
    "yearly": "FREQ=YEARLY",
    "last weekday of the month": f"FREQ=MONTHLY;BYDAY={WEEKDAYS};BYSETPOS=-1",
    "first weekday of the month": f"FREQ=MONTHLY;BYDAY={WEEKDAYS};BYSETPOS=1",
}
_MONTHLY_NTH = re.compile(r"^monthly on the (\w+) (\w+?)s?$")
_MONTHLY_DAY = re.compile(r"^monthly on (?:day|the) (\d{1,2})(?:st|nd|rd|th)?$")
_EVERY_WEEKS = re.compile(r"^every (\d+|other) weeks? on ([a-z, ]+?)s?$")
_WEEKLY_ON = re.compile(r"^(?:weekly|every week) on ([a-z, ]+?)s?$")


class RepeatError(ValueError):
    """The repeat text is neither a phrase we know nor a valid RRULE."""


def _days(text: str) -> str:
    names = [d.strip().rstrip("s") for d in re.split(r",|\band\b", text) if d.strip()]
    codes = []
    for name in names:
        if name not in DAYS:
            raise RepeatError(f"unknown day {name!r}")
        codes.append(DAYS[name])
    return ",".join(codes)


def to_rrule(text: str) -> str | None:
    """Translate a repeat phrase to an RRULE body (no `RRULE:` prefix). None for term phrases."""
    phrase = " ".join(text.strip().lower().split())
    if TERM_PHRASE.match(phrase):
        return None
    if phrase.upper().startswith(("FREQ=", "RRULE:")):
        rule = text.strip().removeprefix("RRULE:").removeprefix("rrule:").upper()
        _check_rrule(rule)
        return rule
    if phrase in _FIXED:
        return _FIXED[phrase]
    if m := _MONTHLY_NTH.match(phrase):
        nth, day = m.groups()
        if nth in ORDINALS and day.rstrip("s") in DAYS:
            return f"FREQ=MONTHLY;BYDAY={ORDINALS[nth]}{DAYS[day.rstrip('s')]}"
        if nth in ORDINALS and day == "weekday":
            return f"FREQ=MONTHLY;BYDAY={WEEKDAYS};BYSETPOS={ORDINALS[nth]}"
    if m := _MONTHLY_DAY.match(phrase):
        day_no = int(m.group(1))
        if not 1 <= day_no <= 31:
            raise RepeatError(f"there is no day {day_no} in a month")
        return f"FREQ=MONTHLY;BYMONTHDAY={day_no}"
    if m := _EVERY_WEEKS.match(phrase):
        interval = 2 if m.group(1) == "other" else int(m.group(1))
        if interval < 1:
            raise RepeatError("the interval must be at least 1 week")
        return f"FREQ=WEEKLY;INTERVAL={interval};BYDAY={_days(m.group(2))}"
    if m := _WEEKLY_ON.match(phrase):
        return f"FREQ=WEEKLY;BYDAY={_days(m.group(1))}"
    raise RepeatError(
        f"not a repeat we understand: {text!r} (try 'monthly on the first Tuesday', 'quarterly', "
        "'every 2 weeks on Thursday', 'each school term at the start', or an RRULE such as "
        "FREQ=MONTHLY;BYDAY=1TU)"
    )


def _check_rrule(rule: str) -> None:
    try:
        parsed = rrulestr(f"RRULE:{rule}", dtstart=datetime(2026, 1, 1, 9))
    except (ValueError, TypeError) as exc:
        raise RepeatError(f"invalid RRULE {rule!r}: {exc}") from None
    # An RRULE that never fires (BYMONTHDAY=31;BYMONTH=2) is impossible; look ten years ahead.
    if not _fires_within(parsed, years=10):
        raise RepeatError(f"the RRULE {rule!r} never happens")
    if "BYHOUR" in rule or "BYMINUTE" in rule or "FREQ=HOURLY" in rule or "FREQ=MINUTELY" in rule:
        raise RepeatError("set the time in the time column, not in the RRULE")


def _fires_within(parsed: Iterable[datetime], years: int) -> bool:
    limit = datetime(2026 + years, 1, 1)
    for moment in parsed:
        return moment < limit
    return False


def expand(
    repeat: str | None,
    start: date,
    at: time,
    window: tuple[date, date],
    until: date | None = None,
    terms: tuple[DateRange, ...] = (),
) -> list[datetime]:
    """Naive local datetimes of a repeat inside window (inclusive), never before start or after until."""
    first, last = max(window[0], start), min(window[1], until or window[1])
    if first > last:
        return []
    if not repeat:
        return [datetime.combine(start, at)] if first <= start <= last else []
    rule = to_rrule(repeat)
    if rule is None:
        edge = TERM_PHRASE.match(" ".join(repeat.lower().split()))
        assert edge is not None
        days = [t.start if edge.group(1) == "start" else t.end for t in terms]
        return [datetime.combine(d, at) for d in sorted(days) if first <= d <= last]
    parsed = rrulestr(f"RRULE:{rule}", dtstart=datetime.combine(start, at))
    return list(parsed.between(datetime.combine(first, time.min), datetime.combine(last, time.max), inc=True))
