"""`on_collision: merge`: the occurrences of an entry that the day rules stacked on one day become one.

The one planned for that day goes out (else the earliest moved there); the others stay in the plan as
skipped, "merged into the occurrence on DAY", so the month grid and the report still show them.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import replace
from datetime import date

from content_calendar.models import Entry, Occurrence


def planned_day(occ: Occurrence) -> date:
    return (occ.original or occ.start).date()


def listed_days(days: Iterable[date]) -> str:
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
        stacked = sorted((occurrences[i] for i in indexes), key=lambda o: (o.status != "planned", planned_day(o)))
        keep, rest = stacked[0], stacked[1:]
        others = listed_days(planned_day(o) for o in rest)
        for i in indexes:
            occ = occurrences[i]
            if occ is keep:
                out[i] = replace(occ, reason=f"{occ.reason + '; ' if occ.reason else ''}merged with {others}")
            else:
                out[i] = replace(occ, status="skipped", reason=f"merged into the occurrence on {day.isoformat()}")
    return out
