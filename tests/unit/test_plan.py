"""Planning a month: local times across the clock changes, and the UK calendar rules."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, time, timedelta
from time import perf_counter

import pytest

from content_calendar.models import DateRange, Entry, Strategy
from content_calendar.plan import localise, plan, plan_month
from content_calendar.rules import DayRules, in_school_holiday

LONDON_OFFSETS = {"GMT": timedelta(0), "BST": timedelta(hours=1)}


def entry(**kw) -> Entry:  # type: ignore[no-untyped-def]
    base = {
        "id": "e",
        "title": "T",
        "channel": "facebook",
        "audiences": ("residents",),
        "objectives": ("1",),
        "template": "post",
        "start": date(2026, 1, 1),
        "at": time(9, 0),
    }
    base.update(kw)
    return Entry(**base)


@pytest.mark.parametrize("repeat", ["daily", "weekly on Sunday", "monthly on the last Sunday"])
@pytest.mark.parametrize(("month", "change"), [("2026-03", date(2026, 3, 29)), ("2026-10", date(2026, 10, 25))])
def test_nine_oclock_stays_nine_oclock_across_the_clock_change(
    strategy: Strategy, repeat: str, month: str, change: date
) -> None:
    e = entry(repeat=repeat, on_bank_holiday="keep")
    occurrences = plan_month(strategy, [e], month)
    assert occurrences, repeat
    assert all(o.start.hour == 9 and o.start.minute == 0 for o in occurrences)
    days = [o.start.date() for o in occurrences]
    assert len(days) == len(set(days)), "nothing happens twice"
    for o in occurrences:
        summer = (o.start.date() >= change) == (month == "2026-03")
        assert o.start.utcoffset() == (LONDON_OFFSETS["BST"] if summer else LONDON_OFFSETS["GMT"])
    if repeat in ("daily", "weekly on Sunday"):
        assert change in days  # the change day itself (a Sunday) is planned, at 09:00 local


def test_the_change_day_itself_is_planned_once(strategy: Strategy) -> None:
    for month, change in (("2026-03", date(2026, 3, 29)), ("2026-10", date(2026, 10, 25))):
        occurrences = plan_month(strategy, [entry(repeat="daily", on_bank_holiday="keep")], month)
        assert [o.start.date() for o in occurrences].count(change) == 1


def test_localise_gap_and_fold() -> None:
    from datetime import datetime
    from zoneinfo import ZoneInfo

    tz = ZoneInfo("Europe/London")
    gap = localise(datetime(2026, 3, 29, 1, 30), tz)  # does not exist: moves forward by the gap
    assert (gap.hour, gap.minute, gap.utcoffset()) == (2, 30, timedelta(hours=1))
    fold = localise(datetime(2026, 10, 25, 1, 30), tz)  # happens twice: the first (BST) one
    assert fold.utcoffset() == timedelta(hours=1)


def test_bank_holiday_moves_to_next_working_day(strategy: Strategy) -> None:
    # The first Monday of May 2027 is the early May bank holiday (3 May).
    e = entry(channel="intranet", repeat="monthly on the first Monday", start=date(2027, 1, 4))
    (occ,) = plan_month(strategy, [e], "2027-05")
    assert occ.start.date() == date(2027, 5, 4)
    assert occ.status == "moved" and "bank holiday" in occ.reason and occ.original.date() == date(2027, 5, 3)


def test_bank_holiday_skip_and_keep(strategy: Strategy) -> None:
    e = entry(channel="intranet", repeat="monthly on the first Monday", start=date(2027, 1, 4))
    (skipped,) = plan_month(strategy, [replace(e, on_bank_holiday="skip")], "2027-05")
    assert skipped.status == "skipped" and skipped.start.date() == date(2027, 5, 3)
    (kept,) = plan_month(strategy, [replace(e, on_bank_holiday="keep")], "2027-05")
    assert kept.status == "planned" and kept.start.date() == date(2027, 5, 3)


def test_boxing_day_substitute_is_a_bank_holiday(strategy: Strategy) -> None:
    e = entry(channel="intranet", start=date(2026, 12, 28))  # Boxing Day (substitute day) 2026
    (occ,) = plan_month(strategy, [e], "2026-12")
    assert occ.start.date() == date(2026, 12, 29)


def test_school_holiday_moves_to_the_next_term_day(strategy: Strategy) -> None:
    # Half term is 26-30 October 2026; a bulletin on Thursday 29 October moves to Monday 2 November.
    e = entry(channel="headteacher-bulletin", start=date(2026, 10, 29), on_school_holiday="move")
    (occ,) = plan(strategy, [e], date(2026, 10, 1), date(2026, 11, 30))
    assert occ.start.date() == date(2026, 11, 2) and occ.reason.endswith("school holiday")


def test_school_holiday_ignored_when_kept(strategy: Strategy) -> None:
    e = entry(channel="headteacher-bulletin", start=date(2026, 10, 29))
    (occ,) = plan(strategy, [e], date(2026, 10, 1), date(2026, 11, 30))
    assert occ.start.date() == date(2026, 10, 29) and occ.status == "planned"


def test_a_move_into_the_next_month_appears_there_not_here(strategy: Strategy) -> None:
    e = entry(channel="headteacher-bulletin", start=date(2026, 10, 29), on_school_holiday="move")
    assert plan_month(strategy, [e], "2026-10") == []
    assert len(plan_month(strategy, [e], "2026-11")) == 1


def test_pre_election_holds_back_resident_and_member_channels_only(strategy: Strategy) -> None:
    # Pre-election period in the example: 26 March to 6 May 2027.
    resident = entry(id="r", channel="resident-newsletter", start=date(2027, 4, 6))
    member = entry(id="m", channel="member-briefing", start=date(2027, 4, 7))
    internal = entry(id="i", channel="intranet", start=date(2027, 4, 8))
    schools = entry(id="s", channel="headteacher-bulletin", start=date(2027, 4, 8))
    got = {
        o.entry_id: o
        for o in plan(strategy, [resident, member, internal, schools], date(2027, 3, 1), date(2027, 6, 30))
    }
    assert got["r"].start.date() == date(2027, 5, 7) and "pre-election" in got["r"].reason
    assert got["m"].start.date() == date(2027, 5, 7)
    assert got["i"].start.date() == date(2027, 4, 8) and got["i"].status == "planned"
    assert got["s"].start.date() == date(2027, 4, 8)


def test_pre_election_policy_per_entry(strategy: Strategy) -> None:
    e = entry(channel="resident-newsletter", start=date(2027, 4, 6))
    (skip,) = plan(strategy, [replace(e, on_pre_election="skip")], date(2027, 3, 1), date(2027, 6, 30))
    assert skip.status == "skipped"
    (keep,) = plan(strategy, [replace(e, on_pre_election="keep")], date(2027, 3, 1), date(2027, 6, 30))
    assert keep.status == "planned"


def test_occurrence_key_is_the_planned_day_even_when_moved(strategy: Strategy) -> None:
    e = entry(channel="intranet", repeat="monthly on the first Monday", start=date(2027, 1, 4))
    (occ,) = plan_month(strategy, [e], "2027-05")
    assert occ.key == "e@2027-05-03"


def test_strategy_terms_drive_term_repeats(strategy: Strategy) -> None:
    s = replace(strategy, terms=(DateRange(date(2026, 11, 2), date(2026, 12, 18)),))
    e = entry(channel="headteacher-bulletin", repeat="each school term at the start", start=date(2026, 1, 1))
    assert [o.start.date() for o in plan_month(s, [e], "2026-11")] == [date(2026, 11, 2)]


def test_day_rules_agree_with_the_per_day_scan(strategy: Strategy) -> None:
    rules = DayRules(strategy)
    day = date(2025, 12, 1)
    while day < date(2027, 9, 1):
        assert (day in rules.school_holidays) == in_school_holiday(day, strategy.terms), day
        day += timedelta(days=1)


def test_a_month_of_many_daily_entries_begun_long_ago_is_planned_quickly(strategy: Strategy) -> None:
    entries = [entry(id=f"e{i}", start=date(2000, 1, 1), repeat="daily", on_school_holiday="move") for i in range(300)]
    started = perf_counter()
    occurrences = plan_month(strategy, entries, "2026-11")
    assert len(occurrences) == 300 * 35  # 30 days, and the 5 of half term (26-30 Oct) moved to 2 Nov
    assert perf_counter() - started < 10


@pytest.mark.parametrize("month", ["9999-12", "2026-13", "x"])
def test_a_month_out_of_range_is_a_value_error(strategy: Strategy, month: str) -> None:
    with pytest.raises(ValueError, match="YYYY-MM"):
        plan_month(strategy, [entry()], month)


def test_the_first_month_there_is_plans_nothing_rather_than_overflowing(strategy: Strategy) -> None:
    assert plan_month(strategy, [entry()], "0001-01") == []
