"""What a new calendar would change: entries added, removed and changed, and the occurrences that
move, appear or go in a period. A pure function of (strategy, old entries, new entries, period)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from datetime import date, datetime

from content_calendar.models import Entry, Occurrence, Override, Strategy
from content_calendar.plan import plan

# Where a row was read from is not a change to the plan.
IGNORED = frozenset({"source", "line"})


@dataclass(frozen=True)
class EntryChange:
    id: str
    title: str
    fields: tuple[str, ...]  # the names of the fields that differ, in the calendar's column order


@dataclass(frozen=True)
class OccurrenceMove:
    key: str
    entry_id: str
    title: str
    before: datetime | None  # None: a new occurrence
    after: datetime | None  # None: it no longer happens


@dataclass(frozen=True)
class PlanDifference:
    added: tuple[Entry, ...]
    removed: tuple[Entry, ...]
    changed: tuple[EntryChange, ...]
    unchanged: int
    moves: tuple[OccurrenceMove, ...]
    first: date
    last: date

    @property
    def empty(self) -> bool:
        return not (self.added or self.removed or self.changed)


def changed_fields(old: Entry, new: Entry) -> tuple[str, ...]:
    return tuple(
        f.name for f in fields(Entry) if f.name not in IGNORED and getattr(old, f.name) != getattr(new, f.name)
    )


def _live(occurrences: list[Occurrence]) -> dict[str, datetime]:
    return {o.key: o.start for o in occurrences if o.status != "skipped"}


def occurrence_moves(
    strategy: Strategy,
    old: list[Entry],
    new: list[Entry],
    first: date,
    last: date,
    overrides: Mapping[str, Override] | None = None,
) -> tuple[OccurrenceMove, ...]:
    """The occurrences of these entries that move, appear or go between `first` and `last`."""
    before = _live(plan(strategy, old, first, last, overrides))
    after = _live(plan(strategy, new, first, last, overrides))
    titles = {e.id: e.title for e in old} | {e.id: e.title for e in new}
    out = []
    for key in sorted(before.keys() | after.keys(), key=lambda k: (before.get(k) or after[k], k)):
        was, now = before.get(key), after.get(key)
        if was != now:
            entry_id = key.rpartition("@")[0]
            out.append(OccurrenceMove(key, entry_id, titles.get(entry_id, entry_id), was, now))
    return tuple(out)


def difference(
    strategy: Strategy,
    old: list[Entry],
    new: list[Entry],
    first: date,
    last: date,
    overrides: Mapping[str, Override] | None = None,
) -> PlanDifference:
    """The difference `new` makes to `old`. Only the entries that differ are planned again, so a
    large calendar with a few edits is compared quickly."""
    old_by, new_by = {e.id: e for e in old}, {e.id: e for e in new}
    added = tuple(new_by[i] for i in sorted(new_by.keys() - old_by.keys()))
    removed = tuple(old_by[i] for i in sorted(old_by.keys() - new_by.keys()))
    changed = tuple(
        EntryChange(i, new_by[i].title, diff)
        for i in sorted(old_by.keys() & new_by.keys())
        if (diff := changed_fields(old_by[i], new_by[i]))
    )
    touched = {e.id for e in added + removed} | {c.id for c in changed}
    moves = occurrence_moves(
        strategy,
        [e for e in old if e.id in touched],
        [e for e in new if e.id in touched],
        first,
        last,
        overrides,
    )
    unchanged = len(old_by.keys() & new_by.keys()) - len(changed)
    return PlanDifference(added, removed, changed, unchanged, moves, first, last)
