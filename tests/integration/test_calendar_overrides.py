"""Skip this one, move this one: stored with who and why, applied wherever the plan is read, refused
inside the clock-change hour and on days the entry's own rules forbid, and never composed twice."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from icalendar import Calendar

from content_calendar.calendar import load_calendar
from content_calendar.codec import plan_digest
from content_calendar.models import Override, Strategy
from pipeline.app import Pipeline
from pipeline.cli import main
from pipeline.errors import Conflict, Invalid, NotAllowed, NotFound, PlanChanged
from pipeline.services.actor import Actor, ActorKind, Role
from pipeline.services.calendar_view import CalendarService
from pipeline.services.control import ControlService
from pipeline.services.overrides import OverrideService
from pipeline.storage.store import Repositories
from tests.conftest import EXAMPLE

LONDON = ZoneInfo("Europe/London")
NOW = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)
AUTHOR = Actor("ola@thurrock.gov.uk", ActorKind.PERSON, Role.AUTHOR)
VIEWER = Actor("vic@thurrock.gov.uk", ActorKind.PERSON, Role.VIEWER)


@pytest.fixture
def planned(pipeline: Pipeline) -> Pipeline:
    pipeline.import_plan(now=NOW - timedelta(days=1))
    return pipeline


def _month(p: Pipeline, month: str) -> dict[str, tuple[datetime, str, str]]:
    shown = CalendarService.of(p).month(AUTHOR, month)
    return {o.key: (o.start, o.status, o.reason) for o in shown.occurrences}


def test_skip_and_move_are_applied_to_the_plan_and_audited(planned: Pipeline) -> None:
    svc = OverrideService.of(planned)
    svc.skip(AUTHOR, "facebook-fortnightly", date(2026, 12, 17), "clashes with the carol service", NOW)
    moved = svc.move(AUTHOR, "x-fortnightly", date(2026, 12, 8), datetime(2026, 12, 9, 15, 0), "  launch  day ", NOW)
    assert moved.after.key == "x-fortnightly@2026-12-08"  # the same occurrence, at a new time
    month = _month(planned, "2026-12")
    start, status, reason = month["facebook-fortnightly@2026-12-17"]
    assert status == "skipped" and reason == "skipped by ola@thurrock.gov.uk: clashes with the carol service"
    start, status, reason = month["x-fortnightly@2026-12-08"]
    assert (start, status) == (datetime(2026, 12, 9, 15, 0, tzinfo=LONDON), "moved")
    assert reason == "moved from Tue 08 Dec 12:30 by ola@thurrock.gov.uk: launch day"
    entries, _ = planned.repos.audit.entries(action="calendar.")
    assert {(e.action, e.target, e.actor) for e in entries} == {
        ("calendar.skipped", "facebook-fortnightly@2026-12-17", AUTHOR.name),
        ("calendar.moved", "x-fortnightly@2026-12-08", AUTHOR.name),
    }
    # the gaps and the next things due read the same plan
    due = ControlService.of(planned).next_due(datetime(2026, 12, 16, 9, 0, tzinfo=UTC), count=10)
    assert not any(d.title.startswith("What is Prevent") and d.at.date() == date(2026, 12, 17) for d in due)
    # undoing it puts it back where the plan put it
    back = svc.restore(AUTHOR, "x-fortnightly", date(2026, 12, 8), NOW)
    assert (back.start, back.status) == (datetime(2026, 12, 8, 12, 30, tzinfo=LONDON), "planned")


def test_a_move_into_the_next_month_leaves_this_month_and_shows_there(planned: Pipeline) -> None:
    OverrideService.of(planned).move(
        AUTHOR, "facebook-fortnightly", date(2026, 12, 31), datetime(2027, 1, 5, 11, 0), "after the holidays", NOW
    )
    assert "facebook-fortnightly@2026-12-31" not in _month(planned, "2026-12")
    assert _month(planned, "2027-01")["facebook-fortnightly@2026-12-31"][:2] == (
        datetime(2027, 1, 5, 11, 0, tzinfo=LONDON),
        "moved",
    )
    # and one moved back into the previous month from the next
    OverrideService.of(planned).move(
        AUTHOR, "resident-newsletter", date(2027, 1, 5), datetime(2026, 12, 29, 10, 0), "before new year", NOW
    )
    assert _month(planned, "2026-12")["resident-newsletter@2027-01-05"][1] == "moved"


@pytest.mark.parametrize(
    ("entry", "day", "to", "says"),
    [
        ("x-fortnightly", date(2026, 12, 8), datetime(2026, 12, 9, 1, 30), "01:00 to 02:00 is refused"),
        ("x-fortnightly", date(2026, 12, 8), datetime(2026, 12, 9, 1, 0), "01:00 to 02:00 is refused"),
        ("resident-newsletter", date(2026, 12, 1), datetime(2026, 12, 25, 10, 0), "bank holiday (Christmas Day)"),
        ("resident-newsletter", date(2026, 12, 1), datetime(2026, 12, 5, 10, 0), "is a weekend"),
        ("facebook-fortnightly", date(2027, 3, 25), datetime(2027, 3, 29, 12, 0), "pre-election period"),
        ("x-fortnightly", date(2026, 12, 8), datetime(2026, 11, 20, 12, 0), "has passed"),
        ("x-fortnightly", date(2026, 12, 8), datetime(2027, 2, 9, 12, 0), "at most 31 days"),
    ],
)
def test_refused_moves_say_why_and_change_nothing(
    planned: Pipeline, entry: str, day: date, to: datetime, says: str
) -> None:
    with pytest.raises(Invalid, match=re.escape(says)):
        OverrideService.of(planned).move(AUTHOR, entry, day, to, "why not", NOW)
    assert planned.repos.calendar.overrides() == {}
    assert planned.repos.audit.entries(action="calendar.")[0] == []


def test_other_refusals(planned: Pipeline) -> None:
    svc = OverrideService.of(planned)
    with pytest.raises(NotAllowed):
        svc.skip(VIEWER, "x-fortnightly", date(2026, 12, 8), "no", NOW)
    with pytest.raises(Invalid, match="reason"):
        svc.skip(AUTHOR, "x-fortnightly", date(2026, 12, 8), "   ", NOW)
    with pytest.raises(NotFound, match="no occurrence"):
        svc.skip(AUTHOR, "x-fortnightly", date(2026, 12, 9), "not that day", NOW)
    with pytest.raises(NotFound, match="no entry"):
        svc.skip(AUTHOR, "nope", date(2026, 12, 9), "no such entry", NOW)
    with pytest.raises(Conflict, match="already due"):
        svc.skip(AUTHOR, "x-fortnightly", date(2026, 11, 24), "too late", NOW)
    svc.skip(AUTHOR, "x-fortnightly", date(2026, 12, 8), "once", NOW)
    with pytest.raises(Conflict, match="already skipped"):
        svc.skip(AUTHOR, "x-fortnightly", date(2026, 12, 8), "twice", NOW)
    assert planned.repos.calendar.overrides().keys() == {"x-fortnightly@2026-12-08"}


def test_a_move_across_the_clock_change_keeps_the_local_time(planned: Pipeline) -> None:
    # intranet posts face staff, so the pre-election period does not hold them back
    done = OverrideService.of(planned).move(
        AUTHOR, "intranet-champions", date(2027, 3, 1), datetime(2027, 3, 30, 9, 30), "after the change", NOW
    )
    assert done.before.start.utcoffset() == timedelta(0)
    assert done.after.start.utcoffset() == timedelta(hours=1)
    assert done.after.start.astimezone(UTC) == datetime(2027, 3, 30, 8, 30, tzinfo=UTC)


def test_a_moved_occurrence_is_composed_once_at_its_new_time(planned: Pipeline) -> None:
    svc = OverrideService.of(planned)
    svc.move(AUTHOR, "facebook-fortnightly", date(2026, 12, 3), datetime(2026, 12, 4, 15, 0), "Friday", NOW)
    svc.skip(AUTHOR, "x-fortnightly", date(2026, 12, 8), "quiet week", NOW)
    for hour in (datetime(2026, 12, 3, 13, 0, tzinfo=UTC), datetime(2026, 12, 4, 14, 0, tzinfo=UTC)):
        planned.compose(hour)
        planned.compose(hour)
    items = [i for i in planned.repos.outbox.items() if i.entry_id in ("facebook-fortnightly", "x-fortnightly")]
    assert [(i.occurrence_key, i.due_at) for i in items if i.occurrence_key.endswith("2026-12-03")] == [
        ("facebook-fortnightly@2026-12-03", datetime(2026, 12, 4, 15, 0, tzinfo=UTC))
    ]
    planned.compose(datetime(2026, 12, 8, 11, 0, tzinfo=UTC))
    assert "x-fortnightly@2026-12-08" not in {i.occurrence_key for i in planned.repos.outbox.items()}
    # composed: now it is changed in the queue, not in the calendar
    with pytest.raises(Conflict, match="already composed"):
        svc.move(AUTHOR, "facebook-fortnightly", date(2026, 12, 3), datetime(2026, 12, 4, 16, 0), "later", NOW)


def test_the_command_line_moves_skips_and_shows_it(cli_env: object, capsys: pytest.CaptureFixture[str]) -> None:
    with time_machine.travel(NOW, tick=False):
        assert main(["calendar", "import"]) == 0
        assert main(["calendar", "move", "x-fortnightly", "--on", "2026-12-08", "--to", "2026-12-09T01:30",
                     "--reason", "night"]) == 2  # fmt: skip
        assert "01:00 to 02:00 is refused" in capsys.readouterr().err
        assert main(["calendar", "move", "x-fortnightly", "--on", "2026-12-08", "--to", "2026-12-09T15:00",
                     "--reason", "launch"]) == 0  # fmt: skip
        assert "to Wed 09 Dec 2026 15:00" in capsys.readouterr().out
        assert main(["calendar", "skip", "facebook-fortnightly", "--on", "2026-12-17", "--reason", "carols"]) == 0
        assert main(["calendar", "overrides"]) == 0
        listed = capsys.readouterr().out
        assert "x-fortnightly@2026-12-08  move to 2026-12-09 15:00 GMT" in listed and "carols" in listed
        assert main(["calendar", "show", "--month", "2026-12", "--format", "ics"]) == 0
        events = {str(e["uid"]): e for e in Calendar.from_ical(capsys.readouterr().out).walk("VEVENT")}
        assert events["x-fortnightly@2026-12-08@comms-pipeline"]["dtstart"].dt == datetime(
            2026, 12, 9, 15, 0, tzinfo=LONDON
        )
        assert str(events["facebook-fortnightly@2026-12-17@comms-pipeline"]["status"]) == "CANCELLED"
        assert main(["calendar", "show", "--month", "2026-12"]) == 0
        assert "→15:00" in capsys.readouterr().out


def test_overrides_and_a_bound_import_on_each_database(store: Repositories, strategy: Strategy) -> None:
    entries = load_calendar(sorted((EXAMPLE / "calendar").glob("*")), strategy)
    store.calendar.import_plan(strategy, entries, NOW)
    moved = Override("x-fortnightly@2026-12-08", "move", datetime(2026, 12, 9, 15, tzinfo=LONDON), "a", "why", NOW)
    store.calendar.save_override(moved)
    store.calendar.save_override(replace(moved, action="skip", to=None, reason="changed my mind"))
    (kept,) = store.calendar.overrides().values()
    assert (kept.action, kept.to, kept.reason) == ("skip", None, "changed my mind")
    assert store.calendar.remove_override(kept.key) and store.calendar.overrides() == {}
    digest = plan_digest(entries)
    store.calendar.import_plan(strategy, entries[:3], NOW, expect_digest=digest)  # still that plan: applied
    with pytest.raises(PlanChanged):
        store.calendar.import_plan(strategy, entries, NOW, expect_digest=digest)
    assert [e.id for e in store.calendar.entries()] == sorted(e.id for e in entries[:3])
