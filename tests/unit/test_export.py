"""Exports: JSON, the month grid, and iCalendar that expands to exactly our own plan."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

from dateutil.rrule import rruleset, rrulestr
from icalendar import Calendar

from content_calendar.calendar import load_calendar
from content_calendar.export import month_grid, to_ics, to_json
from content_calendar.gaps import find_gaps
from content_calendar.models import Entry
from content_calendar.plan import plan, plan_month
from tests.conftest import EXAMPLE

LONDON = ZoneInfo("Europe/London")


def _expand_ics(ics: bytes, first: date, last: date) -> set[tuple[str, datetime]]:
    """Expand our own ICS the way a calendar client would: RRULE/RDATE minus EXDATE, plus overrides."""
    cal = Calendar.from_ical(ics)
    lo = datetime.combine(first, time.min, tzinfo=LONDON)
    hi = datetime.combine(last, time.max, tzinfo=LONDON)
    out: set[tuple[str, datetime]] = set()
    overrides: dict[str, set[datetime]] = {}
    for event in cal.walk("VEVENT"):
        uid = str(event["uid"]).split("@")[0]
        if "recurrence-id" in event:
            overrides.setdefault(uid, set()).add(event["recurrence-id"].dt)
    for event in cal.walk("VEVENT"):
        uid = str(event["uid"]).split("@")[0]
        start = event["dtstart"].dt
        if "recurrence-id" in event or ("rrule" not in event and "rdate" not in event):
            if lo <= start <= hi:
                out.add((uid.split("-20")[0] if "recurrence-id" not in event else uid, start))
            continue
        rules = rruleset()
        if "rrule" in event:
            rules.rrule(rrulestr(event["rrule"].to_ical().decode(), dtstart=start))
        for rdate in event.get("rdate", []) if isinstance(event.get("rdate"), list) else [event.get("rdate")]:
            for d in rdate.dts if rdate else []:
                rules.rdate(d.dt)
        exdates = event.get("exdate", [])
        for ex in exdates if isinstance(exdates, list) else [exdates]:
            for d in ex.dts:
                rules.exdate(d.dt)
        for moment in rules.between(lo, hi, inc=True):
            if moment not in overrides.get(uid, set()):
                out.add((uid, moment))
    return out


def test_ics_round_trip_matches_our_expansion(strategy) -> None:  # type: ignore[no-untyped-def]
    entries = load_calendar(sorted((EXAMPLE / "calendar").glob("*")), strategy)
    first, last = date(2026, 9, 1), date(2027, 8, 31)
    ics = to_ics(strategy, entries, last, datetime(2026, 11, 22, tzinfo=UTC))
    ours = {(o.entry_id, o.start) for o in plan(strategy, entries, first, last) if o.status != "skipped"}
    theirs = _expand_ics(ics, first, last)
    assert theirs == ours
    assert any(o.status == "moved" for o in plan(strategy, entries, first, last)), "the year exercises a move"


def test_json_has_every_field_and_offsets(strategy) -> None:  # type: ignore[no-untyped-def]
    entries = load_calendar(sorted((EXAMPLE / "calendar").glob("*")), strategy)
    data = json.loads(to_json(plan_month(strategy, entries, "2026-11")))
    assert {"entry_id", "title", "start", "channel", "audiences", "objectives", "template", "status", "reason"} <= set(
        data[0]
    )
    assert data[0]["start"].endswith("+00:00")  # November is GMT


def test_grid_lists_titles_and_notes(strategy) -> None:  # type: ignore[no-untyped-def]
    e = Entry(
        "x", "Prevent champions", "intranet", ("team-thurrock",), ("2",), "intranet", date(2027, 5, 3), time(9, 30)
    )
    grid = month_grid(plan_month(strategy, [e], "2027-05"), 2027, 5)
    assert "May 2027" in grid and "→09:30 Prevent" in grid and "bank holiday (May Day)" in grid


def test_gaps_name_objectives_audiences_and_channels(strategy) -> None:  # type: ignore[no-untyped-def]
    e = Entry("x", "Facebook post", "facebook", ("parents",), ("3",), "post", date(2026, 11, 10), time(12))
    gaps = find_gaps(strategy, [e], "2026-11")
    assert "3" not in gaps.objectives_without_activity and "1" in gaps.objectives_without_activity
    assert "faith-leaders" in gaps.audiences_not_reached and "parents" not in gaps.audiences_not_reached
    assert "facebook" not in gaps.channels_without_plans and "headteacher-bulletin" in gaps.channels_without_plans
