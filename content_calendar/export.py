"""Occurrences out: JSON for other tools, iCalendar for Outlook and Google, a month grid for a terminal."""

from __future__ import annotations

import calendar as pycal
import csv
import io
import json
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from icalendar import Calendar, Event, Timezone

from content_calendar.models import Entry, Occurrence, Strategy

CSV_COLUMNS = (
    "id",
    "title",
    "channel",
    "audiences",
    "objectives",
    "template",
    "key_messages",
    "owner",
    "start_date",
    "time",
    "repeat",
    "until",
    "approval",
    "on_bank_holiday",
    "on_school_holiday",
    "on_pre_election",
    "missed_after_hours",
    "pin",
    "window_days",
    "on_collision",
)
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: str) -> str:
    """A cell a spreadsheet would run as a formula gets an apostrophe in front (Excel shows the text, and
    does not save the apostrophe; our reader drops it too, so a downloaded calendar uploads unchanged)."""
    return "'" + value if value.startswith(FORMULA_STARTS) else value


def entry_row(entry: Entry) -> list[str]:
    values = [
        entry.id,
        entry.title,
        entry.channel,
        ";".join(entry.audiences),
        ";".join(entry.objectives),
        entry.template,
        " | ".join(entry.key_messages),
        entry.owner,
        entry.start.isoformat(),
        entry.at.strftime("%H:%M"),
        entry.repeat or "",
        entry.until.isoformat() if entry.until else "",
        entry.approval,
        entry.on_bank_holiday,
        entry.on_school_holiday,
        entry.on_pre_election or "",
        str(entry.missed_after_hours),
        ";".join(entry.pin),
        str(entry.window_days) if entry.window_days is not None else "",
        entry.on_collision or "",
    ]
    return [safe_cell(v) for v in values]


def to_csv(entries: list[Entry]) -> bytes:
    """The calendar as one CSV file that opens in Excel (UTF-8 with a BOM, CRLF) and uploads again."""
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    writer.writerows(entry_row(e) for e in sorted(entries, key=lambda e: (e.start, e.id)))
    return "\ufeff".encode() + out.getvalue().encode()


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


@dataclass(frozen=True)
class IcsItem:
    """Where an occurrence's composed item is read in the web workspace."""

    url: str
    status: str


def _names(strategy: Strategy, occ: Occurrence) -> tuple[list[str], str, str]:
    objectives = [f"{code}. {o.title}" if (o := strategy.objective(code)) else code for code in occ.objectives]
    channel = strategy.channel(occ.channel)
    audiences = ", ".join(a.name if (a := strategy.audience(code)) else code for code in occ.audiences)
    return objectives, channel.name if channel else occ.channel, audiences


def _description(strategy: Strategy, occ: Occurrence, item: IcsItem | None) -> str:
    objectives, channel, audiences = _names(strategy, occ)
    lines = [f"Channel: {channel}", f"Audiences: {audiences or 'none'}", f"Objectives: {'; '.join(objectives)}"]
    lines += [f"Key message: {m}" for m in occ.key_messages]
    if occ.reason:
        lines.append(f"Change: {occ.reason}")
    lines.append(f"Item ({item.status}): {item.url}" if item else "Not composed yet")
    return "\n".join(lines)


def _ics_event(strategy: Strategy, occ: Occurrence, stamp: datetime, item: IcsItem | None) -> Event:
    event = Event()
    event.add("uid", f"{occ.key}@comms-pipeline")  # the occurrence's key: a moved one stays the same event
    event.add("dtstamp", stamp.astimezone(UTC))
    event.add("dtstart", occ.start)
    event.add("summary", occ.title if occ.status != "skipped" else f"Skipped: {occ.title}")
    event.add("description", _description(strategy, occ, item))
    objectives, channel, _ = _names(strategy, occ)
    event.add("categories", [*objectives, channel])
    event.add("status", "CANCELLED" if occ.status == "skipped" else "CONFIRMED")
    if occ.status == "moved":
        event.add("sequence", 1)  # a calendar that imported the first time takes the new time
    if item is not None:
        event.add("url", item.url)
    return event


def to_ics(
    strategy: Strategy,
    occurrences: list[Occurrence],
    stamp: datetime,
    items: Mapping[str, IcsItem] | None = None,
    name: str = "",
) -> bytes:
    """One event per occurrence given (a month's, usually), in local time with the zone's VTIMEZONE,
    so Outlook and Google show the same times across the clock changes. A moved occurrence is at its
    new time; a skipped one is CANCELLED. Categories are the objectives' titles and the channel."""
    items = items or {}
    cal = Calendar()
    cal.add("prodid", "-//comms-pipeline//content calendar//EN")
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("method", "PUBLISH")
    cal.add("x-wr-calname", name or strategy.name or "Content calendar")
    cal.add("x-wr-timezone", strategy.timezone)
    days = [o.start.date() for o in occurrences] or [stamp.date()]
    year = timedelta(days=366)
    zone = Timezone.from_tzinfo(ZoneInfo(strategy.timezone), strategy.timezone, min(days) - year, max(days) + year)
    cal.add_component(zone)
    for occ in occurrences:
        cal.add_component(_ics_event(strategy, occ, stamp, items.get(occ.key)))
    return cal.to_ical()


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
