"""UK calendar rules: English bank holidays, school holidays from term dates, the pre-election period.

Each rule is applied per entry by a policy: skip the occurrence, move it to the next day that is clear,
or keep it where it is.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from functools import lru_cache

import holidays

from content_calendar.models import HELD_IN_PRE_ELECTION, Channel, DateRange, Entry, Policy, Strategy

MAX_MOVE_DAYS = 120  # a move that finds no clear day in four months is a skip


@lru_cache(maxsize=32)
def bank_holidays(year: int) -> dict[date, str]:
    """English bank holidays for a year, from the `holidays` package (substitute days included)."""
    return dict(holidays.country_holidays("GB", subdiv="ENG", years=year).items())


def bank_holiday(day: date) -> str | None:
    return bank_holidays(day.year).get(day)


def is_working_day(day: date) -> bool:
    return day.weekday() < 5 and bank_holiday(day) is None


def in_school_holiday(day: date, terms: tuple[DateRange, ...]) -> bool:
    """A weekday outside every term, but only within the span the term dates cover."""
    if not terms or day.weekday() >= 5:
        return False
    if day < min(t.start for t in terms) or day > max(t.end for t in terms):
        return False
    return not any(day in t for t in terms)


def election_period(day: date, periods: tuple[DateRange, ...]) -> DateRange | None:
    return next((p for p in periods if day in p), None)


@dataclass(frozen=True)
class Clash:
    rule: str  # bank_holiday | school_holiday | pre_election
    policy: Policy
    reason: str


class DayRules:
    """The strategy's day rules looked up in constant time: built once per plan, so planning 10,000
    entries does not scan every term for every candidate day."""

    def __init__(self, strategy: Strategy) -> None:
        self.strategy = strategy
        self.channels = {c.code: c for c in strategy.channels}
        self.clashes: dict[tuple[date, tuple[str, str, str]], Clash | None] = {}
        self.clear_days: dict[tuple[date, tuple[str, str, str]], date | None] = {}
        terms = strategy.terms
        self.school_holidays: frozenset[date] = frozenset()
        if terms:
            first, last = min(t.start for t in terms), max(t.end for t in terms)
            span = (first + timedelta(days=n) for n in range((last - first).days + 1))
            self.school_holidays = frozenset(d for d in span if in_school_holiday(d, terms))


def pre_election_policy(entry: Entry, channel: Channel | None) -> Policy:
    if entry.on_pre_election is not None:
        return entry.on_pre_election
    facing = channel.facing if channel else "residents"
    return "move" if facing in HELD_IN_PRE_ELECTION else "keep"


Policies = tuple[Policy, Policy, Policy]  # pre-election, bank holiday, school holiday


def policies(entry: Entry, rules: DayRules) -> Policies:
    return (
        pre_election_policy(entry, rules.channels.get(entry.channel)),
        entry.on_bank_holiday,
        entry.on_school_holiday,
    )


def clash(day: date, entry: Entry, strategy: Strategy, rules: DayRules | None = None) -> Clash | None:
    """The first rule this day breaks for this entry whose policy is not `keep`, or None."""
    rules = rules or DayRules(strategy)
    return _judged(day, policies(entry, rules), rules)


def _judged(day: date, policy: Policies, rules: DayRules) -> Clash | None:
    key = (day, policy)
    if key not in rules.clashes:  # entries share a few policy sets: each day is judged once per set
        rules.clashes[key] = _clash(day, policy, rules)
    return rules.clashes[key]


def _clash(day: date, policy: Policies, rules: DayRules) -> Clash | None:
    pre_election, on_bank_holiday, on_school_holiday = policy
    period = election_period(day, rules.strategy.pre_election)
    if period is not None and pre_election != "keep":
        return Clash("pre_election", pre_election, f"pre-election period{f' ({period.name})' if period.name else ''}")
    name = bank_holiday(day)
    if name is not None and on_bank_holiday != "keep":
        return Clash("bank_holiday", on_bank_holiday, f"bank holiday ({name})")
    if on_school_holiday != "keep" and day in rules.school_holidays:
        return Clash("school_holiday", on_school_holiday, "school holiday")
    return None


def next_clear_day(day: date, entry: Entry, strategy: Strategy, rules: DayRules | None = None) -> date | None:
    """The next weekday after `day` on which no rule with a non-keep policy objects."""
    rules = rules or DayRules(strategy)
    key = (day, policies(entry, rules))
    if key not in rules.clear_days:
        rules.clear_days[key] = _next_clear(day, key[1], rules)
    return rules.clear_days[key]


def _next_clear(day: date, policy: Policies, rules: DayRules) -> date | None:
    for offset in range(1, MAX_MOVE_DAYS + 1):
        candidate = day + timedelta(days=offset)
        if candidate.weekday() < 5 and _judged(candidate, policy, rules) is None:
            return candidate
    return None


def first_working_day(year: int, month: int) -> date:
    """The month's first day that is neither a weekend nor an English bank holiday."""
    day = date(year, month, 1)
    while not is_working_day(day):
        day += timedelta(days=1)
    return day
