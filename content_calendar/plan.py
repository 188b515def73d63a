"""Expand calendar entries into the occurrences of a period, with the UK rules applied.

`plan()` is a pure function of (strategy, entries, period): no clock, no I/O.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from content_calendar.merge import fold_stacked
from content_calendar.models import Entry, Occurrence, Strategy
from content_calendar.repeat import expand
from content_calendar.rules import MAX_MOVE_DAYS, DayRules, clash, next_clear_day


def month_bounds(month: str) -> tuple[date, date]:
    """'2026-11' -> (1 Nov 2026, 30 Nov 2026)."""
    try:
        year, mon = (int(part) for part in month.split("-"))
        first = date(year, mon, 1)
        nxt = date(year + mon // 12, mon % 12 + 1, 1)
    except ValueError:
        raise ValueError(f"month must look like YYYY-MM (up to 9999-11), not {month!r}") from None
    return first, nxt - timedelta(days=1)


def localise(naive: datetime, tz: ZoneInfo) -> datetime:
    """Attach the zone. A time in the spring-forward gap is moved forward by the gap, and an
    ambiguous time in the autumn fold takes its first (BST) meaning, so nothing happens twice."""
    aware = naive.replace(tzinfo=tz, fold=0)
    return aware.astimezone(UTC).astimezone(tz)


def _occurrence(entry: Entry, start: datetime) -> Occurrence:
    return Occurrence(
        entry_id=entry.id,
        title=entry.title,
        start=start,
        channel=entry.channel,
        audiences=entry.audiences,
        objectives=entry.objectives,
        template=entry.template,
        approval=entry.approval,
        key_messages=entry.key_messages,
    )


def _apply_rules(occ: Occurrence, entry: Entry, rules: DayRules, tz: ZoneInfo) -> Occurrence:
    strategy = rules.strategy
    found = clash(occ.start.date(), entry, strategy, rules)
    if found is None:
        return occ
    if found.policy == "skip":
        return replace(occ, status="skipped", reason=f"skipped: {found.reason}")
    new_day = next_clear_day(occ.start.date(), entry, strategy, rules)
    if new_day is None:
        return replace(occ, status="skipped", reason=f"skipped: {found.reason}, no clear day to move to")
    moved = localise(datetime.combine(new_day, entry.at), tz)
    return replace(
        occ,
        start=moved,
        original=occ.start,
        status="moved",
        reason=f"moved from {occ.start.date().isoformat()}: {found.reason}",
    )


def plan(strategy: Strategy, entries: list[Entry], first: date, last: date) -> list[Occurrence]:
    """Every occurrence whose (possibly moved) local date lies in [first, last], sorted by time.

    Occurrences planned up to MAX_MOVE_DAYS before `first` are expanded too, so one moved into
    the period appears in it, and one moved out of it appears in the next.
    """
    tz = ZoneInfo(strategy.timezone)
    rules = DayRules(strategy)
    window = (max(first, date.min + timedelta(days=MAX_MOVE_DAYS)) - timedelta(days=MAX_MOVE_DAYS), last)
    out: list[Occurrence] = []
    for entry in entries:
        for naive in expand(entry.repeat, entry.start, entry.at, window, entry.until, strategy.terms):
            occ = _apply_rules(_occurrence(entry, localise(naive, tz)), entry, rules, tz)
            if first <= occ.start.date() <= last:
                out.append(occ)
    out = fold_stacked(out, entries)  # on_collision: merge
    out.sort(key=lambda o: (o.start, o.entry_id))
    return out


def plan_month(strategy: Strategy, entries: list[Entry], month: str) -> list[Occurrence]:
    first, last = month_bounds(month)
    return plan(strategy, entries, first, last)
