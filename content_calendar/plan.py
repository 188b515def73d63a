"""Expand calendar entries into the occurrences of a period, with the UK rules applied.

`plan()` is a pure function of (strategy, entries, period, overrides): no clock, no I/O. The team's
overrides (skip this one, move this one) are applied after the calendar rules, to the occurrence whose
key they name; a moved occurrence keeps its key, so the ledger composes it once, at its new time.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from content_calendar.merge import fold_stacked
from content_calendar.models import Entry, Occurrence, Override, Strategy
from content_calendar.repeat import expand
from content_calendar.rules import MAX_MOVE_DAYS, DayRules, clash, next_clear_day

OVERRIDE_REACH_DAYS = 31  # a person moves an occurrence at most this many days either way


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


def apply_override(occ: Occurrence, override: Override | None) -> Occurrence:
    """The occurrence as the team changed it. A move keeps the first planned moment as `original`,
    so the key (and the ledger's record of composing it) stays the same."""
    if override is None:
        return occ
    said = f"by {override.by}: {override.reason}" if override.reason else f"by {override.by}"
    if override.action == "skip":
        return replace(occ, status="skipped", reason=f"skipped {said}")
    assert override.to is not None
    start = override.to.astimezone(occ.start.tzinfo)
    return replace(
        occ,
        start=start,
        original=occ.original or occ.start,
        status="moved",
        reason=f"moved from {(occ.original or occ.start):%a %d %b %H:%M} {said}",
    )


def plan(
    strategy: Strategy,
    entries: list[Entry],
    first: date,
    last: date,
    overrides: Mapping[str, Override] | None = None,
) -> list[Occurrence]:
    """Every occurrence whose (possibly moved) local date lies in [first, last], sorted by time.

    Occurrences planned up to MAX_MOVE_DAYS before `first` are expanded too, so one moved into
    the period appears in it, and one moved out of it appears in the next; for an entry with
    overrides, those planned up to OVERRIDE_REACH_DAYS after `last` too (a move may go earlier).
    """
    tz = ZoneInfo(strategy.timezone)
    rules = DayRules(strategy)
    overrides = overrides or {}
    changed = {o.entry_id for o in overrides.values()}
    start = max(first, date.min + timedelta(days=MAX_MOVE_DAYS)) - timedelta(days=MAX_MOVE_DAYS)
    out: list[Occurrence] = []
    for entry in entries:
        has = entry.id in changed
        window = (start, last + timedelta(days=OVERRIDE_REACH_DAYS) if has and last.year < 9999 else last)
        for naive in expand(entry.repeat, entry.start, entry.at, window, entry.until, strategy.terms):
            occ = _apply_rules(_occurrence(entry, localise(naive, tz)), entry, rules, tz)
            if has:
                occ = apply_override(occ, overrides.get(occ.key))
            if first <= occ.start.date() <= last:
                out.append(occ)
    out = fold_stacked(out, entries)  # on_collision: merge
    out.sort(key=lambda o: (o.start, o.entry_id))
    return out


def plan_month(
    strategy: Strategy, entries: list[Entry], month: str, overrides: Mapping[str, Override] | None = None
) -> list[Occurrence]:
    first, last = month_bounds(month)
    return plan(strategy, entries, first, last, overrides)
