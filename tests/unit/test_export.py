"""Exports: JSON, the month grid, and a month of iCalendar events in local time with their zone."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from icalendar import Calendar, Event

from content_calendar.calendar import load_calendar
from content_calendar.export import IcsItem, month_grid, to_ics, to_json
from content_calendar.gaps import find_gaps
from content_calendar.models import Entry, Override
from content_calendar.plan import plan_month
from tests.conftest import EXAMPLE

LONDON = ZoneInfo("Europe/London")


def _events(ics: bytes) -> dict[str, Event]:
    return {str(e["uid"]).removesuffix("@comms-pipeline"): e for e in Calendar.from_ical(ics).walk("VEVENT")}


def test_ics_is_one_month_in_local_time_across_the_clock_changes(strategy) -> None:  # type: ignore[no-untyped-def]
    entries = load_calendar(sorted((EXAMPLE / "calendar").glob("*")), strategy)
    weekly = Entry(
        "staff-note", "Staff note", "intranet", ("team-thurrock",), ("2",), "intranet", date(2026, 9, 1), time(9, 15)
    )
    entries.append(replace(weekly, repeat="FREQ=WEEKLY;BYDAY=MO,WE,FR", on_bank_holiday="skip"))
    for month, change in (("2026-10", date(2026, 10, 25)), ("2027-03", date(2027, 3, 28))):
        ours = plan_month(strategy, entries, month)
        ics = to_ics(strategy, ours, datetime(2026, 11, 22, tzinfo=UTC))
        cal = Calendar.from_ical(ics)
        (zone,) = cal.walk("VTIMEZONE")
        assert str(zone["tzid"]) == "Europe/London"
        assert {str(t["tzname"]) for t in zone.walk("DAYLIGHT") + zone.walk("STANDARD")} >= {"BST", "GMT"}
        events = _events(ics)
        assert set(events) == {o.key for o in ours}  # that month, and only that month
        assert all(o.start.strftime("%Y-%m") == month for o in ours)
        for occ in ours:
            start = events[occ.key]["dtstart"]
            assert start.params["TZID"] == "Europe/London"  # a local time a client converts by the VTIMEZONE
            assert start.dt == occ.start and start.dt.utcoffset() == occ.start.utcoffset()
        before = [o for o in ours if o.start.date() < change]
        after = [o for o in ours if o.start.date() > change]
        assert before and after, "the month has events on both sides of the change"
        offsets = {o.start.utcoffset() for o in before}, {o.start.utcoffset() for o in after}
        bst, gmt = timedelta(hours=1), timedelta(0)
        assert offsets == (({bst}, {gmt}) if month == "2026-10" else ({gmt}, {bst}))
        # the wall-clock time is the entry's time on both sides
        by_id = {e.id: e for e in entries}
        assert all(events[o.key]["dtstart"].dt.time() == by_id[o.entry_id].at for o in ours)


def test_ics_names_objectives_describes_and_links_and_shows_overrides(strategy) -> None:  # type: ignore[no-untyped-def]
    entries = load_calendar(sorted((EXAMPLE / "calendar").glob("*")), strategy)
    ours = plan_month(strategy, entries, "2026-12")
    first, second = ours[0], ours[1]
    moved_to = datetime(2026, 12, 10, 14, 0, tzinfo=LONDON)
    overrides = {
        first.key: Override(first.key, "skip", None, "ola@x", "clash", datetime(2026, 11, 20, tzinfo=UTC)),
        second.key: Override(second.key, "move", moved_to, "ola@x", "later", datetime(2026, 11, 20, tzinfo=UTC)),
    }
    changed = plan_month(strategy, entries, "2026-12", overrides)
    items = {second.key: IcsItem("https://comms.example/items/42", "awaiting_approval")}
    events = _events(to_ics(strategy, changed, datetime(2026, 11, 22, tzinfo=UTC), items))
    skipped, moved, plain = events[first.key], events[second.key], events[ours[2].key]
    assert str(skipped["status"]) == "CANCELLED"
    assert moved["dtstart"].dt == moved_to and str(moved["status"]) == "CONFIRMED"
    assert str(moved["url"]) == "https://comms.example/items/42"
    assert "Item (awaiting_approval): https://comms.example/items/42" in str(moved["description"])
    assert "moved from" in str(moved["description"]) and "by ola@x: later" in str(moved["description"])
    assert "url" not in plain and "Not composed yet" in str(plain["description"])
    titles = {f"{o.code}. {o.title}" for o in strategy.objectives}
    for occ in changed:
        categories = [str(c) for c in events[occ.key]["categories"].cats]
        assert {f"{c}. {strategy.objective(c).title}" for c in occ.objectives} <= set(categories)
        assert set(categories) - titles == {strategy.channel(occ.channel).name}


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
