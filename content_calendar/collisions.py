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
from dataclasses import dataclass, replace
from datetime import date, timedelta
from itertools import pairwise

from content_calendar.models import Entry, Occurrence, Strategy

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


def _planned(occ: Occurrence) -> date:
    return (occ.original or occ.start).date()


def _days(days: Iterable[date]) -> str:
    texts = [d.isoformat() for d in sorted(days)]
    return texts[0] if len(texts) == 1 else f"{', '.join(texts[:-1])} and {texts[-1]}"


def fold_stacked(occurrences: list[Occurrence], entries: Iterable[Entry]) -> list[Occurrence]:
    """For entries with `on_collision: merge`, the occurrences stacked on one day become one; the rest
    are kept as skipped ("merged into ..."), so the plan still shows them. Order is kept."""
    merging = {e.id for e in entries if e.on_collision == "merge"}
    groups: dict[tuple[str, date], list[int]] = defaultdict(list)
    for i, occ in enumerate(occurrences):
        if occ.entry_id in merging and occ.status != "skipped":
            groups[(occ.entry_id, occ.start.date())].append(i)
    out = list(occurrences)
    for (_entry, day), indexes in groups.items():
        if len(indexes) < 2:
            continue
        stacked = sorted((occurrences[i] for i in indexes), key=lambda o: (o.status != "planned", _planned(o)))
        keep, rest = stacked[0], stacked[1:]
        others = _days(_planned(o) for o in rest)
        for i in indexes:
            occ = occurrences[i]
            if occ is keep:
                out[i] = replace(occ, reason=f"{occ.reason + '; ' if occ.reason else ''}merged with {others}")
            else:
                out[i] = replace(occ, status="skipped", reason=f"merged into the occurrence on {day.isoformat()}")
    return out


def check_span(entries: Iterable[Entry]) -> tuple[date, date] | None:
    """The days a collision check plans: from the first start to the last `until` (or CHECK_DAYS on)."""
    spans = [(e.start, e.until or e.start + timedelta(days=CHECK_DAYS)) for e in entries]
    if not spans:
        return None
    return min(s for s, _ in spans), max(u for _, u in spans)


def find_collisions(strategy: Strategy, entries: list[Entry], occurrences: list[Occurrence]) -> list[Collision]:
    """Every stacked day and every repeated post text in `occurrences` (a plan of `entries`)."""
    by_id = {e.id: e for e in entries}
    ends = {e.id: e.until or e.start + timedelta(days=CHECK_DAYS) for e in entries}
    live = [
        o for o in occurrences if o.status != "skipped" and o.entry_id in ends and o.start.date() <= ends[o.entry_id]
    ]
    posts = {c.code for c in strategy.channels if c.kind not in EDITION_KINDS}
    return sorted(_stacked(by_id, live, posts) + _same_text(by_id, live, posts))


def _stacked(by_id: dict[str, Entry], live: list[Occurrence], posts: set[str]) -> list[Collision]:
    landed = {(o.entry_id, o.start.date()) for o in live if o.status == "moved"}
    groups: dict[tuple[str, date], list[Occurrence]] = defaultdict(list)
    for occ in live:
        if (occ.entry_id, occ.start.date()) in landed:
            groups[(occ.entry_id, occ.start.date())].append(occ)
    out = []
    for (entry_id, day), stacked in groups.items():
        entry = by_id[entry_id]
        if len(stacked) < 2 or entry.on_collision == "keep":
            continue
        moved = sorted((o for o in stacked if o.status == "moved"), key=_planned)
        what = "posts with the same text" if entry.channel in posts else "editions"
        reasons = list(dict.fromkeys(o.reason.split(": ", 1)[-1] for o in moved))  # in the order of the days
        message = (
            f"{len(stacked)} {what} on one day at {entry.at:%H:%M}: moved here from {_days(_planned(o) for o in moved)}"
            f" ({'; '.join(reasons)}); set on_collision to merge (one goes out) or keep (all go out)"
        )
        out.append(Collision(entry.source, entry.line, entry.id, day, message))
    return out


def _same_text(by_id: dict[str, Entry], live: list[Occurrence], posts: set[str]) -> list[Collision]:
    series: dict[tuple[str, str, str, tuple[str, ...]], list[Occurrence]] = defaultdict(list)
    for occ in live:
        if occ.channel in posts:
            series[(occ.channel, occ.template, occ.title, occ.key_messages)].append(occ)
    out = []
    for same in series.values():
        same.sort(key=lambda o: (o.start, o.entry_id))
        for before, after in pairwise(same):
            gap = (after.start.date() - before.start.date()).days
            same_entry = before.entry_id == after.entry_id
            if gap >= DUPLICATE_DAYS or (same_entry and gap == 0):
                continue  # far enough apart, or stacked (reported above)
            if same_entry and (_planned(after) - _planned(before)).days < DUPLICATE_DAYS:
                continue  # the entry's own cadence, as planned
            first, second = by_id[before.entry_id], by_id[after.entry_id]
            if "keep" in (first.on_collision, second.on_collision):
                continue
            when = "the same day" if gap == 0 else f"{gap} day{'s' if gap > 1 else ''} before"
            message = (
                f"the same text goes to {after.channel} at {after.start:%H:%M} as {before.entry_id}'s post "
                f"{when} ({before.start:%Y-%m-%d %H:%M}); vary the text, or set on_collision to keep"
            )
            out.append(Collision(second.source, second.line, second.id, after.start.date(), message))
    return out
