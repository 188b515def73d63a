"""Occurrences out: JSON for other tools, iCalendar for Outlook and Google, a month grid for a terminal."""

from __future__ import annotations

import calendar as pycal
import json
from collections import defaultdict
from datetime import UTC, date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from icalendar import Calendar, Event

from content_calendar.models import Entry, Occurrence, Strategy
from content_calendar.plan import localise, plan
from content_calendar.repeat import to_rrule


def occurrence_dict(occ: Occurrence) -> dict[str, Any]:
    return {
        "entry_id": occ.entry_id,
        "title": occ.title,
        "start": occ.start.isoformat(),
        "channel": occ.channel,
        "audiences": list(occ.audiences),
        "objectives": list(occ.objectives),
        "template": occ.template,
        "status": occ.status,
        "reason": occ.reason,
        "original_start": occ.original.isoformat() if occ.original else None,
    }


def to_json(occurrences: list[Occurrence]) -> str:
    return json.dumps([occurrence_dict(o) for o in occurrences], indent=2, ensure_ascii=False)


def _event(entry: Entry, start: datetime, stamp: datetime, summary: str) -> Event:
    event = Event()
    event.add("uid", f"{entry.id}@comms-pipeline")
    event.add("dtstamp", stamp)
    event.add("dtstart", start)
    event.add("summary", summary)
    event.add("description", "\n".join(entry.key_messages))
    event.add("categories", [entry.channel, *entry.objectives])
    return event


def to_ics(strategy: Strategy, entries: list[Entry], end: date, stamp: datetime) -> bytes:
    """One series per entry from its start up to `end`. Skipped and moved dates are EXDATEs; a moved
    date comes back as an override (RECURRENCE-ID), so importers expand exactly what we plan."""
    tz = ZoneInfo(strategy.timezone)
    cal = Calendar()
    cal.add("prodid", "-//comms-pipeline//content calendar//EN")
    cal.add("version", "2.0")
    cal.add("x-wr-timezone", strategy.timezone)
    by_entry: dict[str, list[Occurrence]] = defaultdict(list)
    for occ in plan(strategy, entries, min(e.start for e in entries) if entries else end, end):
        by_entry[occ.entry_id].append(occ)
    for entry in entries:
        first = localise(datetime.combine(entry.start, entry.at), tz)
        series = _event(entry, first, stamp, entry.title)
        rule = to_rrule(entry.repeat) if entry.repeat else None
        until = min(entry.until or end, end)
        if rule:
            series.add("rrule", _rrule_dict(rule, datetime.combine(until, time.max, tzinfo=tz).astimezone(UTC)))
        elif entry.repeat:  # term phrases: explicit dates
            for occ in by_entry[entry.id]:
                series.add("rdate", occ.original or occ.start)
        for occ in by_entry[entry.id]:
            if occ.status == "skipped" or (occ.status == "moved" and not rule):
                series.add("exdate", occ.original or occ.start)
        cal.add_component(series)
        for occ in by_entry[entry.id]:
            if occ.status == "moved":
                moved = _event(entry, occ.start, stamp, f"{entry.title} ({occ.reason})")
                moved.add("recurrence-id", occ.original)
                if not rule:  # not a series: a standalone event is clearer to importers
                    del moved["recurrence-id"]
                    moved["uid"] = f"{entry.id}-{occ.start.date().isoformat()}@comms-pipeline"
                cal.add_component(moved)
    return cal.to_ical()


def _rrule_dict(rule: str, until: datetime) -> dict[str, Any]:
    """RFC 5545: with a zoned DTSTART, UNTIL must be in UTC."""
    parts: dict[str, Any] = {}
    for part in rule.split(";"):
        key, _, value = part.partition("=")
        parts[key.lower()] = value.split(",") if key in ("BYDAY", "BYMONTHDAY", "BYMONTH", "BYSETPOS") else value
    if "count" not in parts and "until" not in parts:
        parts["until"] = until
    return parts


def month_grid(occurrences: list[Occurrence], year: int, month: int, width: int = 18) -> str:
    """A Monday-first month grid: each day lists its occurrences' times and titles."""
    by_day: dict[date, list[Occurrence]] = defaultdict(list)
    for occ in occurrences:
        by_day[occ.start.date()].append(occ)
    days = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
    sep = "+" + "+".join("-" * width for _ in days) + "+"
    lines = [
        f"{pycal.month_name[month]} {year}".center(len(sep)),
        sep,
        "|" + "|".join(d.center(width) for d in days) + "|",
        sep,
    ]
    for week in pycal.Calendar(firstweekday=0).monthdatescalendar(year, month):
        cells = []
        for day in week:
            items = [] if day.month != month else by_day[day]
            text = [str(day.day) if day.month == month else ""]
            for occ in items:
                mark = {"moved": "→", "skipped": "✗"}.get(occ.status, "")
                text.append(f"{mark}{occ.start:%H:%M} {occ.title}")
            cells.append(text)
        height = max(len(c) for c in cells)
        for i in range(height):
            lines.append("|" + "|".join((c[i] if i < len(c) else "")[:width].ljust(width) for c in cells) + "|")
        lines.append(sep)
    notes = [f"  {o.start:%d %b} {o.title}: {o.reason}" for o in occurrences if o.reason]
    if notes:
        lines += ["", "Changes made by the calendar rules (→ moved, ✗ skipped):", *notes]
    return "\n".join(lines)
