"""What a person may do to one occurrence: skip it, or move it to another day and time.

Pure checks, no clock of their own (`now` is passed): a move is refused inside 01:00 to 02:00 (the
clocks change in that hour, so such a time happens twice or never), in the past, further than
OVERRIDE_REACH_DAYS from the planned day, and on a day the entry's own rules forbid (a weekend for
an entry planned on a weekday, a bank holiday, a school holiday or the pre-election period, unless
the entry keeps to such days).
"""

from __future__ import annotations

from datetime import date, datetime, time
from zoneinfo import ZoneInfo

from content_calendar.models import Entry, Occurrence, Strategy
from content_calendar.plan import OVERRIDE_REACH_DAYS
from content_calendar.rules import clash

CHANGE_HOUR = (time(1, 0), time(2, 0))


def in_change_hour(moment: time) -> bool:
    return CHANGE_HOUR[0] <= moment < CHANGE_HOUR[1]


def planned_day(occ: Occurrence) -> date:
    return (occ.original or occ.start).date()


def change_problem(occ: Occurrence, now: datetime) -> str | None:
    """Why this occurrence can no longer be changed, or None."""
    if occ.start <= now:
        return f"{occ.entry_id} on {occ.start:%d %b %Y %H:%M} is already due: it can no longer be changed"
    return None


def move_problem(strategy: Strategy, entry: Entry, occ: Occurrence, to: datetime, now: datetime) -> str | None:
    """Why `occ` may not move to `to` (aware, or naive in the strategy's zone), or None."""
    tz = ZoneInfo(strategy.timezone)
    local = to.astimezone(tz) if to.tzinfo else to
    if in_change_hour(local.time()):
        return "01:00 to 02:00 is refused: the clocks change in that hour, so it happens twice or never"
    local = local.replace(tzinfo=tz) if local.tzinfo is None else local
    if local <= now:
        return f"{local:%d %b %Y %H:%M} has passed"
    planned = planned_day(occ)
    if abs((local.date() - planned).days) > OVERRIDE_REACH_DAYS:
        return f"an occurrence moves at most {OVERRIDE_REACH_DAYS} days from its planned day ({planned:%d %b %Y})"
    if local.weekday() >= 5 and planned.weekday() < 5:
        return f"{local:%A %d %b %Y} is a weekend: {entry.id} is planned on weekdays"
    found = clash(local.date(), entry, strategy)
    if found is not None:
        return f"{entry.id} is not sent on {local:%A %d %b %Y}: {found.reason} (its rule: {found.policy})"
    return None
