"""Collisions: occurrences the day rules stack on one day, and posts that would repeat their text. Pure.

- **Stacked:** the pre-election, bank-holiday and school-holiday rules move occurrences to the next clear
  day, so several occurrences of one entry can land on the same day (resident newsletters held back for
  six weeks all go on the day after the election). Each such day is a warning, unless the entry says
  `on_collision: keep` (keep them all, knowingly) or `merge` (`fold_stacked`: one occurrence goes out,
  the one planned for that day or else the earliest moved there; the others are skipped as merged).
- **Same text:** two posts (not editions: those are made of the news of the day) to one destination
  fewer than DUPLICATE_DAYS days apart whose text is written from the same title, key messages and
  template, so they would read the same (X refuses such a post outright). An entry's own repeats are
  compared only where the rules brought them closer than it was planned. `on_collision: keep` on
  either entry silences it.

Warnings never fail a check; each reads `FILE:LINE: entry: day: message`.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from itertools import pairwise

from content_calendar.merge import listed_days
from content_calendar.models import Entry, Strategy
from content_calendar.plan import plan
from content_calendar.repeat import expand
from content_calendar.rules import DayRules, clash, next_clear_day

DUPLICATE_DAYS = 3  # the same text to one destination on the same day, the next or the one after
CHECK_DAYS = 731  # a repeat with no `until` is checked over its first two years
EDITION_KINDS = frozenset({"email", "notify"})


@dataclass(frozen=True, order=True)
class Collision:
    file: str
    line: int
    entry: str
    day: date
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.entry}: {self.day.isoformat()}: {self.message}"


def check_span(entries: Iterable[Entry]) -> tuple[date, date] | None:
    """The days a collision check covers: from the first start to the last `until` (or CHECK_DAYS on)."""
    spans = [(e.start, _end(e)) for e in entries]
    if not spans:
        return None
    return min(s for s, _ in spans), max(u for _, u in spans)


def _end(entry: Entry) -> date:
    return entry.until or entry.start + timedelta(days=CHECK_DAYS)


@dataclass(frozen=True)
class _Days:
    """Where an entry's occurrences fall once the rules applied: the days it stays on, and for each day
    the rules move occurrences to, the days they were planned for and why."""

    stays: frozenset[date]
    moved: dict[date, list[tuple[date, str]]]


def _scan(entry: Entry, strategy: Strategy, rules: DayRules) -> _Days:
    """The rules applied to each planned day, as `plan` applies them, without building occurrences: a
    calendar of 10,000 daily entries is millions of them."""
    stays: set[date] = set()
    moved: dict[date, list[tuple[date, str]]] = defaultdict(list)
    for naive in expand(entry.repeat, entry.start, entry.at, (entry.start, _end(entry)), entry.until, strategy.terms):
        day = naive.date()
        found = clash(day, entry, strategy, rules)
        if found is None:
            stays.add(day)
        elif found.policy == "move" and (land := next_clear_day(day, entry, strategy, rules)) is not None:
            moved[land].append((day, found.reason))
    return _Days(frozenset(stays), dict(moved))


def find_collisions(strategy: Strategy, entries: list[Entry]) -> list[Collision]:
    """Every stacked day and every repeated post text, over each entry's span (`check_span`)."""
    rules = DayRules(strategy)
    posts = {c.code for c in strategy.channels if c.kind not in EDITION_KINDS}
    out: list[Collision] = []
    for entry in entries:
        if entry.on_collision == "keep":
            continue
        days = _scan(entry, strategy, rules)
        if entry.on_collision != "merge":
            out += _stacked(entry, days, entry.channel in posts)
        if entry.channel in posts:
            out += _moved_close(entry, days)
    return sorted(out + _shared_text(strategy, entries, posts))


def _stacked(entry: Entry, days: _Days, post: bool) -> list[Collision]:
    out = []
    for day, came in days.moved.items():
        count = len(came) + (day in days.stays)
        if count < 2:
            continue
        what = "posts with the same text" if post else "editions"
        reasons = list(dict.fromkeys(why for _planned_day, why in sorted(came)))  # in the order of the days
        message = (
            f"{count} {what} on one day at {entry.at:%H:%M}: moved here from {listed_days(p for p, _ in came)}"
            f" ({'; '.join(reasons)}); set on_collision to merge (one goes out) or keep (all go out)"
        )
        out.append(Collision(entry.source, entry.line, entry.id, day, message))
    return out


def _moved_close(entry: Entry, days: _Days) -> list[Collision]:
    """An entry's post the rules moved to within DUPLICATE_DAYS of another of its posts that was planned
    further apart: the same text, sooner than the team meant. Reported on the day it was moved to."""
    planned_on: dict[date, list[date]] = {d: [d] for d in days.stays}
    for land, came in days.moved.items():
        planned_on.setdefault(land, []).extend(p for p, _ in came)
    out = []
    for land, came in sorted(days.moved.items()):
        if land in days.stays:
            continue  # stacked on a post planned there: reported as stacked
        near = [
            other
            for gap in range(1, DUPLICATE_DAYS)
            for other in (land - timedelta(days=gap), land + timedelta(days=gap))
            if other in planned_on
            and all(abs((p - q).days) >= DUPLICATE_DAYS for p, _ in came for q in planned_on[other])
        ]
        if near:
            other = near[0]
            side = "after" if other < land else "before"
            gap = abs((land - other).days)
            message = (
                f"the same text goes to {entry.channel} at {entry.at:%H:%M} {gap} day{'s' if gap > 1 else ''} "
                f"{side} its post on {other.isoformat()}, moved here from {listed_days(p for p, _ in came)}; "
                "vary the text, or set on_collision to keep"
            )
            out.append(Collision(entry.source, entry.line, entry.id, land, message))
    return out


def _shared_text(strategy: Strategy, entries: list[Entry], posts: set[str]) -> list[Collision]:
    """Posts of different entries to one destination, written from the same title, key messages and
    template, fewer than DUPLICATE_DAYS days apart. Only entries that share their text are planned."""
    groups: dict[tuple[str, str, str, tuple[str, ...]], list[Entry]] = defaultdict(list)
    for entry in entries:
        if entry.channel in posts:
            groups[(entry.channel, entry.template, entry.title, entry.key_messages)].append(entry)
    out = []
    for group in groups.values():
        if len(group) < 2:
            continue
        by_id = {e.id: e for e in group}
        span = check_span(group)
        assert span is not None
        live = [
            o
            for o in plan(strategy, group, *span)
            if o.status != "skipped" and o.start.date() <= _end(by_id[o.entry_id])
        ]
        live.sort(key=lambda o: (o.start, o.entry_id))
        for before, after in pairwise(live):
            gap = (after.start.date() - before.start.date()).days
            first, second = by_id[before.entry_id], by_id[after.entry_id]
            if gap >= DUPLICATE_DAYS or first is second or "keep" in (first.on_collision, second.on_collision):
                continue
            when = "the same day" if gap == 0 else f"{gap} day{'s' if gap > 1 else ''} before"
            message = (
                f"the same text goes to {after.channel} at {after.start:%H:%M} as {before.entry_id}'s post "
                f"{when} ({before.start:%Y-%m-%d %H:%M}); vary the text, or set on_collision to keep"
            )
            out.append(Collision(second.source, second.line, second.id, after.start.date(), message))
    return out
