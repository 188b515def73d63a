"""The repeat column: plain phrases a comms officer would write, and RFC 5545 RRULEs.

Every phrase becomes an RRULE, so our expansion and our iCalendar export agree by construction.
The one exception is "each school term at the start|end", which depends on the strategy's term
dates and is exported as explicit dates (RDATE).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import date, datetime, time, timedelta

from dateutil.rrule import rrule, rrulestr

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
FREQS = ("DAILY", "WEEKLY", "MONTHLY", "YEARLY")  # nothing finer: the time column sets the time
FINER_PARTS = ("BYSECOND", "BYMINUTE", "BYHOUR")
PARTS = (
    "FREQ",
    "INTERVAL",
    "COUNT",
    "UNTIL",
    "BYDAY",
    "BYMONTHDAY",
    "BYYEARDAY",
    "BYWEEKNO",
    "BYMONTH",
    "BYSETPOS",
    "WKST",
)
MAX_INTERVAL = 100
MAX_COUNT = 1000
# Gregorian dates repeat every 400 years, so whether a rule can ever fire is asked of the 12 years
# before datetime.MAXYEAR, where even a rule that never fires stops iterating at once.
PROBE_YEAR = 9988

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


def rule_parts(rule: str) -> dict[str, str]:
    """FREQ=WEEKLY;INTERVAL=2 -> {"FREQ": "WEEKLY", "INTERVAL": "2"}; RepeatError for what we refuse.

    Checked before dateutil sees the rule: a rule finer than daily (FREQ=SECONDLY, BYHOUR, ...) is
    refused, as are unknown parts and an INTERVAL or COUNT out of bounds.
    """
    parts: dict[str, str] = {}
    for part in filter(None, rule.strip().rstrip(";").split(";")):
        name, sep, value = part.partition("=")
        name = name.strip()
        if name in FINER_PARTS:
            raise RepeatError(f"{name} repeats within a day; set the time in the time column, not in the RRULE")
        if not sep or name not in PARTS or name in parts:
            raise RepeatError(f"invalid RRULE {rule!r}: {'repeated' if name in parts else 'unknown'} part {part!r}")
        parts[name] = value.strip()
    if parts.get("FREQ") not in FREQS:
        raise RepeatError(
            f"FREQ must be one of {', '.join(FREQS)} (nothing finer than daily), not {parts.get('FREQ')!r}"
        )
    for name, top in (("INTERVAL", MAX_INTERVAL), ("COUNT", MAX_COUNT)):
        if name in parts and not (parts[name].isdigit() and 1 <= int(parts[name]) <= top):
            raise RepeatError(f"{name} must be a whole number from 1 to {top}, not {parts[name]!r}")
    return parts


def _check_rrule(rule: str) -> None:
    rule_parts(rule)
    try:
        parsed = rrulestr(f"RRULE:{rule}", dtstart=datetime(PROBE_YEAR, 1, 1, 9))
    except (ValueError, TypeError, OverflowError) as exc:
        raise RepeatError(f"invalid RRULE {rule!r}: {exc}") from None
    # An RRULE that never fires (BYMONTHDAY=31;BYMONTH=2) is impossible.
    if not isinstance(parsed, rrule) or not _fires(parsed.replace(count=None, until=None)):
        raise RepeatError(f"the RRULE {rule!r} never happens")


def _fires(parsed: Iterable[datetime]) -> bool:
    return next(iter(parsed), None) is not None


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
    parsed = rrulestr(f"RRULE:{rule}", dtstart=datetime.combine(_fast_forward(rule, start, first), at))
    return list(parsed.between(datetime.combine(first, time.min), datetime.combine(last, time.max), inc=True))


def happens(repeat: str | None, start: date, at: time, until: date | None, terms: tuple[DateRange, ...] = ()) -> bool:
    """Whether a repeat has at least one occurrence from start to until (to 2099 without one).

    Asks for the first occurrence only, so it costs little however long the entry runs."""
    last = until or date(2099, 12, 31)
    if not repeat:
        return start <= last
    rule = to_rrule(repeat)
    if rule is None:
        return bool(expand(repeat, start, at, (start, last), until, terms))
    moment = rrulestr(f"RRULE:{rule}", dtstart=datetime.combine(start, at)).after(datetime.combine(start, time.min))
    return moment is not None and moment.date() <= last


def _fast_forward(rule: str, start: date, first: date) -> date:
    """A later start with the same occurrences from `first` on, so a daily rule begun years ago does
    not iterate every day since (only for DAILY without COUNT, whose phase is start + k * INTERVAL)."""
    parts = rule_parts(rule)
    if parts["FREQ"] != "DAILY" or "COUNT" in parts or first <= start:
        return start
    step = int(parts.get("INTERVAL", "1"))
    return start + timedelta(days=(first - start).days // step * step)
